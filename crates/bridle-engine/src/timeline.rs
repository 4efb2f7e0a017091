//! The timeline, sorted without holding it in memory.
//!
//! Each module's events are collected in a buffer; a full buffer (by rows or by bytes) is
//! sorted and written to a temporary "run" file, and so is what is left when the module ends,
//! unless it is only a few rows. At the end all runs of all modules are merged (k-way, by a
//! heap; in several passes when there are more runs than [`MAX_FAN_IN`], so the open files
//! stay few), so memory is bounded by one buffer per module running at once, whatever the
//! size of the acquisition. Rows are ordered by (time, module, event, data), with undated rows first
//! as in MVT, which also makes identical rows adjacent: MVT's per-module de-duplication
//! becomes dropping a row equal to the previous one.

use crate::EngineError;
use bridle_model::Timestamp;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

/// One timeline row.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TimelineRow {
    /// When (UTC); `None` sorts first.
    pub timestamp: Option<Timestamp>,
    /// The module's MVT class name ("Plugin" column).
    pub module: Cow<'static, str>,
    /// Event name.
    pub event: Cow<'static, str>,
    /// Description.
    pub data: String,
}

/// Largest run held in memory, in approximate bytes of rows.
const RUN_BYTES: usize = 4 << 20;
/// A module that ends with at most this many rows keeps them in memory for the merge.
const KEEP_ROWS: usize = 512;
/// Most run files merged at once.
pub(crate) const MAX_FAN_IN: usize = 128;

pub(crate) struct Spool {
    slug: &'static str,
    buf: Vec<TimelineRow>,
    /// Approximate bytes held by `buf`.
    bytes: usize,
    runs: Vec<PathBuf>,
    run_len: usize,
}

/// What a row costs in memory, roughly.
fn row_bytes(row: &TimelineRow) -> usize {
    let owned = |c: &Cow<'static, str>| match c {
        Cow::Borrowed(_) => 0,
        Cow::Owned(s) => s.capacity(),
    };
    std::mem::size_of::<TimelineRow>()
        + owned(&row.module)
        + owned(&row.event)
        + row.data.capacity()
}

impl Spool {
    pub(crate) fn new(slug: &'static str, run_len: usize) -> Spool {
        Spool {
            slug,
            buf: Vec::new(),
            bytes: 0,
            runs: Vec::new(),
            run_len: run_len.max(1),
        }
    }

    pub(crate) fn push(&mut self, row: TimelineRow, dir: &Path) -> Result<(), EngineError> {
        self.bytes = self.bytes.saturating_add(row_bytes(&row));
        self.buf.push(row);
        if self.buf.len() >= self.run_len || self.bytes >= RUN_BYTES {
            self.spill(dir)?;
        }
        Ok(())
    }

    fn spill(&mut self, dir: &Path) -> Result<(), EngineError> {
        self.buf.sort_unstable();
        let path = dir.join(format!("{}.{}.run", self.slug, self.runs.len()));
        let write = || -> std::io::Result<()> {
            let mut w = BufWriter::with_capacity(crate::WRITE_BUFFER, File::create(&path)?);
            for row in &self.buf {
                serde_json::to_writer(&mut w, row)?;
                w.write_all(b"\n")?;
            }
            w.flush()
        };
        write().map_err(|e| EngineError::output(&path, e))?;
        self.runs.push(path);
        self.buf.clear();
        self.buf.shrink_to_fit();
        self.bytes = 0;
        Ok(())
    }

    /// Writes what is left to a run, or sorts it in memory when it is only a few rows, so
    /// that a finished module holds (almost) nothing until the merge.
    pub(crate) fn finish(&mut self, dir: &Path) -> Result<(), EngineError> {
        if self.buf.len() > KEEP_ROWS {
            self.spill(dir)
        } else {
            self.buf.sort_unstable();
            self.buf.shrink_to_fit();
            Ok(())
        }
    }
}

/// A sorted source of rows: a run file or an in-memory buffer.
enum Source {
    File(std::io::Lines<BufReader<File>>, PathBuf),
    Memory(std::vec::IntoIter<TimelineRow>),
}

impl Source {
    fn next(&mut self) -> Result<Option<TimelineRow>, EngineError> {
        match self {
            Source::Memory(it) => Ok(it.next()),
            Source::File(lines, path) => match lines.next() {
                None => Ok(None),
                Some(line) => {
                    let line = line.map_err(|e| EngineError::output(&*path, e))?;
                    serde_json::from_str(&line)
                        .map(Some)
                        .map_err(|e| EngineError::output(&*path, std::io::Error::other(e)))
                }
            },
        }
    }
}

/// Merges every module's spool in order, dropping exact duplicates, and hands each row to
/// `f`. Returns the number of rows handed over.
pub(crate) fn merge(
    spools: Vec<Spool>,
    f: impl FnMut(&TimelineRow) -> Result<(), EngineError>,
) -> Result<u64, EngineError> {
    let mut files = Vec::new();
    let mut memory = Vec::new();
    for s in spools {
        files.extend(s.runs);
        if !s.buf.is_empty() {
            memory.push(s.buf);
        }
    }
    // More runs than can be open at once: merge them in groups into longer runs first.
    let mut pass = 0usize;
    while files.len() + memory.len() > MAX_FAN_IN && files.len() > 1 {
        let mut longer = Vec::new();
        for (g, group) in files.chunks(MAX_FAN_IN).enumerate() {
            let Some(first) = group.first() else { continue };
            if group.len() == 1 {
                longer.push(first.clone());
                continue;
            }
            let dir = first.parent().unwrap_or(Path::new("."));
            let path = dir.join(format!("merge.{pass}.{g}.run"));
            let file = File::create(&path).map_err(|e| EngineError::output(&path, e))?;
            let mut w = BufWriter::with_capacity(crate::WRITE_BUFFER, file);
            merge_sources(open(group)?, |row| {
                serde_json::to_writer(&mut w, row)
                    .map_err(std::io::Error::other)
                    .and_then(|()| w.write_all(b"\n"))
                    .map_err(|e| EngineError::output(&path, e))
            })?;
            w.flush().map_err(|e| EngineError::output(&path, e))?;
            for done in group {
                // The spool folder is removed at the end anyway.
                let _ = std::fs::remove_file(done);
            }
            longer.push(path);
        }
        files = longer;
        pass += 1;
    }
    let mut sources = open(&files)?;
    sources.extend(memory.into_iter().map(|b| Source::Memory(b.into_iter())));
    merge_sources(sources, f)
}

fn open(paths: &[PathBuf]) -> Result<Vec<Source>, EngineError> {
    paths
        .iter()
        .map(|path| {
            let file = File::open(path).map_err(|e| EngineError::output(path, e))?;
            Ok(Source::File(BufReader::new(file).lines(), path.clone()))
        })
        .collect()
}

fn merge_sources(
    mut sources: Vec<Source>,
    mut f: impl FnMut(&TimelineRow) -> Result<(), EngineError>,
) -> Result<u64, EngineError> {
    let mut heap = BinaryHeap::with_capacity(sources.len());
    for (i, src) in sources.iter_mut().enumerate() {
        if let Some(row) = src.next()? {
            heap.push(Reverse((row, i)));
        }
    }
    let mut last: Option<TimelineRow> = None;
    let mut n = 0u64;
    while let Some(Reverse((row, i))) = heap.pop() {
        if let Some(src) = sources.get_mut(i)
            && let Some(next) = src.next()?
        {
            heap.push(Reverse((next, i)));
        }
        if last.as_ref() == Some(&row) {
            continue;
        }
        f(&row)?;
        n += 1;
        last = Some(row);
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(t: Option<i64>, m: &str, d: &str) -> TimelineRow {
        TimelineRow {
            timestamp: t.and_then(Timestamp::from_unix_seconds),
            module: Cow::Owned(m.to_owned()),
            event: Cow::Borrowed("e"),
            data: d.into(),
        }
    }

    #[test]
    fn merges_spilled_runs_in_order_without_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = Spool::new("a", 3);
        let mut b = Spool::new("b", 1000);
        for t in [5, 1, 9, 3, 3, 7, 2] {
            a.push(row(Some(t), "A", "x"), dir.path()).unwrap();
        }
        a.push(row(None, "A", "undated"), dir.path()).unwrap();
        for t in [4, 1, 8] {
            b.push(row(Some(t), "B", "y"), dir.path()).unwrap();
        }
        a.finish(dir.path()).unwrap();
        b.finish(dir.path()).unwrap();
        assert!(a.runs.len() >= 2, "the small run length forced spills");
        let mut got = Vec::new();
        let n = merge(vec![a, b], |r| {
            got.push((
                r.timestamp.map(Timestamp::unix_seconds),
                r.module.to_string(),
            ));
            Ok(())
        })
        .unwrap();
        assert_eq!(n, 10, "one of the two identical rows at t=3 is dropped");
        let expected: Vec<(Option<i64>, String)> = vec![
            (None, "A".into()),
            (Some(1), "A".into()),
            (Some(1), "B".into()),
            (Some(2), "A".into()),
            (Some(3), "A".into()),
            (Some(4), "B".into()),
            (Some(5), "A".into()),
            (Some(7), "A".into()),
            (Some(8), "B".into()),
            (Some(9), "A".into()),
        ];
        assert_eq!(got, expected);
    }

    #[test]
    fn merges_more_runs_than_the_fan_in_in_passes() {
        let dir = tempfile::tempdir().unwrap();
        // One row per run: 3 * MAX_FAN_IN + 5 runs, in descending time, plus duplicates.
        let mut a = Spool::new("a", 1);
        let n = 3 * MAX_FAN_IN as i64 + 5;
        for t in (0..n).rev() {
            a.push(row(Some(t), "A", "x"), dir.path()).unwrap();
        }
        a.push(row(Some(7), "A", "x"), dir.path()).unwrap();
        let mut b = Spool::new("b", 1000);
        b.push(row(Some(3), "B", "y"), dir.path()).unwrap();
        a.finish(dir.path()).unwrap();
        b.finish(dir.path()).unwrap();
        assert!(a.runs.len() > 3 * MAX_FAN_IN);
        let mut got = Vec::new();
        merge(vec![a, b], |r| {
            got.push(r.timestamp.map(Timestamp::unix_seconds).unwrap_or(-1));
            Ok(())
        })
        .unwrap();
        let mut expected: Vec<i64> = (0..n).collect();
        expected.insert(4, 3);
        assert_eq!(got, expected, "sorted, the duplicate dropped, B's row kept");
    }

    #[test]
    fn a_finished_module_keeps_only_a_few_rows_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = Spool::new("a", 1_000_000);
        for t in 0..(KEEP_ROWS as i64 + 1) {
            a.push(row(Some(t), "A", "x"), dir.path()).unwrap();
        }
        a.finish(dir.path()).unwrap();
        assert!(a.buf.is_empty());
        assert_eq!(a.runs.len(), 1);
        let mut small = Spool::new("s", 1_000_000);
        small.push(row(Some(1), "S", "x"), dir.path()).unwrap();
        small.finish(dir.path()).unwrap();
        assert_eq!((small.buf.len(), small.runs.len()), (1, 0));
    }
}
