//! Lookup cost against index size: `cargo bench -p bridle-indicators --bench lookup`.
//!
//! Builds sets of 1 000 to 300 000 indicators (domains, URLs, processes, paths) and times
//! the same 20 000 observables against each. With hash lookups only, the time per
//! observable stays flat as the set grows (a linear scan would grow 300-fold). A plain
//! `harness = false` program, so the crate needs no benchmarking dependency.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bridle_indicators::IndicatorSet;
use bridle_model::{Observable, ObservableKind as K};
use std::hint::black_box;
use std::time::Instant;

fn bundle(n: usize) -> Vec<u8> {
    let mut objects = Vec::with_capacity(n);
    for i in 0..n {
        let pattern = match i % 4 {
            0 => format!("[domain-name:value = 'd{i}.evil{}.com']", i % 97),
            1 => format!("[url:value = 'https://u{i}.example/p/{i}']"),
            2 => format!("[process:name = 'implant{i}daemon-long-name']"),
            _ => format!("[file:path = '/private/var/tmp/drop{i}']"),
        };
        objects.push(serde_json::json!({
            "type": "indicator", "id": format!("indicator--{i}"), "pattern": pattern
        }));
    }
    serde_json::to_vec(&serde_json::json!({"type": "bundle", "objects": objects})).unwrap()
}

fn observables() -> Vec<Observable> {
    (0..20_000)
        .map(|i| match i % 5 {
            0 => Observable::new(
                K::Url,
                format!("https://a.b.d{i}.evil{}.com/x?y=1", i % 97),
                "u",
            ),
            1 => Observable::new(K::Domain, format!("cdn{i}.static.example.net"), "d"),
            2 => Observable::new(K::Process, format!("implant{i}daemo"), "p"),
            3 => Observable::new(K::FilePath, format!("/var/tmp/drop{i}/a/b/c.plist"), "f"),
            _ => Observable::new(K::Url, format!("https://u{i}.example/p/{i}"), "u"),
        })
        .collect()
}

fn main() {
    let observables = observables();
    println!(
        "{:>10} {:>12} {:>14} {:>8}",
        "indicators", "compile ms", "ns/observable", "hits"
    );
    for n in [1_000, 10_000, 100_000, 300_000] {
        let report = IndicatorSet::from_bytes("bench.json", &bundle(n));
        assert!(report.problems.is_empty());
        let start = Instant::now();
        let matcher = report.set.compile();
        let compile = start.elapsed();
        // Warm up, then take the best of five rounds (the machine is shared).
        let mut hits = 0;
        for record in observables.chunks(10) {
            hits += black_box(matcher.match_record(record)).len();
        }
        let mut best = f64::MAX;
        for _ in 0..5 {
            let start = Instant::now();
            for record in observables.chunks(10) {
                black_box(matcher.match_record(black_box(record)));
            }
            let ns = start.elapsed().as_nanos() as f64 / observables.len() as f64;
            best = best.min(ns);
        }
        println!(
            "{n:>10} {:>12.1} {best:>14.0} {hits:>8}",
            compile.as_secs_f64() * 1e3
        );
    }
}
