//! A dumpstate (a bugreport's main text, or AndroidQF's `dumpsys.txt`) indexed by section,
//! so each module reads only its own section, streaming, however large the file.
//!
//! A section is the lines after a line equal (once trimmed) to `DUMP OF SERVICE <name>:`
//! and before the next line starting with 78 dashes, as MVT reads it. One pass indexes
//! every section header (and hashes the file); a module then skips to its section's offset
//! and reads lines until the end marker. A section that appears more than once is read at
//! its first occurrence, like MVT, and the repeats are reported.

use crate::files::Files;
use crate::parsers::simple::getprop_line;
use crate::text::{Line, LineReader};
use crate::tz::DeviceTz;
use bridle_evidence::archive::{ArchiveError, Member};
use bridle_model::{EvidenceFile, Problem, ProblemKind};
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;

/// The line that ends a section (trimmed, it starts with this).
const SECTION_END: &str =
    "------------------------------------------------------------------------------";
/// The line that starts the system properties (trimmed, it starts with this).
const SYSPROPS_START: &str = "------ SYSTEM PROPERTIES";
/// The line that ends them (trimmed, it equals this).
const SYSPROPS_END: &str = "------";
/// Most distinct sections indexed, and occurrences kept per section.
const MAX_SECTIONS: usize = 100_000;
const MAX_OCCURRENCES: usize = 64;

/// Where a section starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct At {
    /// Offset of the section's first line.
    offset: u64,
    /// Its line number.
    line: u64,
}

/// An indexed dumpstate.
#[derive(Debug)]
pub struct Dumpstate {
    files: Arc<Files>,
    member: String,
    file: Arc<EvidenceFile>,
    sections: BTreeMap<String, Vec<At>>,
    sysprops: Vec<At>,
    tz: DeviceTz,
    problems: Vec<Problem>,
}

impl Dumpstate {
    /// Indexes `member` of `files` in one pass (hashing it at the same time). `fallback_tz`
    /// is used when the dumpstate's own system properties give no time zone.
    pub fn index(
        files: Arc<Files>,
        member: &str,
        fallback_tz: &DeviceTz,
    ) -> Result<Dumpstate, ArchiveError> {
        let mut reader = files.open(member)?;
        let mut sections: BTreeMap<String, Vec<At>> = BTreeMap::new();
        let mut sysprops = Vec::new();
        let mut tz_name: Option<String> = None;
        let mut in_props = false;
        let mut problems = Vec::new();
        let (truncated, error) = {
            let mut lines = LineReader::new(&mut reader, 0, 1);
            while let Some((bytes, _)) = lines.next_bytes() {
                let text = String::from_utf8_lossy(bytes).into_owned();
                let line_no = lines.line_number();
                let offset = lines.offset();
                let t = text.trim();
                if in_props {
                    if t == SYSPROPS_END {
                        in_props = false;
                    } else if tz_name.is_none()
                        && let Some(p) = getprop_line(t)
                        && p.name == "persist.sys.timezone"
                    {
                        tz_name = Some(p.value);
                    }
                }
                if t.starts_with(SYSPROPS_START) {
                    if sysprops.len() < MAX_OCCURRENCES {
                        sysprops.push(At {
                            offset,
                            line: line_no + 1,
                        });
                    }
                    in_props = sysprops.len() == 1;
                    continue;
                }
                if let Some(name) = t
                    .strip_prefix("DUMP OF SERVICE ")
                    .and_then(|r| r.strip_suffix(':'))
                {
                    if sections.len() >= MAX_SECTIONS && !sections.contains_key(name) {
                        continue;
                    }
                    let list = sections.entry(name.to_owned()).or_default();
                    if list.len() < MAX_OCCURRENCES {
                        list.push(At {
                            offset,
                            line: line_no + 1,
                        });
                    }
                }
            }
            (lines.truncated_lines(), lines.take_error())
        };
        let failed = error.is_some();
        if let Some(e) = error {
            problems.push(files.problem(
                ProblemKind::Partial,
                member,
                format!(
                    "read error after {} bytes while indexing sections: {e}; sections after it are not seen, and the file's hash covers only those bytes",
                    reader.bytes_read()
                ),
            ));
        }
        if truncated > 0 {
            problems.push(files.problem(
                ProblemKind::Partial,
                member,
                format!(
                    "{truncated} lines longer than {} bytes were cut",
                    crate::text::MAX_LINE_BYTES
                ),
            ));
        }
        let file = if failed {
            reader.cite_partial()
        } else {
            reader.cite()?
        };
        let tz = match tz_name {
            Some(n) => DeviceTz::from_name(&n),
            None => fallback_tz.clone(),
        };
        Ok(Dumpstate {
            files,
            member: member.to_owned(),
            file,
            sections,
            sysprops,
            tz,
            problems,
        })
    }

    /// The evidence file.
    pub fn file(&self) -> &Arc<EvidenceFile> {
        &self.file
    }

    /// The member name.
    pub fn member(&self) -> &str {
        &self.member
    }

    /// The files it lives in.
    pub fn files(&self) -> &Arc<Files> {
        &self.files
    }

    /// The device's time zone (from the dumpstate's `persist.sys.timezone`, or the
    /// acquisition's).
    pub fn tz(&self) -> &DeviceTz {
        &self.tz
    }

    /// Problems met while indexing.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// The names of every section, sorted.
    pub fn section_names(&self) -> impl Iterator<Item = &str> {
        self.sections.keys().map(String::as_str)
    }

    fn open_at(&self, at: At, end: End) -> Result<Section, ArchiveError> {
        let mut member = self.files.tree().open_file(&self.member)?;
        let skipped = std::io::copy(&mut (&mut member).take(at.offset), &mut std::io::sink())
            .map_err(|e| ArchiveError::Io {
                path: self.files.stored(&self.member),
                source: e,
            })?;
        if skipped < at.offset {
            return Err(ArchiveError::Io {
                path: self.files.stored(&self.member),
                source: std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the file changed since it was indexed",
                ),
            });
        }
        Ok(Section {
            lines: LineReader::new(member, at.offset, at.line),
            end,
            done: false,
            start_line: at.line,
        })
    }

    /// The lines of `DUMP OF SERVICE <name>:`, or `None` when the dumpstate has no such
    /// section. Repeats of the section are reported to `problems`.
    pub fn section(
        &self,
        name: &str,
        problems: &mut Vec<Problem>,
    ) -> Result<Option<Section>, ArchiveError> {
        let Some(list) = self.sections.get(name) else {
            return Ok(None);
        };
        let Some(first) = list.first() else {
            return Ok(None);
        };
        if list.len() > 1 {
            let lines: Vec<String> = list
                .iter()
                .map(|a| a.line.saturating_sub(1).to_string())
                .collect();
            problems.push(self.files.problem(
                ProblemKind::Skipped,
                &self.member,
                format!(
                    "`DUMP OF SERVICE {name}:` appears {} times (lines {}); only the first is read, as MVT does",
                    list.len(),
                    lines.join(", ")
                ),
            ));
        }
        self.open_at(*first, End::Dashes).map(Some)
    }

    /// The lines of the `------ SYSTEM PROPERTIES` block.
    pub fn system_properties(
        &self,
        problems: &mut Vec<Problem>,
    ) -> Result<Option<Section>, ArchiveError> {
        let Some(first) = self.sysprops.first() else {
            return Ok(None);
        };
        if self.sysprops.len() > 1 {
            problems.push(self.files.problem(
                ProblemKind::Skipped,
                &self.member,
                format!(
                    "{} SYSTEM PROPERTIES blocks; only the first is read",
                    self.sysprops.len()
                ),
            ));
        }
        self.open_at(*first, End::SysProps).map(Some)
    }
}

#[derive(Debug, Clone, Copy)]
enum End {
    Dashes,
    SysProps,
}

/// The lines of one section, read lazily from the file.
pub struct Section {
    lines: LineReader<Member>,
    end: End,
    done: bool,
    start_line: u64,
}

impl Section {
    /// Problems met reading the section: a read error, cut lines. Call after iterating.
    pub fn finish(&mut self, files: &Files, member: &str, problems: &mut Vec<Problem>) {
        if let Some(e) = self.lines.take_error() {
            problems.push(files.problem(
                ProblemKind::Partial,
                member,
                format!(
                    "read error in the section starting at line {}: {e}",
                    self.start_line
                ),
            ));
        }
        let cut = self.lines.truncated_lines();
        if cut > 0 {
            problems.push(files.problem(
                ProblemKind::Partial,
                member,
                format!(
                    "{cut} lines of the section starting at line {} were cut at {} bytes",
                    self.start_line,
                    crate::text::MAX_LINE_BYTES
                ),
            ));
        }
    }

    /// The next line as raw bytes (for the binary adb section).
    pub fn next_raw(&mut self) -> Option<Vec<u8>> {
        if self.done {
            return None;
        }
        let bytes = self.lines.next_bytes()?.0.to_vec();
        if self.ends(&String::from_utf8_lossy(&bytes)) {
            self.done = true;
            return None;
        }
        Some(bytes)
    }

    fn ends(&self, text: &str) -> bool {
        let t = text.trim();
        match self.end {
            End::Dashes => t.starts_with(SECTION_END),
            End::SysProps => t == SYSPROPS_END,
        }
    }
}

impl Iterator for Section {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        if self.done {
            return None;
        }
        let Line { text, .. } = self.lines.next()?;
        if self.ends(&text) {
            self.done = true;
            return None;
        }
        Some(text)
    }
}
