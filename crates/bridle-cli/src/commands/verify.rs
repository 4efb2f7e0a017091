//! `bridle verify`: is a results folder still what its run wrote, is the evidence still what
//! the run read, and is the manifest signed by the expected key?
//!
//! Exit codes: 0 everything matches; 1 something changed (a file missing, truncated,
//! modified or extra; a signature that does not verify); 2 could not verify (no manifest).

use crate::ExitCode;
use crate::args::VerifyArgs;
use anyhow::{Context, Result};
use bridle_engine::manifest::{self, Change, FileChange, SIGNATURE_FILE};
use bridle_engine::results::{self, ReadError};
use bridle_model::sanitize::for_terminal;
use ed25519_dalek::VerifyingKey;
use std::path::{Path, PathBuf};

#[derive(Default)]
struct Outcome {
    changed: bool,
    could_not: bool,
}

pub fn run(args: &VerifyArgs) -> Result<ExitCode> {
    let key = args
        .verify_signature
        .as_deref()
        .map(bridle_report::sign::load_public)
        .transpose()?;
    if !args.results.is_dir() {
        anyhow::bail!("{}: not a folder", args.results.display());
    }
    let mut outcome = Outcome::default();
    let mut folders = vec![args.results.clone()];
    folders.extend(bridle_engine::recheck::rechecks(&args.results));
    for dir in &folders {
        verify_folder(dir, key.as_ref(), &mut outcome);
    }
    if let Some(evidence) = &args.evidence {
        verify_evidence(&args.results, evidence, &mut outcome)?;
    } else {
        println!("evidence: not checked (give --evidence PATH to re-hash it)");
    }
    Ok(if outcome.changed {
        println!("CHANGED: the results or the evidence are not what the run recorded (see above).");
        ExitCode::Findings
    } else if outcome.could_not {
        println!("INCOMPLETE: part of the results could not be verified (see above).");
        ExitCode::CouldNotCheck
    } else {
        println!("OK: every file matches what the run recorded.");
        ExitCode::Clean
    })
}

fn print_change(c: &FileChange) {
    let path = for_terminal(&c.path);
    match &c.change {
        Change::Missing => println!("  MISSING    {path}"),
        Change::Truncated {
            expected_size,
            actual_size,
        } => println!(
            "  TRUNCATED  {path} (was {expected_size} bytes, now {actual_size}: cut short, or \
             shortened by an edit)"
        ),
        Change::Modified {
            expected_size,
            actual_size,
            expected_sha256,
            actual_sha256,
        } => println!(
            "  MODIFIED   {path} (was {expected_size} bytes sha256 {expected_sha256}, now \
             {actual_size} bytes sha256 {actual_sha256})"
        ),
        Change::Extra { size } => {
            println!("  EXTRA      {path} ({size} bytes, not in the manifest)")
        }
        Change::Unreadable { why } => println!("  UNREADABLE {path} ({})", for_terminal(why)),
    }
}

fn verify_folder(dir: &Path, key: Option<&VerifyingKey>, outcome: &mut Outcome) {
    println!("{}:", dir.display());
    let (bytes, changes) = match manifest::verify(dir) {
        Ok(v) => v,
        Err(ReadError::Missing { .. }) => {
            println!(
                "  no {}: this folder cannot be verified (an unfinished run, or files copied \
                 without it)",
                manifest::MANIFEST_FILE
            );
            outcome.could_not = true;
            return;
        }
        Err(e) => {
            println!("  {}", for_terminal(&e.to_string()));
            outcome.could_not = true;
            return;
        }
    };
    if changes.is_empty() {
        println!("  all files match {}", manifest::MANIFEST_FILE);
    } else {
        outcome.changed = true;
        for c in &changes {
            print_change(c);
        }
    }
    let signed = dir.join(SIGNATURE_FILE).is_file();
    match (key, signed) {
        (Some(key), true) => match bridle_report::sign::verify_manifest(dir, &bytes, key) {
            Ok(()) => println!(
                "  signature valid (key {})",
                bridle_report::sign::fingerprint(key)
            ),
            Err(e) => {
                println!("  SIGNATURE INVALID: {e}");
                outcome.changed = true;
            }
        },
        (Some(_), false) => {
            println!("  NOT SIGNED: there is no {SIGNATURE_FILE}");
            outcome.changed = true;
        }
        (None, true) => println!(
            "  signed ({SIGNATURE_FILE}); give --verify-signature PUB to check the signature"
        ),
        (None, false) => {}
    }
}

/// The folder the evidence paths of info.json are relative to.
fn evidence_root(evidence: &Path, kind: &str) -> PathBuf {
    let found = match kind {
        "ios_backup" => bridle_ios::find_backup_root(evidence).ok(),
        "ios_fs" => bridle_ios::find_dump_root(evidence),
        _ => None,
    };
    found.unwrap_or_else(|| evidence.to_owned())
}

fn verify_evidence(results: &Path, evidence: &Path, outcome: &mut Outcome) -> Result<()> {
    println!("evidence {}:", evidence.display());
    let (info, _) = results::read_json::<serde_json::Value>(&results.join("info.json"))
        .context("cannot list the evidence files")?;
    let kind = info
        .get("acquisition_kind")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("");
    let root = evidence_root(evidence, kind);
    let files = info
        .get("evidence_files")
        .and_then(serde_json::Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut checked = 0usize;
    for file in &files {
        let field = |name: &str| file.get(name).and_then(serde_json::Value::as_str);
        let (Some(stored), Some(sha256)) = (field("stored_path"), field("sha256")) else {
            println!("  info.json lists an evidence file without stored_path or sha256");
            outcome.could_not = true;
            continue;
        };
        let size = file
            .get("size")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0);
        let unsafe_path = stored.starts_with('/')
            || stored.contains('\\')
            || stored.split('/').any(|c| c == "..");
        let change = if unsafe_path {
            Some(Change::Unreadable {
                why: "info.json names a path outside the acquisition".into(),
            })
        } else {
            manifest::check_file(&root.join(stored), size, sha256)
        };
        checked += 1;
        if let Some(change) = change {
            outcome.changed = true;
            let logical = field("logical_path").unwrap_or(stored);
            print_change(&FileChange {
                path: format!("{logical} ({stored})"),
                change,
            });
        }
    }
    println!(
        "  {checked} evidence files re-hashed under {}",
        root.display()
    );
    Ok(())
}
