//! What a sysdiagnose says about itself and the device: its name (creation time and the
//! device's UTC offset), `remotectl_dumpstate.txt` (the "Local device" block: OS version,
//! build, model, serial number, UDID) and `logs/SystemVersion/SystemVersion.plist`.
//!
//! One record (written as one JSON object), and a timeline event for the moment the
//! sysdiagnose was taken.

use crate::text::{Lines, MAX_LINE_BYTES};
use crate::{Ios, IosKind};
use bridle_evidence::plist_json::{self, Bytes};
use bridle_model::{
    Map, ModuleError, ModuleOutcome, OutputShape, Problem, ProblemKind, Record, Sink, Source,
    TimelineEvent,
};
use serde_json::Value as Json;

ios_module!(
    SysdiagnoseInfo,
    "sysdiagnose_info",
    "SysdiagnoseInfo",
    "The sysdiagnose's creation time and UTC offset (from its name) and the device's identity",
    OutputShape::Object
);

const REMOTECTL: &str = "remotectl_dumpstate.txt";
const SYSTEM_VERSION: &str = "logs/SystemVersion/SystemVersion.plist";
/// Lines of remotectl_dumpstate.txt read (the "Local device" block is at the top).
const MAX_REMOTECTL_LINES: u64 = 100_000;
/// Most properties kept from the block.
const MAX_PROPERTIES: usize = 10_000;

/// The "Local device" block of `remotectl_dumpstate.txt`: its `Key: value` lines, and the
/// `Key => value` lines of its `Properties: { … }` section under `Properties`.
pub fn parse_remotectl(reader: impl std::io::BufRead) -> std::io::Result<Option<Map>> {
    let mut lines = Lines::new(reader, MAX_LINE_BYTES, 64 << 20);
    let mut block: Option<Map> = None;
    let mut props: Option<Map> = None;
    while let Some(line) = lines.next_line()? {
        if line.number > MAX_REMOTECTL_LINES {
            break;
        }
        let text = String::from_utf8_lossy(line.bytes);
        let indented = text.starts_with([' ', '\t']);
        let t = text.trim();
        match &mut block {
            None => {
                if !indented && t == "Local device" {
                    block = Some(Map::new());
                }
            }
            Some(map) => {
                if !indented && !t.is_empty() {
                    break; // the next device
                }
                if let Some(p) = &mut props {
                    if t == "}" {
                        if let Some(done) = props.take() {
                            map.insert("Properties".into(), Json::Object(done));
                        }
                    } else if let Some((k, v)) = t.split_once(" => ")
                        && p.len() < MAX_PROPERTIES
                    {
                        p.insert(k.trim().to_owned(), Json::from(v.trim()));
                    }
                } else if t.starts_with("Properties:") && t.ends_with('{') {
                    props = Some(Map::new());
                } else if let Some((k, v)) = t.split_once(": ")
                    && map.len() < MAX_PROPERTIES
                {
                    map.insert(k.trim().to_owned(), Json::from(v.trim()));
                }
            }
        }
    }
    if let (Some(map), Some(p)) = (&mut block, props) {
        map.insert("Properties".into(), Json::Object(p));
    }
    Ok(block)
}

fn run(ios: &Ios, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    if ios.kind() != IosKind::Sysdiagnose {
        return Ok(ModuleOutcome::NotFound("not a sysdiagnose".into()));
    }
    let name = ios.sysdiagnose_name();
    let found = ios
        .find(&[REMOTECTL, SYSTEM_VERSION])
        .map_err(|e| super::unreadable(REMOTECTL, &e))?;
    let mut source = Source::default();
    let mut remotectl: Option<Map> = None;
    let mut system_version = Json::Null;
    for located in &found {
        let file = match ios.register(located) {
            Ok(f) => f,
            Err(e) => {
                sink.problem(Problem::file(
                    ProblemKind::Unreadable,
                    located.logical.clone(),
                    e.to_string(),
                ));
                continue;
            }
        };
        if located.stored == REMOTECTL {
            source = Source::file(&file);
            match std::fs::File::open(&located.path)
                .and_then(|f| parse_remotectl(std::io::BufReader::new(f)))
            {
                Ok(block) => remotectl = block,
                Err(e) => sink.problem(Problem::file(
                    ProblemKind::Unreadable,
                    located.logical.clone(),
                    e.to_string(),
                )),
            }
        } else {
            match ios.read_plist(located) {
                Ok((v, _)) => system_version = plist_json::to_json(&v, Bytes::Escaped),
                Err(e) => sink.problem(Problem::file(
                    ProblemKind::Unreadable,
                    located.logical.clone(),
                    e.to_string(),
                )),
            }
        }
    }
    if name.is_none() && remotectl.is_none() && system_version.is_null() {
        return Ok(ModuleOutcome::NotFound(
            "neither a sysdiagnose name, remotectl_dumpstate.txt nor SystemVersion.plist".into(),
        ));
    }
    let prop = |k: &str| {
        remotectl
            .as_ref()
            .and_then(|m| m.get("Properties"))
            .and_then(|p| p.get(k))
            .cloned()
            .unwrap_or(Json::Null)
    };
    let sv = |k: &str| system_version.get(k).cloned().unwrap_or(Json::Null);
    let or = |a: Json, b: Json| if a.is_null() { b } else { a };

    let mut r = Record::new(source);
    r.set(
        "name",
        name.map_or(Json::Null, |n| Json::from(n.name.as_str())),
    )
    .set(
        "created_local",
        name.map_or(Json::Null, |n| Json::from(n.local_time.as_str())),
    )
    .set(
        "utc_offset",
        name.map_or(Json::Null, |n| Json::from(n.utc_offset.as_str())),
    )
    .set("isodate", super::iso(name.and_then(|n| n.created)))
    .set(
        "device",
        name.and_then(|n| n.device.as_deref())
            .map_or(Json::Null, Json::from),
    )
    .set("os_version", or(prop("OSVersion"), sv("ProductVersion")))
    .set(
        "build_version",
        or(
            prop("BuildVersion"),
            or(
                sv("ProductBuildVersion"),
                name.and_then(|n| n.build.as_deref())
                    .map_or(Json::Null, Json::from),
            ),
        ),
    )
    .set("product_type", prop("ProductType"))
    .set("hardware_model", prop("HWModelStr"))
    .set("serial_number", prop("SerialNumber"))
    .set("unique_device_id", prop("UniqueDeviceID"))
    .set(
        "remotectl_local_device",
        remotectl.clone().map_or(Json::Null, Json::Object),
    )
    .set("system_version", system_version.clone());
    if let Some(n) = name {
        let os = match (&r.data.get("os_version"), &r.data.get("build_version")) {
            (Some(Json::String(v)), Some(Json::String(b))) => format!(", iOS {v} ({b})"),
            _ => String::new(),
        };
        r.event(TimelineEvent::new(
            n.created,
            "sysdiagnose_created",
            format!(
                "Sysdiagnose {} taken (device time {} UTC{}{os})",
                n.name, n.local_time, n.utc_offset
            ),
        ));
    }
    sink.record(r);
    Ok(ModuleOutcome::Done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_local_device_block() {
        let text = "Local device\n\tUUID: 55\n\tProduct Type: iPhone14,7\n\tProperties: {\n\
                    \t\tOSVersion => 18.0.1\n\t\tSerialNumber => ABC\n\t}\n\tServices:\n\
                    \t\tcom.apple.x\nOther device\n\tUUID: 66\n";
        let m = parse_remotectl(text.as_bytes()).unwrap().unwrap();
        assert_eq!(m["UUID"], "55");
        assert_eq!(m["Product Type"], "iPhone14,7");
        assert_eq!(m["Properties"]["OSVersion"], "18.0.1");
        assert_eq!(m["Properties"]["SerialNumber"], "ABC");
        assert!(parse_remotectl(&b"\x00\xff junk"[..]).unwrap().is_none());
    }
}
