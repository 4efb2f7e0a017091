//! Android tombstones (native crash records), text and protobuf, into one record shape
//! (MVT's `TombstoneCrashResult`).

use crate::proto::tombstone as pb;
use crate::tz::{DeviceTz, parse_with_offset};
use bridle_model::Timestamp;
use prost::Message;
use serde_json::{Map, Value, json};

/// The separator line at the top of a text tombstone.
const DELIMITER: &str = "*** *** *** *** *** *** *** *** *** *** *** *** *** *** *** ***";

/// Signal details.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SignalInfo {
    /// Signal code (`1`).
    pub code: i64,
    /// Its name (`SEGV_MAPERR`).
    pub code_name: String,
    /// Signal name (`SIGSEGV`).
    pub name: String,
    /// Signal number.
    pub number: Option<i64>,
}

/// One crash.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Crash {
    /// The tombstone's file name.
    pub file_name: String,
    /// The file's modification time, when the container records it.
    pub file_timestamp: Option<Timestamp>,
    /// `Build fingerprint`.
    pub build_fingerprint: String,
    /// `Revision`.
    pub revision: String,
    /// ABI / architecture.
    pub arch: Option<String>,
    /// When it crashed (UTC).
    pub timestamp: Option<Timestamp>,
    /// The time as the device wrote it (with its offset, when given).
    pub timestamp_raw: String,
    /// Seconds the process had been running.
    pub process_uptime: Option<i64>,
    /// Command line.
    pub command_line: Option<Vec<String>>,
    /// Process id.
    pub pid: i64,
    /// Crashing thread id.
    pub tid: i64,
    /// Process (thread) name.
    pub process_name: Option<String>,
    /// The executable.
    pub binary_path: Option<String>,
    /// SELinux context.
    pub selinux_label: Option<String>,
    /// User id the process ran as.
    pub uid: i64,
    /// Signal.
    pub signal_info: SignalInfo,
    /// `Cause:` (text).
    pub cause: Option<String>,
    /// Causes (protobuf), as MVT writes them.
    pub causes: Option<Vec<Value>>,
    /// Abort message.
    pub abort_message: Option<String>,
}

impl Crash {
    /// The record, with MVT's keys in MVT's order (times rendered in UTC), plus
    /// `timestamp_raw` and `device_timezone`.
    pub fn json(&self, tz: &DeviceTz) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("file_name".into(), json!(self.file_name));
        m.insert(
            "file_timestamp".into(),
            json!(
                self.file_timestamp
                    .map(Timestamp::to_mvt)
                    .unwrap_or_default()
            ),
        );
        m.insert("build_fingerprint".into(), json!(self.build_fingerprint));
        m.insert("revision".into(), json!(self.revision));
        m.insert("arch".into(), json!(self.arch));
        m.insert(
            "timestamp".into(),
            json!(self.timestamp.map(Timestamp::to_mvt).unwrap_or_default()),
        );
        m.insert("process_uptime".into(), json!(self.process_uptime));
        m.insert("command_line".into(), json!(self.command_line));
        m.insert("pid".into(), json!(self.pid));
        m.insert("tid".into(), json!(self.tid));
        m.insert("process_name".into(), json!(self.process_name));
        m.insert("binary_path".into(), json!(self.binary_path));
        m.insert("selinux_label".into(), json!(self.selinux_label));
        m.insert("uid".into(), json!(self.uid));
        m.insert(
            "signal_info".into(),
            json!({
                "code": self.signal_info.code,
                "code_name": self.signal_info.code_name,
                "name": self.signal_info.name,
                "number": self.signal_info.number,
            }),
        );
        m.insert("cause".into(), json!(self.cause));
        m.insert("causes".into(), json!(self.causes));
        m.insert("abort_message".into(), json!(self.abort_message));
        m.insert("extra".into(), Value::Null);
        m.insert("timestamp_raw".into(), json!(self.timestamp_raw));
        m.insert("device_timezone".into(), tz.json());
        m
    }
}

/// Fields a tombstone must have (MVT's model refuses the file without them).
#[derive(Default)]
struct Seen {
    build_fingerprint: bool,
    revision: bool,
    timestamp: bool,
    pid: bool,
    tid: bool,
    uid: bool,
    signal: bool,
}

fn value_after_colon(line: &str, key: &str) -> Option<String> {
    let (k, v) = line.split_once(':')?;
    (k == key).then(|| v.trim().trim_matches('\'').to_owned())
}

fn parse_int(s: &str) -> Option<i64> {
    s.trim().parse().ok()
}

/// `signal 11 (SIGSEGV), code 1 (SEGV_MAPERR), fault addr ...`
fn parse_signal(line: &str) -> Option<SignalInfo> {
    let mut parts = line.split(',');
    let sig = parts.next()?.trim();
    let code = parts.next()?.trim();
    let part = |p: &str, prefix: &str| -> Option<(i64, String)> {
        let rest = p.split_once(prefix)?.1;
        let number = parse_int(rest.split_whitespace().next()?)?;
        let name = rest
            .split_once('(')
            .and_then(|(_, r)| r.split_once(')'))
            .map_or_else(|| "UNKNOWN".to_owned(), |(n, _)| n.to_owned());
        Some((number, name))
    };
    let (number, name) = part(sig, "signal ")?;
    let (code, code_name) = part(code, "code ")?;
    Some(SignalInfo {
        code,
        code_name,
        name,
        number: Some(number),
    })
}

/// Parses a text tombstone. Only the first `pid:` line counts (later ones are other
/// threads). `Err` names what is missing or malformed.
pub fn parse_text(
    file_name: &str,
    file_timestamp: Option<Timestamp>,
    content: &str,
    tz: &DeviceTz,
) -> Result<Crash, String> {
    let mut c = Crash {
        file_name: file_name.to_owned(),
        file_timestamp,
        ..Crash::default()
    };
    let mut seen = Seen::default();
    for (n, line) in content.lines().enumerate() {
        if line.trim().is_empty() || line.contains(DELIMITER) {
            continue;
        }
        let bad = |what: &str| format!("line {}: {what}", n + 1);
        if line.starts_with("Build fingerprint") {
            if let Some(v) = value_after_colon(line, "Build fingerprint") {
                c.build_fingerprint = v;
                seen.build_fingerprint = true;
            }
        } else if line.starts_with("Revision") {
            if let Some(v) = value_after_colon(line, "Revision") {
                c.revision = v;
                seen.revision = true;
            }
        } else if line.starts_with("ABI") {
            c.arch = value_after_colon(line, "ABI").or(c.arch);
        } else if line.starts_with("Timestamp") {
            let raw = line.split_once(':').map(|x| x.1.trim()).unwrap_or_default();
            c.timestamp = parse_with_offset(raw, tz);
            if c.timestamp.is_none() {
                return Err(bad("unreadable Timestamp"));
            }
            c.timestamp_raw = raw.to_owned();
            seen.timestamp = true;
        } else if line.starts_with("Process uptime") {
            if let Some(v) = value_after_colon(line, "Process uptime") {
                c.process_uptime = Some(
                    parse_int(v.trim_end_matches('s'))
                        .ok_or_else(|| bad("unreadable Process uptime"))?,
                );
            }
        } else if line.starts_with("Cmdline") {
            if let Some(v) = value_after_colon(line, "Cmdline") {
                c.command_line = Some(vec![v]);
            }
        } else if line.starts_with("pid") {
            if seen.pid {
                continue;
            }
            let (info, binary) = match line.split_once(" >>> ").or_else(|| line.split_once(">>>")) {
                Some((a, b)) => (a, Some(b)),
                None => (line, None),
            };
            for part in info.split(',') {
                let Some((k, v)) = part.split_once(':') else {
                    return Err(bad("unreadable pid line"));
                };
                match k.trim() {
                    "pid" => {
                        c.pid = parse_int(v).ok_or_else(|| bad("unreadable pid"))?;
                        seen.pid = true;
                    }
                    "tid" => {
                        c.tid = parse_int(v).ok_or_else(|| bad("unreadable tid"))?;
                        seen.tid = true;
                    }
                    "name" => c.process_name = Some(v.trim().to_owned()),
                    _ => {}
                }
            }
            if let Some(b) = binary {
                c.binary_path = Some(b.trim().trim_end_matches([' ', '<']).to_owned());
            }
        } else if line.starts_with("uid") {
            if let Some(v) = value_after_colon(line, "uid") {
                c.uid = parse_int(&v).ok_or_else(|| bad("unreadable uid"))?;
                seen.uid = true;
            }
        } else if line.starts_with("signal") {
            if let Some(s) = parse_signal(line) {
                c.signal_info = s;
                seen.signal = true;
            }
        } else if line.starts_with("Cause") {
            c.cause = value_after_colon(line, "Cause").or(c.cause);
        } else if line.starts_with("Abort message") {
            c.abort_message = value_after_colon(line, "Abort message").or(c.abort_message);
        }
    }
    check(&seen)?;
    Ok(c)
}

fn check(seen: &Seen) -> Result<(), String> {
    let missing: Vec<&str> = [
        (seen.build_fingerprint, "Build fingerprint"),
        (seen.revision, "Revision"),
        (seen.timestamp, "Timestamp"),
        (seen.pid, "pid"),
        (seen.tid, "tid"),
        (seen.uid, "uid"),
        (seen.signal, "signal"),
    ]
    .into_iter()
    .filter(|(s, _)| !s)
    .map(|(_, n)| n)
    .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("not a tombstone: no {}", missing.join(", ")))
    }
}

/// Parses a protobuf tombstone. Decoding is bounded by the input (prost checks every length
/// against the buffer and limits nesting), so hostile bytes give an error, never a panic.
pub fn parse_protobuf(
    file_name: &str,
    file_timestamp: Option<Timestamp>,
    data: &[u8],
    tz: &DeviceTz,
) -> Result<Crash, String> {
    let t = pb::Tombstone::decode(data).map_err(|e| format!("not a tombstone protobuf: {e}"))?;
    let timestamp = parse_with_offset(&t.timestamp, tz)
        .ok_or_else(|| format!("unreadable timestamp `{}`", t.timestamp))?;
    let signal = t.signal_info.clone().unwrap_or_default();
    let process_name = t
        .threads
        .values()
        .find(|th| u32::try_from(th.id).ok() == Some(t.tid) && !th.name.is_empty())
        .map_or_else(|| "Unknown".to_owned(), |th| th.name.clone());
    let causes: Vec<Value> = t
        .causes
        .iter()
        .map(|c| {
            let memory_error = match &c.details {
                Some(pb::cause::Details::MemoryError(m)) => json!({
                    "tool": pb::memory_error::Tool::try_from(m.tool).map_or_else(|_| m.tool.to_string(), |x| x.as_str_name().to_owned()),
                    "type": pb::memory_error::Type::try_from(m.r#type).map_or_else(|_| m.r#type.to_string(), |x| x.as_str_name().to_owned()),
                }),
                None => Value::Null,
            };
            json!({"human_readable": c.human_readable, "memory_error": memory_error})
        })
        .collect();
    Ok(Crash {
        file_name: file_name.to_owned(),
        file_timestamp,
        build_fingerprint: t.build_fingerprint.clone(),
        revision: t.revision.clone(),
        arch: Some(
            pb::Architecture::try_from(t.arch)
                .map_or_else(|_| t.arch.to_string(), |a| a.as_str_name().to_owned()),
        ),
        timestamp: Some(timestamp),
        timestamp_raw: t.timestamp.clone(),
        process_uptime: Some(i64::from(t.process_uptime)),
        command_line: Some(t.command_line.clone()),
        pid: i64::from(t.pid),
        tid: i64::from(t.tid),
        process_name: Some(process_name),
        binary_path: None,
        selinux_label: Some(t.selinux_label.clone()),
        uid: i64::from(t.uid),
        signal_info: SignalInfo {
            code: i64::from(signal.code),
            code_name: signal.code_name,
            name: signal.name,
            number: Some(i64::from(signal.number)),
        },
        cause: None,
        causes: Some(causes),
        abort_message: Some(t.abort_message.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_protobuf_is_an_error() {
        let tz = DeviceTz::unknown();
        // Field 2 (string) with a length far past the end.
        assert!(parse_protobuf("t.pb", None, &[0x12, 0xff, 0xff, 0xff, 0x0f, b'a'], &tz).is_err());
        // Field 5 (uint32) sent with the length-delimited wire type.
        assert!(parse_protobuf("t.pb", None, &[0x2a, 0x01, 0x00], &tz).is_err());
        // Deep nesting of a message field.
        let mut deep = Vec::new();
        for _ in 0..200 {
            deep.splice(0..0, [0x52, u8::try_from(deep.len().min(127)).unwrap()]);
        }
        assert!(parse_protobuf("t.pb", None, &deep, &tz).is_err());
        assert!(parse_protobuf("t.pb", None, b"", &tz).is_err());
    }

    #[test]
    fn text_needs_the_core_fields() {
        let tz = DeviceTz::unknown();
        let err = parse_text("t", None, "garbage\nmore garbage", &tz).unwrap_err();
        assert!(err.contains("not a tombstone"), "{err}");
        let ok = "Build fingerprint: 'x'\nRevision: '0'\nTimestamp: 2021-09-29 17:43:49+0200\npid: 1, tid: 2, name: n  >>> /bin/b <<<\npid: 9, tid: 9, name: other\nuid: 0\nsignal 6 (SIGABRT), code -1 (SI_QUEUE), fault addr --------\ncode around pc:\n";
        let c = parse_text("t", None, ok, &tz).unwrap();
        assert_eq!((c.pid, c.tid), (1, 2));
        assert_eq!(c.binary_path.as_deref(), Some("/bin/b"));
        assert_eq!(c.signal_info.code, -1);
        assert_eq!(c.timestamp.unwrap().to_mvt(), "2021-09-29 15:43:49.000000");
    }
}
