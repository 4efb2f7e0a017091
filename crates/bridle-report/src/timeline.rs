//! The part of `timeline.csv` a report embeds: every event within some hours of an alert,
//! then the earliest others, at most a cap, read without parsing the whole file when it is
//! large.
//!
//! `timeline.csv` is sorted by time (undated rows first) and every field is quoted, so the
//! start of a dated row is recognisable anywhere in the file: a newline, a quote and a digit.
//! Inside a quoted field a quote is always doubled, so that sequence cannot occur in a
//! description. A window is found by bisecting byte offsets on that pattern, then read with
//! the CSV reader from there: the cost is the windows, not the file.

use bridle_model::Timestamp;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

/// Bytes read around a probe offset when bisecting.
const PROBE_BYTES: usize = 64 * 1024;
/// Most bisection steps (2^64 bytes would need 64).
const MAX_STEPS: usize = 64;

/// One row: byte offset of its start, time, and the four columns.
pub(crate) struct Row {
    pub(crate) offset: u64,
    pub(crate) time: Option<Timestamp>,
    pub(crate) fields: [String; 4],
}

/// What was read.
pub(crate) struct Selection {
    pub(crate) rows: Vec<Row>,
    pub(crate) capped: bool,
    pub(crate) problems: Vec<String>,
}

fn row_of(record: &csv::StringRecord, offset: u64) -> Row {
    let field = |i: usize| record.get(i).unwrap_or("").to_owned();
    let time = Timestamp::parse(record.get(0).unwrap_or(""));
    Row {
        offset,
        time,
        fields: [field(0), field(1), field(2), field(3)],
    }
}

/// Reads rows from `offset` on, calling `keep` for each until it returns false.
fn read_from(
    path: &Path,
    offset: u64,
    problems: &mut Vec<String>,
    mut keep: impl FnMut(Row) -> bool,
) {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            problems.push(format!("timeline.csv could not be read: {e}"));
            return;
        }
    };
    if file.seek(SeekFrom::Start(offset)).is_err() {
        return;
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(BufReader::with_capacity(1 << 16, file));
    let mut record = csv::StringRecord::new();
    loop {
        let start = offset.saturating_add(reader.position().byte());
        match reader.read_record(&mut record) {
            Ok(true) => {
                if !keep(row_of(&record, start)) {
                    return;
                }
            }
            Ok(false) => return,
            Err(e) => {
                problems.push(format!(
                    "timeline.csv is damaged ({e}); events after the damage are not shown"
                ));
                return;
            }
        }
    }
}

/// The offset and time of the first dated row starting at or after `from`, if any.
fn dated_row_at_or_after(file: &mut File, from: u64) -> Option<(u64, Timestamp)> {
    // A row starts after a newline: look from the byte before `from`, so that a row starting
    // exactly at `from` is found.
    let mut at = from.saturating_sub(1);
    loop {
        file.seek(SeekFrom::Start(at)).ok()?;
        let mut buf = vec![0u8; PROBE_BYTES];
        let mut filled = 0;
        while filled < buf.len() {
            let n = file.read(buf.get_mut(filled..)?).ok()?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        buf.truncate(filled);
        if buf.is_empty() {
            return None;
        }
        let mut search = 0;
        while let Some(i) = memchr::memchr(b'\n', buf.get(search..)?) {
            let nl = search + i;
            match (buf.get(nl + 1), buf.get(nl + 2)) {
                (Some(b'"'), Some(d)) if d.is_ascii_digit() => {
                    // `"YYYY-mm-dd HH:MM:SS.ffffff"`: 26 characters after the quote.
                    let text = buf.get(nl + 2..nl + 28)?;
                    let t = std::str::from_utf8(text).ok().and_then(Timestamp::parse)?;
                    return Some((at + nl as u64 + 1, t));
                }
                (Some(_), Some(_)) => search = nl + 1,
                // The pattern may straddle the end of the buffer.
                _ => break,
            }
        }
        if filled < PROBE_BYTES {
            return None;
        }
        at += (filled - 2) as u64;
    }
}

/// The offset of the first dated row at or after time `t` (or the end of the file).
fn lower_bound(path: &Path, t: Timestamp, len: u64) -> Option<u64> {
    let mut file = File::open(path).ok()?;
    let (mut lo, mut hi) = (0u64, len);
    // Invariant: every dated row starting before `lo` is earlier than `t`; the first row at
    // or after `hi` (if any) is at or after `t`.
    for _ in 0..MAX_STEPS {
        if lo >= hi {
            break;
        }
        let mid = lo + (hi - lo) / 2;
        match dated_row_at_or_after(&mut file, mid) {
            Some((at, time)) if at < hi => {
                if time < t {
                    lo = at + 1;
                } else {
                    hi = at;
                }
            }
            _ => hi = mid,
        }
    }
    // `lo` may sit inside a row: the next row start.
    dated_row_at_or_after(&mut file, lo).map(|(at, _)| at)
}

/// Selects rows of `path`: those within `window` microseconds of any of `times`, then the
/// earliest others, at most `cap` in all. `total` is the number of rows (from info.json)
/// when known; a timeline no longer than `cap` is read whole.
pub(crate) fn select(
    path: &Path,
    times: &[i64],
    window: i64,
    cap: usize,
    total: Option<u64>,
) -> Selection {
    let mut selection = Selection {
        rows: Vec::new(),
        capped: false,
        problems: Vec::new(),
    };
    let len = match std::fs::metadata(path) {
        Ok(m) => m.len(),
        Err(e) => {
            selection
                .problems
                .push(format!("timeline.csv could not be read: {e}"));
            return selection;
        }
    };
    let small = total.is_some_and(|t| t <= cap as u64);
    let mut seen = std::collections::HashSet::new();
    let mut rows = Vec::new();
    if !small {
        // Merged windows, earliest first.
        let mut spans: Vec<(i64, i64)> = times
            .iter()
            .map(|t| (t.saturating_sub(window), t.saturating_add(window)))
            .collect();
        spans.sort_unstable();
        let mut merged: Vec<(i64, i64)> = Vec::new();
        for (a, b) in spans {
            match merged.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        for (a, b) in merged {
            if rows.len() >= cap {
                selection.capped = true;
                break;
            }
            let Some(start) = Timestamp::from_unix_micros(a).or(Timestamp::from_unix_micros(0))
            else {
                continue;
            };
            let Some(offset) = lower_bound(path, start, len) else {
                continue;
            };
            read_from(path, offset, &mut selection.problems, |row| {
                match row.time.map(Timestamp::unix_micros) {
                    Some(t) if t > b => false,
                    _ if rows.len() >= cap => {
                        selection.capped = true;
                        false
                    }
                    _ => {
                        if seen.insert(row.offset) {
                            rows.push(row);
                        }
                        true
                    }
                }
            });
        }
    }
    // Then the earliest rows (the whole file when it is small).
    let mut first = true;
    read_from(path, 0, &mut selection.problems, |row| {
        if std::mem::take(&mut first) && row.fields[0] == "UTC Timestamp" {
            return true;
        }
        if rows.len() >= cap {
            selection.capped = true;
            return false;
        }
        if seen.insert(row.offset) {
            rows.push(row);
        }
        true
    });
    selection.rows = rows;
    selection
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write_timeline(path: &Path, n: i64) {
        let mut f = std::io::BufWriter::new(File::create(path).unwrap());
        writeln!(f, "\"UTC Timestamp\",\"Plugin\",\"Event\",\"Description\"").unwrap();
        writeln!(f, "\"\",\"M\",\"e\",\"undated\"").unwrap();
        for i in 0..n {
            let t = Timestamp::from_unix_seconds(1_700_000_000 + i * 60).unwrap();
            // Descriptions with newlines, quotes and look-alike timestamps.
            writeln!(
                f,
                "\"{}\",\"M\",\"e\",\"row {i}\n\"\"2001-01-01 00:00:00.000000\"\" x\"",
                t.to_mvt()
            )
            .unwrap();
        }
    }

    #[test]
    fn windows_are_found_by_bisection_and_capped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("timeline.csv");
        write_timeline(&path, 20_000);
        let at = |i: i64| (1_700_000_000 + i * 60) * 1_000_000;
        // Two windows of +-10 minutes: 21 rows each.
        let s = select(
            &path,
            &[at(5_000), at(15_000)],
            600_000_000,
            100,
            Some(20_001),
        );
        let descriptions: Vec<&str> = s.rows.iter().map(|r| r.fields[3].as_str()).collect();
        assert!(
            descriptions
                .iter()
                .take(21)
                .all(|d| d.starts_with("row 49") || d.starts_with("row 50"))
        );
        assert!(descriptions.contains(&"row 4990\n\"2001-01-01 00:00:00.000000\" x"));
        assert!(descriptions.contains(&"row 15010\n\"2001-01-01 00:00:00.000000\" x"));
        assert!(!descriptions.contains(&"row 4989\n\"2001-01-01 00:00:00.000000\" x"));
        assert_eq!(s.rows.len(), 100, "42 in windows, then the earliest");
        assert!(s.capped);
        assert_eq!(s.rows[42].fields[3], "undated");
        assert!(s.problems.is_empty());
        // Any window gives exactly the rows a full scan would: windows at the edges, beyond
        // them, overlapping.
        let mut seed = 7u64;
        for _ in 0..40 {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let i = (seed >> 33) as i64 % 20_400 - 200;
            let j = i + (seed >> 50) as i64 % 30;
            let w = 60_000_000 * ((seed >> 40) as i64 % 25);
            let s = select(&path, &[at(i), at(j)], w, 20_000, Some(20_001));
            let got: Vec<i64> = s
                .rows
                .iter()
                .filter_map(|r| r.time.map(Timestamp::unix_micros))
                .take_while(|t| *t <= at(j) + w)
                .collect();
            let want: Vec<i64> = (0..20_000)
                .map(at)
                .filter(|t| (t - at(i)).abs() <= w || (t - at(j)).abs() <= w)
                .collect();
            assert_eq!(
                &got[..want.len().min(got.len())],
                &want[..],
                "i={i} j={j} w={w}"
            );
        }
        // Small timelines are read whole.
        let whole = select(&path, &[], 0, 30_000, Some(20_001));
        assert_eq!(whole.rows.len(), 20_001);
        assert!(!whole.capped);
    }
}
