//! `bridle`: a thin command line over the bridle libraries.
//!
//! Flags are parsed by clap (`args.rs`), turned into the libraries' configurations in each
//! command module, and every command returns an [`ExitCode`]. Errors are reported once, here,
//! with their chain of causes.

mod args;
mod commands;
mod indicators;
mod progress;
mod seal;
mod secrets;
mod summary;

use clap::Parser;

use std::process::ExitCode as ProcessExit;

/// bridle's exit statuses (DESIGN.md promise 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Checked, nothing found.
    Clean = 0,
    /// An indicator matched, or a HIGH/CRITICAL alert.
    Findings = 1,
    /// Could not check (bad arguments, unreadable or encrypted acquisition, or part of it
    /// unreadable while the rest showed nothing).
    CouldNotCheck = 2,
}

fn main() -> ProcessExit {
    // clap exits with 2 on bad arguments, which is our "could not check" too.
    let cli = args::Cli::parse();
    init_logging();
    let code = match commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            // A closed pipe (`bridle ... | head`) is not an error.
            if err.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ProcessExit::from(0);
            }
            eprintln!("error: {err}");
            for cause in err.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::CouldNotCheck
        }
    };
    ProcessExit::from(code as u8)
}

/// Diagnostics go to stderr, filtered by `BRIDLE_LOG` (e.g. `BRIDLE_LOG=debug`); warnings by
/// default. Results never go through the logger.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("BRIDLE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
