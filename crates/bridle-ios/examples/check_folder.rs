//! Runs the filesystem-dump or sysdiagnose modules on a folder, matches every record against
//! indicator files, and prints per-module counts and times: a measuring tool until the CLI
//! wires these acquisitions in.
//!
//! ```text
//! cargo run --release -p bridle-ios --example check_folder -- DUMP_OR_SYSDIAGNOSE [--fast] [--verbose] [IOCS...]
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bridle_evidence::{EvidenceLog, Limits};
use bridle_indicators::IndicatorSet;
use bridle_ios::Ios;
use bridle_model::{Level, VecSink};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let fast = args.iter().any(|a| a == "--fast");
    let verbose = args.iter().any(|a| a == "--verbose");
    args.retain(|a| a != "--fast" && a != "--verbose");
    let Some(path) = args.first().map(PathBuf::from) else {
        eprintln!("usage: check_folder DUMP_OR_SYSDIAGNOSE [--fast] [--verbose] [IOCS...]");
        std::process::exit(2);
    };
    let iocs: Vec<PathBuf> = args.iter().skip(1).map(PathBuf::from).collect();
    let started = Instant::now();
    let set = IndicatorSet::load(&iocs).set;
    let matcher = set.compile();
    let loaded = started.elapsed();
    let log = EvidenceLog::new();
    let (ios, modules) = if bridle_ios::find_dump_root(&path).is_some() {
        let ios = Arc::new(
            Ios::open_fs(&path, log.clone(), Limits::default())
                .unwrap()
                .with_fast(fast),
        );
        let m = bridle_ios::modules::fs_modules(&ios);
        (ios, m)
    } else {
        let ios = Arc::new(Ios::open_sysdiagnose(&path, log.clone(), Limits::default()).unwrap());
        let m = bridle_ios::modules::sysdiagnose_modules(&ios);
        (ios, m)
    };
    println!(
        "{} indicators loaded in {:.3} s",
        set.indicators().len(),
        loaded.as_secs_f64()
    );
    let t0 = Instant::now();
    let (mut records, mut hits, mut heuristics) = (0usize, 0usize, 0usize);
    for m in modules {
        let t = Instant::now();
        let mut sink = VecSink::default();
        let outcome = m.run(&mut sink);
        let h: usize = sink
            .records
            .iter()
            .map(|r| matcher.match_record(&r.observables).len())
            .sum();
        let severe = sink
            .heuristics()
            .filter(|h| h.level >= Level::Medium)
            .count();
        if verbose {
            for h in sink.heuristics() {
                println!("    {} {}", h.level, h.message);
            }
            for p in &sink.problems {
                println!("    problem: {p:?}");
            }
            for r in &sink.records {
                for hit in matcher.match_record(&r.observables) {
                    if let Some(i) = matcher.indicator_ref(&hit, &r.observables) {
                        println!(
                            "    hit {} `{}` ({}) by {} `{}`",
                            i.bucket, i.value, i.match_rule, i.observable_kind, i.observable_value
                        );
                    }
                }
            }
        }
        println!(
            "{:<28} {:>8} records {:>5} hits {:>5} heuristics ≥MEDIUM {:>4} problems {:>8.3} s  {}",
            m.info().slug,
            sink.records.len(),
            h,
            severe,
            sink.problems.len(),
            t.elapsed().as_secs_f64(),
            match outcome {
                Ok(o) => format!("{o:?}"),
                Err(e) => format!("error: {e}"),
            }
        );
        records += sink.records.len();
        hits += h;
        heuristics += severe;
    }
    println!(
        "total: {records} records, {hits} indicator hits, {heuristics} heuristics, {} evidence files hashed, {:.3} s",
        log.files().len(),
        t0.elapsed().as_secs_f64()
    );
    drop(ios);
}
