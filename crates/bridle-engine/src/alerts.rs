//! How alerts are built from a record: the one code path shared by `check` (the module sink),
//! `recheck` (saved observables) and the case store (stored observables), so that the same
//! record and the same indicators give byte-identical alerts whichever way they were matched.

use bridle_model::{
    Alert, AlertRecord, Heuristic, IndicatorRef, Map, Observable, ObservableKind, Provenance,
    Source, TimelineEvent, Timestamp,
};
use serde::{Deserialize, Serialize};

/// The record an alert is about, as the alert cites it.
#[derive(Debug, Clone, Copy)]
pub struct RecordRef<'a> {
    /// Module slug.
    pub module: &'a str,
    /// Position of the record in `<module>.json` (0-based).
    pub index: u64,
    /// Where the record was read.
    pub source: &'a Source,
    /// When the record happened ([`record_time`]).
    pub time: Option<Timestamp>,
    /// The record's data, copied into each alert's `event`.
    pub data: &'a Map,
}

/// The time of a record: the earliest of its timeline events' times.
pub fn record_time(timeline: &[TimelineEvent]) -> Option<Timestamp> {
    timeline.iter().filter_map(|e| e.timestamp).min()
}

/// Where an alert's evidence is.
pub fn provenance(
    module: &str,
    source: &Source,
    record: Option<u64>,
    time: Option<Timestamp>,
) -> Provenance {
    Provenance {
        module: module.to_owned(),
        record_index: record,
        logical_path: source.file.as_ref().map(|f| f.logical_path.clone()),
        stored_path: source.file.as_ref().map(|f| f.stored_path.clone()),
        sha256: source.file.as_ref().map(|f| f.sha256.clone()),
        table: source.table.as_ref().map(ToString::to_string),
        row: source.row.clone(),
        record_time: time,
    }
}

/// The alerts for the indicator matches of one record. `hits` are (position of the
/// observable in `observables`, the indicator), in the matcher's order (by observable, then
/// indicator load order); they are de-duplicated here ([`dedup_hits`]).
pub fn indicator_alerts(
    record: &RecordRef<'_>,
    observables: &[Observable],
    hits: Vec<(usize, IndicatorRef)>,
) -> Vec<Alert> {
    let mut alerts = Vec::new();
    for (i, indicator) in dedup_hits(hits) {
        let Some(obs) = observables.get(i) else {
            continue;
        };
        let message = format!(
            "{} `{}` in {} matches {} indicator `{}` ({})",
            obs.kind, obs.value, obs.field, indicator.bucket, indicator.value, indicator.name,
        );
        alerts.push(Alert {
            level: obs.level,
            module: record.module.to_owned(),
            message,
            event_time: None,
            event: AlertRecord::from_map(record.data),
            matched_indicator: Some(indicator),
            provenance: provenance(
                record.module,
                record.source,
                Some(record.index),
                record.time,
            ),
        });
    }
    alerts
}

/// The alert for a heuristic a module raised, about a record (`record` is `Some`) or about
/// the module as a whole.
pub fn heuristic_alert(
    module: &str,
    heuristic: Heuristic,
    record: Option<&RecordRef<'_>>,
) -> Alert {
    let (event, provenance) = match record {
        Some(r) => (
            AlertRecord::from_map(r.data),
            provenance(module, r.source, Some(r.index), r.time),
        ),
        None => (
            AlertRecord::default(),
            provenance(module, &Source::default(), None, None),
        ),
    };
    Alert {
        level: heuristic.level,
        module: module.to_owned(),
        message: heuristic.message,
        event_time: heuristic.event_time,
        event,
        matched_indicator: None,
        provenance,
    }
}

/// One alert per record and indicator value. The same value found in several fields of one
/// record (a crash report names its process four times) is one finding: the first field
/// carries the alert and the others are added to `observable_field`. When the value is an
/// indicator in several files (Amnesty's and MVT's copies of the same list), the first file
/// loaded carries the alert and the others are listed in `also_in`.
pub fn dedup_hits(mut hits: Vec<(usize, IndicatorRef)>) -> Vec<(usize, IndicatorRef)> {
    // Stable: hits arrive in indicator load order, which decides which file comes first.
    hits.sort_by(|a, b| (&a.1.bucket, &a.1.value, a.0).cmp(&(&b.1.bucket, &b.1.value, b.0)));
    let mut out: Vec<(usize, IndicatorRef)> = Vec::with_capacity(hits.len());
    for (i, hit) in hits {
        if let Some((j, first)) = out.last_mut()
            && first.bucket == hit.bucket
            && first.value == hit.value
        {
            if *j == i {
                if first.stix_id != hit.stix_id || first.stix2_file_name != hit.stix2_file_name {
                    let other = format!("{}: {} ({})", hit.stix2_file_name, hit.stix_id, hit.name);
                    if !first.also_in.contains(&other) {
                        first.also_in.push(other);
                    }
                }
            } else if !first
                .observable_field
                .split(", ")
                .any(|f| f == hit.observable_field)
            {
                first.observable_field.push_str(", ");
                first.observable_field.push_str(&hit.observable_field);
            }
            continue;
        }
        out.push((i, hit));
    }
    // Back to the order of the record's observables.
    out.sort_by_key(|(i, _)| *i);
    out
}

/// What makes two indicator alerts "the same" across runs: the record (module and index),
/// the indicator (STIX id and value) and the observable that matched it. A re-check marks an
/// alert `new` when its identity was not among the previous run's alerts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AlertIdentity {
    /// Module slug.
    pub module: String,
    /// Record position in `<module>.json`.
    pub record_index: Option<u64>,
    /// STIX id of the indicator.
    pub stix_id: String,
    /// Indicator value as written in the STIX file.
    pub indicator_value: String,
    /// Kind of the observable.
    pub observable_kind: ObservableKind,
    /// The observable's value.
    pub observable_value: String,
    /// The record field it came from.
    pub observable_field: String,
}

impl AlertIdentity {
    /// The identity of an indicator alert; `None` for a heuristic alert.
    pub fn of(alert: &Alert) -> Option<AlertIdentity> {
        let m = alert.matched_indicator.as_ref()?;
        Some(AlertIdentity {
            module: alert.module.clone(),
            record_index: alert.provenance.record_index,
            stix_id: m.stix_id.clone(),
            indicator_value: m.value.clone(),
            observable_kind: m.observable_kind,
            observable_value: m.observable_value.clone(),
            observable_field: m.observable_field.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bridle_model::Level;

    fn indicator(file: &str, id: &str, value: &str) -> IndicatorRef {
        IndicatorRef {
            value: value.into(),
            bucket: "domains".into(),
            name: "Spy".into(),
            stix2_file_name: file.into(),
            stix2_file_sha256: "00".into(),
            stix_id: id.into(),
            pattern: String::new(),
            observable_kind: ObservableKind::Domain,
            observable_value: "a.evil.com".into(),
            observable_field: "host".into(),
            match_rule: "subdomain".into(),
            also_in: Vec::new(),
        }
    }

    #[test]
    fn one_alert_per_observable_and_value_with_other_files_listed() {
        let source = Source::default();
        let data = Map::new();
        let record = RecordRef {
            module: "m",
            index: 3,
            source: &source,
            time: Timestamp::from_unix_seconds(10),
            data: &data,
        };
        let obs = [
            Observable::new(ObservableKind::Domain, "a.evil.com", "host").with_level(Level::High),
        ];
        let alerts = indicator_alerts(
            &record,
            &obs,
            vec![
                (0, indicator("a.stix2", "indicator--1", "evil.com")),
                (0, indicator("b.stix2", "indicator--2", "evil.com")),
                (5, indicator("a.stix2", "indicator--1", "evil.com")),
            ],
        );
        assert_eq!(alerts.len(), 1, "out-of-range observables are skipped");
        let a = &alerts[0];
        assert_eq!(a.level, Level::High);
        assert_eq!(a.provenance.record_index, Some(3));
        assert_eq!(a.provenance.record_time, Timestamp::from_unix_seconds(10));
        let m = a.matched_indicator.as_ref().unwrap();
        assert_eq!(m.stix2_file_name, "a.stix2");
        assert_eq!(m.also_in, vec!["b.stix2: indicator--2 (Spy)".to_owned()]);
        let id = AlertIdentity::of(a).unwrap();
        assert_eq!(id.stix_id, "indicator--1");
        assert_eq!(id.record_index, Some(3));
        let h = heuristic_alert("m", Heuristic::new(Level::Low, "note"), None);
        assert_eq!(AlertIdentity::of(&h), None);
    }
}
