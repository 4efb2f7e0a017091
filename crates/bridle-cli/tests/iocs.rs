//! `bridle iocs update` from a local index, `iocs list`, and the updated set used by `check`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;

#[test]
fn update_from_a_local_index_then_list_and_check() {
    let tmp = tempfile::tempdir().unwrap();
    let (backup, stix) = demo();
    std::fs::copy(&stix, tmp.path().join("demo.stix2")).unwrap();
    let index = tmp.path().join("indicators.yaml");
    std::fs::write(
        &index,
        "indicators:\n  - name: Demo indicators\n    type: local\n    path: demo.stix2\n",
    )
    .unwrap();
    let dest = tmp.path().join("data/indicators");
    let o = run(&[
        "iocs",
        "update",
        "--index",
        index.to_str().unwrap(),
        "--dest",
        dest.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let installed: Vec<_> = std::fs::read_dir(&dest).unwrap().collect();
    assert_eq!(installed.len(), 1);
    let o = run(&[
        "iocs",
        "list",
        "--iocs",
        dest.to_str().unwrap(),
        "--only-given-iocs",
    ]);
    assert_eq!(code(&o), 0);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("DemoSpy"), "{out}");
    assert!(out.contains("3 indicators"), "{out}");
    // A broken index leaves the installed set as it was.
    std::fs::write(&index, "indicators:\n  - path: missing.stix2\n").unwrap();
    let o = run(&[
        "iocs",
        "update",
        "--index",
        index.to_str().unwrap(),
        "--dest",
        dest.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 2);
    assert_eq!(std::fs::read_dir(&dest).unwrap().count(), 1);
    // BRIDLE_IOCS is one of the default sources of check.
    let o = assert_cmd::Command::cargo_bin("bridle")
        .unwrap()
        .env("BRIDLE_IOCS", dest.to_str().unwrap())
        .env("HOME", tmp.path())
        .env("XDG_DATA_HOME", tmp.path().join("none"))
        .args(["check", backup.to_str().unwrap(), "--quiet"])
        .output()
        .unwrap();
    assert_eq!(code(&o), 1, "{}", stderr(&o));
}
