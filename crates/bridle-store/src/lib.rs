//! The case store: checks recorded in a database so that every device of a case (or of all
//! cases) can be re-checked when new indicators are published, without the phones and
//! without reading the results folders again.
//!
//! ```text
//! results folder --record--> acquisition, evidence hashes, run, alerts
//!                            records with observables --> observable values (distinct)
//!                                                          '--> probe keys (indexed)
//! new STIX file --index keys--> temporary table --JOIN probe keys--> hits --> alerts
//! ```
//!
//! Two databases, one schema and one set of queries ([`db`]): SQLite, a file in the user's
//! data folder (the default, nothing to install), and PostgreSQL for a team sharing
//! devices. Migrations are numbered SQL files ([`schema`]).
//!
//! Matching is the indicator crate's: each stored observable value carries the probe keys
//! [`bridle_indicators::probe_keys`] gives, each new indicator the keys
//! [`bridle_indicators::index_keys`] gives, and a re-check is one join of the two over an
//! index (plus the conjunctive-clause rule in SQL), per store, not a loop over devices. The
//! alerts are then built by the engine's own code ([`bridle_engine::alerts`]), so a stored
//! device re-checked here and a results folder re-checked with `bridle recheck` give the same
//! alerts.
//!
//! Every write is one transaction under a writer lock: a check that fails half-way, or a
//! PostgreSQL connection that drops, leaves no partial case; two checks writing the same case
//! at once are serialised.

#![deny(missing_docs)]

mod db;
mod ingest;
mod query;
mod recheck;
pub mod schema;

pub use ingest::Recorded;
pub use query::{AcquisitionDetail, AlertRow, CaseDetail, CaseSummary, RunRow};
pub use recheck::{DeviceRecheck, JoinHit, RecheckRun, Scope};

use db::Db;
use std::path::{Path, PathBuf};

/// Where a store is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection string (`postgres://user@host:port/db`, or key=value form).
    Postgres(String),
}

impl Location {
    /// `postgres://...`, `postgresql://...` and key=value strings (`host=... dbname=...`)
    /// are PostgreSQL; anything else is a SQLite file path.
    pub fn parse(text: &str) -> Location {
        let lower = text.trim().to_ascii_lowercase();
        let key_value = lower
            .split_whitespace()
            .any(|w| w.starts_with("host=") || w.starts_with("dbname="));
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") || key_value {
            Location::Postgres(text.trim().to_owned())
        } else {
            Location::Sqlite(PathBuf::from(text))
        }
    }

    /// The default store: `cases.db` in bridle's user data folder
    /// (`~/.local/share/bridle/cases.db` on Linux). `None` when the system has no home.
    pub fn default_sqlite() -> Option<Location> {
        directories::BaseDirs::new()
            .map(|d| Location::Sqlite(d.data_dir().join("bridle").join("cases.db")))
    }

    /// For messages: the path, or the URL without its password.
    pub fn describe(&self) -> String {
        match self {
            Location::Sqlite(p) => p.display().to_string(),
            Location::Postgres(dsn) => redact(dsn),
        }
    }
}

/// Removes the password from a `scheme://user:password@host/...` URL.
fn redact(dsn: &str) -> String {
    let Some((scheme, rest)) = dsn.split_once("://") else {
        // key=value form: everything but the password.
        return dsn
            .split_whitespace()
            .filter(|w| !w.to_ascii_lowercase().starts_with("password="))
            .collect::<Vec<_>>()
            .join(" ");
    };
    let (authority, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let kept: Vec<&str> = query
                .split('&')
                .filter(|p| !p.to_ascii_lowercase().starts_with("password="))
                .collect();
            if kept.is_empty() {
                path.to_owned()
            } else {
                format!("{path}?{}", kept.join("&"))
            }
        }
        None => tail.to_owned(),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{scheme}://{user}@{host}{tail}")
        }
        None => format!("{scheme}://{authority}{tail}"),
    }
}

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite said no.
    #[error("SQLite: {0}")]
    Sqlite(#[source] rusqlite::Error),
    /// PostgreSQL said no, or the connection failed or dropped.
    #[error("PostgreSQL: {0}")]
    Postgres(#[source] postgres::Error),
    /// Writing to PostgreSQL failed (the connection dropped during a bulk copy).
    #[error("PostgreSQL: {0}")]
    PostgresIo(#[source] std::io::Error),
    /// The store's folder could not be made.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A results folder could not be read.
    #[error(transparent)]
    Results(#[from] bridle_engine::results::ReadError),
    /// The folder is not the results of a check.
    #[error("{}: {why}", path.display())]
    NotResults {
        /// The folder.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// The store was written by a newer bridle.
    #[error("the store has schema version {found}; this bridle knows up to {supported}")]
    TooNew {
        /// The store's version.
        found: i64,
        /// This build's.
        supported: i64,
    },
    /// No such case.
    #[error("no case named {0:?}")]
    NoCase(String),
    /// A stored value is not what the store writes (edited by hand, or damaged).
    #[error("the store holds an unexpected value: {0}")]
    Corrupt(String),
}

impl StoreError {
    pub(crate) fn sqlite(e: rusqlite::Error) -> StoreError {
        StoreError::Sqlite(e)
    }
    pub(crate) fn pg(e: postgres::Error) -> StoreError {
        StoreError::Postgres(e)
    }
    pub(crate) fn pg_io(e: std::io::Error) -> StoreError {
        StoreError::PostgresIo(e)
    }
}

/// An open case store.
pub struct Store {
    db: Db,
    location: Location,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("location", &self.location.describe())
            .finish()
    }
}

/// The current time, RFC 3339 UTC.
pub(crate) fn now() -> String {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_micros()).ok());
    micros
        .and_then(bridle_model::Timestamp::from_unix_micros)
        .map(bridle_model::Timestamp::to_rfc3339)
        .unwrap_or_default()
}

impl Store {
    /// Opens (creating if needed) a store and brings its schema up to date.
    pub fn open(location: &Location) -> Result<Store, StoreError> {
        let mut db = match location {
            Location::Sqlite(path) => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent).map_err(|source| StoreError::Io {
                        path: parent.to_owned(),
                        source,
                    })?;
                }
                Db::open_sqlite(path)?
            }
            Location::Postgres(dsn) => Db::open_postgres(dsn)?,
        };
        schema::migrate(&mut db, &now())?;
        let mut store = Store {
            db,
            location: location.clone(),
        };
        recheck::refresh_probe_keys(&mut store.db)?;
        Ok(store)
    }

    /// Where the store is.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// Records the results folder of a check in a case (created if needed), in one
    /// transaction.
    pub fn record(&mut self, case: &str, results: &Path) -> Result<Recorded, StoreError> {
        let recorded = ingest::record(&mut self.db, case, results, &now())?;
        self.db.optimize();
        Ok(recorded)
    }

    /// Every case.
    pub fn cases(&mut self) -> Result<Vec<CaseSummary>, StoreError> {
        query::cases(&mut self.db)
    }

    /// One case.
    pub fn case(&mut self, name: &str) -> Result<CaseDetail, StoreError> {
        query::case(&mut self.db, name)
    }

    /// Re-checks every acquisition in scope against an indicator set; stores a re-check
    /// run per acquisition and returns what each found.
    pub fn recheck(
        &mut self,
        scope: &Scope,
        set: &bridle_indicators::IndicatorSet,
        run: &RecheckRun,
    ) -> Result<Vec<DeviceRecheck>, StoreError> {
        recheck::recheck(&mut self.db, scope, set, run, &now())
    }

    /// The raw join of stored probe keys with an indicator set's index keys (what
    /// [`Store::recheck`] builds alerts from), for inspection and tests.
    pub fn join_hits(
        &mut self,
        scope: &Scope,
        set: &bridle_indicators::IndicatorSet,
    ) -> Result<Vec<JoinHit>, StoreError> {
        recheck::join_hits_tx(&mut self.db, scope, set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations() {
        assert_eq!(
            Location::parse("postgres://u:secret@h:5432/db"),
            Location::Postgres("postgres://u:secret@h:5432/db".into())
        );
        assert_eq!(
            Location::parse("/tmp/c.db"),
            Location::Sqlite("/tmp/c.db".into())
        );
        assert!(matches!(
            Location::parse("host=127.0.0.1 user=postgres dbname=cases"),
            Location::Postgres(_)
        ));
        assert_eq!(
            Location::parse("postgres://h/db?user=u&password=pw&sslmode=disable").describe(),
            "postgres://h/db?user=u&sslmode=disable"
        );
        assert_eq!(
            Location::parse("host=h password=pw dbname=d").describe(),
            "host=h dbname=d"
        );
        assert_eq!(
            Location::parse("postgres://u:secret@h:5432/db").describe(),
            "postgres://u@h:5432/db"
        );
    }
}
