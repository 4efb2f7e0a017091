//! SQLite databases from evidence, opened without ever writing to the evidence.
//!
//! Two cases, measured (see reference/crates.md): a database with no journal beside it is
//! opened in place with `mode=ro&immutable=1`, which makes SQLite take no locks and create no
//! file; a database with a `-wal` or `-journal` is copied with it into a private temporary
//! folder and opened there, so the journal's rows are seen and nothing appears beside the
//! evidence. Corrupt databases are never "recovered" by rewriting: callers read every row that
//! can be read ([`for_each_row`]) and report how far they got.

use crate::{EvidenceError, Limits};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};

/// The files that make up one SQLite database.
#[derive(Debug, Clone, Default)]
pub struct DbFiles {
    /// The main database file.
    pub main: PathBuf,
    /// Its write-ahead log, if present.
    pub wal: Option<PathBuf>,
    /// Its rollback journal, if present.
    pub journal: Option<PathBuf>,
}

impl DbFiles {
    /// A database in a folder, with whatever `-wal`/`-journal` is beside it.
    pub fn beside(main: &Path) -> DbFiles {
        let sidecar = |suffix: &str| {
            let mut name = main.as_os_str().to_owned();
            name.push(suffix);
            let p = PathBuf::from(name);
            // An empty journal holds nothing; opening in place is then exact.
            match std::fs::metadata(&p) {
                Ok(m) if m.is_file() && m.len() > 0 => Some(p),
                _ => None,
            }
        };
        DbFiles {
            main: main.to_path_buf(),
            wal: sidecar("-wal"),
            journal: sidecar("-journal"),
        }
    }
}

/// An open, read-only database. Dropping it removes any temporary copy.
#[derive(Debug)]
pub struct Database {
    conn: Connection,
    path: PathBuf,
    copied: bool,
    truncated: Option<(u64, u64)>,
    _tmp: Option<tempfile::TempDir>,
}

impl Database {
    /// The connection (read-only on the evidence, or on a private copy).
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The evidence path of the main file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the database was read through a temporary copy (it had a journal).
    pub fn was_copied(&self) -> bool {
        self.copied
    }

    /// When the main file is shorter than its header says: (bytes present, bytes expected).
    /// Rows on the missing pages cannot be read, and a query may not notice.
    pub fn truncated(&self) -> Option<(u64, u64)> {
        self.truncated
    }

    /// Whether a table exists.
    pub fn has_table(&self, table: &str) -> bool {
        self.conn
            .query_row(
                "SELECT 1 FROM sqlite_master WHERE type IN ('table','view') AND name = ?1",
                [table],
                |_| Ok(()),
            )
            .is_ok()
    }

    /// The column names of a table (empty if the table is missing or unreadable).
    pub fn columns(&self, table: &str) -> Vec<String> {
        let Ok(mut stmt) = self.conn.prepare("SELECT name FROM pragma_table_info(?1)") else {
            return Vec::new();
        };
        let Ok(rows) = stmt.query_map([table], |r| r.get::<_, String>(0)) else {
            return Vec::new();
        };
        rows.filter_map(Result::ok).collect()
    }

    /// Whether a table has a column (case-insensitive, as SQLite is).
    pub fn has_column(&self, table: &str, column: &str) -> bool {
        self.columns(table)
            .iter()
            .any(|c| c.eq_ignore_ascii_case(column))
    }
}

/// Opens a database from evidence without writing to it.
pub fn open(files: &DbFiles, limits: &Limits) -> Result<Database, EvidenceError> {
    let main = &files.main;
    let meta = std::fs::metadata(main).map_err(|e| EvidenceError::io(main, e))?;
    if !meta.is_file() {
        return Err(EvidenceError::Malformed {
            path: main.clone(),
            message: "not a regular file".into(),
        });
    }
    if files.wal.is_none() && files.journal.is_none() {
        let uri = immutable_uri(main);
        let conn = Connection::open_with_flags(
            &uri,
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_URI
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|source| EvidenceError::Sqlite {
            path: main.clone(),
            source,
        })?;
        check_readable(&conn, main)?;
        return Ok(Database {
            conn,
            path: main.clone(),
            copied: false,
            truncated: truncation(main, meta.len()),
            _tmp: None,
        });
    }
    let total = [Some(main), files.wal.as_ref(), files.journal.as_ref()]
        .into_iter()
        .flatten()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .fold(0u64, u64::saturating_add);
    if total > limits.max_sqlite_copy_bytes {
        return Err(EvidenceError::TooLarge {
            path: main.clone(),
            size: total,
            max: limits.max_sqlite_copy_bytes,
            what: "a SQLite database with a journal (copied before reading)",
        });
    }
    let tmp = tempfile::Builder::new()
        .prefix("bridle-sqlite-")
        .tempdir()
        .map_err(|e| EvidenceError::io(std::env::temp_dir(), e))?;
    let copy = tmp.path().join("db");
    copy_file(main, &copy)?;
    if let Some(wal) = &files.wal {
        copy_file(wal, &tmp.path().join("db-wal"))?;
    }
    if let Some(journal) = &files.journal {
        copy_file(journal, &tmp.path().join("db-journal"))?;
    }
    // Read-write on our own copy: SQLite needs it to replay a hot journal and to create the
    // WAL index; none of it touches the evidence.
    let conn = Connection::open_with_flags(
        &copy,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|source| EvidenceError::Sqlite {
        path: main.clone(),
        source,
    })?;
    check_readable(&conn, main)?;
    Ok(Database {
        conn,
        path: main.clone(),
        copied: true,
        // With a journal the header may legitimately disagree until the journal is applied.
        truncated: None,
        _tmp: Some(tmp),
    })
}

/// Compares the file size with the size the header declares. The header's page count is
/// only valid when its "version-valid-for" number equals the change counter (SQLite 3.7+);
/// otherwise nothing can be said.
fn truncation(path: &Path, len: u64) -> Option<(u64, u64)> {
    use std::io::Read;
    let mut header = [0u8; 100];
    std::fs::File::open(path)
        .ok()?
        .read_exact(&mut header)
        .ok()?;
    let be32 = |at: usize| -> Option<u32> {
        Some(u32::from_be_bytes(header.get(at..at + 4)?.try_into().ok()?))
    };
    let raw_page = u16::from_be_bytes(header.get(16..18)?.try_into().ok()?);
    let page_size: u64 = if raw_page == 1 {
        65_536
    } else {
        u64::from(raw_page)
    };
    if page_size < 512 || be32(24)? != be32(92)? {
        return None;
    }
    let expected = page_size.checked_mul(u64::from(be32(28)?))?;
    (len < expected).then_some((len, expected))
}

fn copy_file(from: &Path, to: &Path) -> Result<(), EvidenceError> {
    std::fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| EvidenceError::io(from, e))
}

/// SQLite opens lazily: force it to read the schema so that "not a database" is reported
/// here, naming the file, rather than on the first query.
fn check_readable(conn: &Connection, path: &Path) -> Result<(), EvidenceError> {
    // `writable_schema` only relaxes SQLite's refusal to open a file shorter than its header
    // says (a truncated acquisition): with it, every page that is present can still be read.
    // It writes nothing: the connection is read-only, or on our own copy. `query_only` makes
    // sure no statement of ours can change even the copy.
    // A small page cache: modules read tables front to back once, so SQLite's default
    // (2 MB per connection) buys nothing and costs memory per thread.
    conn.execute_batch("PRAGMA writable_schema=ON; PRAGMA query_only=ON; PRAGMA cache_size=-512;")
        .map_err(|source| EvidenceError::Sqlite {
            path: path.to_path_buf(),
            source,
        })?;
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })
    .map(|_| ())
    .map_err(|source| EvidenceError::Sqlite {
        path: path.to_path_buf(),
        source,
    })
}

/// A `file:` URI for a path, percent-encoding what URIs reserve, with read-only immutable
/// parameters.
fn immutable_uri(path: &Path) -> String {
    let mut uri = String::from("file:");
    for b in path.as_os_str().as_encoded_bytes() {
        match *b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                uri.push(char::from(*b));
            }
            other => uri.push_str(&format!("%{other:02X}")),
        }
    }
    uri.push_str("?mode=ro&immutable=1");
    uri
}

/// How a row-by-row read ended.
#[derive(Debug)]
pub struct RowsRead {
    /// Rows handed to the callback.
    pub rows: u64,
    /// The error that stopped the read early, if any (corruption, missing column).
    pub error: Option<rusqlite::Error>,
}

impl RowsRead {
    /// Whether every row was read.
    pub fn is_complete(&self) -> bool {
        self.error.is_none()
    }
}

/// Runs a query and hands each row to `f`, streaming. A corrupt page stops the read where it
/// is: the rows before it are kept and the error is returned beside the count, so the caller
/// can say "read N rows, then: database disk image is malformed".
pub fn for_each_row<P, F>(conn: &Connection, sql: &str, params: P, mut f: F) -> RowsRead
where
    P: rusqlite::Params,
    F: FnMut(&rusqlite::Row<'_>),
{
    let mut stmt = match conn.prepare(sql) {
        Ok(s) => s,
        Err(error) => {
            return RowsRead {
                rows: 0,
                error: Some(error),
            };
        }
    };
    let mut rows = match stmt.query(params) {
        Ok(r) => r,
        Err(error) => {
            return RowsRead {
                rows: 0,
                error: Some(error),
            };
        }
    };
    let mut n = 0u64;
    loop {
        match rows.next() {
            Ok(Some(row)) => {
                f(row);
                n += 1;
            }
            Ok(None) => {
                return RowsRead {
                    rows: n,
                    error: None,
                };
            }
            Err(error) => {
                return RowsRead {
                    rows: n,
                    error: Some(error),
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree_snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
        let mut v: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().to_string_lossy().into_owned(),
                    std::fs::read(e.path()).unwrap(),
                )
            })
            .collect();
        v.sort();
        v
    }

    #[test]
    fn wal_rows_are_seen_and_evidence_is_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        // Build a WAL database whose last rows are only in the -wal file: keep the writer
        // open (no checkpoint) while we snapshot the files into an "evidence" folder.
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;
                 CREATE TABLE t(x); INSERT INTO t VALUES (1),(2),(3);",
            )
            .unwrap();
        let evidence = tempfile::tempdir().unwrap();
        let ev = evidence.path().join("t.db");
        std::fs::copy(&path, &ev).unwrap();
        let mut wal = ev.as_os_str().to_owned();
        wal.push("-wal");
        std::fs::copy(dir.path().join("t.db-wal"), &wal).unwrap();
        drop(writer);

        let before = tree_snapshot(evidence.path());
        let files = DbFiles::beside(&ev);
        assert!(files.wal.is_some());
        let db = open(&files, &Limits::default()).unwrap();
        assert!(db.was_copied());
        let mut seen = Vec::new();
        let read = for_each_row(db.conn(), "SELECT x FROM t ORDER BY x", [], |r| {
            seen.push(r.get::<_, i64>(0).unwrap());
        });
        assert!(read.is_complete());
        assert_eq!(seen, [1, 2, 3]);
        drop(db);
        assert_eq!(
            tree_snapshot(evidence.path()),
            before,
            "no -shm, nothing changed"
        );
    }

    #[test]
    fn plain_database_opens_in_place_without_writing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("odd name #1?.db");
        let c = Connection::open(&path).unwrap();
        c.execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES ('a');")
            .unwrap();
        drop(c);
        let before = tree_snapshot(dir.path());
        let db = open(&DbFiles::beside(&path), &Limits::default()).unwrap();
        assert!(!db.was_copied());
        assert!(db.has_table("t"));
        assert!(!db.has_table("u"));
        assert_eq!(db.columns("t"), ["x"]);
        drop(db);
        assert_eq!(tree_snapshot(dir.path()), before);
    }

    #[test]
    fn random_bytes_are_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junk.db");
        std::fs::write(&path, vec![0x5au8; 5000]).unwrap();
        let err = open(&DbFiles::beside(&path), &Limits::default()).unwrap_err();
        assert!(err.to_string().contains("junk.db"), "{err}");
        let empty = dir.path().join("empty.db");
        std::fs::write(&empty, b"").unwrap();
        // An empty file is a valid empty database to SQLite: no tables.
        let db = open(&DbFiles::beside(&empty), &Limits::default()).unwrap();
        assert!(!db.has_table("message"));
    }

    #[test]
    fn truncated_database_yields_rows_before_the_damage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.db");
        let c = Connection::open(&path).unwrap();
        c.execute_batch("PRAGMA page_size=1024; CREATE TABLE t(x TEXT);")
            .unwrap();
        let tx = c.unchecked_transaction().unwrap();
        for i in 0..5000 {
            tx.execute(
                "INSERT INTO t VALUES (?1)",
                [format!("row {i} {}", "x".repeat(50))],
            )
            .unwrap();
        }
        tx.commit().unwrap();
        drop(c);
        let bytes = std::fs::read(&path).unwrap();
        let cut = dir.path().join("cut.db");
        std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
        let db = open(&DbFiles::beside(&cut), &Limits::default()).unwrap();
        let mut n = 0;
        let read = for_each_row(db.conn(), "SELECT x FROM t", [], |_| n += 1);
        assert!(read.rows > 0 && read.rows < 5000, "{}", read.rows);
        assert!(read.error.is_some());
        assert_eq!(read.rows, n);
    }
}
