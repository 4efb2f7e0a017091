//! One small interface over the two databases, so that every query of the store is written
//! once, in the SQL both understand, with `$1`-style parameters.
//!
//! Values are typed (`i64`, text, bool) because PostgreSQL checks parameter types strictly;
//! every integer column of the schema is `BIGINT` so one Rust type fits all.

use crate::StoreError;
use std::borrow::Cow;
use std::io::Write;
use std::time::Duration;

/// How long a SQLite writer waits for another one.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(120);
/// The advisory lock every PostgreSQL write transaction takes: writers of the store are
/// serialised (as SQLite's are), so concurrent checks never interleave or deadlock.
const PG_WRITE_LOCK: i64 = 0x6272_6964_6c65; // "bridle"

/// Runs a SQLite step again while it fails with "busy" or "locked", backing off from 1 ms to
/// 100 ms between tries, for at most [`SQLITE_BUSY_TIMEOUT`]; then returns its last result.
fn retry_while_busy<T>(mut step: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let started = std::time::Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        match step() {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if matches!(
                    e.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) && started.elapsed() < SQLITE_BUSY_TIMEOUT =>
            {
                std::thread::sleep(pause);
                pause = pause.saturating_mul(2).min(Duration::from_millis(100));
            }
            other => return other,
        }
    }
}

/// A parameter or a column value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// A NULL integer.
    NullInt,
    /// A NULL text.
    NullText,
    /// An integer.
    Int(i64),
    /// Text.
    Text(String),
    /// A boolean.
    Bool(bool),
}

impl Value {
    pub(crate) fn int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Bool(b) => Some(i64::from(*b)),
            _ => None,
        }
    }

    pub(crate) fn text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn boolean(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::Int(i) => Some(*i != 0),
            _ => None,
        }
    }

    pub(crate) fn opt_text(s: Option<&str>) -> Value {
        s.map_or(Value::NullText, |s| Value::Text(clean(s).into_owned()))
    }

    pub(crate) fn opt_int(i: Option<i64>) -> Value {
        i.map_or(Value::NullInt, Value::Int)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Text(clean(s).into_owned())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Value {
        match clean(&s) {
            Cow::Borrowed(_) => Value::Text(s),
            Cow::Owned(c) => Value::Text(c),
        }
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(i)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

/// PostgreSQL text cannot hold NUL; device strings can. Text columns get U+FFFD instead
/// (values that must round-trip exactly are stored JSON-encoded, where NUL is `\u0000`).
pub(crate) fn clean(s: &str) -> Cow<'_, str> {
    if s.contains('\0') {
        Cow::Owned(s.replace('\0', "\u{FFFD}"))
    } else {
        Cow::Borrowed(s)
    }
}

pub(crate) type Row = Vec<Value>;

/// An open database.
pub(crate) enum Db {
    Sqlite(rusqlite::Connection),
    Postgres(Box<postgres::Client>),
}

fn sqlite_sql(sql: &str) -> Cow<'_, str> {
    // `$1` is a *named* parameter in SQLite; `?1` is the numbered one.
    if sql.contains('$') {
        Cow::Owned(sql.replace('$', "?"))
    } else {
        Cow::Borrowed(sql)
    }
}

impl rusqlite::types::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Value::NullInt | Value::NullText => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Value::Bool(b) => ToSqlOutput::Borrowed(ValueRef::Integer(i64::from(*b))),
        })
    }
}

fn sqlite_value(v: rusqlite::types::ValueRef<'_>) -> Value {
    use rusqlite::types::ValueRef;
    match v {
        ValueRef::Null => Value::NullText,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(f) => Value::Text(f.to_string()),
        ValueRef::Text(t) | ValueRef::Blob(t) => {
            Value::Text(String::from_utf8_lossy(t).into_owned())
        }
    }
}

fn pg_params(params: &[Value]) -> Vec<Box<dyn postgres::types::ToSql + Sync>> {
    params
        .iter()
        .map(|v| -> Box<dyn postgres::types::ToSql + Sync> {
            match v {
                Value::NullInt => Box::new(None::<i64>),
                Value::NullText => Box::new(None::<String>),
                Value::Int(i) => Box::new(*i),
                Value::Text(s) => Box::new(s.clone()),
                Value::Bool(b) => Box::new(*b),
            }
        })
        .collect()
}

fn pg_value(row: &postgres::Row, i: usize) -> Result<Value, postgres::Error> {
    use postgres::types::Type;
    let Some(column) = row.columns().get(i) else {
        return Ok(Value::NullText);
    };
    let ty = column.type_().clone();
    Ok(if ty == Type::INT8 {
        row.try_get::<_, Option<i64>>(i)?
            .map_or(Value::NullInt, Value::Int)
    } else if ty == Type::INT4 {
        row.try_get::<_, Option<i32>>(i)?
            .map_or(Value::NullInt, |v| Value::Int(i64::from(v)))
    } else if ty == Type::INT2 {
        row.try_get::<_, Option<i16>>(i)?
            .map_or(Value::NullInt, |v| Value::Int(i64::from(v)))
    } else if ty == Type::BOOL {
        row.try_get::<_, Option<bool>>(i)?
            .map_or(Value::NullInt, Value::Bool)
    } else {
        row.try_get::<_, Option<String>>(i)?
            .map_or(Value::NullText, Value::Text)
    })
}

/// Writes one COPY text-format field.
fn copy_field(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::NullInt | Value::NullText => out.extend_from_slice(b"\\N"),
        Value::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Value::Bool(b) => out.push(if *b { b't' } else { b'f' }),
        Value::Text(s) => {
            for b in s.bytes() {
                match b {
                    b'\\' => out.extend_from_slice(b"\\\\"),
                    b'\t' => out.extend_from_slice(b"\\t"),
                    b'\n' => out.extend_from_slice(b"\\n"),
                    b'\r' => out.extend_from_slice(b"\\r"),
                    b => out.push(b),
                }
            }
        }
    }
}

impl Db {
    pub(crate) fn open_sqlite(path: &std::path::Path) -> Result<Db, StoreError> {
        let conn = rusqlite::Connection::open(path).map_err(StoreError::sqlite)?;
        conn.busy_timeout(SQLITE_BUSY_TIMEOUT)
            .map_err(StoreError::sqlite)?;
        // WAL lets readers (case list/show) run while a check writes; foreign keys on.
        // Switching a new store to WAL needs the exclusive lock, and SQLite answers "locked"
        // at once, without its busy handler, when two processes open a new store together:
        // retry for as long as a writer would wait.
        retry_while_busy(|| {
            conn.execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
            )
        })
        .map_err(StoreError::sqlite)?;
        Ok(Db::Sqlite(conn))
    }

    pub(crate) fn open_postgres(dsn: &str) -> Result<Db, StoreError> {
        let client = postgres::Client::connect(dsn, postgres::NoTls).map_err(StoreError::pg)?;
        Ok(Db::Postgres(Box::new(client)))
    }

    pub(crate) fn is_postgres(&self) -> bool {
        matches!(self, Db::Postgres(_))
    }

    /// Statements without parameters.
    pub(crate) fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        match self {
            Db::Sqlite(c) => c.execute_batch(sql).map_err(StoreError::sqlite),
            Db::Postgres(c) => c.batch_execute(sql).map_err(StoreError::pg),
        }
    }

    /// One statement; the number of rows changed.
    pub(crate) fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        match self {
            Db::Sqlite(c) => {
                let n = c
                    .execute(&sqlite_sql(sql), rusqlite::params_from_iter(params.iter()))
                    .map_err(StoreError::sqlite)?;
                Ok(n as u64)
            }
            Db::Postgres(c) => {
                let owned = pg_params(params);
                let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
                    owned.iter().map(|b| b.as_ref()).collect();
                c.execute(sql, &refs).map_err(StoreError::pg)
            }
        }
    }

    /// One query; all its rows.
    pub(crate) fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        match self {
            Db::Sqlite(c) => {
                let mut stmt = c.prepare(&sqlite_sql(sql)).map_err(StoreError::sqlite)?;
                let columns = stmt.column_count();
                let mut rows = stmt
                    .query(rusqlite::params_from_iter(params.iter()))
                    .map_err(StoreError::sqlite)?;
                let mut out = Vec::new();
                while let Some(row) = rows.next().map_err(StoreError::sqlite)? {
                    let mut values = Vec::with_capacity(columns);
                    for i in 0..columns {
                        values.push(sqlite_value(row.get_ref(i).map_err(StoreError::sqlite)?));
                    }
                    out.push(values);
                }
                Ok(out)
            }
            Db::Postgres(c) => {
                let owned = pg_params(params);
                let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
                    owned.iter().map(|b| b.as_ref()).collect();
                let rows = c.query(sql, &refs).map_err(StoreError::pg)?;
                let mut out = Vec::with_capacity(rows.len());
                for row in &rows {
                    let mut values = Vec::with_capacity(row.len());
                    for i in 0..row.len() {
                        values.push(pg_value(row, i).map_err(StoreError::pg)?);
                    }
                    out.push(values);
                }
                Ok(out)
            }
        }
    }

    /// Starts a write transaction: SQLite takes its write lock now (`IMMEDIATE`), PostgreSQL
    /// the store's advisory lock, so concurrent writers queue instead of failing half-way.
    pub(crate) fn begin_write(&mut self) -> Result<(), StoreError> {
        match self {
            Db::Sqlite(c) => c
                .execute_batch("BEGIN IMMEDIATE")
                .map_err(StoreError::sqlite),
            Db::Postgres(c) => {
                c.batch_execute("BEGIN").map_err(StoreError::pg)?;
                c.execute("SELECT pg_advisory_xact_lock($1)", &[&PG_WRITE_LOCK])
                    .map_err(StoreError::pg)?;
                Ok(())
            }
        }
    }

    pub(crate) fn commit(&mut self) -> Result<(), StoreError> {
        self.batch("COMMIT")
    }

    /// Lets SQLite refresh its query-planner statistics after a large write (cheap; a
    /// no-op on PostgreSQL, whose autovacuum does it).
    pub(crate) fn optimize(&mut self) {
        if let Db::Sqlite(c) = self {
            let _ = c.execute_batch("PRAGMA optimize");
        }
    }

    /// Rolls back, ignoring errors: used on the way out of a failed write, when the
    /// connection may already be gone (the server then rolls back by itself).
    pub(crate) fn rollback(&mut self) {
        let _ = self.batch("ROLLBACK");
    }

    /// Inserts many rows into a table: COPY on PostgreSQL, a prepared statement on SQLite.
    pub(crate) fn bulk_insert<I>(
        &mut self,
        table: &str,
        columns: &[&str],
        rows: I,
    ) -> Result<u64, StoreError>
    where
        I: IntoIterator<Item = Result<Row, StoreError>>,
    {
        let mut n = 0u64;
        match self {
            Db::Sqlite(c) => {
                let marks: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
                let sql = format!(
                    "INSERT INTO {table} ({}) VALUES ({})",
                    columns.join(", "),
                    marks.join(", ")
                );
                let mut stmt = c.prepare_cached(&sql).map_err(StoreError::sqlite)?;
                for row in rows {
                    let row = row?;
                    stmt.execute(rusqlite::params_from_iter(row.iter()))
                        .map_err(StoreError::sqlite)?;
                    n += 1;
                }
            }
            Db::Postgres(c) => {
                let sql = format!("COPY {table} ({}) FROM STDIN", columns.join(", "));
                let mut writer = c.copy_in(&sql).map_err(StoreError::pg)?;
                let mut buf = Vec::with_capacity(1 << 16);
                for row in rows {
                    let row = row?;
                    for (i, v) in row.iter().enumerate() {
                        if i > 0 {
                            buf.push(b'\t');
                        }
                        copy_field(&mut buf, v);
                    }
                    buf.push(b'\n');
                    n += 1;
                    if buf.len() >= 1 << 16 {
                        writer.write_all(&buf).map_err(StoreError::pg_io)?;
                        buf.clear();
                    }
                }
                writer.write_all(&buf).map_err(StoreError::pg_io)?;
                writer.finish().map_err(StoreError::pg)?;
            }
        }
        Ok(n)
    }

    /// A temporary table for this transaction (dropped at commit on PostgreSQL; emptied and
    /// reused on SQLite, where temporary tables live as long as the connection).
    pub(crate) fn temp_table(&mut self, name: &str, columns: &str) -> Result<(), StoreError> {
        match self {
            Db::Sqlite(_) => self.batch(&format!(
                "CREATE TEMP TABLE IF NOT EXISTS {name} ({columns}); DELETE FROM {name};"
            )),
            Db::Postgres(_) => self.batch(&format!(
                "CREATE TEMP TABLE {name} ({columns}) ON COMMIT DROP"
            )),
        }
    }
}
