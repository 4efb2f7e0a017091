//! Text logs from evidence, read one bounded line at a time.
//!
//! System logs (shutdown.log, ps.txt, mobile_installation.log) are plain text written by the
//! device, but a hostile or damaged file can hold binary junk or a single line of hundreds of
//! megabytes. [`Lines`] never holds more than [`Lines::max_line`] bytes of one line: the rest
//! of an overlong line is skipped (and counted), so memory stays bounded whatever the input.

use std::io::{BufRead, ErrorKind};

/// Longest line kept by default; longer lines are cut here. Real log lines are at most a few
/// kilobytes (a mobile_installation.log line with an inline plist is the largest).
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// A reader of bounded lines.
#[derive(Debug)]
pub struct Lines<R> {
    reader: R,
    max_line: usize,
    max_total: u64,
    buf: Vec<u8>,
    line_no: u64,
    total: u64,
    overlong: u64,
    stopped_at_cap: bool,
}

/// One line, without its end-of-line bytes.
#[derive(Debug, PartialEq, Eq)]
pub struct Line<'a> {
    /// 1-based line number.
    pub number: u64,
    /// The line's bytes (at most `max_line` of them).
    pub bytes: &'a [u8],
    /// Whether the line was longer than `max_line` and was cut.
    pub cut: bool,
}

impl<R: BufRead> Lines<R> {
    /// Lines of at most `max_line` bytes, reading at most `max_total` bytes in all.
    pub fn new(reader: R, max_line: usize, max_total: u64) -> Self {
        Lines {
            reader,
            max_line: max_line.max(1),
            max_total,
            buf: Vec::new(),
            line_no: 0,
            total: 0,
            overlong: 0,
            stopped_at_cap: false,
        }
    }

    /// The cap on one line.
    pub fn max_line(&self) -> usize {
        self.max_line
    }

    /// Lines cut so far because they were longer than the cap.
    pub fn overlong(&self) -> u64 {
        self.overlong
    }

    /// Whether reading stopped because `max_total` bytes were read.
    pub fn stopped_at_cap(&self) -> bool {
        self.stopped_at_cap
    }

    /// Bytes consumed so far.
    pub fn bytes_read(&self) -> u64 {
        self.total
    }

    /// The next line, `Ok(None)` at the end (or at the byte cap).
    pub fn next_line(&mut self) -> std::io::Result<Option<Line<'_>>> {
        self.buf.clear();
        let mut cut = false;
        let mut saw_any = false;
        loop {
            if self.total >= self.max_total {
                self.stopped_at_cap = true;
                break;
            }
            let available = match self.reader.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                break;
            }
            saw_any = true;
            let room = usize::try_from(self.max_total - self.total).unwrap_or(usize::MAX);
            let window = available
                .get(..available.len().min(room))
                .unwrap_or_default();
            let newline = window.iter().position(|&b| b == b'\n');
            let chunk_len = newline.unwrap_or(window.len());
            let chunk = window.get(..chunk_len).unwrap_or_default();
            let keep = self
                .max_line
                .saturating_sub(self.buf.len())
                .min(chunk.len());
            self.buf
                .extend_from_slice(chunk.get(..keep).unwrap_or_default());
            if keep < chunk.len() {
                cut = true;
            }
            let consumed = chunk_len + usize::from(newline.is_some());
            self.reader.consume(consumed);
            self.total = self.total.saturating_add(consumed as u64);
            if newline.is_some() {
                break;
            }
        }
        if !saw_any {
            return Ok(None);
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        if cut {
            self.overlong += 1;
        }
        self.line_no += 1;
        Ok(Some(Line {
            number: self.line_no,
            bytes: &self.buf,
            cut,
        }))
    }
}

/// Whether a line looks like binary junk rather than text: a NUL byte, or invalid UTF-8.
pub fn is_binary(bytes: &[u8]) -> bool {
    bytes.contains(&0) || std::str::from_utf8(bytes).is_err()
}

/// Reads the first line of a file (at most `max` bytes of it).
pub fn first_line(path: &std::path::Path, max: usize) -> std::io::Result<Option<Vec<u8>>> {
    let file = std::fs::File::open(path)?;
    let mut lines = Lines::new(std::io::BufReader::new(file), max, u64::MAX);
    Ok(lines.next_line()?.map(|l| l.bytes.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(input: &[u8], max_line: usize, max_total: u64) -> (Vec<(Vec<u8>, bool)>, u64) {
        let mut r = Lines::new(std::io::Cursor::new(input), max_line, max_total);
        let mut out = Vec::new();
        while let Some(l) = r.next_line().unwrap() {
            out.push((l.bytes.to_vec(), l.cut));
        }
        (out, r.overlong())
    }

    #[test]
    fn splits_and_strips_crlf() {
        let (lines, over) = collect(b"a\r\nbb\n\nlast", 10, u64::MAX);
        let texts: Vec<&[u8]> = lines.iter().map(|(l, _)| l.as_slice()).collect();
        assert_eq!(texts, [&b"a"[..], b"bb", b"", b"last"]);
        assert_eq!(over, 0);
    }

    #[test]
    fn cuts_long_lines_without_holding_them() {
        let mut input = vec![b'x'; 100_000];
        input.extend_from_slice(b"\nshort\n");
        // A tiny buffer forces many fill_buf rounds over the long line.
        let mut r = Lines::new(
            std::io::BufReader::with_capacity(7, &input[..]),
            16,
            u64::MAX,
        );
        let first = r.next_line().unwrap().unwrap();
        assert_eq!(first.bytes.len(), 16);
        assert!(first.cut);
        let second = r.next_line().unwrap().unwrap();
        assert_eq!(second.bytes, b"short");
        assert_eq!(second.number, 2);
        assert!(r.next_line().unwrap().is_none());
        assert_eq!(r.overlong(), 1);
    }

    #[test]
    fn stops_at_the_byte_cap() {
        let (lines, _) = collect(b"one\ntwo\nthree\n", 100, 6);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1].0, b"tw");
    }

    #[test]
    fn binary_detection() {
        assert!(is_binary(b"a\0b"));
        assert!(is_binary(b"\xff\xfe"));
        assert!(!is_binary("SIGTERM: [1] é".as_bytes()));
    }
}
