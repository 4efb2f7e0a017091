//! One module per command.

mod case;
mod check;
mod decrypt;
mod iocs;
mod keygen;
mod recheck;
mod scan;
mod verify;

use crate::ExitCode;
use crate::args::{Cli, Command};

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Recheck(args) => recheck::run(&args),
        Command::Case(cmd) => case::run(cmd),
        Command::Verify(args) => verify::run(&args),
        Command::Keygen(args) => keygen::run(&args),
        Command::Iocs(cmd) => iocs::run(cmd),
        Command::Scan(args) => scan::run(&args),
        Command::Decrypt(args) => decrypt::run(&args),
        Command::Ios(cmd) => decrypt::ios(cmd),
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

/// The current time, RFC 3339 UTC, for run metadata.
pub fn now() -> String {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_micros()).ok());
    micros
        .and_then(bridle_model::Timestamp::from_unix_micros)
        .map(bridle_model::Timestamp::to_rfc3339)
        .unwrap_or_default()
}

/// The key of an encrypted iOS backup: from `--key-file`, or the password (given, or asked on
/// a terminal). `None` when neither is available.
pub fn ios_key(
    key_file: Option<&std::path::Path>,
    password: &crate::args::PasswordArgs,
    backup: &std::path::Path,
) -> anyhow::Result<Option<bridle_ios::encrypted::BackupKey>> {
    use anyhow::Context;
    if let Some(f) = key_file {
        let text = zeroize::Zeroizing::new(
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?,
        );
        let key = bridle_crypto::ios::DerivedKey::from_hex(text.trim())
            .with_context(|| format!("{}: not a backup key", f.display()))?;
        return Ok(Some(bridle_ios::encrypted::BackupKey::Derived(key)));
    }
    Ok(password
        .source()
        .get_or_prompt(&format!("the encrypted backup {}", backup.display()))?
        .map(bridle_ios::encrypted::BackupKey::Password))
}
