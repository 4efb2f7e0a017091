use crate::{Level, Map, ObservableKind, Timestamp};
use serde::{Deserialize, Serialize};

/// The indicator behind an alert, with everything needed to cite it.
///
/// The first four fields are MVT's `matched_indicator` keys, so scripts written for MVT's
/// `alerts.json` keep working; the rest is what MVT drops (STIX id, file hash, how it matched).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndicatorRef {
    /// The indicator value (as written in the STIX file).
    pub value: String,
    /// MVT's bucket name (`domains`, `processes`, `file_paths`...).
    #[serde(rename = "type")]
    pub bucket: String,
    /// The malware or report name the indicator belongs to.
    pub name: String,
    /// Base name of the STIX file.
    pub stix2_file_name: String,
    /// SHA-256 of the STIX file.
    pub stix2_file_sha256: String,
    /// The STIX `indicator--...` id.
    pub stix_id: String,
    /// The STIX pattern it came from.
    pub pattern: String,
    /// The observable that matched.
    pub observable_kind: ObservableKind,
    /// The observable's value as found on the device.
    pub observable_value: String,
    /// The record field it was in.
    pub observable_field: String,
    /// How it matched (`exact`, `subdomain`, `truncated process name`...).
    pub match_rule: String,
    /// The same value is an indicator in other files too: `<file>: <stix id> (<name>)` for
    /// each (the alert is raised once, for the first file loaded).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also_in: Vec<String>,
}

/// Where an alert's evidence is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// Module slug.
    pub module: String,
    /// Position of the record in `<module>.json` (0-based), when the alert is about a record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_index: Option<u64>,
    /// Device path of the evidence file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logical_path: Option<String>,
    /// Path inside the acquisition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stored_path: Option<String>,
    /// SHA-256 of the evidence file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Table or section.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// Row or line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<String>,
    /// When the record happened: the earliest time among its timeline events. It places an
    /// alert on the timeline when `event_time` is empty (MVT leaves it empty for indicator
    /// matches, and so does bridle, for compatibility).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_time")]
    pub record_time: Option<Timestamp>,
}

/// The record an alert is about, held as compact JSON text.
///
/// Alerts stay in memory until a run's end (they are sorted, counted and written several
/// times), and an acquisition can raise tens of thousands of them: as a JSON tree a record
/// of twenty fields costs a few kilobytes, as text a few hundred bytes. It is written as the
/// JSON object it holds, so the files look the same either way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRecord(Box<str>);

impl AlertRecord {
    /// The record of `data`.
    pub fn from_map(data: &Map) -> AlertRecord {
        // A map of JSON values always serialises; "{}" is the safe fallback regardless.
        AlertRecord(
            serde_json::to_string(data)
                .unwrap_or_else(|_| "{}".to_owned())
                .into_boxed_str(),
        )
    }

    /// The record as compact JSON text.
    pub fn as_json(&self) -> &str {
        &self.0
    }

    /// The record as a JSON object (empty if it is not one).
    pub fn to_map(&self) -> Map {
        serde_json::from_str(&self.0).unwrap_or_default()
    }

    /// Whether the record has no fields.
    pub fn is_empty(&self) -> bool {
        &*self.0 == "{}"
    }
}

impl Default for AlertRecord {
    fn default() -> AlertRecord {
        AlertRecord("{}".into())
    }
}

impl From<Map> for AlertRecord {
    fn from(data: Map) -> AlertRecord {
        AlertRecord::from_map(&data)
    }
}

impl Serialize for AlertRecord {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Through a tree, so that a pretty-printed file indents the record like the rest.
        self.to_map().serialize(s)
    }
}

impl<'de> Deserialize<'de> for AlertRecord {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<AlertRecord, D::Error> {
        Ok(AlertRecord::from_map(&Map::deserialize(d)?))
    }
}

/// A finding: an indicator match or a heuristic, with its provenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Severity.
    pub level: Level,
    /// Module slug.
    pub module: String,
    /// What was found.
    pub message: String,
    /// When (MVT writes `""` when unknown; so do we).
    #[serde(with = "event_time")]
    pub event_time: Option<Timestamp>,
    /// The record the alert is about (empty for module-level alerts).
    pub event: AlertRecord,
    /// The indicator, for an indicator match.
    pub matched_indicator: Option<IndicatorRef>,
    /// Where the evidence is.
    pub provenance: Provenance,
}

impl Alert {
    /// Whether this alert makes a check report "findings" (exit code 1).
    pub fn is_finding(&self) -> bool {
        self.matched_indicator.is_some() || self.level.is_severe()
    }

    /// A total order for deterministic output: module, record, level (severe first), message.
    pub fn sort_key(&self) -> impl Ord + '_ {
        (
            &self.module,
            self.provenance.record_index,
            std::cmp::Reverse(self.level),
            &self.message,
            self.matched_indicator
                .as_ref()
                .map(|m| (&m.stix_id, &m.value)),
        )
    }
}

mod opt_time {
    use crate::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};

    #[allow(clippy::ref_option)] // serde's `with` passes `&Option<T>`
    pub fn serialize<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&t.to_mvt()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
        let s = Option::<String>::deserialize(d)?;
        Ok(s.as_deref().and_then(Timestamp::parse))
    }
}

mod event_time {
    use crate::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&t.to_mvt()),
            None => s.serialize_str(""),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
        let s = String::deserialize(d)?;
        Ok(Timestamp::parse(&s))
    }
}

#[cfg(test)]
mod record_tests {
    use super::*;

    #[test]
    fn an_alert_record_is_written_as_the_object_it_holds() {
        let mut data = Map::new();
        data.insert("path".into(), "/data/local/tmp/x".into());
        data.insert("size".into(), 7.into());
        data.insert("nested".into(), serde_json::json!({"b": [1, 2], "a": null}));
        let record = AlertRecord::from_map(&data);
        assert_eq!(
            record.as_json(),
            r#"{"path":"/data/local/tmp/x","size":7,"nested":{"b":[1,2],"a":null}}"#,
            "compact, in the record's own key order"
        );
        assert_eq!(
            serde_json::to_string_pretty(&record).unwrap(),
            serde_json::to_string_pretty(&data).unwrap(),
            "pretty files indent it like a tree"
        );
        let back: AlertRecord =
            serde_json::from_str(&serde_json::to_string_pretty(&data).unwrap()).unwrap();
        assert_eq!(back, record, "read back compact");
        assert!(AlertRecord::default().is_empty());
        assert!(
            serde_json::from_str::<AlertRecord>("[1]").is_err(),
            "only objects"
        );
    }
}
