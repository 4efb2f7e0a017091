//! Helpers shared by the integration tests.
#![allow(dead_code)]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

use bridle_indicators::{IndicatorSet, LoadProblemKind, LoadReport};
use std::path::PathBuf;

/// The shared, read-only project material: `BRIDLE_SHARED`, or `<workspace>/../shared`.
/// Panics when it is missing: these tests must never pass by skipping.
pub fn shared() -> PathBuf {
    let dir = std::env::var_os("BRIDLE_SHARED").map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")),
        PathBuf::from,
    );
    assert!(
        dir.join("fixtures").is_dir(),
        "the shared test material is missing at {} (set BRIDLE_SHARED)",
        dir.display()
    );
    dir
}

pub fn stix2(name: &str) -> PathBuf {
    shared().join("fixtures/mvt/stix2").join(name)
}

/// A bundle with one malware "TestSet" and one indicator per pattern, each attached with an
/// `indicates` relationship. Indicator ids are `indicator--<n>` (n from 0).
pub fn bundle(patterns: &[&str]) -> Vec<u8> {
    let mut objects = vec![serde_json::json!({
        "type": "malware", "id": "malware--m", "name": "TestSet", "is_family": false
    })];
    for (n, pattern) in patterns.iter().enumerate() {
        objects.push(serde_json::json!({
            "type": "indicator", "id": format!("indicator--{n}"), "pattern": pattern,
            "pattern_type": "stix"
        }));
        objects.push(serde_json::json!({
            "type": "relationship", "id": format!("relationship--{n}"),
            "relationship_type": "indicates", "source_ref": format!("indicator--{n}"),
            "target_ref": "malware--m"
        }));
    }
    serde_json::to_vec(
        &serde_json::json!({"type": "bundle", "id": "bundle--t", "objects": objects}),
    )
    .unwrap()
}

/// Load a bundle built by [`bundle`] and insist that every pattern loaded.
pub fn set_of(patterns: &[&str]) -> IndicatorSet {
    let LoadReport { set, problems } = IndicatorSet::from_bytes("test.stix2", &bundle(patterns));
    assert!(problems.is_empty(), "{problems:?}");
    set
}

/// A load's problems as (file name, kind), in the order reported.
pub fn problems_by_file(report: &LoadReport) -> Vec<(String, &LoadProblemKind)> {
    report
        .problems
        .iter()
        .map(|p| {
            (
                p.path.file_name().unwrap().to_string_lossy().into_owned(),
                &p.kind,
            )
        })
        .collect()
}
