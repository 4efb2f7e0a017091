//! Helpers shared by the intrusion-log modules.

use super::LogsOrigin;
use crate::intrusion::{IntrusionLogs, WalkStats};
use bridle_model::{ModuleError, ModuleOutcome, Problem, ProblemKind, Timestamp};
use serde_json::Value;
use std::sync::Arc;

/// The logs, or the "not found" outcome.
pub(crate) fn logs_or_missing(
    origin: &LogsOrigin,
) -> Result<Result<Arc<IntrusionLogs>, ModuleOutcome>, ModuleError> {
    Ok(match origin.logs()? {
        Some(l) => Ok(l),
        None => Err(ModuleOutcome::NotFound(
            "no intrusion_logs/ in this AndroidQF acquisition".into(),
        )),
    })
}

/// An event time in units of `per_second` per second (1000 for milliseconds, 10^9 for
/// nanoseconds); 0 or absent is "no time", as in MVT.
pub(crate) fn event_time(v: Option<&Value>, per_second: i64) -> Option<Timestamp> {
    let n = match v? {
        Value::Number(n) => n.clone(),
        _ => return None,
    };
    if let Some(i) = n.as_i64() {
        if i == 0 {
            return None;
        }
        let micros = if per_second >= 1_000_000 {
            i.div_euclid(per_second / 1_000_000)
        } else {
            i.checked_mul(1_000_000 / per_second)?
        };
        return Timestamp::from_unix_micros(micros);
    }
    let f = n.as_f64()?;
    if f == 0.0 {
        return None;
    }
    Timestamp::from_unix_seconds_f64(f / per_second as f64)
}

/// Reports what a walk over the logs noticed (unknown event types, once per run: by the
/// first module, `unknown`).
pub(crate) fn report_walk(stats: &WalkStats, unknown: bool, problems: &mut Vec<Problem>) {
    if unknown && !stats.unknown_types.is_empty() {
        let list: Vec<String> = stats
            .unknown_types
            .iter()
            .map(|(t, n)| format!("{t} ({n})"))
            .collect();
        problems.push(Problem {
            kind: ProblemKind::Skipped,
            module: String::new(),
            file: None,
            message: format!(
                "unknown intrusion logging event types, not analysed: {}",
                list.join(", ")
            ),
        });
    }
}
