//! Shared helpers of the integration tests: locating `/work/shared`, reading the expected
//! values published in `fixtures/encrypted/README.md`, and hashing while writing.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{self, Write};
use std::path::PathBuf;

use sha2::{Digest, Sha256};

/// The shared folder: `$BRIDLE_SHARED`, or `<workspace>/../shared`. Panics when missing:
/// these tests must never pass by skipping.
pub fn shared() -> PathBuf {
    let path = std::env::var_os("BRIDLE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")));
    assert!(
        path.join("fixtures").is_dir(),
        "shared test data not found at {} (set BRIDLE_SHARED to the shared/ folder)",
        path.display()
    );
    path
}

/// `fixtures/encrypted/README.md`.
pub fn encrypted_readme() -> String {
    std::fs::read_to_string(shared().join("fixtures/encrypted/README.md"))
        .expect("fixtures/encrypted/README.md")
}

/// Cells of a markdown table row, trimmed, without the outer pipes.
fn cells(line: &str) -> Vec<String> {
    line.trim()
        .trim_matches('|')
        .split('|')
        .map(|c| c.trim().trim_matches('`').to_string())
        .collect()
}

/// Which encrypted iOS fixture.
#[derive(Clone, Copy, Debug)]
pub enum Fixture {
    Fast,
    Real,
}

impl Fixture {
    pub fn dir(self) -> PathBuf {
        shared().join("fixtures/encrypted").join(match self {
            Fixture::Fast => "ios_backup_encrypted_fast",
            Fixture::Real => "ios_backup_encrypted_real",
        })
    }
}

/// A value of the README's "Known intermediate values" table, by the start of its row
/// label.
pub fn intermediate(label: &str, fixture: Fixture) -> String {
    let readme = encrypted_readme();
    let section = readme
        .split("### Known intermediate values")
        .nth(1)
        .expect("intermediate values section");
    let row = section
        .lines()
        .map(cells)
        .find(|c| c.first().is_some_and(|l| l.starts_with(label)))
        .unwrap_or_else(|| panic!("no README row {label}"));
    row[match fixture {
        Fixture::Fast => 1,
        Fixture::Real => 2,
    }]
    .clone()
}

/// One row of the README's "Expected plaintext" table.
#[derive(Debug)]
pub struct ExpectedFile {
    pub file_id: String,
    pub bytes: u64,
    pub class: u32,
    pub sha256: String,
}

/// Every row of the README's "Expected plaintext" table.
pub fn expected_files() -> Vec<ExpectedFile> {
    let readme = encrypted_readme();
    let section = readme
        .split("### Expected plaintext")
        .nth(1)
        .expect("expected plaintext section");
    let section = section.split("\n### ").next().unwrap();
    let rows: Vec<ExpectedFile> = section
        .lines()
        .map(cells)
        .filter(|c| c.len() == 6 && c[0].len() == 40 && c[0].bytes().all(|b| b.is_ascii_hexdigit()))
        .map(|c| ExpectedFile {
            file_id: c[0].clone(),
            bytes: c[3].parse().unwrap(),
            class: c[4].parse().unwrap(),
            sha256: c[5].clone(),
        })
        .collect();
    assert!(
        rows.len() >= 10,
        "README table parsed to {} rows",
        rows.len()
    );
    rows
}

/// A writer that hashes and counts what it is given.
#[derive(Default)]
pub struct HashWriter {
    hasher: Sha256,
    pub len: u64,
}

impl HashWriter {
    pub fn hex(self) -> String {
        hex::encode(self.hasher.finalize())
    }
}

impl Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.hasher.update(buf);
        self.len += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}
