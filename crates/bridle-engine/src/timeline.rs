//! The timeline, sorted without holding it in memory.
//!
//! Each module's events are collected in a buffer; a full buffer is sorted and written to a
//! temporary "run" file. At the end all runs of all modules are merged (k-way, by a heap), so
//! memory is bounded by the buffer size times the number of modules, whatever the size of
//! the acquisition. Rows are ordered by (time, module, event, data), with undated rows first
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

pub(crate) struct Spool {
    slug: &'static str,
    buf: Vec<TimelineRow>,
    runs: Vec<PathBuf>,
    run_len: usize,
}

impl Spool {
    pub(crate) fn new(slug: &'static str, run_len: usize) -> Spool {
        Spool {
            slug,
            buf: Vec::new(),
            runs: Vec::new(),
            run_len: run_len.max(1),
        }
    }

    pub(crate) fn push(&mut self, row: TimelineRow, dir: &Path) -> Result<(), EngineError> {
        self.buf.push(row);
        if self.buf.len() >= self.run_len {
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
        Ok(())
    }

    /// Sorts what is left in memory (at most one run's worth: already bounded).
    pub(crate) fn finish(&mut self, _dir: &Path) -> Result<(), EngineError> {
        self.buf.sort_unstable();
        Ok(())
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
    mut f: impl FnMut(&TimelineRow) -> Result<(), EngineError>,
) -> Result<u64, EngineError> {
    let mut sources = Vec::new();
    for s in spools {
        for path in s.runs {
            let file = File::open(&path).map_err(|e| EngineError::output(&path, e))?;
            sources.push(Source::File(BufReader::new(file).lines(), path));
        }
        if !s.buf.is_empty() {
            sources.push(Source::Memory(s.buf.into_iter()));
        }
    }
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
}
