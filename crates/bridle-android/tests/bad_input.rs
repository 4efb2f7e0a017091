//! Hostile and damaged acquisitions: no panic, a problem or error naming the file, what can
//! be read is kept, and the evidence is unchanged.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use bridle_android::modules;
use bridle_android::{AndroidQf, Backup, Bugreport, OpenOptions};
use bridle_evidence::EvidenceLog;
use bridle_evidence::archive::ArchiveLimits;
use bridle_model::{Module, ModuleError, ModuleOutcome, ProblemKind, VecSink};
use common::*;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;

fn run_all(mods: &[Box<dyn Module>]) -> Vec<(String, Result<ModuleOutcome, String>, VecSink)> {
    mods.iter()
        .map(|m| {
            let mut sink = VecSink::default();
            let out = m.run(&mut sink).map_err(|e| e.to_string());
            (m.info().slug.to_owned(), out, sink)
        })
        .collect()
}

fn sms_of(path: &Path) -> (Result<ModuleOutcome, ModuleError>, VecSink) {
    let b =
        Arc::new(Backup::open(path, EvidenceLog::new(), None, ArchiveLimits::default()).unwrap());
    let mods = modules::backup_modules(&b);
    let mut sink = VecSink::default();
    let out = mods[0].run(&mut sink);
    (out, sink)
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[test]
fn truncated_and_lying_backups() {
    let dir = tempfile::tempdir().unwrap();
    let original = std::fs::read(mvt("android_backup/backup.ab")).unwrap();
    // Every cut of the file: never a panic, and never a silent success with nothing read.
    for cut in [
        0,
        5,
        15,
        17,
        20,
        24,
        30,
        100,
        300,
        original.len() - 10,
        original.len() - 1,
    ] {
        let path = dir.path().join(format!("cut{cut}.ab"));
        std::fs::write(&path, &original[..cut]).unwrap();
        let (out, sink) = sms_of(&path);
        match out {
            Ok(ModuleOutcome::Done) => assert!(
                !sink.problems.is_empty() || sink.records.len() == 2,
                "cut at {cut}: done with {} records and no problem",
                sink.records.len()
            ),
            Ok(other) => panic!("cut at {cut}: {other:?}"),
            Err(e) => assert!(e.to_string().contains(&format!("cut{cut}.ab")), "{e}"),
        }
    }

    // The decoded tar of backup3.ab, to build backups whose header lies.
    let (_, mut body) = bridle_android::backup::open_ab(
        std::fs::File::open(mvt("android_backup/backup3.ab")).unwrap(),
        None,
    )
    .unwrap();
    let mut tar = Vec::new();
    body.read_to_end(&mut tar).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "says_compressed.ab",
            [b"ANDROID BACKUP\n5\n1\nnone\n".to_vec(), tar.clone()].concat(),
            "zlib",
        ),
        (
            "says_plain.ab",
            [b"ANDROID BACKUP\n5\n0\nnone\n".to_vec(), zlib(&tar)].concat(),
            "zlib header",
        ),
        (
            "says_clear.ab",
            {
                let enc = std::fs::read(mvt("android_backup/backup2.ab")).unwrap();
                // Drop the 9 header lines of the encrypted file and claim no encryption.
                let mut nl = 0;
                let body_at = enc
                    .iter()
                    .position(|b| {
                        if *b == b'\n' {
                            nl += 1;
                        }
                        nl == 9
                    })
                    .unwrap()
                    + 1;
                [
                    b"ANDROID BACKUP\n5\n0\nnone\n".to_vec(),
                    enc[body_at..].to_vec(),
                ]
                .concat()
            },
            "tar",
        ),
        (
            "says_aes.ab",
            [b"ANDROID BACKUP\n5\n0\nAES-256\n".to_vec(), tar.clone()].concat(),
            "encrypted",
        ),
    ];
    for (name, bytes, want) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        let before = tree_hash(&path);
        let (out, _) = sms_of(&path);
        let err = out.unwrap_err().to_string();
        assert!(err.contains(want), "{name}: {err}");
        assert!(err.contains(name), "{name}: {err}");
        assert_eq!(tree_hash(&path), before);
    }

    // A message file that is not zlib, and one that is not a JSON list: reported, the run
    // goes on, the good file is read.
    let path = dir.path().join("damaged_messages.ab");
    write_ab(
        &path,
        &[
            ("apps/com.android.providers.telephony/d_f/000000_sms_backup", b"not zlib".to_vec()),
            ("apps/com.android.providers.telephony/d_f/000001_sms_backup", zlib(b"{\"not\": \"a list\"}")),
            ("apps/com.android.providers.telephony/d_f/000002_sms_backup", zlib(b"[{\"body\": \"hi https://x.example/\", \"date\": \"1000\", \"date_sent\": \"0\"}, 7]")),
        ],
    );
    let (out, sink) = sms_of(&path);
    assert_eq!(out.unwrap(), ModuleOutcome::Done);
    assert_eq!(sink.records.len(), 1);
    assert_eq!(sink.problems.len(), 3, "{:?}", sink.problems);
    assert!(sink.problems.iter().all(|p| {
        p.file
            .as_deref()
            .unwrap()
            .starts_with("damaged_messages.ab!/apps/")
    }));
}

/// An AndroidQF zip with the fixture's packages.json plus hostile members.
#[test]
fn androidqf_zip_with_bomb_and_zip_slip() {
    let dir = tempfile::tempdir().unwrap();
    let packages = std::fs::read(mvt("androidqf/packages.json")).unwrap();
    let zeros = vec![0u8; 8 << 20];
    let zip = dir.path().join("aqf.zip");
    write_zip(
        &zip,
        &[
            ("acq/packages.json", &packages),
            ("acq/bomb.bin", &zeros),
            ("acq/XXevil.txt", b"evil"),
            ("/etc/passwd-ish", b"x"),
        ],
    );
    let mut bytes = std::fs::read(&zip).unwrap();
    replace_all(&mut bytes, b"acq/XXevil.txt", b"../../evil.txt");
    std::fs::write(&zip, &bytes).unwrap();
    let before = tree_hash(dir.path());
    let log = EvidenceLog::new();
    let a = Arc::new(AndroidQf::open(&zip, log.clone(), &OpenOptions::default()).unwrap());
    let results = run_all(&modules::androidqf_modules(&a));
    let (_, out, sink) = results.iter().find(|r| r.0 == "aqf_packages").unwrap();
    assert_eq!(out.as_ref().unwrap(), &ModuleOutcome::Done);
    assert_eq!(sink.records.len(), 7);
    let problems = log.problems();
    let named = |n: &str| {
        problems.iter().any(|p| {
            p.kind == ProblemKind::Skipped && p.file.as_deref().is_some_and(|f| f.ends_with(n))
        })
    };
    assert!(named("acq/bomb.bin"), "{problems:?}");
    assert!(named("../../evil.txt"), "{problems:?}");
    assert!(named("/etc/passwd-ish"), "{problems:?}");
    assert_eq!(tree_hash(dir.path()), before);
}

fn replace_all(bytes: &mut [u8], from: &[u8], to: &[u8]) {
    let mut i = 0;
    while i + from.len() <= bytes.len() {
        if &bytes[i..i + from.len()] == from {
            bytes[i..i + from.len()].copy_from_slice(to);
        }
        i += 1;
    }
}

/// A bugreport folder: a dumpstate with garbage, a repeated section, an endless line; a
/// good text tombstone and a hostile protobuf one.
fn hostile_bugreport(dir: &Path) {
    std::fs::create_dir_all(dir.join("FS/data/tombstones")).unwrap();
    std::fs::write(dir.join("main_entry.txt"), b"dumpstate.txt\n").unwrap();
    let appops = std::fs::read(mvt("android_data/dumpsys_appops.txt")).unwrap();
    let dashes = "-".repeat(78);
    let mut d = Vec::new();
    d.extend_from_slice(b"== dumpstate\n\x00\xff\xfe garbage \x1b[31m\n");
    d.extend_from_slice(b"DUMP OF SERVICE appops:\n");
    d.extend_from_slice(&appops);
    d.extend_from_slice(format!("\n{dashes}\n").as_bytes());
    d.extend_from_slice(&vec![b'A'; (1 << 20) + 100]);
    d.extend_from_slice(
        b"\nDUMP OF SERVICE appops:\n  Uid 0:\n    Package com.second.copy:\n      X (allow):\n",
    );
    d.extend_from_slice(format!("{dashes}\nDUMP OF SERVICE package:\nPackages:\n  Package [\n  Package [x] (1):\n    userId=\n    install permissions:\n      noColonHere\n\nDUMP OF SERVICE batterystats:\n  Daily from nothing\n      Update\n      Update x\n      Update x vers\n+job= +top=:\n").as_bytes());
    d.extend_from_slice(b"DUMP OF SERVICE adb:\n{\n}\n}\n}\n");
    std::fs::write(dir.join("dumpstate.txt"), &d).unwrap();
    std::fs::copy(
        mvt("android_data/bugreport/FS/data/tombstones/tombstone_00"),
        dir.join("FS/data/tombstones/tombstone_00"),
    )
    .unwrap();
    // Wrong wire type for field 5 and a string length far beyond the data.
    std::fs::write(
        dir.join("FS/data/tombstones/tombstone_01.pb"),
        [0x2a, 0x01, 0x00, 0x12, 0xff, 0xff, 0xff, 0x7f],
    )
    .unwrap();
    std::fs::write(
        dir.join("FS/data/tombstones/tombstone_02"),
        b"\x00\x01garbage only",
    )
    .unwrap();
}

#[test]
fn dumpsys_with_garbage_and_duplicated_sections() {
    let dir = tempfile::tempdir().unwrap();
    hostile_bugreport(dir.path());
    let before = tree_hash(dir.path());
    let log = EvidenceLog::new();
    let b = Arc::new(Bugreport::open(dir.path(), log.clone(), ArchiveLimits::default()).unwrap());
    let results = run_all(&modules::bugreport_modules(&b));
    for (slug, out, _) in &results {
        assert!(out.is_ok(), "{slug}: {out:?}");
    }
    let get = |s: &str| results.iter().find(|r| r.0 == s).unwrap();
    let (_, _, appops) = get("dumpsys_appops");
    assert_eq!(appops.records.len(), 13, "the first appops section is read");
    assert!(
        appops
            .records
            .iter()
            .all(|r| field(r, "package_name") != "com.second.copy")
    );
    assert!(
        appops
            .problems
            .iter()
            .any(|p| p.message.contains("appears 2 times")),
        "{:?}",
        appops.problems
    );
    let cut = log.problems();
    assert!(
        cut.iter().any(|p| p.message.contains("were cut")),
        "{cut:?}"
    );
    let (_, _, tombs) = get("tombstones");
    assert_eq!(tombs.records.len(), 1);
    assert_eq!(tombs.problems.len(), 2, "{:?}", tombs.problems);
    assert!(
        tombs
            .problems
            .iter()
            .any(|p| p.file.as_deref().unwrap().ends_with("tombstone_01.pb"))
    );
    let (_, _, adb) = get("dumpsys_adb_state");
    assert!(adb.records.is_empty());
    assert_eq!(adb.problems.len(), 1);
    assert_eq!(tree_hash(dir.path()), before);
}

#[test]
fn bugreport_zip_with_hostile_members() {
    let dir = tempfile::tempdir().unwrap();
    let dump = std::fs::read(mvt("android_data/bugreport/dumpstate.txt")).unwrap();
    let zip = dir.path().join("bugreport.zip");
    write_zip(
        &zip,
        &[
            ("main_entry.txt", b"dumpstate.txt"),
            ("dumpstate.txt", &dump),
            ("FS/data/XXXXX", b"x"),
            ("FS/bomb", &vec![0u8; 8 << 20]),
        ],
    );
    let mut bytes = std::fs::read(&zip).unwrap();
    replace_all(&mut bytes, b"FS/data/XXXXX", b"FS/../../../x");
    std::fs::write(&zip, &bytes).unwrap();
    let before = tree_hash(dir.path());
    let log = EvidenceLog::new();
    let b = Arc::new(Bugreport::open(&zip, log.clone(), ArchiveLimits::default()).unwrap());
    let results = run_all(&modules::bugreport_modules(&b));
    let (_, _, appops) = results.iter().find(|r| r.0 == "dumpsys_appops").unwrap();
    assert_eq!(appops.records.len(), 12);
    let problems = log.problems();
    assert!(
        problems
            .iter()
            .any(|p| p.file.as_deref().unwrap().ends_with("FS/../../../x"))
    );
    assert!(
        problems
            .iter()
            .any(|p| p.file.as_deref().unwrap().ends_with("FS/bomb"))
    );
    assert!(log.files().iter().any(|f| f.stored_path == "bugreport.zip"));
    assert_eq!(tree_hash(dir.path()), before);
}

#[test]
fn androidqf_files_with_invalid_lines_and_broken_json() {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&mvt("androidqf"), dir.path());
    let good = |p: &str, m: u64| {
        format!(
            "{{\"path\":\"{p}\",\"mode\":\"-rwxr-x---\",\"modified_time\":{m},\"access_time\":{m},\"changed_time\":{m},\"context\":\"\",\"sha256\":\"\"}}"
        )
    };
    std::fs::write(
        dir.path().join("files.json"),
        format!(
            "{}\n{{\"path\": broken\n\n{}\n\u{0}\u{ff}garbage\n[1,2,3]\n{}\n",
            good("/sdcard/a", 1_600_000_000),
            good("/data/local/tmp/implant", 1_600_000_100),
            good("/data/local/tmp/collector", 1_600_000_200)
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("packages.json"),
        b"[{\"name\": \"ok.one\", \"installer\": \"null\", \"system\": false}, {\"name\": trunc",
    )
    .unwrap();
    std::fs::write(dir.path().join("ps.txt"), b"USER PID PPID VSZ RSS WCHAN ADDR S NAME\nroot 1 0 1 2 x 0 S init\nroot notanumber 0 1 2 x 0 S bad\n\xff\xfe\n").unwrap();
    std::fs::write(
        dir.path().join("root_binaries.json"),
        b"{\"not\": \"a list\"}",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("getprop.txt"),
        b"\x00\xff[ro.x]: [1]\n[ro.build.version.security_patch]: [2019-01-05]\n[broken\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("mounts.json"),
        b"[\"/dev/block/dm-0 on /system type ext4 (rw,seclabel)\", 5, \"garbage\"]",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("acquisition.json"),
        b"{\"started\": \"2020-01-01T00:00:00Z\"}",
    )
    .unwrap();
    let before = tree_hash(dir.path());
    let a =
        Arc::new(AndroidQf::open(dir.path(), EvidenceLog::new(), &OpenOptions::default()).unwrap());
    let results = run_all(&modules::androidqf_modules(&a));
    let get = |s: &str| results.iter().find(|r| r.0 == s).unwrap();

    let (_, out, files) = get("aqf_files");
    assert_eq!(out.as_ref().unwrap(), &ModuleOutcome::Done);
    let paths: Vec<&str> = files.records.iter().map(|r| field(r, "path")).collect();
    assert_eq!(
        paths,
        [
            "/sdcard/a",
            "/data/local/tmp/implant",
            "/data/local/tmp/collector"
        ]
    );
    assert_eq!(
        files.problems.len(),
        3,
        "2 bad lines + 1 non-object: {:?}",
        files.problems
    );
    assert!(
        files
            .problems
            .iter()
            .any(|p| p.message.starts_with("line 2 "))
    );
    let h: Vec<&str> = files.heuristics().map(|h| h.message.as_str()).collect();
    assert_eq!(
        h,
        ["Found executable file at suspicious path \"/data/local/tmp/implant\""]
    );

    let (_, _, pk) = get("aqf_packages");
    assert_eq!(pk.records.len(), 1);
    assert_eq!(pk.problems.len(), 1);
    assert!(pk.problems[0].message.contains("read 1 entries"));

    let (_, _, ps) = get("aqf_processes");
    assert_eq!(ps.records.len(), 1);
    assert_eq!(ps.problems.len(), 1);

    let (_, out, _) = get("root_binaries");
    assert!(out.as_ref().unwrap_err().contains("root_binaries.json"));

    let (_, _, gp) = get("aqf_get_prop");
    assert_eq!(gp.records.len(), 2);
    // Compared with the acquisition date (2020-01-01), not the day of the check.
    let patch: Vec<_> = gp.heuristics().collect();
    assert_eq!(patch.len(), 1);
    assert_eq!(
        patch[0].message,
        "This phone has not received security updates for more than six months (last update: 2019-01-05)."
    );

    let (_, _, mounts) = get("mounts");
    assert_eq!(mounts.records.len(), 1);
    assert_eq!(mounts.heuristics().count(), 2);
    assert_eq!(tree_hash(dir.path()), before);
}

#[test]
fn streaming_files_json_array_memory_is_per_entry() {
    // A files.json array of 20k entries: every entry becomes a record, in order.
    let dir = tempfile::tempdir().unwrap();
    let mut f = std::fs::File::create(dir.path().join("files.json")).unwrap();
    write!(f, "[").unwrap();
    for i in 0..20_000 {
        if i > 0 {
            write!(f, ",").unwrap();
        }
        write!(f, "{{\"path\":\"/sdcard/f{i}\",\"modified_time\":{i},\"access_time\":{i},\"changed_time\":{i},\"context\":\"\"}}").unwrap();
    }
    write!(f, "]").unwrap();
    drop(f);
    let a =
        Arc::new(AndroidQf::open(dir.path(), EvidenceLog::new(), &OpenOptions::default()).unwrap());
    let (_, sink) = run_slug(&modules::androidqf_modules(&a), "aqf_files");
    assert_eq!(sink.records.len(), 20_000);
    assert_eq!(field(&sink.records[19_999], "path"), "/sdcard/f19999");
    assert!(sink.problems.is_empty());
}

#[test]
fn bugreport_zip_with_a_damaged_dumpstate_member() {
    // The dumpstate stored uncompressed, with a byte changed after its sections: its CRC
    // fails at the end of the member. Sections are still read; the damage is reported.
    let dir = tempfile::tempdir().unwrap();
    let mut dump = std::fs::read(mvt("android_data/bugreport/dumpstate.txt")).unwrap();
    dump.extend_from_slice(b"\ntrailing logcat MARKER line\n");
    let zip = dir.path().join("bugreport.zip");
    {
        let f = std::fs::File::create(&zip).unwrap();
        let mut w = zip::ZipWriter::new(f);
        let stored = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        w.start_file("main_entry.txt", stored).unwrap();
        w.write_all(b"dumpstate.txt").unwrap();
        w.start_file("dumpstate.txt", stored).unwrap();
        w.write_all(&dump).unwrap();
        w.finish().unwrap();
    }
    let mut bytes = std::fs::read(&zip).unwrap();
    replace_all(&mut bytes, b"MARKER", b"MARKEX");
    std::fs::write(&zip, &bytes).unwrap();
    let log = EvidenceLog::new();
    let b = Arc::new(Bugreport::open(&zip, log.clone(), ArchiveLimits::default()).unwrap());
    let results = run_all(&modules::bugreport_modules(&b));
    let (_, out, appops) = results.iter().find(|r| r.0 == "dumpsys_appops").unwrap();
    assert!(out.is_ok(), "{out:?}");
    assert_eq!(appops.records.len(), 12);
    let problems = log.problems();
    assert!(
        problems
            .iter()
            .any(|p| p.message.contains("CRC-32") && p.file.as_deref() == Some("dumpstate.txt")),
        "{problems:?}"
    );
}
