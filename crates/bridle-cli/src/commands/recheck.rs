//! `bridle recheck`: re-match the observables saved by an earlier check against the current
//! indicators, without the evidence.

use crate::args::RecheckArgs;
use crate::{ExitCode, indicators, seal};
use anyhow::Result;
use bridle_engine::Config;
use bridle_engine::recheck::{RecheckConfig, RecheckInfo, RecheckSummary};
use bridle_model::Level;
use bridle_model::sanitize::for_terminal;
use std::fmt::Write;

pub fn run(args: &RecheckArgs) -> Result<ExitCode> {
    // Load the signing key before any work, so a wrong key costs nothing.
    if let Some(key) = &args.sign.sign {
        bridle_report::sign::load_secret(key)?;
    }
    let clock = std::time::Instant::now();
    let loaded = indicators::load(&args.iocs)?;
    tracing::debug!(elapsed = ?clock.elapsed(), "indicators loaded");
    if !args.quiet {
        for p in &loaded.problems {
            eprintln!("warning: indicator not used: {p}");
        }
    }
    let info = RecheckInfo {
        bridle_version: env!("CARGO_PKG_VERSION").to_owned(),
        command_line: super::command_line(),
        indicator_files: loaded.files(),
        indicator_problems: loaded.problem_texts(),
        started_at: super::now(),
    };
    let config = RecheckConfig {
        results: args.results.clone(),
        output: args.output.clone(),
        jobs: args.jobs.unwrap_or_else(|| Config::default().jobs).max(1),
    };
    let matcher = indicators::EngineMatcher(&loaded.matcher);
    let summary = bridle_engine::recheck::recheck(&config, &matcher, &info)?;
    let sealed = seal::seal(&summary.output, args.sign.sign.as_deref())?;
    if !args.quiet {
        eprint!("{}", render(&summary, loaded.set().len()));
        if let Some(fp) = &sealed.fingerprint {
            eprintln!("Signed with key {fp}.");
        }
    }
    eprintln!("{}", verdict(&summary));
    Ok(if summary.has_findings() {
        ExitCode::Findings
    } else if summary.is_incomplete() {
        ExitCode::CouldNotCheck
    } else {
        ExitCode::Clean
    })
}

fn render(s: &RecheckSummary, indicators: usize) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "Re-checked {} records ({} observables) against {indicators} indicators, without the evidence.",
        s.records, s.observables
    );
    let _ = writeln!(o, "Compared with: {}", s.compared_with.display());
    if s.original_problems > 0 {
        let _ = writeln!(
            o,
            "The original check could not read part of the acquisition ({} problem(s), listed in \
             its info.json and report): a re-check cannot cover those parts either.",
            s.original_problems
        );
    }
    if !s.problems.is_empty() {
        let _ = writeln!(o, "Could not be re-checked ({}):", s.problems.len());
        for p in &s.problems {
            let file = p
                .file
                .as_deref()
                .map(|f| format!("{f}: "))
                .unwrap_or_default();
            let _ = writeln!(
                o,
                "  {:<20} {}{}",
                p.module,
                for_terminal(&file),
                for_terminal(&p.message)
            );
        }
    }
    let indicator_alerts = s
        .alerts
        .iter()
        .filter(|a| a.matched_indicator.is_some())
        .count();
    let new: Vec<_> = s.new_alerts().collect();
    let _ = writeln!(
        o,
        "Indicator alerts: {indicator_alerts}, of which {} new since the previous run; {} no longer match.",
        new.len(),
        s.removed.len()
    );
    for a in new.iter().take(20) {
        let _ = writeln!(
            o,
            "  NEW {:<13} {:<22} {}",
            a.level.as_str(),
            a.module,
            for_terminal(&a.message)
        );
    }
    if new.len() > 20 {
        let _ = writeln!(o, "  ... and {} more (see alerts.json)", new.len() - 20);
    }
    let heuristics = s
        .alerts
        .iter()
        .filter(|a| a.matched_indicator.is_none() && a.level >= Level::Medium)
        .count();
    if heuristics > 0 {
        let _ = writeln!(
            o,
            "Heuristic alerts carried over from the check (MEDIUM or above): {heuristics}."
        );
    }
    let _ = writeln!(o, "Results: {}", s.output.display());
    o
}

fn verdict(s: &RecheckSummary) -> &'static str {
    if s.new_alerts().next().is_some() {
        "FINDINGS: new indicators match these results. Only expert review can confirm a compromise."
    } else if s.has_findings() {
        "FINDINGS: indicators match or severe alerts stand (none new). Only expert review can confirm a compromise."
    } else if s.is_incomplete() {
        "INCOMPLETE: nothing found, but part of the acquisition or of the saved results could not be re-checked (see above)."
    } else {
        "NOTHING FOUND. The absence of findings does not prove the device is clean."
    }
}
