//! Re-checking stored devices: one join of the stored probe keys with the new indicators'
//! index keys, over an index, for every device in scope at once.

use crate::StoreError;
use crate::db::{Db, Row, Value};
use crate::ingest::{hash_key, identity_hash, probe_rows};
use bridle_engine::alerts::{self, RecordRef};
use bridle_indicators::{IndicatorSet, MatchRule, PROBE_KEYS_VERSION};
use bridle_model::{
    Alert, EvidenceFile, IndicatorRef, Level, Map, Observable, ObservableKind, Source, Timestamp,
};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Which acquisitions a re-check covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every acquisition of one case.
    Case(String),
    /// Every acquisition of every case.
    All,
}

/// Facts about a re-check run, for the stored run.
#[derive(Debug, Clone, Default)]
pub struct RecheckRun {
    /// bridle's version.
    pub bridle_version: String,
    /// The command line.
    pub command_line: Vec<String>,
    /// Indicator files: (path, SHA-256, indicators).
    pub indicator_files: Vec<(String, String, usize)>,
    /// When it started.
    pub started_at: String,
}

/// One observable of one stored record matching one indicator.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct JoinHit {
    /// The acquisition.
    pub acquisition_id: i64,
    /// The stored record.
    pub record_id: i64,
    /// The record's module.
    pub module: String,
    /// The record's position in `<module>.json`.
    pub record_index: u64,
    /// Position of the observable in the record.
    pub position: u64,
    /// Position of the indicator in the set.
    pub indicator: usize,
    /// How it matched (the most specific rule, as the matcher picks).
    pub rule: MatchRule,
}

/// What a re-check found on one acquisition.
#[derive(Debug, Clone)]
pub struct DeviceRecheck {
    /// The case.
    pub case: String,
    /// The acquisition.
    pub acquisition_id: i64,
    /// Its device, as stored (JSON object).
    pub device: String,
    /// The acquisition path.
    pub path: String,
    /// The stored run.
    pub run_id: i64,
    /// Indicator alerts now.
    pub indicator_alerts: usize,
    /// Indicator alerts new since the acquisition's previous run.
    pub new_alerts: Vec<Alert>,
    /// Indicator alerts of the previous run that no longer match.
    pub removed: usize,
    /// Severe heuristic alerts carried over from the check.
    pub severe_heuristics: usize,
    /// Records whose data could not be read back (alerts cite them without data).
    pub problems: Vec<String>,
}

/// Makes sure every stored value has the probe keys of this build's
/// [`PROBE_KEYS_VERSION`]; re-derives them all when the store holds another version.
pub(crate) fn refresh_probe_keys(db: &mut Db) -> Result<(), StoreError> {
    let version = PROBE_KEYS_VERSION.to_string();
    let current = db.query(
        "SELECT value FROM store_meta WHERE key = 'probe_keys_version'",
        &[],
    )?;
    let stored = current
        .first()
        .and_then(|r| r.first())
        .and_then(Value::text)
        .map(str::to_owned);
    if stored.as_deref() == Some(version.as_str()) {
        return Ok(());
    }
    db.begin_write()?;
    let result = (|| {
        // Another process may have refreshed them while we waited for the lock.
        let again = db.query(
            "SELECT value FROM store_meta WHERE key = 'probe_keys_version'",
            &[],
        )?;
        if again.first().and_then(|r| r.first()).and_then(Value::text) == Some(version.as_str()) {
            return Ok(());
        }
        db.batch("DELETE FROM value_probes; DELETE FROM probe_keys;")?;
        db.temp_table(
            "stage_keys",
            "value_hash TEXT, space TEXT, key TEXT, key_hash TEXT, rule BIGINT",
        )?;
        let values = db.query("SELECT kind, value, value_hash FROM observable_values", &[])?;
        let mut rows: Vec<Result<Row, StoreError>> = Vec::new();
        for v in &values {
            let (Some(kind), Some(value), Some(hash)) = (
                v.first().and_then(Value::text),
                v.get(1).and_then(Value::text),
                v.get(2).and_then(Value::text),
            ) else {
                continue;
            };
            let kind = parse_kind(kind)?;
            let value: String = serde_json::from_str(value)
                .map_err(|e| StoreError::Corrupt(format!("observable value: {e}")))?;
            rows.extend(probe_rows(hash, kind, &value).into_iter().map(Ok));
        }
        db.bulk_insert(
            "stage_keys",
            &["value_hash", "space", "key", "key_hash", "rule"],
            rows,
        )?;
        db.batch(
            "INSERT INTO probe_keys (space, key, key_hash)
               SELECT MIN(space), MIN(key), key_hash FROM stage_keys
               WHERE true GROUP BY key_hash ORDER BY key_hash
               ON CONFLICT (key_hash) DO NOTHING;
             INSERT INTO value_probes (value_id, key_id, rule)
               SELECT DISTINCT v.id, k.id, s.rule FROM stage_keys s
               JOIN observable_values v ON v.value_hash = s.value_hash
               JOIN probe_keys k ON k.key_hash = s.key_hash
               WHERE true ON CONFLICT DO NOTHING;",
        )?;
        db.execute(
            "INSERT INTO store_meta (key, value) VALUES ('probe_keys_version', $1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[version.as_str().into()],
        )?;
        Ok(())
    })();
    match result {
        Ok(()) => db.commit(),
        Err(e) => {
            db.rollback();
            Err(e)
        }
    }
}

fn parse_kind(kind: &str) -> Result<ObservableKind, StoreError> {
    serde_json::from_value(serde_json::Value::String(kind.to_owned()))
        .map_err(|_| StoreError::Corrupt(format!("observable kind {kind:?}")))
}

fn int(row: &Row, i: usize) -> Result<i64, StoreError> {
    row.get(i)
        .and_then(Value::int)
        .ok_or_else(|| StoreError::Corrupt(format!("column {i} is not an integer")))
}

fn text(row: &Row, i: usize) -> Option<&str> {
    row.get(i).and_then(Value::text)
}

/// Fills `sel` with the acquisitions in scope and `new_keys` with the set's index keys.
fn prepare(db: &mut Db, scope: &Scope, set: &IndicatorSet) -> Result<(), StoreError> {
    db.temp_table("sel", "acquisition_id BIGINT PRIMARY KEY")?;
    match scope {
        Scope::All => db.execute(
            "INSERT INTO sel (acquisition_id) SELECT id FROM acquisitions",
            &[],
        )?,
        Scope::Case(name) => {
            let found = db.query(
                "SELECT id FROM cases WHERE name = $1",
                &[name.as_str().into()],
            )?;
            if found.is_empty() {
                return Err(StoreError::NoCase(name.clone()));
            }
            db.execute(
                "INSERT INTO sel (acquisition_id)
                 SELECT a.id FROM acquisitions a JOIN cases c ON c.id = a.case_id
                 WHERE c.name = $1",
                &[name.as_str().into()],
            )?
        }
    };
    db.temp_table(
        "new_keys",
        "space TEXT, key TEXT, key_hash TEXT, indicator BIGINT, clause BIGINT, \
         clause_size BIGINT",
    )?;
    let mut rows: Vec<Result<Row, StoreError>> = Vec::new();
    for (index, indicator) in set.indicators().iter().enumerate() {
        let clause = indicator
            .clause
            .and_then(|c| set.clause(c).map(|cl| (c, cl)));
        for key in indicator.index_keys() {
            rows.push(Ok(vec![
                key.space.as_str().into(),
                key.key.as_str().into(),
                hash_key(key.space.as_str(), &key.key).into(),
                Value::Int(index as i64),
                Value::opt_int(clause.map(|(c, _)| c.index() as i64)),
                Value::opt_int(clause.map(|(_, cl)| cl.members.len() as i64)),
            ]));
        }
    }
    db.bulk_insert(
        "new_keys",
        &[
            "space",
            "key",
            "key_hash",
            "indicator",
            "clause",
            "clause_size",
        ],
        rows,
    )?;
    db.batch("CREATE INDEX IF NOT EXISTS new_keys_hash ON new_keys (key_hash)")?;
    // The hits: every (record, observable, indicator) whose keys meet, with the most
    // specific rule. One statement for every device and every observable type. The joins
    // are written as CROSS JOIN so that SQLite walks them in this order (from the few new
    // keys, through the indexes, to the records); PostgreSQL plans them as inner joins.
    db.temp_table(
        "hits",
        "acquisition_id BIGINT, record_id BIGINT, position BIGINT, indicator BIGINT, \
         rule BIGINT, clause BIGINT, clause_size BIGINT",
    )?;
    db.execute(
        "INSERT INTO hits (acquisition_id, record_id, position, indicator, rule, clause, clause_size)
         SELECT r.acquisition_id, ro.record_id, ro.position, nk.indicator, MIN(vp.rule),
                nk.clause, nk.clause_size
         FROM new_keys nk
         CROSS JOIN probe_keys pk
         CROSS JOIN value_probes vp
         CROSS JOIN record_observables ro
         CROSS JOIN records r
         CROSS JOIN sel s
         WHERE pk.key_hash = nk.key_hash AND pk.space = nk.space AND pk.key = nk.key
           AND vp.key_id = pk.id
           AND ro.value_id = vp.value_id
           AND r.id = ro.record_id
           AND s.acquisition_id = r.acquisition_id
         GROUP BY r.acquisition_id, ro.record_id, ro.position, nk.indicator, nk.clause,
                  nk.clause_size",
        &[],
    )?;
    Ok(())
}

/// The hits after the conjunctive-clause rule: a clause counts only when every one of its
/// comparisons is matched by some observable of the same record.
fn filtered_hits(db: &mut Db) -> Result<Vec<JoinHit>, StoreError> {
    let rows = db.query(
        "WITH full_clauses AS (
            SELECT record_id, clause FROM hits WHERE clause IS NOT NULL
            GROUP BY record_id, clause, clause_size
            HAVING COUNT(DISTINCT indicator) = clause_size)
         SELECT h.acquisition_id, h.record_id, h.position, h.indicator, h.rule,
                r.module, r.record_index
         FROM hits h
         JOIN records r ON r.id = h.record_id
         LEFT JOIN full_clauses f ON f.record_id = h.record_id AND f.clause = h.clause
         WHERE h.clause IS NULL OR f.record_id IS NOT NULL
         ORDER BY h.acquisition_id, h.record_id, h.position, h.indicator",
        &[],
    )?;
    rows.iter()
        .map(|r| {
            let rule = u8::try_from(int(r, 4)?)
                .ok()
                .and_then(MatchRule::from_rank)
                .ok_or_else(|| StoreError::Corrupt("match rule".into()))?;
            Ok(JoinHit {
                acquisition_id: int(r, 0)?,
                record_id: int(r, 1)?,
                module: text(r, 5).unwrap_or("").to_owned(),
                record_index: u64::try_from(int(r, 6)?).unwrap_or(0),
                position: u64::try_from(int(r, 2)?).unwrap_or(0),
                indicator: usize::try_from(int(r, 3)?).unwrap_or(usize::MAX),
                rule,
            })
        })
        .collect()
}

/// [`filtered_hits`] in its own transaction (read-only use).
pub(crate) fn join_hits_tx(
    db: &mut Db,
    scope: &Scope,
    set: &IndicatorSet,
) -> Result<Vec<JoinHit>, StoreError> {
    db.begin_write()?;
    let result = prepare(db, scope, set).and_then(|()| filtered_hits(db));
    db.rollback();
    result
}

struct StoredRecord {
    acquisition_id: i64,
    module: String,
    index: u64,
    source: Source,
    time: Option<Timestamp>,
    data: Map,
    observables: BTreeMap<u64, Observable>,
}

pub(crate) fn recheck(
    db: &mut Db,
    scope: &Scope,
    set: &IndicatorSet,
    run: &RecheckRun,
    now: &str,
) -> Result<Vec<DeviceRecheck>, StoreError> {
    db.begin_write()?;
    let result = recheck_in_tx(db, scope, set, run, now);
    match result {
        Ok(r) => {
            db.commit()?;
            Ok(r)
        }
        Err(e) => {
            db.rollback();
            Err(e)
        }
    }
}

fn recheck_in_tx(
    db: &mut Db,
    scope: &Scope,
    set: &IndicatorSet,
    run: &RecheckRun,
    now: &str,
) -> Result<Vec<DeviceRecheck>, StoreError> {
    prepare(db, scope, set)?;
    let hits = filtered_hits(db)?;

    // The records that matched, and their observables.
    let mut records: BTreeMap<i64, StoredRecord> = BTreeMap::new();
    let mut problems: HashMap<i64, Vec<String>> = HashMap::new();
    for r in db.query(
        "SELECT r.id, r.acquisition_id, r.module, r.record_index, r.source_table, r.record_time,
                r.data, r.source_row, e.logical_path, e.stored_path, e.sha256, e.size
         FROM records r
         LEFT JOIN evidence_files e ON e.acquisition_id = r.acquisition_id
                                   AND e.stored_path = r.source_file
         WHERE r.id IN (SELECT DISTINCT record_id FROM hits)",
        &[],
    )? {
        let id = int(&r, 0)?;
        let acquisition_id = int(&r, 1)?;
        let module = text(&r, 2).unwrap_or("").to_owned();
        let index = u64::try_from(int(&r, 3)?).unwrap_or(0);
        let file = match (text(&r, 8), text(&r, 9), text(&r, 10)) {
            (Some(logical), Some(stored), Some(sha256)) => {
                Some(std::sync::Arc::new(EvidenceFile {
                    logical_path: logical.to_owned(),
                    stored_path: stored.to_owned(),
                    sha256: sha256.to_owned(),
                    size: u64::try_from(int(&r, 11)?).unwrap_or(0),
                }))
            }
            _ => None,
        };
        let source = Source {
            file,
            table: text(&r, 4).map(|t| Cow::Owned(t.to_owned())),
            row: text(&r, 7).map(str::to_owned),
        };
        let data: Map = match text(&r, 6).map(serde_json::from_str::<Map>) {
            Some(Ok(m)) => m,
            _ => {
                problems.entry(acquisition_id).or_default().push(format!(
                    "record {index} of {module}: stored data unreadable; cited without it"
                ));
                Map::new()
            }
        };
        records.insert(
            id,
            StoredRecord {
                acquisition_id,
                module,
                index,
                source,
                time: text(&r, 5).and_then(Timestamp::parse),
                data,
                observables: BTreeMap::new(),
            },
        );
    }
    for r in db.query(
        "SELECT ro.record_id, ro.position, v.kind, v.value, ro.field, ro.level
         FROM record_observables ro JOIN observable_values v ON v.id = ro.value_id
         WHERE ro.record_id IN (SELECT DISTINCT record_id FROM hits)",
        &[],
    )? {
        let Some(record) = records.get_mut(&int(&r, 0)?) else {
            continue;
        };
        let kind = parse_kind(text(&r, 2).unwrap_or(""))?;
        let value: String = serde_json::from_str(text(&r, 3).unwrap_or(""))
            .map_err(|e| StoreError::Corrupt(format!("observable value: {e}")))?;
        let level: Level = text(&r, 5)
            .unwrap_or("")
            .parse()
            .map_err(StoreError::Corrupt)?;
        record.observables.insert(
            u64::try_from(int(&r, 1)?).unwrap_or(0),
            Observable {
                kind,
                value,
                field: Cow::Owned(text(&r, 4).unwrap_or("").to_owned()),
                level,
            },
        );
    }

    // Alerts per acquisition, built by the engine's code from (observable, indicator) hits
    // in the matcher's order.
    let mut by_record: BTreeMap<i64, Vec<&JoinHit>> = BTreeMap::new();
    for h in &hits {
        by_record.entry(h.record_id).or_default().push(h);
    }
    let mut found: BTreeMap<i64, Vec<Alert>> = BTreeMap::new();
    for (record_id, record_hits) in by_record {
        let Some(record) = records.get(&record_id) else {
            continue;
        };
        let positions: Vec<u64> = record.observables.keys().copied().collect();
        let observables: Vec<Observable> = record.observables.values().cloned().collect();
        let mut refs: Vec<(usize, IndicatorRef)> = Vec::new();
        for h in record_hits {
            let (Some(slot), Some(id)) = (
                positions.iter().position(|p| *p == h.position),
                set.id(h.indicator),
            ) else {
                continue;
            };
            let Some(observable) = observables.get(slot) else {
                continue;
            };
            if let Some(r) = set.indicator_ref(id, observable, h.rule) {
                refs.push((slot, r));
            }
        }
        let at = RecordRef {
            module: &record.module,
            index: record.index,
            source: &record.source,
            time: record.time,
            data: &record.data,
        };
        found
            .entry(record.acquisition_id)
            .or_default()
            .extend(alerts::indicator_alerts(&at, &observables, refs));
    }

    // Each acquisition in scope: heuristics from its check, the previous run's identities.
    let acquisitions = db.query(
        "SELECT a.id, c.name, a.device, a.path,
                (SELECT MAX(r.id) FROM runs r WHERE r.acquisition_id = a.id) AS previous,
                (SELECT MIN(r.id) FROM runs r WHERE r.acquisition_id = a.id AND r.kind = 'check') AS checked
         FROM acquisitions a JOIN cases c ON c.id = a.case_id
         JOIN sel s ON s.acquisition_id = a.id
         ORDER BY c.name, a.id",
        &[],
    )?;
    let mut heuristics: HashMap<i64, Vec<Alert>> = HashMap::new();
    for r in db.query(
        "SELECT r.acquisition_id, al.alert FROM alerts al
         JOIN runs r ON r.id = al.run_id
         JOIN sel s ON s.acquisition_id = r.acquisition_id
         WHERE r.kind = 'check' AND al.identity IS NULL
         ORDER BY al.id",
        &[],
    )? {
        let alert: Alert = serde_json::from_str(text(&r, 1).unwrap_or(""))
            .map_err(|e| StoreError::Corrupt(format!("stored alert: {e}")))?;
        heuristics.entry(int(&r, 0)?).or_default().push(alert);
    }
    let mut previous: HashMap<i64, BTreeSet<String>> = HashMap::new();
    for r in db.query(
        "SELECT r.acquisition_id, al.identity FROM alerts al
         JOIN runs r ON r.id = al.run_id
         WHERE al.identity IS NOT NULL AND r.id IN (
             SELECT MAX(r2.id) FROM runs r2 JOIN sel s ON s.acquisition_id = r2.acquisition_id
             GROUP BY r2.acquisition_id)",
        &[],
    )? {
        if let Some(identity) = text(&r, 1) {
            previous
                .entry(int(&r, 0)?)
                .or_default()
                .insert(identity.to_owned());
        }
    }

    let files = serde_json::to_string(
        &run.indicator_files
            .iter()
            .map(|(path, sha256, n)| serde_json::json!({"path": path, "sha256": sha256, "indicators": n}))
            .collect::<Vec<_>>(),
    )
    .unwrap_or_default();
    let command_line = serde_json::to_string(&run.command_line).unwrap_or_default();
    let mut out = Vec::with_capacity(acquisitions.len());
    let mut alert_rows: Vec<Result<Row, StoreError>> = Vec::new();
    for a in &acquisitions {
        let acquisition_id = int(a, 0)?;
        let previous_run = a.get(4).and_then(Value::int);
        let mut all: Vec<Alert> = found.remove(&acquisition_id).unwrap_or_default();
        let indicator_alerts = all.len();
        let carried = heuristics.remove(&acquisition_id).unwrap_or_default();
        let severe_heuristics = carried.iter().filter(|h| h.level.is_severe()).count();
        all.extend(carried);
        all.sort_by(|x, y| x.sort_key().cmp(&y.sort_key()));
        let before = previous.remove(&acquisition_id).unwrap_or_default();
        let identities: Vec<Option<String>> = all.iter().map(identity_hash).collect();
        let now_ids: BTreeSet<&String> = identities.iter().flatten().collect();
        let removed = before.iter().filter(|id| !now_ids.contains(id)).count();
        let info = serde_json::json!({
            "kind": "recheck",
            "indicator_alerts": indicator_alerts,
            "removed_alerts": removed,
        });
        let run_id = {
            let rows = db.query(
                "INSERT INTO runs (acquisition_id, kind, previous_run_id, started_at, finished_at,
                                   bridle_version, command_line, indicator_files, results_path, info)
                 VALUES ($1, 'recheck', $2, $3, $4, $5, $6, $7, NULL, $8) RETURNING id",
                &[
                    Value::Int(acquisition_id),
                    Value::opt_int(previous_run),
                    run.started_at.as_str().into(),
                    now.into(),
                    run.bridle_version.as_str().into(),
                    command_line.as_str().into(),
                    files.as_str().into(),
                    info.to_string().into(),
                ],
            )?;
            rows.first()
                .map(|r| int(r, 0))
                .transpose()?
                .ok_or_else(|| StoreError::Corrupt("an insert returned no id".into()))?
        };
        let mut new_alerts = Vec::new();
        for (alert, identity) in all.iter().zip(&identities) {
            let is_new = identity.as_ref().is_some_and(|id| !before.contains(id));
            if is_new {
                new_alerts.push(alert.clone());
            }
            alert_rows.push(Ok(vec![
                Value::Int(run_id),
                Value::opt_text(identity.as_deref()),
                alert.level.as_str().into(),
                alert.module.as_str().into(),
                Value::opt_int(
                    alert
                        .provenance
                        .record_index
                        .and_then(|i| i64::try_from(i).ok()),
                ),
                alert.message.as_str().into(),
                Value::Bool(is_new),
                serde_json::to_string(alert).unwrap_or_default().into(),
            ]));
        }
        out.push(DeviceRecheck {
            case: text(a, 1).unwrap_or("").to_owned(),
            acquisition_id,
            device: text(a, 2).unwrap_or("{}").to_owned(),
            path: text(a, 3).unwrap_or("").to_owned(),
            run_id,
            indicator_alerts,
            new_alerts,
            removed,
            severe_heuristics,
            problems: problems.remove(&acquisition_id).unwrap_or_default(),
        });
    }
    db.bulk_insert(
        "alerts",
        &[
            "run_id",
            "identity",
            "level",
            "module",
            "record_index",
            "message",
            "is_new",
            "alert",
        ],
        alert_rows,
    )?;
    Ok(out)
}
