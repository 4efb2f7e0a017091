//! One module per command.

mod check;
mod iocs;
mod scan;

use crate::ExitCode;
use crate::args::{Cli, Command};

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Iocs(cmd) => iocs::run(cmd),
        Command::Scan(args) => scan::run(&args),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "bridle", &mut std::io::stdout());
            Ok(ExitCode::Clean)
        }
    }
}

/// The command line for info.json. bridle never takes a secret as an argument (passwords
/// come from a file, stdin, the environment or a prompt), so nothing needs hiding; this is the
/// one place to do it if that ever changes.
pub fn command_line() -> Vec<String> {
    std::env::args().collect()
}
