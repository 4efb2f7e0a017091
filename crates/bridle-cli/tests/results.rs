//! Results that last: `bridle recheck` without the evidence, `bridle verify` with manifests and
//! signatures, and what each does with damaged or edited results.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The indicator alerts of an alerts.json, without the re-check's `new` flag.
fn indicator_alerts(path: &Path) -> Vec<Value> {
    read_json(path)
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| !a["matched_indicator"].is_null())
        .map(|a| {
            let mut a = a.clone();
            a.as_object_mut().unwrap().remove("new");
            a
        })
        .collect()
}

/// `bridle recheck FOLDER --only-given-iocs --iocs STIX`.
fn recheck_with(folder: &Path, stix: &Path) -> std::process::Output {
    run(&[
        "recheck",
        folder.to_str().unwrap(),
        "--only-given-iocs",
        "--iocs",
        stix.to_str().unwrap(),
    ])
}

fn only_recheck(results: &Path) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(results.join("rechecks"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    dirs.pop().unwrap()
}

#[test]
fn recheck_without_the_evidence_gives_the_alerts_of_a_check_with_the_indicators() {
    let shared = shared();
    let tmp = tempfile::tempdir().unwrap();
    // A copy of MVT's backup, deleted before the re-check: it must not need the evidence.
    let backup = tmp.path().join("backup");
    copy_tree(&shared.join("fixtures/mvt/ios_backup"), &backup);
    let stix = shared.join("fixtures/mvt/stix2/test.stix2");
    let plain = tmp.path().join("plain");
    let o = run(&[
        "check",
        backup.to_str().unwrap(),
        "--only-given-iocs",
        "-q",
        "--output",
        plain.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let with = tmp.path().join("with");
    let o = run(&[
        "check",
        backup.to_str().unwrap(),
        "--only-given-iocs",
        "-q",
        "--iocs",
        stix.to_str().unwrap(),
        "--output",
        with.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    std::fs::remove_dir_all(&backup).unwrap();

    let o = recheck_with(&plain, &stix);
    assert_eq!(code(&o), 1, "exit codes as for check: {}", stderr(&o));
    let re = only_recheck(&plain);
    let expected = indicator_alerts(&with.join("alerts.json"));
    assert_eq!(
        expected.len(),
        3,
        "MVT's fixture matches test.stix2 three times"
    );
    assert_eq!(indicator_alerts(&re.join("alerts.json")), expected);
    // Heuristic alerts are carried over unchanged; every indicator alert is new.
    let all = read_json(&re.join("alerts.json"));
    let all = all.as_array().unwrap();
    let heuristics: Vec<&Value> = all
        .iter()
        .filter(|a| a["matched_indicator"].is_null())
        .collect();
    let original: Vec<Value> = read_json(&plain.join("alerts.json"))
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(heuristics.len(), original.len());
    for a in all {
        assert_eq!(a["new"], !a["matched_indicator"].is_null(), "{a}");
    }
    // Per-module files and the rest of the folder.
    for f in [
        "sms_detected.json",
        "tcc_detected.json",
        "alerts_timeline.csv",
        "info.json",
        "report.html",
        "bridle-manifest.json",
    ] {
        assert!(re.join(f).is_file(), "{f} missing");
    }
    // The results manifest does not collide with the `manifest` module's manifest.json.
    assert!(read_json(&plain.join("manifest.json")).is_array());
    let info = read_json(&re.join("info.json"));
    assert_eq!(info["kind"], "recheck");
    assert_eq!(info["new_alerts"], 3);
    assert_eq!(
        info["indicator_files"][0]["sha256"].as_str().unwrap().len(),
        64
    );
    assert_eq!(info["original"]["acquisition_kind"], "ios_backup");
    assert!(
        info["files_read"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["manifest"] == "matches")
    );
    // The original run is untouched and still verifies.
    let o = run(&["verify", plain.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
}

#[test]
fn rechecks_compare_with_the_previous_run() {
    let (backup, stix) = demo();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = run(&[
        "check",
        backup.to_str().unwrap(),
        "--only-given-iocs",
        "-q",
        "--output",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = recheck_with(&out, &stix);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("4 new"), "{}", stderr(&o));
    let o = recheck_with(&out, &stix);
    assert_eq!(code(&o), 1, "still findings, none new");
    let second = only_recheck(&out);
    let info = read_json(&second.join("info.json"));
    assert_eq!(info["new_alerts"], 0);
    assert!(
        info["compared_with"]
            .as_str()
            .unwrap()
            .starts_with("rechecks/0001-"),
        "{info}"
    );
    // Without the indicators: the alerts are gone, and said to be.
    let o = run(&["recheck", out.to_str().unwrap(), "--only-given-iocs"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let third = only_recheck(&out);
    assert_eq!(
        read_json(&third.join("info.json"))["removed_alerts"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    // A re-check folder is not a results folder to re-check.
    let o = run(&["recheck", third.to_str().unwrap(), "--only-given-iocs"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("re-check folder"), "{}", stderr(&o));
}

#[test]
fn recheck_reports_bad_lines_and_missing_files_by_name_and_checks_the_rest() {
    let (backup, stix) = demo();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = run(&[
        "check",
        backup.to_str().unwrap(),
        "--only-given-iocs",
        "-q",
        "--output",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0);

    // observables.jsonl: a garbage line, a truncated last line.
    let damaged = tmp.path().join("damaged");
    copy_tree(&out, &damaged);
    let text = std::fs::read_to_string(damaged.join("observables.jsonl")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut edited = String::new();
    edited.push_str(lines[0]);
    edited.push_str("\n{this is not json}\n");
    for l in &lines[1..] {
        edited.push_str(l);
        edited.push('\n');
    }
    let last = lines[0];
    edited.push_str(&last[..last.len() / 2]);
    std::fs::write(damaged.join("observables.jsonl"), edited).unwrap();
    // sms.json gone: its alert is still raised, the file is named.
    std::fs::remove_file(damaged.join("sms.json")).unwrap();
    let o = recheck_with(&damaged, &stix);
    assert_eq!(
        code(&o),
        1,
        "the rest was re-checked and matched: {}",
        stderr(&o)
    );
    let err = stderr(&o);
    assert!(err.contains("line 2:"), "{err}");
    assert!(
        err.contains(&format!("line {}:", lines.len() + 2)),
        "the truncated last line: {err}"
    );
    assert!(err.contains("sms.json"), "{err}");
    assert!(
        err.contains("not the file the original run wrote"),
        "edited after its manifest: {err}"
    );
    let re = only_recheck(&damaged);
    let alerts = indicator_alerts(&re.join("alerts.json"));
    assert_eq!(alerts.len(), 4, "every record was re-checked");
    let sms: Vec<&Value> = alerts.iter().filter(|a| a["module"] == "sms").collect();
    assert_eq!(sms.len(), 1);
    assert_eq!(
        sms[0]["event"],
        serde_json::json!({}),
        "cited without its data"
    );
    let problems = read_json(&re.join("info.json"))["problems"].clone();
    assert!(problems.as_array().unwrap().len() >= 3, "{problems}");

    // observables.jsonl missing: nothing to re-check, the file is named, exit 2.
    let gone = tmp.path().join("gone");
    copy_tree(&out, &gone);
    std::fs::remove_file(gone.join("observables.jsonl")).unwrap();
    let o = recheck_with(&gone, &stix);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("observables.jsonl is missing"),
        "{}",
        stderr(&o)
    );

    // A truncated module file: the records before the cut keep their data.
    let cut = tmp.path().join("cut");
    copy_tree(&out, &cut);
    let manifest = std::fs::read(cut.join("bridle-manifest.json")).unwrap();
    std::fs::write(cut.join("bridle-manifest.json"), &manifest[..10]).unwrap();
    let tcc = std::fs::read(cut.join("tcc.json")).unwrap();
    std::fs::write(cut.join("tcc.json"), &tcc[..tcc.len() - 40]).unwrap();
    let o = recheck_with(&cut, &stix);
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    assert!(
        err.contains("tcc.json") && err.contains("truncated"),
        "{err}"
    );
    assert!(
        err.contains("bridle-manifest.json"),
        "an unreadable manifest is named: {err}"
    );
}

#[test]
fn a_recheck_of_an_incomplete_check_is_incomplete_too() {
    let (backup, stix) = demo();
    let tmp = tempfile::tempdir().unwrap();
    let evidence = tmp.path().join("evidence");
    copy_tree(&backup, &evidence);
    // TCC.db cut in half: the check cannot read it all.
    let tcc = evidence.join("64/64d0019cb3d46bfc8cce545a8ba54b93e7ea9347");
    let bytes = std::fs::read(&tcc).unwrap();
    std::fs::write(&tcc, &bytes[..bytes.len() / 2]).unwrap();
    let out = tmp.path().join("out");
    let o = run(&[
        "check",
        evidence.to_str().unwrap(),
        "--only-given-iocs",
        "-q",
        "--output",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let o = run(&["recheck", out.to_str().unwrap(), "--only-given-iocs"]);
    assert_eq!(
        code(&o),
        2,
        "nothing found, but the acquisition was not all read: {}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("original check could not read part"),
        "{}",
        stderr(&o)
    );
    // With the indicators the findings come first.
    let o = recheck_with(&out, &stix);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
}

fn keygen(dir: &Path) -> (PathBuf, PathBuf) {
    let key = dir.join("lab.key");
    let o = run(&["keygen", "--out", key.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("fingerprint"));
    (key.clone(), dir.join("lab.key.pub"))
}

#[test]
fn verify_names_every_missing_truncated_modified_and_extra_file_and_checks_signatures() {
    let (backup, stix) = demo();
    let tmp = tempfile::tempdir().unwrap();
    let (key, public) = keygen(tmp.path());
    let (_, other_public) = {
        let d = tmp.path().join("other");
        std::fs::create_dir_all(&d).unwrap();
        keygen(&d)
    };
    let evidence = tmp.path().join("evidence");
    copy_tree(&backup, &evidence);
    let out = tmp.path().join("out");
    let o = run(&[
        "check",
        evidence.to_str().unwrap(),
        "--only-given-iocs",
        "-q",
        "--iocs",
        stix.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
        "--sign",
        key.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(out.join("bridle-manifest.sig").is_file());
    let o = run(&[
        "recheck",
        out.to_str().unwrap(),
        "--only-given-iocs",
        "-q",
        "--iocs",
        stix.to_str().unwrap(),
        "--sign",
        key.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 1);

    let o = run(&[
        "verify",
        out.to_str().unwrap(),
        "--evidence",
        evidence.to_str().unwrap(),
        "--verify-signature",
        public.to_str().unwrap(),
    ]);
    let text = stdout(&o);
    assert_eq!(code(&o), 0, "{text}");
    assert_eq!(
        text.matches("signature valid").count(),
        2,
        "check and re-check: {text}"
    );
    assert!(text.contains("evidence files re-hashed"), "{text}");

    // A key that did not sign.
    let o = run(&[
        "verify",
        out.to_str().unwrap(),
        "--verify-signature",
        other_public.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 1);
    assert!(stdout(&o).contains("SIGNATURE INVALID"), "{}", stdout(&o));

    // Hand-edited, truncated, deleted, extra files; an evidence file changed.
    let alerts = std::fs::read_to_string(out.join("alerts.json")).unwrap();
    std::fs::write(
        out.join("alerts.json"),
        alerts.replace("CRITICAL", "CRITICAX"),
    )
    .unwrap();
    let timeline = std::fs::read(out.join("timeline.csv")).unwrap();
    std::fs::write(out.join("timeline.csv"), &timeline[..timeline.len() / 2]).unwrap();
    std::fs::remove_file(out.join("sms.json")).unwrap();
    std::fs::write(out.join("notes.txt"), b"added later").unwrap();
    let tcc = evidence.join("64/64d0019cb3d46bfc8cce545a8ba54b93e7ea9347");
    let mut bytes = std::fs::read(&tcc).unwrap();
    bytes[100] ^= 0xff;
    std::fs::write(&tcc, bytes).unwrap();
    let o = run(&[
        "verify",
        out.to_str().unwrap(),
        "--evidence",
        evidence.to_str().unwrap(),
        "--verify-signature",
        public.to_str().unwrap(),
    ]);
    let text = stdout(&o);
    assert_eq!(code(&o), 1, "{text}");
    assert!(text.contains("MODIFIED   alerts.json"), "{text}");
    assert!(text.contains("TRUNCATED  timeline.csv"), "{text}");
    assert!(text.contains("MISSING    sms.json"), "{text}");
    assert!(text.contains("EXTRA      notes.txt"), "{text}");
    assert!(
        text.contains("MODIFIED   HomeDomain/Library/TCC/TCC.db"),
        "{text}"
    );
    // The manifest itself edited: the signature no longer holds.
    let manifest = std::fs::read_to_string(out.join("bridle-manifest.json")).unwrap();
    std::fs::write(
        out.join("bridle-manifest.json"),
        manifest.replace("\"size\": ", "\"size\":  "),
    )
    .unwrap();
    let o = run(&[
        "verify",
        out.to_str().unwrap(),
        "--verify-signature",
        public.to_str().unwrap(),
    ]);
    assert!(stdout(&o).contains("SIGNATURE INVALID"), "{}", stdout(&o));
    // No manifest: cannot verify (2).
    let bare = tmp.path().join("bare");
    std::fs::create_dir_all(&bare).unwrap();
    let o = run(&["verify", bare.to_str().unwrap()]);
    assert_eq!(code(&o), 2, "{}", stdout(&o));
}

#[test]
fn recheck_uses_the_keys_file_only_when_it_is_the_one_the_run_wrote() {
    let shared = shared();
    let tmp = tempfile::tempdir().unwrap();
    let plain = tmp.path().join("plain");
    let o = run(&[
        "check",
        shared.join("fixtures/mvt/ios_backup").to_str().unwrap(),
        "--only-given-iocs",
        "-q",
        "--output",
        plain.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let keys = plain.join("observables.keys.tsv");
    let lines = |p: &Path| std::fs::read_to_string(p).unwrap().lines().count();
    assert_eq!(
        lines(&keys),
        lines(&plain.join("observables.jsonl")),
        "one keys line per observables line"
    );
    let stix = shared.join("fixtures/mvt/stix2/test.stix2");
    // Re-checks the folder; returns the indicator alerts and the files the re-check read.
    let recheck = || {
        let _ = std::fs::remove_dir_all(plain.join("rechecks"));
        let o = recheck_with(&plain, &stix);
        assert_eq!(code(&o), 1, "{}", stderr(&o));
        let re = only_recheck(&plain);
        let info = read_json(&re.join("info.json"));
        let read: Vec<(String, String)> = info["files_read"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["path"].as_str().unwrap().to_owned(),
                    f["manifest"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        (indicator_alerts(&re.join("alerts.json")), read)
    };
    let used_keys =
        |read: &[(String, String)]| read.iter().any(|(p, _)| p == "observables.keys.tsv");

    let (fast, read) = recheck();
    assert_eq!(fast.len(), 3);
    assert!(used_keys(&read), "{read:?}");
    assert!(read.iter().all(|(_, m)| m == "matches"), "{read:?}");

    // A keys file that is not the run's (here: a line dropped) is not trusted: the re-check
    // reads observables.jsonl whole and finds the same alerts.
    let text = std::fs::read_to_string(&keys).unwrap();
    let first_newline = text.find('\n').unwrap();
    std::fs::write(&keys, &text[first_newline + 1..]).unwrap();
    let (slow, read) = recheck();
    assert_eq!(slow, fast);
    assert!(!used_keys(&read), "{read:?}");
    assert!(
        read.iter()
            .any(|(p, m)| p == "observables.jsonl" && m == "matches"),
        "{read:?}"
    );

    // Results written before the keys file existed: the same.
    std::fs::remove_file(&keys).unwrap();
    let (old, read) = recheck();
    assert_eq!(old, fast);
    assert!(!used_keys(&read), "{read:?}");
}
