//! Streaming JSON: the elements of a top-level array, or JSON Lines, one value at a time, so
//! that a files.json of a million entries never sits in memory whole.

use crate::text::LineReader;
use serde::de::{Deserializer, SeqAccess, Visitor};
use serde_json::Value;
use std::fmt;
use std::io::{BufRead, BufReader, Read};

/// Bad lines reported one by one; beyond this they are only counted.
pub const MAX_REPORTED_BAD_LINES: usize = 20;

/// How a JSON stream went.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct JsonStats {
    /// Values handed to the callback.
    pub values: u64,
    /// Whether the file was a JSON array (otherwise JSON Lines).
    pub array: bool,
    /// The first bad lines (line number, error), for JSON Lines.
    pub bad_lines: Vec<(u64, String)>,
    /// How many lines were bad in all.
    pub bad_count: u64,
    /// Why reading stopped early (a broken array, a read error).
    pub stopped: Option<String>,
}

impl JsonStats {
    /// Whether everything was read.
    pub fn is_complete(&self) -> bool {
        self.bad_count == 0 && self.stopped.is_none()
    }
}

struct ElementVisitor<'f, F> {
    f: &'f mut F,
    count: &'f mut u64,
}

impl<'de, F: FnMut(Value, u64)> Visitor<'de> for ElementVisitor<'_, F> {
    type Value = ();

    fn expecting(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        out.write_str("a JSON array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(v) = seq.next_element::<Value>()? {
            (self.f)(v, *self.count);
            *self.count += 1;
        }
        Ok(())
    }
}

/// Reads a top-level JSON array element by element, or JSON Lines line by line (the format
/// is told by the first non-blank byte, `[` for an array), calling `f(value, index)` where
/// index is the array position or the 1-based line number.
///
/// Invalid lines of JSON Lines are skipped and counted, and reading goes on (MVT loses the
/// whole file on one bad line). A broken array stops at the break, keeping what came before.
pub fn for_each_value<R: Read>(reader: R, mut f: impl FnMut(Value, u64)) -> JsonStats {
    let mut reader = BufReader::with_capacity(1 << 16, reader);
    let mut stats = JsonStats::default();
    // Skip leading whitespace to see the first byte.
    let first = loop {
        let buf = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) => {
                stats.stopped = Some(e.to_string());
                return stats;
            }
        };
        if buf.is_empty() {
            return stats;
        }
        match buf.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(i) => {
                let c = buf.get(i).copied();
                reader.consume(i);
                break c;
            }
            None => {
                let n = buf.len();
                reader.consume(n);
            }
        }
    };
    if first == Some(b'[') {
        stats.array = true;
        let mut de = serde_json::Deserializer::from_reader(reader);
        let mut count = 0u64;
        let result = (&mut de).deserialize_seq(ElementVisitor {
            f: &mut f,
            count: &mut count,
        });
        stats.values = count;
        match result.and_then(|()| de.end()) {
            Ok(()) => {}
            Err(e) => {
                stats.stopped = Some(format!("after {count} entries: {e}"));
            }
        }
        return stats;
    }
    let mut lines = LineReader::new(reader, 0, 1);
    for line in lines.by_ref() {
        let text = line.text.trim();
        if text.is_empty() {
            continue;
        }
        if line.truncated {
            note_bad(&mut stats, line.number, "line too long; skipped".into());
            continue;
        }
        match serde_json::from_str::<Value>(text) {
            Ok(v) => {
                f(v, line.number);
                stats.values += 1;
            }
            Err(e) => note_bad(&mut stats, line.number, e.to_string()),
        }
    }
    if let Some(e) = lines.take_error() {
        stats.stopped = Some(e.to_string());
    }
    stats
}

fn note_bad(stats: &mut JsonStats, line: u64, err: String) {
    stats.bad_count += 1;
    if stats.bad_lines.len() < MAX_REPORTED_BAD_LINES {
        stats.bad_lines.push((line, err));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_and_lines() {
        let mut got = Vec::new();
        let s = for_each_value(&b"  [1, {\"a\": 2}, \"x\"]  "[..], |v, i| got.push((v, i)));
        assert!(s.array && s.is_complete());
        assert_eq!(got.len(), 3);
        assert_eq!(got[1].1, 1);

        let mut got = Vec::new();
        let s = for_each_value(&b"{\"a\":1}\n\nnot json\n{\"a\":2}\n{\"a\":"[..], |v, i| {
            got.push((v, i))
        });
        assert!(!s.array);
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].1, 4);
        assert_eq!(s.bad_count, 2);
        assert_eq!(s.bad_lines[0].0, 3);

        let mut n = 0;
        let s = for_each_value(&b"[1, 2, oops, 4]"[..], |_, _| n += 1);
        assert_eq!(n, 2);
        assert!(s.stopped.unwrap().starts_with("after 2 entries"));
        let s = for_each_value(&b"[1] trailing"[..], |_, _| {});
        assert!(s.stopped.is_some());
        let s = for_each_value(&b""[..], |_, _| {});
        assert!(s.is_complete() && s.values == 0);
    }
}
