//! Loading real indicator files from ../shared.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

mod common;

use bridle_indicators::{IndicatorKind, IndicatorSet, LoadProblemKind};
use common::{problems_by_file, shared, stix2};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn mvt_counts(set: &IndicatorSet) -> BTreeMap<&'static str, usize> {
    let mut counts = BTreeMap::new();
    for i in set.indicators() {
        if let Some(b) = i.kind.mvt_bucket() {
            *counts.entry(b).or_default() += 1;
        }
    }
    counts
}

#[test]
fn mvt_test_fixture_loads_nine_indicators_of_test_malware() {
    let report = IndicatorSet::load(&[stix2("test.stix2")]);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let set = report.set;
    assert_eq!(set.len(), 9);
    assert!(set.indicators().iter().all(|i| *i.names == ["TestMalware"]));
    // MVT's buckets: the IPv4 address counts as a domain there.
    let expected: BTreeMap<&str, usize> = [
        ("domains", 2),
        ("emails", 1),
        ("file_names", 1),
        ("processes", 1),
        ("android_property_names", 1),
        ("files_sha256", 1),
        ("files_sha1", 1),
        ("urls", 1),
    ]
    .into_iter()
    .collect();
    assert_eq!(mvt_counts(&set), expected);
    // Ours put it under `ips`.
    let ours = set.counts();
    assert!(
        ours.contains(&("domains", 1)) && ours.contains(&("ips", 1)),
        "{ours:?}"
    );
    let file = &set.files()[0];
    assert_eq!(file.name, "test.stix2");
    assert_eq!(
        (file.indicators, file.stix_indicators, file.skipped),
        (9, 9, 0)
    );
    assert_eq!(file.sha256.len(), 64);
    // The quoted hash keys resolved.
    let kinds: Vec<IndicatorKind> = set.indicators().iter().map(|i| i.kind).collect();
    assert!(kinds.contains(&IndicatorKind::FileSha256) && kinds.contains(&IndicatorKind::FileSha1));
}

#[test]
fn cytrox_loads_343() {
    let report = IndicatorSet::load(&[stix2("cytrox.stix2")]);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let counts = mvt_counts(&report.set);
    assert_eq!(report.set.len(), 343);
    assert_eq!(counts.get("domains"), Some(&336));
    assert_eq!(counts.get("file_paths"), Some(&6));
    assert_eq!(counts.get("ios_profile_ids"), Some(&1));
    assert_eq!(counts.len(), 3);
}

#[test]
fn otx_report_names_its_69_indicators() {
    let report = IndicatorSet::load(&[stix2("638cd3ee5e5f019f84f9e0ea.json")]);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let set = report.set;
    assert_eq!(set.len(), 69);
    let counts = mvt_counts(&set);
    assert_eq!(counts.get("domains"), Some(&15));
    assert_eq!(counts.get("urls"), Some(&54));
    let name = "Pegasus Forensic Traces per Target Identified in the Aftermath of the Pegasus Project Revelations - Amnesty International";
    assert!(set.indicators().iter().all(|i| *i.names == [name]));
    let summary = &set.summaries()[0];
    assert_eq!(summary.names, [name]);
    assert_eq!(summary.counts, [("domains", 15), ("urls", 54)]);
}

#[test]
fn every_shared_indicator_file_loads_without_problems() {
    let iocs = shared().join("iocs");
    let report = IndicatorSet::load(std::slice::from_ref(&iocs));
    assert!(report.problems.is_empty(), "{:#?}", report.problems);
    let set = report.set;
    // 13 .stix2 files; LICENSE, README.md and indicators.yaml are not indicator files.
    assert_eq!(set.files().len(), 13, "{:?}", set.files());
    for (summary, file) in set.summaries().iter().zip(set.files()) {
        assert!(file.indicators > 0, "{}", file.path.display());
        assert_eq!(file.skipped, 0);
        assert!(!summary.names.is_empty());
        // Every indicator in these feeds is attached to a malware object.
        assert!(!summary.names.contains(&file.name), "{}", file.name);
    }
    // Folder order is sorted by path, so loading twice gives the same set.
    let again = IndicatorSet::load(&[iocs]).set;
    assert_eq!(again, set);
    let paths: Vec<&PathBuf> = set.files().iter().map(|f| &f.path).collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted);
}

#[test]
fn the_same_file_given_twice_loads_once_and_sources_keep_their_order() {
    let a = stix2("test.stix2");
    let b = stix2("cytrox.stix2");
    let set = IndicatorSet::load(&[b.clone(), a.clone(), b.clone()]).set;
    let names: Vec<&str> = set.files().iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["cytrox.stix2", "test.stix2"]);
    assert_eq!(set.indicators()[0].file, 0);
    assert_eq!(set.indicators().last().unwrap().file, 1);
}

#[test]
fn broken_sources_are_problems_and_the_rest_loads() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("a_not_json.stix2"), b"this is not json").unwrap();
    std::fs::write(dir.join("b_not_bundle.json"), br#"{"type": "indicator"}"#).unwrap();
    std::fs::write(dir.join("c_array.json"), b"[1, 2]").unwrap();
    std::fs::write(dir.join("ignored.txt"), b"not loaded from a folder").unwrap();
    std::fs::copy(stix2("test.stix2"), dir.join("d_good.stix2")).unwrap();
    let missing = dir.join("missing.stix2");
    let report = IndicatorSet::load(&[dir.to_owned(), missing.clone()]);
    assert_eq!(report.set.files().len(), 1);
    assert_eq!(report.set.len(), 9);
    let problems = problems_by_file(&report);
    assert_eq!(problems.len(), 4, "{problems:?}");
    assert!(matches!(problems[0], (ref n, LoadProblemKind::NotJson(_)) if n == "a_not_json.stix2"));
    assert!(
        matches!(problems[1], (ref n, LoadProblemKind::NotBundle(_)) if n == "b_not_bundle.json")
    );
    assert!(matches!(problems[2], (ref n, LoadProblemKind::NotBundle(_)) if n == "c_array.json"));
    assert!(matches!(problems[3], (ref n, LoadProblemKind::Read(_)) if n == "missing.stix2"));
    // An explicit file loads whatever its extension.
    let txt = dir.join("explicit.txt");
    std::fs::copy(stix2("test.stix2"), &txt).unwrap();
    assert_eq!(IndicatorSet::load(&[txt]).set.len(), 9);
}
