//! The bytes under an archive, readable at any offset by many readers at once, and the
//! bounded reader handed out for one member.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::sync::Arc;

/// Where an archive's bytes are: a file opened read-only, or memory (a nested archive).
#[derive(Debug, Clone)]
pub(crate) enum Backing {
    /// A file and its length when opened.
    File(Arc<File>, u64),
    /// Bytes in memory.
    Mem(Arc<[u8]>),
}

impl Backing {
    pub(crate) fn len(&self) -> u64 {
        match self {
            Backing::File(_, len) => *len,
            Backing::Mem(b) => b.len() as u64,
        }
    }

    /// Reads at an absolute offset without moving any shared cursor, so readers cloned from
    /// one archive never disturb each other.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        match self {
            Backing::File(f, _) => file_read_at(f, buf, offset),
            Backing::Mem(b) => {
                let Ok(start) = usize::try_from(offset) else {
                    return Ok(0);
                };
                let Some(src) = b.get(start..) else {
                    return Ok(0);
                };
                let n = src.len().min(buf.len());
                if let (Some(dst), Some(src)) = (buf.get_mut(..n), src.get(..n)) {
                    dst.copy_from_slice(src);
                }
                Ok(n)
            }
        }
    }
}

#[cfg(unix)]
fn file_read_at(f: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(f, buf, offset)
}

#[cfg(windows)]
fn file_read_at(f: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(f, buf, offset)
}

/// A cursor over a [`Backing`]; cheap to clone, each clone with its own position.
#[derive(Debug, Clone)]
pub(crate) struct PosReader {
    backing: Backing,
    pos: u64,
}

impl PosReader {
    pub(crate) fn new(backing: Backing, pos: u64) -> Self {
        PosReader { backing, pos }
    }
}

impl Read for PosReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.backing.read_at(buf, self.pos)?;
        self.pos = self.pos.saturating_add(n as u64);
        Ok(n)
    }
}

impl Seek for PosReader {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let new = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.backing.len().checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        match new {
            Some(p) => {
                self.pos = p;
                Ok(p)
            }
            None => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start of the archive",
            )),
        }
    }
}

/// Reading one member: at most its declared size, and an error (not silent truncation)
/// when the data ends early, holds more than declared, or fails its CRC.
///
/// A member's declared size is what the caps were checked against; a decompressor that
/// produced more would be a zip bomb lying about its size.
pub struct Member {
    inner: Box<dyn Read + Send>,
    name: String,
    remaining: u64,
    crc: Option<(u32, flate2::Crc)>,
    finished: bool,
}

impl std::fmt::Debug for Member {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Member")
            .field("name", &self.name)
            .field("remaining", &self.remaining)
            .finish_non_exhaustive()
    }
}

impl Member {
    pub(crate) fn new(
        inner: Box<dyn Read + Send>,
        name: &str,
        size: u64,
        crc: Option<u32>,
    ) -> Member {
        Member {
            inner,
            name: name.to_owned(),
            remaining: size,
            crc: crc.map(|c| (c, flate2::Crc::new())),
            finished: false,
        }
    }

    /// The member's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn invalid(&self, what: String) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, format!("{}: {what}", self.name))
    }

    fn finish(&mut self) -> io::Result<usize> {
        if self.finished {
            return Ok(0);
        }
        let mut probe = [0u8; 1];
        loop {
            match self.inner.read(&mut probe) {
                Ok(0) => break,
                Ok(_) => {
                    return Err(self.invalid("holds more data than its declared size".into()));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if let Some((want, crc)) = &self.crc
            && crc.sum() != *want
        {
            let got = crc.sum();
            let want = *want;
            return Err(self.invalid(format!(
                "CRC-32 {got:08x} does not match the archive's {want:08x}"
            )));
        }
        self.finished = true;
        Ok(0)
    }
}

impl Read for Member {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            return self.finish();
        }
        let want = usize::try_from(self.remaining)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let Some(dst) = buf.get_mut(..want) else {
            return Ok(0);
        };
        let n = self.inner.read(dst)?;
        if n == 0 && want > 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "{}: truncated, {} bytes of the declared size are missing",
                    self.name, self.remaining
                ),
            ));
        }
        if let (Some((_, crc)), Some(read)) = (self.crc.as_mut(), dst.get(..n)) {
            crc.update(read);
        }
        self.remaining = self.remaining.saturating_sub(n as u64);
        Ok(n)
    }
}

/// Counts the bytes read through it and fails once more than `max` have come out: guards
/// a decompression pass (a tar.gz index) against bombs.
pub(crate) struct Capped<R> {
    pub(crate) inner: R,
    pub(crate) count: u64,
    pub(crate) max: u64,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count = self.count.saturating_add(n as u64);
        if self.count > self.max {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("decompressed data exceeds the {}-byte limit", self.max),
            ));
        }
        Ok(n)
    }
}

/// Skips `n` bytes of a reader by reading them (for streams that cannot seek).
pub(crate) fn skip(reader: &mut dyn Read, n: u64) -> io::Result<()> {
    let copied = io::copy(&mut reader.take(n), &mut io::sink())?;
    if copied < n {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the archive ends before the member",
        ));
    }
    Ok(())
}
