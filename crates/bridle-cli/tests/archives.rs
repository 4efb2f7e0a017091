//! iOS acquisitions inside archives: a dump as .tar.gz checks like the folder it came from;
//! hostile members are skipped and reported, never written outside the private folder.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;

fn indicator_alerts(out: &Path) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = read_json(&out.join("alerts.json"))
        .as_array()
        .unwrap()
        .iter()
        .map(|a: &Value| {
            (
                a["module"].as_str().unwrap().to_owned(),
                a["level"].as_str().unwrap().to_owned(),
                a["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn dump_in_tar_gz_checks_like_the_folder() {
    let shared = shared();
    let tmp = tempfile::tempdir().unwrap();
    let dump = tmp.path().join("dump");
    let status = std::process::Command::new("python3")
        .arg(shared.join("bench/gen_ios_fs.py"))
        .args([
            "--out",
            dump.to_str().unwrap(),
            "--seed",
            "3",
            "--sms",
            "300",
        ])
        .args([
            "--history",
            "300",
            "--processes",
            "40",
            "--files",
            "30",
            "--whatsapp",
            "100",
        ])
        .args(["--plant-count", "20", "--plant"])
        .arg(shared.join("iocs"))
        .arg("--tar")
        .arg(tmp.path().join("dump.tar.gz"))
        .status()
        .expect("python3 is needed to generate the test dump");
    assert!(status.success());
    let iocs = shared.join("iocs");
    let mut outs = Vec::new();
    for input in [dump.clone(), tmp.path().join("dump.tar.gz")] {
        let out = tmp.path().join(format!("out-{}", outs.len()));
        let before = tree_hash(tmp.path().join("dump").as_path());
        let o = run(&[
            "check",
            input.to_str().unwrap(),
            "--iocs",
            iocs.to_str().unwrap(),
            "--only-given-iocs",
            "--output",
            out.to_str().unwrap(),
        ]);
        assert_eq!(code(&o), 1, "{}", stderr(&o));
        assert_eq!(tree_hash(&dump), before);
        outs.push(out);
    }
    assert_eq!(indicator_alerts(&outs[0]), indicator_alerts(&outs[1]));
    let info = read_json(&outs[1].join("info.json"));
    assert_eq!(info["acquisition_kind"], "ios_archive");
    assert!(
        info["evidence_files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["stored_path"] == "dump.tar.gz")
    );
}

#[test]
fn hostile_tar_members_are_skipped_and_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("evil.tar.gz");
    let outside = tmp.path().join("outside-marker");
    {
        let f = std::fs::File::create(&archive).unwrap();
        let gz = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
        let mut b = tar::Builder::new(gz);
        let mut add = |name: &str, data: &[u8]| {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_entry_type(tar::EntryType::Regular);
            // Write the raw name: tar's API refuses `..`, a hostile archive does not.
            let bytes = name.as_bytes();
            h.as_old_mut().name[..bytes.len()].copy_from_slice(bytes);
            h.set_cksum();
            b.append(&h, data).unwrap();
        };
        add(
            "private/var/mobile/Library/Preferences/ok.plist",
            b"<plist></plist>",
        );
        add("../outside-marker", b"escaped");
        add("/etc/evil", b"absolute");
        let mut link = tar::Header::new_gnu();
        link.set_entry_type(tar::EntryType::Symlink);
        link.set_size(0);
        link.set_link_name("/etc/passwd").unwrap();
        link.set_cksum();
        b.append_data(&mut link, "private/var/mobile/link", std::io::empty())
            .unwrap();
        b.into_inner().unwrap().finish().unwrap();
    }
    let out = tmp.path().join("out");
    let o = run(&[
        "check",
        archive.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ]);
    let err = stderr(&o);
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        !outside.exists(),
        "a member was written outside the private folder"
    );
    let info = read_json(&out.join("info.json"));
    let problems = info["problems"].to_string();
    assert!(problems.contains("outside-marker"), "{problems}");
    assert!(
        problems.contains("/etc/evil") || problems.contains("etc/evil"),
        "{problems}"
    );
}
