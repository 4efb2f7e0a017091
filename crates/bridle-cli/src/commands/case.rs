//! `bridle case list|show|recheck|import`, and recording a check in a case.

use crate::ExitCode;
use crate::args::{CaseCommand, StoreArgs};
use crate::indicators;
use anyhow::{Context, Result};
use bridle_model::sanitize::for_terminal;
use bridle_store::{Location, Scope, Store};
use std::path::Path;

/// The store the arguments name (or the default one).
pub fn location(args: &StoreArgs) -> Result<Location> {
    match &args.store {
        Some(s) => Ok(Location::parse(s)),
        None => Location::default_sqlite()
            .context("no user data folder on this system; give --store FILE or URL"),
    }
}

/// Opens the store, saying which one when it fails.
pub fn open(args: &StoreArgs) -> Result<Store> {
    let location = location(args)?;
    Store::open(&location)
        .with_context(|| format!("cannot open the case store {}", location.describe()))
}

/// Records a results folder in a case and says what was stored.
pub fn record(store: &mut Store, case: &str, results: &Path, quiet: bool) -> Result<()> {
    let recorded = store.record(case, results).with_context(|| {
        format!(
            "{} was NOT recorded in case {case:?} (nothing of it was written to {})",
            results.display(),
            store.location().describe()
        )
    })?;
    for p in &recorded.problems {
        eprintln!("warning: {}", for_terminal(p));
    }
    if !quiet {
        eprintln!(
            "Recorded in case {:?} ({}): acquisition {}, {} records, {} observables ({} new values), {} alerts.",
            for_terminal(case),
            store.location().describe(),
            recorded.acquisition_id,
            recorded.records,
            recorded.observables,
            recorded.new_values,
            recorded.alerts
        );
    }
    Ok(())
}

fn device_label(device: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(device).unwrap_or_default();
    let field = |k: &str| v.get(k).and_then(serde_json::Value::as_str).unwrap_or("");
    let parts: Vec<&str> = [
        field("Device Name"),
        field("Product Type"),
        field("Product Version"),
        field("ro.product.model"),
        field("ro.build.version.release"),
    ]
    .into_iter()
    .filter(|s| !s.is_empty())
    .collect();
    for_terminal(&parts.join(", ")).into_owned()
}

pub fn run(cmd: CaseCommand) -> Result<ExitCode> {
    match cmd {
        CaseCommand::List { store } => {
            let mut store = open(&store)?;
            let cases = store.cases()?;
            if cases.is_empty() {
                println!("No cases in {}.", store.location().describe());
            }
            for c in cases {
                println!(
                    "{}  {} acquisition(s), {} run(s), last run {}, {} with indicator alerts",
                    for_terminal(&c.name),
                    c.acquisitions,
                    c.runs,
                    c.last_run.as_deref().unwrap_or("never"),
                    c.with_indicator_alerts
                );
            }
            Ok(ExitCode::Clean)
        }
        CaseCommand::Show { name, store } => {
            let mut store = open(&store)?;
            let case = store.case(&name)?;
            println!(
                "case {} (created {})",
                for_terminal(&case.name),
                case.created_at
            );
            for a in &case.acquisitions {
                println!(
                    "acquisition {}: {} {} [{}]",
                    a.id,
                    a.kind,
                    for_terminal(&a.path),
                    device_label(&a.device)
                );
                println!(
                    "  recorded {}, {} evidence files, {} records with observables",
                    a.created_at, a.evidence_files, a.records
                );
                for r in &a.runs {
                    let files: Vec<String> =
                        serde_json::from_str::<serde_json::Value>(&r.indicator_files)
                            .ok()
                            .and_then(|v| v.as_array().cloned())
                            .unwrap_or_default()
                            .iter()
                            .filter_map(|f| {
                                f.get("sha256")
                                    .and_then(|s| s.as_str())
                                    .map(|s| s.chars().take(12).collect())
                            })
                            .collect();
                    println!(
                        "  run {} {:<7} {}  alerts {} (indicator {}, new {})  indicators sha256 {}",
                        r.id,
                        r.kind,
                        r.started_at,
                        r.alerts,
                        r.indicator_alerts,
                        r.new_alerts,
                        if files.is_empty() {
                            "none".to_owned()
                        } else {
                            files.join(",")
                        }
                    );
                }
                for al in &a.latest_alerts {
                    println!(
                        "    {}{:<13} {:<22} {}",
                        if al.is_new { "NEW " } else { "    " },
                        al.level,
                        for_terminal(&al.module),
                        for_terminal(&al.message)
                    );
                }
            }
            Ok(ExitCode::Clean)
        }
        CaseCommand::Import {
            name,
            results,
            store,
        } => {
            let mut store = open(&store)?;
            record(&mut store, &name, &results, false)?;
            Ok(ExitCode::Clean)
        }
        CaseCommand::Recheck {
            name,
            all,
            iocs,
            store,
            quiet,
        } => {
            let loaded = indicators::load(&iocs)?;
            if !quiet {
                for p in &loaded.problems {
                    eprintln!("warning: indicator not used: {p}");
                }
            }
            let scope = match (name, all) {
                (Some(n), false) => Scope::Case(n),
                _ => Scope::All,
            };
            let mut store = open(&store)?;
            let run = bridle_store::RecheckRun {
                bridle_version: env!("CARGO_PKG_VERSION").to_owned(),
                command_line: super::command_line(),
                indicator_files: loaded
                    .files()
                    .into_iter()
                    .map(|f| (f.path, f.sha256, f.indicators))
                    .collect(),
                started_at: super::now(),
            };
            let started = std::time::Instant::now();
            let devices = store.recheck(&scope, loaded.set(), &run)?;
            let mut findings = false;
            let mut new_total = 0;
            let mut incomplete = false;
            for d in &devices {
                findings |= d.indicator_alerts > 0 || d.severe_heuristics > 0;
                new_total += d.new_alerts.len();
                incomplete |= !d.problems.is_empty();
                if quiet || (d.indicator_alerts == 0 && d.problems.is_empty()) {
                    continue;
                }
                println!(
                    "{} / acquisition {} [{}] {}: {} indicator alert(s), {} new, {} no longer match",
                    for_terminal(&d.case),
                    d.acquisition_id,
                    device_label(&d.device),
                    for_terminal(&d.path),
                    d.indicator_alerts,
                    d.new_alerts.len(),
                    d.removed
                );
                for a in &d.new_alerts {
                    println!(
                        "  NEW {:<13} {:<22} {}",
                        a.level.as_str(),
                        a.module,
                        for_terminal(&a.message)
                    );
                }
                for p in &d.problems {
                    println!("  problem: {}", for_terminal(p));
                }
            }
            let with = devices.iter().filter(|d| d.indicator_alerts > 0).count();
            eprintln!(
                "Re-checked {} acquisition(s) against {} indicators in {:.2} s: {with} with indicator alerts, {new_total} new alert(s).",
                devices.len(),
                loaded.set().len(),
                started.elapsed().as_secs_f64()
            );
            Ok(if new_total > 0 || findings {
                eprintln!(
                    "FINDINGS: indicators match stored devices. Only expert review can confirm a compromise."
                );
                ExitCode::Findings
            } else if incomplete {
                ExitCode::CouldNotCheck
            } else {
                eprintln!("NOTHING FOUND on the stored devices.");
                ExitCode::Clean
            })
        }
    }
}
