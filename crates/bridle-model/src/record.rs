use crate::{Level, Map, Observable, Timestamp};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::sync::Arc;

/// An evidence file a record was read from, as it will be cited in an alert.
///
/// `logical_path` is what an investigator recognises (for a backup, `domain/relativePath`;
/// for a dump, the device path); `stored_path` is where the bytes are inside the acquisition
/// (for a backup, `3d/3d0d7e5f...`). `sha256` is of the stored bytes, so anyone can verify
/// the citation against the evidence.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EvidenceFile {
    /// The path as the device knows it.
    pub logical_path: String,
    /// The path inside the acquisition (relative to its root, `/`-separated).
    pub stored_path: String,
    /// Lower-case hex SHA-256 of the stored file.
    pub sha256: String,
    /// Size in bytes of the stored file.
    pub size: u64,
}

/// Where in the evidence a record comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// The evidence file, when the record comes from one file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<Arc<EvidenceFile>>,
    /// Table (SQLite), plist key path or section name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<Cow<'static, str>>,
    /// Row identifier (SQLite primary key, line number, array index), as text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<String>,
}

impl Source {
    /// A source naming a file only.
    pub fn file(file: &Arc<EvidenceFile>) -> Source {
        Source {
            file: Some(Arc::clone(file)),
            table: None,
            row: None,
        }
    }

    /// A source naming a file, a table and a row.
    pub fn row(file: &Arc<EvidenceFile>, table: &'static str, row: impl ToString) -> Source {
        Source {
            file: Some(Arc::clone(file)),
            table: Some(Cow::Borrowed(table)),
            row: Some(row.to_string()),
        }
    }
}

/// One event for the timeline: `timeline.csv` (MVT columns) and `timeline.jsonl`
/// (Timesketch).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEvent {
    /// When it happened (UTC). `None` events still appear, sorted first, as in MVT.
    pub timestamp: Option<Timestamp>,
    /// MVT's event name (`sms_received`, `visit`, a MACB string...).
    pub event: Cow<'static, str>,
    /// MVT's description text.
    pub data: String,
}

impl TimelineEvent {
    /// A timeline event.
    pub fn new(
        timestamp: Option<Timestamp>,
        event: impl Into<Cow<'static, str>>,
        data: impl Into<String>,
    ) -> Self {
        TimelineEvent {
            timestamp,
            event: event.into(),
            data: data.into(),
        }
    }
}

/// An alert a module raises from its own knowledge of the artifact (not an indicator match):
/// a manipulated DataUsage row, a root binary, an Apple threat notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heuristic {
    /// Severity.
    pub level: Level,
    /// What was found, for a person.
    pub message: String,
    /// When, if the artifact says.
    pub event_time: Option<Timestamp>,
}

impl Heuristic {
    /// A heuristic alert.
    pub fn new(level: Level, message: impl Into<String>) -> Self {
        Heuristic {
            level,
            message: message.into(),
            event_time: None,
        }
    }

    /// The same alert with a time.
    #[must_use]
    pub fn at(mut self, t: Option<Timestamp>) -> Self {
        self.event_time = t;
        self
    }
}

/// One artifact row, as a module produced it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Record {
    /// The record as MVT would write it in `<module>.json` (plus any fields bridle adds).
    pub data: Map,
    /// Values to check against indicators.
    pub observables: Vec<Observable>,
    /// Timeline events for this record.
    pub timeline: Vec<TimelineEvent>,
    /// Heuristic alerts on this record.
    pub heuristics: Vec<Heuristic>,
    /// Where it was read.
    pub source: Source,
    /// The record already written as one JSON object, for modules that stream very large
    /// tables: building a map per row costs more than reading the row. When set, `data` is
    /// left empty and the engine writes this text as is (and parses it only for an alert).
    pub raw: Option<String>,
}

impl Record {
    /// The record's data as a map, whichever way the module gave it.
    pub fn data_map(&self) -> Map {
        match &self.raw {
            Some(raw) => serde_json::from_str(raw).unwrap_or_default(),
            None => self.data.clone(),
        }
    }

    /// An empty record from a source.
    pub fn new(source: Source) -> Self {
        Record {
            source,
            ..Record::default()
        }
    }

    /// Sets a field of the record's data.
    pub fn set(&mut self, key: &str, value: impl Into<serde_json::Value>) -> &mut Self {
        self.data.insert(key.to_owned(), value.into());
        self
    }

    /// Adds an observable if its value is not empty.
    pub fn observe(&mut self, observable: Observable) -> &mut Self {
        if !observable.value.trim().is_empty() {
            self.observables.push(observable);
        }
        self
    }

    /// Adds a timeline event.
    pub fn event(&mut self, event: TimelineEvent) -> &mut Self {
        self.timeline.push(event);
        self
    }

    /// Adds a heuristic alert.
    pub fn alert(&mut self, heuristic: Heuristic) -> &mut Self {
        self.heuristics.push(heuristic);
        self
    }
}
