//! Loading cost of an indicator set: `cargo bench -p bridle-indicators --bench load -- DIR`.
//!
//! Loads the STIX2 files under DIR (for example `../shared/iocs`) and compiles the index,
//! 30 times (`LOAD_RUNS=N` for another count; 1 under a profiler), and prints the best and
//! median time of each step. Loading runs on every
//! `bridle check`: on a small acquisition it is most of the run. A plain `harness = false`
//! program, so the crate needs no benchmarking dependency.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bridle_indicators::IndicatorSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn main() {
    let Some(dir) = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .map(PathBuf::from)
    else {
        eprintln!("usage: cargo bench -p bridle-indicators --bench load -- DIR");
        std::process::exit(2);
    };
    let mut load = Vec::new();
    let mut compile = Vec::new();
    let mut count = 0;
    let runs: usize = std::env::var("LOAD_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(30);
    for _ in 0..runs {
        let start = Instant::now();
        let report = IndicatorSet::load(std::slice::from_ref(&dir));
        load.push(start.elapsed());
        let start = Instant::now();
        let matcher = report.set.into_matcher();
        compile.push(start.elapsed());
        count = matcher.set().len();
        std::hint::black_box(matcher);
    }
    let show = |name: &str, mut times: Vec<Duration>| {
        times.sort();
        println!(
            "{name:>8}: best {:.2} ms, median {:.2} ms",
            times[0].as_secs_f64() * 1e3,
            times[times.len() / 2].as_secs_f64() * 1e3
        );
    };
    println!("{count} indicators from {}", dir.display());
    show("load", load);
    show("compile", compile);
}
