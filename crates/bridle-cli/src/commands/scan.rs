//! `bridle scan`: the exploit-file detectors over files and folders.

use crate::ExitCode;
use crate::args::ScanArgs;
use anyhow::{Result, bail};
use bridle_exploits::{ScanError, ScanOptions, ScanReport};
use bridle_model::sanitize::for_terminal;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;

pub fn run(args: &ScanArgs) -> Result<ExitCode> {
    for p in &args.paths {
        if !p.exists() {
            bail!("{}: no such file or folder", p.display());
        }
    }
    let options = ScanOptions {
        max_file_size: args.max_file_mib.saturating_mul(1 << 20),
        ..ScanOptions::default()
    };
    let bar = if !args.quiet && !args.no_progress && std::io::stderr().is_terminal() {
        let b = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {pos} files  {wide_msg}")
        {
            b.set_style(style);
        }
        b
    } else {
        ProgressBar::hidden()
    };
    let tick = {
        let bar = bar.clone();
        Arc::new(move |_: &Path| bar.inc(1)) as bridle_exploits::Progress
    };
    let scan =
        bridle_exploits::scan_tree(&args.paths, &options, args.jobs.unwrap_or(0), Some(tick));

    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let (mut files, mut severe, mut medium, mut incomplete) = (0u64, 0u64, 0u64, 0u64);
    for (path, result) in scan {
        files += 1;
        match &result {
            Ok(r) => {
                if r.has_severe() {
                    severe += 1;
                } else if !r.findings.is_empty() {
                    medium += 1;
                }
                if !r.notes.is_empty() {
                    incomplete += 1;
                }
            }
            Err(_) => incomplete += 1,
        }
        let interesting = match &result {
            Ok(r) => !r.findings.is_empty() || !r.notes.is_empty(),
            Err(_) => true,
        };
        if args.json {
            serde_json::to_writer(&mut out, &json_line(&path, &result))?;
            out.write_all(b"\n")?;
        } else if interesting || args.all {
            bar.suspend(|| write_text(&mut out, &path, &result, args.quiet))?;
        }
    }
    out.flush()?;
    bar.finish_and_clear();
    if !args.quiet {
        eprintln!(
            "Scanned {files} files: {severe} with HIGH findings, {medium} with MEDIUM (malformed) findings only, {incomplete} not fully checked."
        );
    }
    Ok(if severe > 0 {
        eprintln!("FINDINGS: files match a known zero-click exploit condition.");
        ExitCode::Findings
    } else if incomplete > 0 {
        eprintln!("INCOMPLETE: nothing severe found, but some files could not be fully checked.");
        ExitCode::CouldNotCheck
    } else {
        eprintln!("NOTHING FOUND.");
        ExitCode::Clean
    })
}

fn write_text(
    out: &mut impl Write,
    path: &Path,
    result: &Result<ScanReport, ScanError>,
    quiet: bool,
) -> std::io::Result<()> {
    let p = path.to_string_lossy();
    let p = for_terminal(&p);
    match result {
        Err(e) => {
            if !quiet {
                writeln!(out, "{p}\n  not scanned: {}", for_terminal(&e.to_string()))?;
            }
        }
        Ok(r) => {
            if quiet && r.findings.is_empty() {
                return Ok(());
            }
            writeln!(out, "{p}  [{}, {} bytes]", r.format, r.size)?;
            for f in &r.findings {
                writeln!(
                    out,
                    "  {:<6} {} ({}) at offset {}: {}\n         in {}: {}",
                    f.level.as_str(),
                    f.threat.as_str(),
                    f.cves.join(", "),
                    f.offset,
                    for_terminal(&f.structure),
                    for_terminal(&f.container_path),
                    for_terminal(&f.message),
                )?;
            }
            if !quiet {
                for n in &r.notes {
                    writeln!(
                        out,
                        "  note   {} at offset {} in {}: {}",
                        n.kind.as_str(),
                        n.offset,
                        for_terminal(&n.container_path),
                        for_terminal(&n.message),
                    )?;
                }
            }
        }
    }
    Ok(())
}

/// The JSON line for one file (also used by `check` for its exploit records).
pub fn json_line(path: &Path, result: &Result<ScanReport, ScanError>) -> serde_json::Value {
    match result {
        Err(e) => serde_json::json!({
            "path": path.to_string_lossy(),
            "error": e.to_string(),
        }),
        Ok(r) => serde_json::json!({
            "path": path.to_string_lossy(),
            "format": r.format.as_str(),
            "size": r.size,
            "findings": r.findings.iter().map(bridle_exploits::pipeline::finding_json).collect::<Vec<_>>(),
            "notes": r.notes.iter().map(|n| serde_json::json!({
                "kind": n.kind.as_str(),
                "offset": n.offset,
                "container_path": n.container_path,
                "message": n.message,
            })).collect::<Vec<_>>(),
        }),
    }
}
