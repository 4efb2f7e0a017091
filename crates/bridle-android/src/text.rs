//! Line-by-line reading of text artifacts that may be huge (a 200 MB dumpstate), not UTF-8,
//! or hostile (one line of a gigabyte), in constant memory.

use std::io::{self, BufRead, BufReader, Read};

/// Longest line kept, in bytes. Longer lines are cut there (and the cut is reported): no
/// real dumpsys or getprop line comes near, so a longer one is damage or an attack on memory.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// One line, decoded as UTF-8 with invalid bytes replaced (as MVT's `errors="replace"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The text, without its line ending (`\n` or `\r\n`).
    pub text: String,
    /// 1-based line number in the file.
    pub number: u64,
    /// Whether the line was longer than [`MAX_LINE_BYTES`] and was cut.
    pub truncated: bool,
}

/// Reads lines from any reader, each at most [`MAX_LINE_BYTES`] long.
pub struct LineReader<R> {
    inner: BufReader<R>,
    number: u64,
    /// Bytes consumed so far (the offset of the next line).
    offset: u64,
    /// The first read error, after which iteration stops.
    error: Option<io::Error>,
    /// Lines cut at the cap.
    truncated: u64,
    buf: Vec<u8>,
}

impl<R: Read> LineReader<R> {
    /// Reads from `inner`, whose first byte is at file offset `offset` and first line is
    /// line `first_line`.
    pub fn new(inner: R, offset: u64, first_line: u64) -> Self {
        LineReader {
            inner: BufReader::with_capacity(1 << 16, inner),
            number: first_line.saturating_sub(1),
            offset,
            error: None,
            truncated: 0,
            buf: Vec::new(),
        }
    }

    /// The offset of the next line in the file.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The error that stopped reading, if any.
    pub fn error(&self) -> Option<&io::Error> {
        self.error.as_ref()
    }

    /// Takes the error that stopped reading.
    pub fn take_error(&mut self) -> Option<io::Error> {
        self.error.take()
    }

    /// How many lines were cut at [`MAX_LINE_BYTES`].
    pub fn truncated_lines(&self) -> u64 {
        self.truncated
    }

    /// The next line as raw bytes (without `\n`/`\r\n`), or `None` at the end or on error.
    pub fn next_bytes(&mut self) -> Option<(&[u8], bool)> {
        if self.error.is_some() {
            return None;
        }
        self.buf.clear();
        let mut cut = false;
        let mut any = false;
        loop {
            let available = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.error = Some(e);
                    return None;
                }
            };
            if available.is_empty() {
                if !any {
                    return None;
                }
                break;
            }
            any = true;
            let (chunk, done) = match memchr(available) {
                Some(i) => (available.get(..=i).unwrap_or(available), true),
                None => (available, false),
            };
            let room = MAX_LINE_BYTES.saturating_sub(self.buf.len());
            if chunk.len() > room {
                cut = true;
            }
            self.buf
                .extend_from_slice(chunk.get(..chunk.len().min(room)).unwrap_or_default());
            let used = chunk.len();
            self.inner.consume(used);
            self.offset = self.offset.saturating_add(used as u64);
            if done {
                break;
            }
        }
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
            if self.buf.last() == Some(&b'\r') {
                self.buf.pop();
            }
        }
        self.number = self.number.saturating_add(1);
        if cut {
            self.truncated = self.truncated.saturating_add(1);
        }
        Some((&self.buf, cut))
    }

    /// The current line number (of the line last returned).
    pub fn line_number(&self) -> u64 {
        self.number
    }
}

fn memchr(b: &[u8]) -> Option<usize> {
    b.iter().position(|c| *c == b'\n')
}

impl<R: Read> Iterator for LineReader<R> {
    type Item = Line;

    fn next(&mut self) -> Option<Line> {
        let (bytes, truncated) = self.next_bytes()?;
        let text = String::from_utf8_lossy(bytes).into_owned();
        Some(Line {
            text,
            number: self.number,
            truncated,
        })
    }
}

/// Lines of text already in memory (small files), decoded like [`LineReader`].
pub fn lines(bytes: &[u8]) -> impl Iterator<Item = Line> + '_ {
    LineReader::new(bytes, 0, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_lines_and_caps_them() {
        let data = b"a\r\nb\n\nlast".to_vec();
        let got: Vec<_> = lines(&data).map(|l| l.text).collect();
        assert_eq!(got, ["a", "b", "", "last"]);
        let mut big = vec![b'x'; MAX_LINE_BYTES + 10];
        big.extend_from_slice(b"\nnext\n\xff\xfe\n");
        let mut r = LineReader::new(&big[..], 0, 1);
        let first = r.next().unwrap();
        assert!(first.truncated);
        assert_eq!(first.text.len(), MAX_LINE_BYTES);
        assert_eq!(r.next().unwrap().text, "next");
        assert_eq!(r.next().unwrap().text, "\u{FFFD}\u{FFFD}");
        assert!(r.next().is_none());
        assert_eq!(r.truncated_lines(), 1);
        assert_eq!(r.offset(), big.len() as u64);
    }
}
