//! The summary printed at the end of a check: what was checked, what was not and why, what
//! was found. Every device string is escaped for the terminal.

use bridle_engine::Summary;
use bridle_model::Level;
use bridle_model::sanitize::for_terminal;
use std::fmt::Write;

/// Renders the summary.
pub fn render(s: &Summary, indicators: usize, output: Option<&std::path::Path>) -> String {
    let mut o = String::new();
    let done = s.modules.iter().filter(|m| m.status == "done").count();
    let records: u64 = s.modules.iter().map(|m| m.records).sum();
    let _ = writeln!(
        o,
        "Checked {done} of {} modules: {records} records, {} timeline events, against {indicators} indicators.",
        s.modules.len(),
        s.timeline_rows
    );
    let not_found: Vec<_> = s
        .modules
        .iter()
        .filter(|m| m.status == "not_found")
        .collect();
    if !not_found.is_empty() {
        let _ = writeln!(o, "Not in this acquisition ({}):", not_found.len());
        for m in not_found {
            let _ = writeln!(
                o,
                "  {:<34} {}",
                m.module,
                for_terminal(m.detail.as_deref().unwrap_or(""))
            );
        }
    }
    if !s.problems.is_empty() {
        let _ = writeln!(o, "Could not be checked ({}):", s.problems.len());
        for p in &s.problems {
            let file = p
                .file
                .as_deref()
                .map(|f| format!("{f}: "))
                .unwrap_or_default();
            let _ = writeln!(
                o,
                "  {:<34} {}{}",
                p.module,
                for_terminal(&file),
                for_terminal(&p.message)
            );
        }
    }
    let by_level: Vec<String> = s
        .alerts_by_level()
        .into_iter()
        .rev()
        .filter(|(_, n)| *n > 0)
        .map(|(l, n)| format!("{n} {l}"))
        .collect();
    if by_level.is_empty() {
        let _ = writeln!(o, "Alerts: none.");
    } else {
        let _ = writeln!(o, "Alerts: {}.", by_level.join(", "));
        let mut severe: Vec<_> = s
            .alerts
            .iter()
            .filter(|a| a.level >= Level::Medium)
            .collect();
        severe.sort_by_key(|a| std::cmp::Reverse(a.level));
        for a in severe.iter().take(20) {
            let _ = writeln!(
                o,
                "  {:<13} {:<26} {}",
                a.level.as_str(),
                a.module,
                for_terminal(&a.message)
            );
        }
        if severe.len() > 20 {
            let _ = writeln!(o, "  ... and {} more (see alerts.json)", severe.len() - 20);
        }
    }
    if let Some(dir) = output {
        let _ = writeln!(o, "Results: {}", dir.display());
    }
    o
}

/// The one-line verdict.
pub fn verdict(s: &Summary) -> &'static str {
    if s.has_findings() {
        "FINDINGS: indicators matched or severe alerts were raised. Only expert review can confirm a compromise."
    } else if s.is_incomplete() {
        "INCOMPLETE: nothing found, but part of the acquisition could not be checked (see above)."
    } else {
        "NOTHING FOUND. The absence of findings does not prove the device is clean."
    }
}
