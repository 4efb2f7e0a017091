//! `bridle iocs list|update`.

use crate::ExitCode;
use crate::args::IocsCommand;
use anyhow::{Context, Result};
use bridle_indicators::update::{IndexSource, UpdateOptions};
use bridle_model::sanitize::for_terminal;

pub fn run(cmd: IocsCommand) -> Result<ExitCode> {
    match cmd {
        IocsCommand::List { iocs } => {
            let loaded = crate::indicators::load(&iocs)?;
            let set = &loaded.set();
            for s in set.summaries() {
                println!("{}", s.file.path.display());
                println!("  sha256: {}", s.file.sha256);
                if !s.names.is_empty() {
                    let names: Vec<_> = s
                        .names
                        .iter()
                        .map(|n| for_terminal(n).into_owned())
                        .collect();
                    println!("  malware: {}", names.join(", "));
                }
                let counts: Vec<String> =
                    s.counts.iter().map(|(b, n)| format!("{b} {n}")).collect();
                println!("  indicators: {}", counts.join(", "));
            }
            let total: Vec<String> = set
                .counts()
                .iter()
                .map(|(b, n)| format!("{b} {n}"))
                .collect();
            println!(
                "{} files, {} indicators ({})",
                set.files().len(),
                set.len(),
                total.join(", ")
            );
            for p in &loaded.problems {
                eprintln!("warning: not used: {p}");
            }
            Ok(ExitCode::Clean)
        }
        IocsCommand::Update { index, dest } => {
            let index = index.as_deref().map(IndexSource::parse).unwrap_or_default();
            let dest = match dest {
                Some(d) => d,
                None => bridle_indicators::default_data_dir()
                    .context("no user data folder on this system; give --dest")?,
            };
            let report =
                bridle_indicators::update::update(&index, &dest, &UpdateOptions::default())
                    .context("indicator update failed; the previous indicators are unchanged")?;
            for f in &report.files {
                println!("{}  {} indicators  {}", f.sha256, f.indicators, f.file_name);
            }
            println!(
                "{} files installed in {}",
                report.files.len(),
                report.dest.display()
            );
            Ok(ExitCode::Clean)
        }
    }
}
