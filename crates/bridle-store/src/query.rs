//! Reading cases back: `bridle case list` and `bridle case show`.

use crate::StoreError;
use crate::db::{Db, Row, Value};

/// A case in a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseSummary {
    /// Name.
    pub name: String,
    /// When it was created.
    pub created_at: String,
    /// Acquisitions recorded.
    pub acquisitions: i64,
    /// Runs (checks and re-checks).
    pub runs: i64,
    /// When the latest run finished.
    pub last_run: Option<String>,
    /// Acquisitions whose latest run has indicator alerts.
    pub with_indicator_alerts: i64,
}

/// One run of an acquisition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRow {
    /// Id.
    pub id: i64,
    /// `check` or `recheck`.
    pub kind: String,
    /// Started (RFC 3339).
    pub started_at: String,
    /// Indicator files (JSON list).
    pub indicator_files: String,
    /// The results folder (checks).
    pub results_path: Option<String>,
    /// Alerts.
    pub alerts: i64,
    /// Indicator alerts.
    pub indicator_alerts: i64,
    /// Indicator alerts new in this run.
    pub new_alerts: i64,
}

/// An alert of a run, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRow {
    /// Level.
    pub level: String,
    /// Module.
    pub module: String,
    /// Message.
    pub message: String,
    /// Whether it is new in its run.
    pub is_new: bool,
    /// Whether it is an indicator match.
    pub indicator: bool,
}

/// An acquisition of a case with its runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcquisitionDetail {
    /// Id.
    pub id: i64,
    /// Kind (`ios_backup`...).
    pub kind: String,
    /// Path as checked.
    pub path: String,
    /// Device facts (JSON object).
    pub device: String,
    /// Recorded.
    pub created_at: String,
    /// Evidence files recorded.
    pub evidence_files: i64,
    /// Records with observables stored.
    pub records: i64,
    /// Runs, oldest first.
    pub runs: Vec<RunRow>,
    /// The latest run's alerts.
    pub latest_alerts: Vec<AlertRow>,
}

/// A case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseDetail {
    /// Name.
    pub name: String,
    /// Created.
    pub created_at: String,
    /// Acquisitions, oldest first.
    pub acquisitions: Vec<AcquisitionDetail>,
}

fn int(row: &Row, i: usize) -> i64 {
    row.get(i).and_then(Value::int).unwrap_or(0)
}

fn text(row: &Row, i: usize) -> String {
    row.get(i).and_then(Value::text).unwrap_or("").to_owned()
}

fn opt_text(row: &Row, i: usize) -> Option<String> {
    row.get(i).and_then(Value::text).map(str::to_owned)
}

pub(crate) fn cases(db: &mut Db) -> Result<Vec<CaseSummary>, StoreError> {
    let rows = db.query(
        "SELECT c.name, c.created_at,
                (SELECT COUNT(*) FROM acquisitions a WHERE a.case_id = c.id),
                (SELECT COUNT(*) FROM runs r JOIN acquisitions a ON a.id = r.acquisition_id
                  WHERE a.case_id = c.id),
                (SELECT MAX(r.finished_at) FROM runs r JOIN acquisitions a ON a.id = r.acquisition_id
                  WHERE a.case_id = c.id),
                (SELECT COUNT(DISTINCT a.id) FROM acquisitions a
                   JOIN alerts al ON al.run_id = (SELECT MAX(r.id) FROM runs r WHERE r.acquisition_id = a.id)
                  WHERE a.case_id = c.id AND al.identity IS NOT NULL)
         FROM cases c ORDER BY c.name",
        &[],
    )?;
    Ok(rows
        .iter()
        .map(|r| CaseSummary {
            name: text(r, 0),
            created_at: text(r, 1),
            acquisitions: int(r, 2),
            runs: int(r, 3),
            last_run: opt_text(r, 4),
            with_indicator_alerts: int(r, 5),
        })
        .collect())
}

pub(crate) fn case(db: &mut Db, name: &str) -> Result<CaseDetail, StoreError> {
    let found = db.query(
        "SELECT id, name, created_at FROM cases WHERE name = $1",
        &[name.into()],
    )?;
    let Some(case) = found.first() else {
        return Err(StoreError::NoCase(name.to_owned()));
    };
    let case_id = int(case, 0);
    let mut detail = CaseDetail {
        name: text(case, 1),
        created_at: text(case, 2),
        acquisitions: Vec::new(),
    };
    let acquisitions = db.query(
        "SELECT a.id, a.kind, a.path, a.device, a.created_at,
                (SELECT COUNT(*) FROM evidence_files e WHERE e.acquisition_id = a.id),
                (SELECT COUNT(*) FROM records r WHERE r.acquisition_id = a.id)
         FROM acquisitions a WHERE a.case_id = $1 ORDER BY a.id",
        &[Value::Int(case_id)],
    )?;
    for a in &acquisitions {
        let id = int(a, 0);
        let runs = db.query(
            "SELECT r.id, r.kind, r.started_at, r.indicator_files, r.results_path,
                    (SELECT COUNT(*) FROM alerts al WHERE al.run_id = r.id),
                    (SELECT COUNT(*) FROM alerts al WHERE al.run_id = r.id AND al.identity IS NOT NULL),
                    (SELECT COUNT(*) FROM alerts al WHERE al.run_id = r.id AND al.identity IS NOT NULL
                       AND al.is_new)
             FROM runs r WHERE r.acquisition_id = $1 ORDER BY r.id",
            &[Value::Int(id)],
        )?;
        let runs: Vec<RunRow> = runs
            .iter()
            .map(|r| RunRow {
                id: int(r, 0),
                kind: text(r, 1),
                started_at: text(r, 2),
                indicator_files: text(r, 3),
                results_path: opt_text(r, 4),
                alerts: int(r, 5),
                indicator_alerts: int(r, 6),
                new_alerts: int(r, 7),
            })
            .collect();
        let latest_alerts = match runs.last() {
            None => Vec::new(),
            Some(last) => db
                .query(
                    "SELECT level, module, message, is_new, identity IS NOT NULL
                     FROM alerts WHERE run_id = $1 ORDER BY id",
                    &[Value::Int(last.id)],
                )?
                .iter()
                .map(|r| AlertRow {
                    level: text(r, 0),
                    module: text(r, 1),
                    message: text(r, 2),
                    is_new: r.get(3).and_then(Value::boolean).unwrap_or(false),
                    indicator: r.get(4).and_then(Value::boolean).unwrap_or(false),
                })
                .collect(),
        };
        detail.acquisitions.push(AcquisitionDetail {
            id,
            kind: text(a, 1),
            path: text(a, 2),
            device: text(a, 3),
            created_at: text(a, 4),
            evidence_files: int(a, 5),
            records: int(a, 6),
            runs,
            latest_alerts,
        });
    }
    Ok(detail)
}
