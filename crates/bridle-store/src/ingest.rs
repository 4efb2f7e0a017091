//! Recording a check's results folder in a case.
//!
//! Everything is read from the folder `bridle check` wrote (the same files `bridle recheck`
//! reads), streamed, and written in one transaction: the acquisition and its device, the
//! evidence files with their hashes, the run, the records that mention observables, each new
//! distinct observable value with its probe keys, and the run's alerts.

use crate::StoreError;
use crate::db::{Db, Row, Value};
use bridle_engine::alerts::AlertIdentity;
use bridle_engine::results::{self, ObservableReader, RawLine, trim_record};
use bridle_model::{Alert, EvidenceFile, ObservableKind};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

/// Longest record line read from a `<module>.json`.
const MAX_RECORD_LINE: usize = 64 * 1024 * 1024;

/// What recording a results folder stored.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The case.
    pub case: String,
    /// The new acquisition's id.
    pub acquisition_id: i64,
    /// The new run's id.
    pub run_id: i64,
    /// Records stored (those with observables).
    pub records: u64,
    /// Observables stored.
    pub observables: u64,
    /// Observable values the store had never seen (their probe keys were computed).
    pub new_values: u64,
    /// Alerts stored.
    pub alerts: u64,
    /// What could not be stored, and why (the rest was).
    pub problems: Vec<String>,
}

/// A stable short hash, hex (128 bits), of a namespace and a text: the unique key of values
/// and probe keys (the texts themselves can be longer than an index entry allows).
pub(crate) fn hash_key(space: &str, text: &str) -> String {
    let mut h = Sha256::new();
    h.update(space.as_bytes());
    h.update([0u8]);
    h.update(text.as_bytes());
    let digest = h.finalize();
    hex::encode(digest.get(..16).unwrap_or(&digest[..]))
}

/// The identity hash of an indicator alert ([`AlertIdentity`]), `None` for a heuristic.
pub(crate) fn identity_hash(alert: &Alert) -> Option<String> {
    let id = AlertIdentity::of(alert)?;
    let json = serde_json::to_string(&id).ok()?;
    Some(hex::encode(Sha256::digest(json.as_bytes())))
}

/// Device facts from a results folder: `backup_info.json` (iOS) or `getprop.json`
/// (Android), as a JSON object, and the best identifier found.
fn device(results: &Path) -> (serde_json::Map<String, serde_json::Value>, Option<String>) {
    let mut device = serde_json::Map::new();
    let mut id = None;
    if let Ok((serde_json::Value::Object(info), _)) =
        results::read_json::<serde_json::Value>(&results.join("backup_info.json"))
    {
        for key in [
            "Device Name",
            "Product Type",
            "Product Name",
            "Product Version",
            "Build Version",
            "Serial Number",
            "Unique Identifier",
            "IMEI",
            "Phone Number",
            "Last Backup Date",
        ] {
            if let Some(v) = info.get(key).filter(|v| !v.is_null()) {
                device.insert(key.to_owned(), v.clone());
            }
        }
        id = ["Unique Identifier", "Serial Number", "IMEI"]
            .iter()
            .find_map(|k| info.get(*k).and_then(serde_json::Value::as_str))
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
    }
    if let Ok((serde_json::Value::Array(props), _)) =
        results::read_json::<serde_json::Value>(&results.join("getprop.json"))
    {
        for p in &props {
            let name = p.get("name").and_then(serde_json::Value::as_str);
            let value = p.get("value");
            if let (Some(name), Some(value)) = (name, value)
                && matches!(
                    name,
                    "ro.product.manufacturer"
                        | "ro.product.model"
                        | "ro.build.version.release"
                        | "ro.build.fingerprint"
                        | "ro.serialno"
                )
            {
                device.insert(name.to_owned(), value.clone());
                if name == "ro.serialno" && id.is_none() {
                    id = value.as_str().map(str::to_owned);
                }
            }
        }
    }
    (device, id)
}

/// Reads the records of one `<module>.json` in order, one line per record as bridle writes
/// them, without parsing the records it skips.
struct ModuleCursor {
    module: String,
    path: PathBuf,
    reader: Option<BufReader<File>>,
    /// The whole record of an object-shaped file.
    object: Option<String>,
    next: u64,
    buf: Vec<u8>,
    broken: bool,
}

impl ModuleCursor {
    fn open(results: &Path, module: &str, problems: &mut Vec<String>) -> ModuleCursor {
        let path = results.join(format!("{module}.json"));
        let mut cursor = ModuleCursor {
            module: module.to_owned(),
            path: path.clone(),
            reader: None,
            object: None,
            next: 0,
            buf: Vec::new(),
            broken: false,
        };
        match File::open(&path) {
            Err(e) => {
                problems.push(format!(
                    "{}: {e}; its records are stored without their data",
                    path.display()
                ));
                cursor.broken = true;
            }
            Ok(file) => {
                let mut reader = BufReader::new(file);
                let mut first = Vec::new();
                let _ = reader.read_until(b'\n', &mut first);
                match first.iter().find(|b| !b.is_ascii_whitespace()) {
                    Some(b'[') => cursor.reader = Some(reader),
                    Some(b'{') => match results::read_json::<serde_json::Value>(&path) {
                        Ok((v, _)) => cursor.object = serde_json::to_string(&v).ok(),
                        Err(e) => {
                            problems.push(format!("{e}; its record is stored without its data"));
                            cursor.broken = true;
                        }
                    },
                    _ => {
                        problems.push(format!(
                            "{}: not a JSON list of records; its records are stored without \
                             their data",
                            path.display()
                        ));
                        cursor.broken = true;
                    }
                }
            }
        }
        cursor
    }

    /// The record at `index` (indexes must come in increasing order), as JSON text.
    fn get(&mut self, index: u64, problems: &mut Vec<String>) -> Option<String> {
        if self.broken {
            return None;
        }
        if let Some(object) = &self.object {
            return (index == 0).then(|| object.clone());
        }
        if index < self.next {
            problems.push(format!(
                "{}: record {index} cited out of order; stored without its data",
                self.path.display()
            ));
            return None;
        }
        let reader = self.reader.as_mut()?;
        loop {
            self.buf.clear();
            let n = std::io::Read::take(&mut *reader, MAX_RECORD_LINE as u64)
                .read_until(b'\n', &mut self.buf)
                .unwrap_or(0);
            if n == 0 || self.buf.len() >= MAX_RECORD_LINE {
                problems.push(format!(
                    "{}: ends before record {index} (truncated?); records from there are stored \
                     without their data",
                    self.path.display()
                ));
                self.broken = true;
                return None;
            }
            if self.buf.last() != Some(&b'\n') {
                problems.push(format!(
                    "{}: ends in the middle of record {} (truncated?); records from there are \
                     stored without their data",
                    self.path.display(),
                    self.next
                ));
                self.broken = true;
                return None;
            }
            let line = trim_record(&self.buf);
            if line == b"]" {
                problems.push(format!(
                    "{}: holds {} records, record {index} is cited; stored without its data",
                    self.path.display(),
                    self.next
                ));
                self.broken = true;
                return None;
            }
            if line.is_empty() {
                continue;
            }
            let this = self.next;
            self.next += 1;
            if this == index {
                return match serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(
                    line,
                ) {
                    Ok(_) => Some(String::from_utf8_lossy(line).into_owned()),
                    Err(e) => {
                        problems.push(format!(
                            "{}: record {index} is not one JSON object per line as bridle writes \
                             ({e}); records from there are stored without their data",
                            self.path.display()
                        ));
                        self.broken = true;
                        None
                    }
                };
            }
        }
    }
}

fn info_str<'a>(info: &'a serde_json::Value, key: &str) -> &'a str {
    info.get(key)
        .and_then(serde_json::Value::as_str)
        .unwrap_or("")
}

fn first_int(rows: &[Row]) -> Result<i64, StoreError> {
    rows.first()
        .and_then(|r| r.first())
        .and_then(Value::int)
        .ok_or_else(|| StoreError::Corrupt("an insert returned no id".into()))
}

/// Records a results folder in a case. See the module documentation.
pub(crate) fn record(
    db: &mut Db,
    case: &str,
    results: &Path,
    now: &str,
) -> Result<Recorded, StoreError> {
    let not_results = |why: String| StoreError::NotResults {
        path: results.to_owned(),
        why,
    };
    let (info, _) = results::read_json::<serde_json::Value>(&results.join("info.json"))?;
    if info_str(&info, "kind") == "recheck" {
        return Err(not_results(
            "a re-check folder; record the results folder of the check itself".into(),
        ));
    }
    let (alerts, _) = results::read_json::<Vec<Alert>>(&results.join("alerts.json"))?;
    let observables_path = results.join("observables.jsonl");
    if !observables_path.is_file() {
        return Err(not_results(
            "observables.jsonl is missing: not the output folder of `bridle check`".into(),
        ));
    }
    let (device, device_id) = device(results);
    let device = serde_json::to_string(&device).unwrap_or_else(|_| "{}".into());

    db.begin_write()?;
    let result = write(
        db,
        case,
        results,
        now,
        &info,
        &alerts,
        &device,
        device_id.as_deref(),
    );
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

#[allow(clippy::too_many_arguments)]
fn write(
    db: &mut Db,
    case: &str,
    results: &Path,
    now: &str,
    info: &serde_json::Value,
    alerts: &[Alert],
    device: &str,
    device_id: Option<&str>,
) -> Result<Recorded, StoreError> {
    let mut problems = Vec::new();
    db.execute(
        "INSERT INTO cases (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        &[case.into(), now.into()],
    )?;
    let case_id = first_int(&db.query("SELECT id FROM cases WHERE name = $1", &[case.into()])?)?;
    let acquisition_id = first_int(&db.query(
        "INSERT INTO acquisitions (case_id, kind, path, device_id, device, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        &[
            Value::Int(case_id),
            info_str(info, "acquisition_kind").into(),
            info_str(info, "acquisition_path").into(),
            Value::opt_text(device_id),
            device.into(),
            now.into(),
        ],
    )?)?;

    let json = |key: &str| {
        info.get(key)
            .map(|v| serde_json::to_string(v).unwrap_or_default())
            .unwrap_or_else(|| "null".into())
    };
    let run_id = first_int(
        &db.query(
            "INSERT INTO runs (acquisition_id, kind, previous_run_id, started_at, finished_at,
                           bridle_version, command_line, indicator_files, results_path, info)
         VALUES ($1, 'check', NULL, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            &[
                Value::Int(acquisition_id),
                info_str(info, "started_at").into(),
                info_str(info, "finished_at").into(),
                info_str(info, "bridle_version").into(),
                json("command_line").into(),
                json("indicator_files").into(),
                std::path::absolute(results)
                    .unwrap_or_else(|_| results.to_owned())
                    .display()
                    .to_string()
                    .into(),
                serde_json::to_string(info).unwrap_or_default().into(),
            ],
        )?,
    )?;

    // Evidence files named by info.json, then those only the records name (results edited
    // by hand), once per stored path.
    let mut evidence: Vec<EvidenceFile> = info
        .get("evidence_files")
        .and_then(|v| serde_json::from_value::<Vec<EvidenceFile>>(v.clone()).ok())
        .unwrap_or_default();
    let mut evidence_paths: HashSet<String> =
        evidence.iter().map(|f| f.stored_path.clone()).collect();

    // Pass 1: records (those with observables), with their data.
    let mut reader = ObservableReader::open(&results.join("observables.jsonl"))?;
    let mut cursor: Option<ModuleCursor> = None;
    let mut stored: HashSet<(String, u64)> = HashSet::new();
    let mut record_rows: Vec<Result<Row, StoreError>> = Vec::new();
    let mut records = 0u64;
    let flush_records = |db: &mut Db, rows: &mut Vec<Result<Row, StoreError>>| {
        let batch = std::mem::take(rows);
        db.bulk_insert(
            "records",
            &[
                "acquisition_id",
                "module",
                "record_index",
                "source_file",
                "source_table",
                "source_row",
                "record_time",
                "data",
            ],
            batch,
        )
    };
    while let Some((n, raw)) = reader.next_line()? {
        let line = match raw {
            RawLine::Invalid(why) => {
                problems.push(format!("observables.jsonl line {n}: {why}; not stored"));
                continue;
            }
            RawLine::Line(bytes) => match results::parse_line(bytes) {
                Ok(l) => l,
                Err(why) => {
                    problems.push(format!("observables.jsonl line {n}: {why}; not stored"));
                    continue;
                }
            },
        };
        if !stored.insert((line.module.clone(), line.record)) {
            problems.push(format!(
                "observables.jsonl line {n}: record {} of {} repeated; stored once",
                line.record, line.module
            ));
            continue;
        }
        if cursor.as_ref().is_none_or(|c| c.module != line.module) {
            cursor = Some(ModuleCursor::open(results, &line.module, &mut problems));
        }
        let data = cursor
            .as_mut()
            .and_then(|c| c.get(line.record, &mut problems))
            .unwrap_or_else(|| "{}".to_owned());
        if let Some(file) = &line.source.file
            && evidence_paths.insert(file.stored_path.clone())
        {
            evidence.push((**file).clone());
        }
        record_rows.push(Ok(vec![
            Value::Int(acquisition_id),
            line.module.as_str().into(),
            Value::Int(i64::try_from(line.record).unwrap_or(i64::MAX)),
            Value::opt_text(line.source.file.as_ref().map(|f| f.stored_path.as_str())),
            Value::opt_text(line.source.table.as_deref()),
            Value::opt_text(line.source.row.as_deref()),
            Value::opt_text(line.time.map(|t| t.to_mvt()).as_deref()),
            data.into(),
        ]));
        records += 1;
        if record_rows.len() >= 10_000 {
            flush_records(db, &mut record_rows)?;
            let evidence_rows: Vec<Result<Row, StoreError>> = evidence
                .iter()
                .map(|f| {
                    Ok(vec![
                        Value::Int(acquisition_id),
                        f.logical_path.as_str().into(),
                        f.stored_path.as_str().into(),
                        f.sha256.as_str().into(),
                        Value::Int(i64::try_from(f.size).unwrap_or(i64::MAX)),
                    ])
                })
                .collect();
            db.bulk_insert(
                "evidence_files",
                &[
                    "acquisition_id",
                    "logical_path",
                    "stored_path",
                    "sha256",
                    "size",
                ],
                evidence_rows,
            )?;
        }
    }
    flush_records(db, &mut record_rows)?;
    let evidence_rows: Vec<Result<Row, StoreError>> = evidence
        .iter()
        .map(|f| {
            Ok(vec![
                Value::Int(acquisition_id),
                f.logical_path.as_str().into(),
                f.stored_path.as_str().into(),
                f.sha256.as_str().into(),
                Value::Int(i64::try_from(f.size).unwrap_or(i64::MAX)),
            ])
        })
        .collect();
    db.bulk_insert(
        "evidence_files",
        &[
            "acquisition_id",
            "logical_path",
            "stored_path",
            "sha256",
            "size",
        ],
        evidence_rows,
    )?;

    // Pass 2: observables into a staging table, then set-based inserts.
    db.temp_table(
        "stage_obs",
        "module TEXT, record_index BIGINT, position BIGINT, kind TEXT, value TEXT, \
         value_hash TEXT, field TEXT, level TEXT",
    )?;
    let mut reader = ObservableReader::open(&results.join("observables.jsonl"))?;
    let mut observables = 0u64;
    let mut staged: HashSet<(String, u64)> = HashSet::new();
    let mut rows: Vec<Result<Row, StoreError>> = Vec::new();
    let columns = [
        "module",
        "record_index",
        "position",
        "kind",
        "value",
        "value_hash",
        "field",
        "level",
    ];
    while let Some((_, raw)) = reader.next_line()? {
        let RawLine::Line(bytes) = raw else { continue };
        let Ok(line) = results::parse_line(bytes) else {
            continue;
        };
        if !staged.insert((line.module.clone(), line.record)) {
            continue;
        }
        for (position, o) in line.observables.iter().enumerate() {
            let value = serde_json::to_string(&o.value).unwrap_or_default();
            rows.push(Ok(vec![
                line.module.as_str().into(),
                Value::Int(i64::try_from(line.record).unwrap_or(i64::MAX)),
                Value::Int(position as i64),
                o.kind.as_str().into(),
                value.into(),
                hash_key(o.kind.as_str(), &o.value).into(),
                o.field.as_ref().into(),
                o.level.as_str().into(),
            ]));
            observables += 1;
        }
        if rows.len() >= 50_000 {
            db.bulk_insert("stage_obs", &columns, std::mem::take(&mut rows))?;
        }
    }
    db.bulk_insert("stage_obs", &columns, rows)?;

    let new_values = store_values(db)?;

    db.execute(
        "INSERT INTO record_observables (record_id, position, value_id, field, level)
         SELECT r.id, s.position, v.id, s.field, s.level
         FROM stage_obs s
         JOIN records r ON r.acquisition_id = $1 AND r.module = s.module
                       AND r.record_index = s.record_index
         JOIN observable_values v ON v.value_hash = s.value_hash",
        &[Value::Int(acquisition_id)],
    )?;

    // The run's alerts.
    let alert_rows: Vec<Result<Row, StoreError>> = alerts
        .iter()
        .map(|a| {
            let identity = identity_hash(a);
            Ok(vec![
                Value::Int(run_id),
                Value::opt_text(identity.as_deref()),
                a.level.as_str().into(),
                a.module.as_str().into(),
                Value::opt_int(
                    a.provenance
                        .record_index
                        .and_then(|i| i64::try_from(i).ok()),
                ),
                a.message.as_str().into(),
                Value::Bool(identity.is_some()),
                serde_json::to_string(a).unwrap_or_default().into(),
            ])
        })
        .collect();
    let stored_alerts = db.bulk_insert(
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
    Ok(Recorded {
        case: case.to_owned(),
        acquisition_id,
        run_id,
        records,
        observables,
        new_values,
        alerts: stored_alerts,
        problems,
    })
}

/// Inserts the staged observable values the store does not have yet, with their probe keys.
/// Returns how many were new.
fn store_values(db: &mut Db) -> Result<u64, StoreError> {
    let fresh = db.query(
        "SELECT DISTINCT s.kind, s.value, s.value_hash FROM stage_obs s
         WHERE NOT EXISTS (SELECT 1 FROM observable_values v WHERE v.value_hash = s.value_hash)",
        &[],
    )?;
    db.temp_table(
        "stage_keys",
        "value_hash TEXT, space TEXT, key TEXT, key_hash TEXT, rule BIGINT",
    )?;
    let mut key_rows: Vec<Result<Row, StoreError>> = Vec::new();
    for row in &fresh {
        let (Some(kind), Some(value), Some(hash)) = (
            row.first().and_then(Value::text),
            row.get(1).and_then(Value::text),
            row.get(2).and_then(Value::text),
        ) else {
            continue;
        };
        let Ok(kind_parsed) =
            serde_json::from_value::<ObservableKind>(serde_json::Value::String(kind.to_owned()))
        else {
            continue;
        };
        let Ok(value) = serde_json::from_str::<String>(value) else {
            continue;
        };
        key_rows.extend(probe_rows(hash, kind_parsed, &value).into_iter().map(Ok));
    }
    db.bulk_insert(
        "stage_keys",
        &["value_hash", "space", "key", "key_hash", "rule"],
        key_rows,
    )?;
    db.batch(
        "INSERT INTO observable_values (kind, value, value_hash)
           SELECT kind, MIN(value), value_hash FROM stage_obs
           WHERE true GROUP BY value_hash, kind ORDER BY value_hash
           ON CONFLICT (value_hash) DO NOTHING;
         INSERT INTO probe_keys (space, key, key_hash)
           SELECT MIN(space), MIN(key), key_hash FROM stage_keys
           WHERE true GROUP BY key_hash ORDER BY key_hash
           ON CONFLICT (key_hash) DO NOTHING;
         INSERT INTO value_probes (value_id, key_id, rule)
           SELECT DISTINCT v.id, k.id, s.rule FROM stage_keys s
           JOIN observable_values v ON v.value_hash = s.value_hash
           JOIN probe_keys k ON k.key_hash = s.key_hash
           WHERE true
           ON CONFLICT DO NOTHING;",
    )?;
    Ok(fresh.len() as u64)
}

/// The probe-key rows of one observable value.
pub(crate) fn probe_rows(value_hash: &str, kind: ObservableKind, value: &str) -> Vec<Row> {
    bridle_indicators::probe_keys(kind, value)
        .into_iter()
        .map(|p| {
            vec![
                value_hash.into(),
                p.space.as_str().into(),
                p.key.as_str().into(),
                hash_key(p.space.as_str(), &p.key).into(),
                Value::Int(i64::from(p.rule.rank())),
            ]
        })
        .collect()
}
