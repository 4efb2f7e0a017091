//! Reading a results folder back: what `recheck`, the report, `verify` and the case store
//! need from an earlier check's files.
//!
//! A results folder is our own output, but it is read months later, after it has been
//! copied, archived, perhaps edited by hand: it is treated as untrusted input like evidence.
//! Lines and files are size-capped, every line error names the file and the line, and files
//! are streamed (hashed while read, so a re-check can compare them with the run's manifest
//! without reading them twice).

use bridle_model::{Map, Observable, Source, Timestamp};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// Longest line of `observables.jsonl` read, in bytes. One record's observables: a record
/// with thousands of links is still far below.
pub const MAX_LINE_BYTES: usize = 64 * 1024 * 1024;
/// Largest whole-file JSON read into memory (`info.json`, `alerts.json`).
pub const MAX_JSON_FILE_BYTES: u64 = 512 * 1024 * 1024;

/// Why a results file could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The file is not there.
    #[error("{}: missing", path.display())]
    Missing {
        /// The file.
        path: PathBuf,
    },
    /// The file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not what bridle wrote (bad JSON, truncated, too large).
    #[error("{}: {why}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
}

impl ReadError {
    fn io(path: &Path, source: std::io::Error) -> ReadError {
        if source.kind() == std::io::ErrorKind::NotFound {
            ReadError::Missing {
                path: path.to_owned(),
            }
        } else {
            ReadError::Io {
                path: path.to_owned(),
                source,
            }
        }
    }

    /// The file concerned.
    pub fn path(&self) -> &Path {
        match self {
            ReadError::Missing { path }
            | ReadError::Io { path, .. }
            | ReadError::Invalid { path, .. } => path,
        }
    }
}

/// SHA-256 and size of the bytes that went through a [`HashingReader`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest256 {
    /// Lower-case hex SHA-256.
    pub sha256: String,
    /// Bytes read.
    pub size: u64,
}

/// A reader that hashes what it reads.
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    size: u64,
}

impl<R: Read> HashingReader<R> {
    /// Wraps a reader.
    pub fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
            size: 0,
        }
    }

    /// The digest of everything read so far.
    pub fn digest(&self) -> Digest256 {
        Digest256 {
            sha256: hex::encode(self.hasher.clone().finalize()),
            size: self.size,
        }
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(read) = buf.get(..n) {
            self.hasher.update(read);
        }
        self.size = self.size.saturating_add(n as u64);
        Ok(n)
    }
}

/// SHA-256 and size of a whole file, streamed.
pub fn hash_file(path: &Path) -> Result<Digest256, ReadError> {
    let file = File::open(path).map_err(|e| ReadError::io(path, e))?;
    let mut reader = HashingReader::new(file);
    std::io::copy(&mut reader, &mut std::io::sink()).map_err(|e| ReadError::io(path, e))?;
    Ok(reader.digest())
}

/// Reads a whole JSON file (capped at [`MAX_JSON_FILE_BYTES`]) with its digest.
pub fn read_json<T: de::DeserializeOwned>(path: &Path) -> Result<(T, Digest256), ReadError> {
    let file = File::open(path).map_err(|e| ReadError::io(path, e))?;
    let mut reader = HashingReader::new(file.take(MAX_JSON_FILE_BYTES.saturating_add(1)));
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .map_err(|e| ReadError::io(path, e))?;
    if bytes.len() as u64 > MAX_JSON_FILE_BYTES {
        return Err(ReadError::Invalid {
            path: path.to_owned(),
            why: format!("larger than {MAX_JSON_FILE_BYTES} bytes"),
        });
    }
    let value = serde_json::from_slice(&bytes).map_err(|e| ReadError::Invalid {
        path: path.to_owned(),
        why: json_why(&e),
    })?;
    Ok((value, reader.digest()))
}

/// The probe keys of `observables.jsonl`: one line per line of it, in the same order, each
/// the kind and value of every observable of that line, tab-separated (backslash, tab,
/// newline and carriage return in a value escaped as `\\`, `\t`, `\n`, `\r`).
///
/// A re-check matches indicators on kinds and values only, so it reads this file (a fifth of
/// the size of `observables.jsonl`, and no JSON to parse) and parses only the lines of
/// `observables.jsonl` that match; when either file is not the one the run's manifest lists,
/// it reads `observables.jsonl` whole instead.
pub const KEYS_FILE: &str = "observables.keys.tsv";

/// Writes the keys line of `observables` (with its newline) to `out`.
pub fn write_keys_line(
    observables: &[Observable],
    out: &mut impl std::io::Write,
) -> std::io::Result<()> {
    for (i, o) in observables.iter().enumerate() {
        if i > 0 {
            out.write_all(b"\t")?;
        }
        out.write_all(o.kind.as_str().as_bytes())?;
        out.write_all(b"\t")?;
        // Unescaped runs are written whole; only the four special bytes are replaced.
        let value = o.value.as_bytes();
        let mut from = 0;
        for (at, b) in value.iter().enumerate() {
            let escaped: &[u8] = match b {
                b'\\' => b"\\\\",
                b'\t' => b"\\t",
                b'\n' => b"\\n",
                b'\r' => b"\\r",
                _ => continue,
            };
            out.write_all(value.get(from..at).unwrap_or_default())?;
            out.write_all(escaped)?;
            from = at + 1;
        }
        out.write_all(value.get(from..).unwrap_or_default())?;
    }
    out.write_all(b"\n")
}

/// The observables (kind and value only) of one keys line (without its newline); `None`
/// when the line is not one [`write_keys_line`] writes.
pub fn parse_keys_line(line: &[u8]) -> Option<Vec<Observable>> {
    let text = std::str::from_utf8(line).ok()?;
    let mut fields = text.split('\t');
    let mut out = Vec::new();
    while let Some(kind) = fields.next() {
        let kind = bridle_model::ObservableKind::ALL
            .into_iter()
            .find(|k| k.as_str() == kind)?;
        let raw = fields.next()?;
        let value = if raw.contains('\\') {
            let mut v = String::with_capacity(raw.len());
            let mut chars = raw.chars();
            while let Some(c) = chars.next() {
                if c != '\\' {
                    v.push(c);
                    continue;
                }
                v.push(match chars.next()? {
                    '\\' => '\\',
                    't' => '\t',
                    'n' => '\n',
                    'r' => '\r',
                    _ => return None,
                });
            }
            v
        } else {
            raw.to_owned()
        };
        out.push(Observable::new(kind, value, ""));
    }
    (!out.is_empty()).then_some(out)
}

/// Streams the elements of a JSON array file (capped at [`MAX_JSON_FILE_BYTES`]) to `each`,
/// one at a time, so that a file of many large elements (an `alerts.json` with tens of
/// thousands of alerts) costs the memory of one element plus what `each` keeps.
pub fn for_each_in_array<T: de::DeserializeOwned>(
    path: &Path,
    each: impl FnMut(T),
) -> Result<(), ReadError> {
    struct Each<F, T>(F, std::marker::PhantomData<T>);
    impl<'de, T: de::DeserializeOwned, F: FnMut(T)> Visitor<'de> for &mut Each<F, T> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON array")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while let Some(item) = seq.next_element::<T>()? {
                (self.0)(item);
            }
            Ok(())
        }
    }
    impl<'de, T: de::DeserializeOwned, F: FnMut(T)> DeserializeSeed<'de> for &mut Each<F, T> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_seq(self)
        }
    }
    let file = File::open(path).map_err(|e| ReadError::io(path, e))?;
    let meta = file.metadata().map_err(|e| ReadError::io(path, e))?;
    if meta.len() > MAX_JSON_FILE_BYTES {
        return Err(ReadError::Invalid {
            path: path.to_owned(),
            why: format!("larger than {MAX_JSON_FILE_BYTES} bytes"),
        });
    }
    let mut each = Each(each, std::marker::PhantomData);
    let invalid = |e: serde_json::Error| ReadError::Invalid {
        path: path.to_owned(),
        why: json_why(&e),
    };
    // Parsing from memory is about twice as fast as from a reader: files up to a bound are
    // read whole, larger ones streamed, so memory stays bounded either way.
    if meta.len() <= ARRAY_IN_MEMORY_BYTES {
        let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
        file.take(ARRAY_IN_MEMORY_BYTES)
            .read_to_end(&mut bytes)
            .map_err(|e| ReadError::io(path, e))?;
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        (&mut each).deserialize(&mut de).map_err(invalid)?;
        de.end().map_err(invalid)
    } else {
        let reader = BufReader::with_capacity(1 << 16, file.take(MAX_JSON_FILE_BYTES));
        let mut de = serde_json::Deserializer::from_reader(reader);
        (&mut each).deserialize(&mut de).map_err(invalid)?;
        de.end().map_err(invalid)
    }
}

/// Largest array file [`for_each_in_array`] reads whole before parsing.
const ARRAY_IN_MEMORY_BYTES: u64 = 32 * 1024 * 1024;

fn json_why(e: &serde_json::Error) -> String {
    if e.is_eof() {
        format!("truncated ({e})")
    } else {
        e.to_string()
    }
}

/// One line of `observables.jsonl`: the observables of one record, with where the record
/// is and when it happened.
#[derive(Debug, Clone, Deserialize)]
pub struct ObservableLine {
    /// Module slug.
    pub module: String,
    /// Position of the record in `<module>.json`.
    pub record: u64,
    /// Where the record was read.
    #[serde(default)]
    pub source: Source,
    /// The record's time (absent in files written before bridle recorded it).
    #[serde(default, deserialize_with = "opt_time")]
    pub time: Option<Timestamp>,
    /// The observables.
    pub observables: Vec<Observable>,
}

/// The same line without its source and time, and observables without their field and
/// level: what matching needs. A re-check parses the whole line only for the few that match.
#[derive(Debug, Deserialize)]
pub struct LightLine {
    /// Module slug.
    pub module: String,
    /// Position of the record in `<module>.json`.
    pub record: u64,
    /// The observables; `field` is empty and `level` CRITICAL (matching ignores both).
    #[serde(deserialize_with = "light_observables")]
    pub observables: Vec<Observable>,
    // `time` and `source` are not fields here: serde skips unknown keys without allocating.
}

/// An observable as matching needs it: kind and value.
#[derive(Deserialize)]
struct KindValue {
    kind: bridle_model::ObservableKind,
    value: String,
}

fn light_observables<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Observable>, D::Error> {
    let list = Vec::<KindValue>::deserialize(d)?;
    Ok(list
        .into_iter()
        .map(|o| Observable {
            kind: o.kind,
            value: o.value,
            field: Cow::Borrowed(""),
            level: bridle_model::Level::Critical,
        })
        .collect())
}

fn opt_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
    let s = Option::<Cow<'de, str>>::deserialize(d)?;
    Ok(s.as_deref().and_then(Timestamp::parse))
}

/// Checks what a line says before it is trusted to name files.
fn check_line(module: &str, record: u64) -> Result<(), String> {
    if i64::try_from(record).is_err() {
        return Err(format!("record number {record} is out of range"));
    }
    if crate::output::is_safe_slug(module) {
        Ok(())
    } else {
        Err(format!(
            "module name {:?} is not a module slug",
            bridle_model::sanitize::for_terminal(module)
        ))
    }
}

/// Parses a whole line.
pub fn parse_line(line: &[u8]) -> Result<ObservableLine, String> {
    let parsed: ObservableLine = serde_json::from_slice(line).map_err(|e| json_why(&e))?;
    check_line(&parsed.module, parsed.record)?;
    Ok(parsed)
}

/// Whether `tail` is one balanced JSON value followed by `}` (and nothing but whitespace): a
/// byte scan that tracks strings and nesting, so that a line cut short is refused without
/// parsing the source it skips. (The source itself is parsed, and fully checked, only for
/// lines that match.)
fn value_then_brace(tail: &[u8]) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, b) in tail.iter().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if *b == b'\\' {
                escaped = true;
            } else if *b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' if depth == 0 => {
                return *b == b'}'
                    && tail
                        .get(i + 1..)
                        .is_some_and(|rest| rest.iter().all(u8::is_ascii_whitespace));
            }
            b'}' | b']' => depth -= 1,
            _ => {}
        }
    }
    false
}

/// The key bridle writes last on each line.
const SOURCE_KEY: &[u8] = b",\"source\":";

/// Parses a line without its source.
///
/// bridle writes `source` as the last key of a line, so only the bytes before it are parsed:
/// the bytes `,"source":` cannot occur inside a JSON string (a quote in a string is always
/// escaped) and no other object of a line has a `source` key, so the last occurrence is the
/// top-level key. The prefix is parsed as an object of its own; a line in another key order
/// (or damaged) is parsed whole.
pub fn parse_light(line: &[u8]) -> Result<LightLine, String> {
    let cut = memchr::memmem::rfind(line, SOURCE_KEY).and_then(|at| {
        // The rest must still be one whole value and the closing brace, so that a line cut
        // short is refused as it would be by a full parse (skipping a value is much cheaper
        // than building it).
        if !value_then_brace(line.get(at + SOURCE_KEY.len()..)?) {
            return None;
        }
        let mut prefix = Vec::with_capacity(at + 1);
        prefix.extend_from_slice(line.get(..at)?);
        prefix.push(b'}');
        serde_json::from_slice::<LightLine>(&prefix).ok()
    });
    let parsed = match cut {
        Some(p) => p,
        None => serde_json::from_slice::<LightLine>(line).map_err(|e| json_why(&e))?,
    };
    check_line(&parsed.module, parsed.record)?;
    Ok(parsed)
}

/// Streams the lines of `observables.jsonl`, hashing the file as it goes.
pub struct ObservableReader {
    reader: BufReader<HashingReader<File>>,
    path: PathBuf,
    line: u64,
    buf: Vec<u8>,
}

/// What [`ObservableReader::next_line`] gives.
#[derive(Debug)]
pub enum RawLine<'a> {
    /// A line's bytes (without the newline).
    Line(&'a [u8]),
    /// A line that cannot be used (too long); the reader has skipped it.
    Invalid(String),
}

impl ObservableReader {
    /// Opens a file.
    pub fn open(path: &Path) -> Result<ObservableReader, ReadError> {
        let file = File::open(path).map_err(|e| ReadError::io(path, e))?;
        Ok(ObservableReader {
            reader: BufReader::with_capacity(1 << 20, HashingReader::new(file)),
            path: path.to_owned(),
            line: 0,
            buf: Vec::new(),
        })
    }

    /// The next non-empty line with its number (1-based), `Ok(None)` at the end.
    pub fn next_line(&mut self) -> Result<Option<(u64, RawLine<'_>)>, ReadError> {
        loop {
            self.buf.clear();
            self.line = self.line.saturating_add(1);
            let limit = MAX_LINE_BYTES as u64 + 1;
            let n = (&mut self.reader)
                .take(limit)
                .read_until(b'\n', &mut self.buf)
                .map_err(|e| ReadError::io(&self.path, e))?;
            if n == 0 {
                return Ok(None);
            }
            if self.buf.len() > MAX_LINE_BYTES && self.buf.last() != Some(&b'\n') {
                // Skip the rest of the over-long line.
                loop {
                    let chunk = self
                        .reader
                        .fill_buf()
                        .map_err(|e| ReadError::io(&self.path, e))?;
                    if chunk.is_empty() {
                        break;
                    }
                    match memchr_newline(chunk) {
                        Some(i) => {
                            self.reader.consume(i.saturating_add(1));
                            break;
                        }
                        None => {
                            let len = chunk.len();
                            self.reader.consume(len);
                        }
                    }
                }
                let why = format!("line longer than {MAX_LINE_BYTES} bytes");
                return Ok(Some((self.line, RawLine::Invalid(why))));
            }
            while matches!(self.buf.last(), Some(b'\n' | b'\r')) {
                self.buf.pop();
            }
            if self.buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Ok(Some((self.line, RawLine::Line(&self.buf))));
        }
    }

    /// The file's digest, once read to the end.
    pub fn digest(&self) -> Digest256 {
        self.reader.get_ref().digest()
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn memchr_newline(bytes: &[u8]) -> Option<usize> {
    memchr::memchr(b'\n', bytes)
}

/// Bytes read at a time by [`LineChunks`].
const CHUNK_BYTES: usize = 4 << 20;

/// A block of whole lines of `observables.jsonl`, for matching in parallel without copying
/// each line.
#[derive(Debug, Default)]
pub struct Chunk {
    /// The bytes.
    pub data: Vec<u8>,
    /// Each non-empty line: (line number, start, end) in `data`, without the newline.
    pub lines: Vec<(u64, usize, usize)>,
    /// Lines that cannot be used (too long), by number.
    pub invalid: Vec<(u64, String)>,
}

impl Chunk {
    /// The bytes of a line.
    pub fn line(&self, start: usize, end: usize) -> &[u8] {
        self.data.get(start..end).unwrap_or(&[])
    }
}

/// Reads `observables.jsonl` in blocks of whole lines. The blocks, in order, are the file's
/// bytes (the caller hashes them, in parallel with matching), unless an over-long line had to
/// be skipped ([`Self::lossy`]).
pub struct LineChunks {
    reader: File,
    path: PathBuf,
    carry: Vec<u8>,
    line: u64,
    eof: bool,
    /// Inside an over-long line, discarding up to its newline.
    skipping: bool,
    lossy: bool,
}

impl LineChunks {
    /// Opens a file.
    pub fn open(path: &Path) -> Result<LineChunks, ReadError> {
        let file = File::open(path).map_err(|e| ReadError::io(path, e))?;
        Ok(LineChunks {
            reader: file,
            path: path.to_owned(),
            carry: Vec::new(),
            line: 0,
            eof: false,
            skipping: false,
            lossy: false,
        })
    }

    /// Whether bytes were skipped (an over-long line), so that the blocks are not the whole
    /// file.
    pub fn lossy(&self) -> bool {
        self.lossy
    }

    /// The next block of lines, `None` at the end.
    pub fn next_chunk(&mut self) -> Result<Option<Chunk>, ReadError> {
        let mut chunk = Chunk::default();
        loop {
            if self.eof && self.carry.is_empty() {
                return Ok((!chunk.invalid.is_empty()).then_some(chunk));
            }
            let mut data = std::mem::take(&mut self.carry);
            let before = data.len();
            data.resize(before + CHUNK_BYTES, 0);
            let mut filled = before;
            while filled < data.len() {
                let n = self
                    .reader
                    .read(data.get_mut(filled..).unwrap_or(&mut []))
                    .map_err(|e| ReadError::io(&self.path, e))?;
                if n == 0 {
                    self.eof = true;
                    break;
                }
                filled += n;
            }
            data.truncate(filled);
            if self.skipping {
                self.lossy = true;
                match memchr_newline(&data) {
                    Some(i) => {
                        self.skipping = false;
                        data.drain(..=i);
                    }
                    None => continue,
                }
            }
            let complete = if self.eof {
                data.len()
            } else {
                match data.iter().rposition(|b| *b == b'\n') {
                    Some(i) => i + 1,
                    None => {
                        // One line longer than everything read so far.
                        if data.len() > MAX_LINE_BYTES {
                            self.line = self.line.saturating_add(1);
                            chunk.invalid.push((
                                self.line,
                                format!("line longer than {MAX_LINE_BYTES} bytes"),
                            ));
                            self.skipping = true;
                        } else {
                            self.carry = data;
                        }
                        continue;
                    }
                }
            };
            self.carry = data.split_off(complete);
            let mut start = 0;
            while start < data.len() {
                let end = memchr_newline(data.get(start..).unwrap_or(&[]))
                    .map_or(data.len(), |i| start + i);
                self.line = self.line.saturating_add(1);
                let mut stop = end;
                while stop > start && data.get(stop - 1) == Some(&b'\r') {
                    stop -= 1;
                }
                let text = data.get(start..stop).unwrap_or(&[]);
                if text.len() > MAX_LINE_BYTES {
                    chunk.invalid.push((
                        self.line,
                        format!("line longer than {MAX_LINE_BYTES} bytes"),
                    ));
                } else if !text.iter().all(u8::is_ascii_whitespace) {
                    chunk.lines.push((self.line, start, stop));
                }
                start = end + 1;
            }
            chunk.data = data;
            return Ok(Some(chunk));
        }
    }
}

/// Records read back from a `<module>.json`.
#[derive(Debug, Default)]
pub struct RecordsRead {
    /// The records asked for and found, by index.
    pub records: BTreeMap<u64, Map>,
    /// How many records the file holds (as far as it could be read).
    pub count: u64,
    /// Why the file could not be read to its end, if it could not (records before the
    /// damage are still in `records`).
    pub error: Option<ReadError>,
    /// The file's digest, when it was read to its end.
    pub digest: Option<Digest256>,
}

/// Reads the records at `wanted` positions from a `<module>.json` file, streaming: a JSON
/// array of records (most modules) or one object (the record at position 0).
///
/// The layout bridle writes (one record per line) is read line by line, parsing only the
/// records asked for and stopping after the last of them, so finding three records in a
/// 200 MB `sms.json` costs a scan for newlines, not a JSON parse of the whole file. Any other
/// JSON formatting (a file re-indented by a tool) falls back to a streaming parse of the
/// whole file. `digest` is set only when the file was read to its end.
pub fn read_records(path: &Path, wanted: &BTreeSet<u64>) -> Result<RecordsRead, ReadError> {
    if let Some(read) = read_records_by_line(path, wanted)? {
        return Ok(read);
    }
    let file = File::open(path).map_err(|e| ReadError::io(path, e))?;
    let mut reader = BufReader::with_capacity(1 << 20, HashingReader::new(file));
    let mut read = RecordsRead::default();
    let mut de = serde_json::Deserializer::from_reader(&mut reader);
    let result = Records {
        wanted,
        read: &mut read,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end());
    drop(de);
    match result {
        Ok(()) => read.digest = Some(reader.get_ref().digest()),
        Err(e) => {
            read.error = Some(ReadError::Invalid {
                path: path.to_owned(),
                why: json_why(&e),
            });
        }
    }
    Ok(read)
}

/// A record line without its newline, the `,` between records, and spaces.
pub fn trim_record(line: &[u8]) -> &[u8] {
    let mut end = line.len();
    while end > 0 && matches!(line.get(end - 1), Some(b'\n' | b'\r' | b' ' | b'\t' | b',')) {
        end -= 1;
    }
    let mut start = 0;
    while start < end && line.get(start).is_some_and(u8::is_ascii_whitespace) {
        start += 1;
    }
    line.get(start..end).unwrap_or(&[])
}

/// The fast path of [`read_records`]; `None` when the file is not in bridle's one record per
/// line layout (the caller then parses it as any JSON).
fn read_records_by_line(
    path: &Path,
    wanted: &BTreeSet<u64>,
) -> Result<Option<RecordsRead>, ReadError> {
    let file = File::open(path).map_err(|e| ReadError::io(path, e))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut line = Vec::new();
    let next_line = |reader: &mut BufReader<File>, line: &mut Vec<u8>| {
        line.clear();
        (&mut *reader)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', line)
            .map_err(|e| ReadError::io(path, e))
    };
    next_line(&mut reader, &mut line)?;
    if trim_record(&line) != b"[" {
        return Ok(None);
    }
    let mut read = RecordsRead::default();
    let Some(&last) = wanted.last() else {
        return Ok(Some(read));
    };
    loop {
        let n = next_line(&mut reader, &mut line)?;
        if n == 0 || line.last() != Some(&b'\n') {
            if line.len() > MAX_LINE_BYTES {
                return Ok(None);
            }
            read.error = Some(ReadError::Invalid {
                path: path.to_owned(),
                why: format!(
                    "truncated: ends in the middle of record {} or before its end",
                    read.count
                ),
            });
            return Ok(Some(read));
        }
        let record = trim_record(&line);
        if record.is_empty() {
            continue;
        }
        if record == b"]" {
            // The end of the list: anything but whitespace after it is not our layout.
            let mut rest = Vec::new();
            (&mut reader)
                .take(4096)
                .read_to_end(&mut rest)
                .map_err(|e| ReadError::io(path, e))?;
            return Ok(rest.iter().all(u8::is_ascii_whitespace).then_some(read));
        }
        if record.first() != Some(&b'{') || record.last() != Some(&b'}') {
            return Ok(None);
        }
        let index = read.count;
        read.count = index.saturating_add(1);
        if wanted.contains(&index) {
            match serde_json::from_slice::<Map>(record) {
                Ok(map) => {
                    read.records.insert(index, map);
                }
                // Not one object per line after all: parse the file as any JSON.
                Err(_) => return Ok(None),
            }
        }
        if index >= last {
            return Ok(Some(read));
        }
    }
}

struct Records<'a> {
    wanted: &'a BTreeSet<u64>,
    read: &'a mut RecordsRead,
}

impl<'de> DeserializeSeed<'de> for Records<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

struct Keep(bool);

impl<'de> DeserializeSeed<'de> for Keep {
    type Value = Option<serde_json::Value>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        if self.0 {
            serde_json::Value::deserialize(d).map(Some)
        } else {
            IgnoredAny::deserialize(d).map(|_| None)
        }
    }
}

impl<'de> Visitor<'de> for Records<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array of records or one record object")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        loop {
            let index = self.read.count;
            let keep = self.wanted.contains(&index);
            match seq.next_element_seed(Keep(keep))? {
                None => return Ok(()),
                Some(value) => {
                    self.read.count = index.saturating_add(1);
                    match value {
                        Some(serde_json::Value::Object(map)) => {
                            self.read.records.insert(index, map);
                        }
                        Some(_) => {
                            return Err(de::Error::custom(format!(
                                "record {index} is not a JSON object"
                            )));
                        }
                        None => {}
                    }
                }
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let record = Map::deserialize(de::value::MapAccessDeserializer::new(map))?;
        self.read.count = 1;
        if self.wanted.contains(&0) {
            self.read.records.insert(0, record);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn records_are_read_from_lists_objects_and_damaged_files() {
        let dir = tempfile::tempdir().unwrap();
        let list = dir.path().join("m.json");
        std::fs::write(&list, b"[\n{\"a\":0},\n{\"a\":1},\n{\"a\":2}\n]\n").unwrap();
        let wanted: BTreeSet<u64> = [0, 2, 7].into_iter().collect();
        let r = read_records(&list, &wanted).unwrap();
        assert_eq!(r.count, 3);
        assert_eq!(r.records.keys().copied().collect::<Vec<_>>(), vec![0, 2]);
        assert!(r.error.is_none());
        assert!(
            r.digest.is_none(),
            "the line-by-line path stops early and hashes nothing"
        );
        // Re-indented by a tool: read as any JSON, hashed to the end.
        let pretty = dir.path().join("p.json");
        std::fs::write(&pretty, b"[ {\"a\": 0},\n  {\"a\": 1}, {\"a\": 2} ]").unwrap();
        let r = read_records(&pretty, &wanted).unwrap();
        assert_eq!(r.records.keys().copied().collect::<Vec<_>>(), vec![0, 2]);
        assert_eq!(r.count, 3);
        assert_eq!(
            r.digest.unwrap().size,
            std::fs::metadata(&pretty).unwrap().len()
        );

        let object = dir.path().join("o.json");
        std::fs::write(&object, b"{\n  \"Device Name\": \"x\"\n}\n").unwrap();
        let r = read_records(&object, &wanted).unwrap();
        assert_eq!(r.count, 1);
        assert_eq!(r.records[&0]["Device Name"], "x");

        let cut = dir.path().join("cut.json");
        std::fs::write(&cut, b"[\n{\"a\":0},\n{\"a\":1},\n{\"a\"").unwrap();
        let r = read_records(&cut, &wanted).unwrap();
        assert_eq!(r.records.len(), 1, "the records before the damage are kept");
        let why = r.error.unwrap().to_string();
        assert!(
            why.contains("cut.json") && why.contains("truncated"),
            "{why}"
        );

        let missing = read_records(&dir.path().join("none.json"), &wanted).unwrap_err();
        assert!(matches!(missing, ReadError::Missing { .. }));
    }

    #[test]
    fn line_chunks_cover_the_file_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("observables.jsonl");
        let mut text = Vec::new();
        let mut n = 0u64;
        while text.len() < 2 * CHUNK_BYTES + 1000 {
            n += 1;
            if n.is_multiple_of(1000) {
                text.extend_from_slice(b"   \r\n");
            } else {
                writeln!(
                    text,
                    "{{\"line\":{n},\"pad\":\"{}\"}}",
                    "x".repeat((n % 300) as usize)
                )
                .unwrap();
            }
        }
        text.extend_from_slice(b"{\"last\":true}");
        std::fs::write(&path, &text).unwrap();
        let mut chunks = LineChunks::open(&path).unwrap();
        let (mut all, mut numbers, mut count) = (Vec::new(), Vec::new(), 0);
        while let Some(c) = chunks.next_chunk().unwrap() {
            count += 1;
            all.extend_from_slice(&c.data);
            for (n, start, end) in &c.lines {
                numbers.push(*n);
                let line = c.line(*start, *end);
                assert!(line.starts_with(b"{") && line.ends_with(b"}"), "{n}");
            }
        }
        assert!(count >= 3);
        assert_eq!(all, text, "the blocks are the file");
        assert!(!chunks.lossy());
        let expected: Vec<u64> = (1..=n + 1).filter(|i| !i.is_multiple_of(1000)).collect();
        assert_eq!(numbers, expected);
    }

    #[test]
    fn observable_lines_report_bad_lines_by_number() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("observables.jsonl");
        let mut f = File::create(&path).unwrap();
        writeln!(
            f,
            r#"{{"module":"sms","record":0,"source":{{"table":"t","row":"1"}},"time":"2021-01-01 00:00:00.000000","observables":[{{"kind":"url","value":"http://a","field":"links","level":"CRITICAL"}}]}}"#
        )
        .unwrap();
        writeln!(f, "not json").unwrap();
        writeln!(f).unwrap();
        writeln!(f, r#"{{"module":"../x","record":1,"observables":[]}}"#).unwrap();
        writeln!(
            f,
            r#"{{"module":"sms","record":3,"observables":[],"source":{{"table":"t","row":"#
        )
        .unwrap();
        write!(f, r#"{{"module":"sms","record":2,"obs"#).unwrap();
        drop(f);
        let mut r = ObservableReader::open(&path).unwrap();
        let mut seen = Vec::new();
        while let Some((n, line)) = r.next_line().unwrap() {
            let RawLine::Line(bytes) = line else {
                panic!("no long lines here")
            };
            seen.push((n, parse_light(bytes).map(|l| l.record).map_err(|_| ())));
        }
        assert_eq!(
            seen,
            vec![
                (1, Ok(0)),
                (2, Err(())),
                (4, Err(())),
                (5, Err(())),
                (6, Err(()))
            ],
            "a line cut inside its source is refused too"
        );
        let full = parse_line(
            br#"{"module":"sms","record":0,"source":{"table":"t","row":"1"},"time":"2021-01-01 00:00:00.000000","observables":[]}"#,
        )
        .unwrap();
        assert_eq!(full.source.row.as_deref(), Some("1"));
        assert!(full.time.is_some());
        assert_eq!(r.digest().size, std::fs::metadata(&path).unwrap().len());
    }

    #[test]
    fn keys_lines_round_trip_hostile_values() {
        use bridle_model::ObservableKind as K;
        let values = [
            "https://evil.example/a\tb\nc\\d\re",
            "plain",
            "\\\\t",
            "tab\t",
            "ünïcödé/\u{202E}",
        ];
        let obs: Vec<Observable> = values
            .iter()
            .enumerate()
            .map(|(i, v)| Observable::new(if i % 2 == 0 { K::Url } else { K::FilePath }, *v, "f"))
            .collect();
        let mut line = Vec::new();
        write_keys_line(&obs, &mut line).unwrap();
        assert_eq!(line.iter().filter(|b| **b == b'\n').count(), 1, "one line");
        let back = parse_keys_line(line.strip_suffix(b"\n").unwrap()).unwrap();
        let pairs = |o: &[Observable]| {
            o.iter()
                .map(|o| (o.kind, o.value.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(pairs(&back), pairs(&obs));
        for bad in [&b"nokind\tx"[..], b"url", b"url\tbad\\q", b"", b"\xff\tx"] {
            assert!(
                parse_keys_line(bad).is_none(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
