//! Backup passwords: from a file, stdin, the environment or a no-echo prompt. Never from the
//! command line (it would be in the shell history and `ps`), never logged, zeroized.

use anyhow::{Context, Result, bail};
use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use zeroize::Zeroizing;

/// The environment variable a password may come from.
pub const ENV_PASSWORD: &str = "BRIDLE_BACKUP_PASSWORD";

/// Where a password may come from, as the user said.
#[derive(Debug, Clone, Default)]
pub struct PasswordSource {
    /// `--password-file`.
    pub file: Option<PathBuf>,
    /// `--password-stdin`.
    pub stdin: bool,
}

impl PasswordSource {
    /// The password given without asking (file, stdin, environment), if any. A trailing
    /// newline is removed (files and pipes usually end with one); nothing else is.
    pub fn given(&self) -> Result<Option<Zeroizing<String>>> {
        if let Some(path) = &self.file {
            let bytes = Zeroizing::new(
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
            );
            return Ok(Some(text(&bytes)?));
        }
        if self.stdin {
            let mut bytes = Zeroizing::new(Vec::new());
            std::io::stdin()
                .read_to_end(&mut bytes)
                .context("reading the password from stdin")?;
            return Ok(Some(text(&bytes)?));
        }
        if let Some(v) = std::env::var_os(ENV_PASSWORD) {
            let Some(v) = v.to_str() else {
                bail!("{ENV_PASSWORD} is not valid UTF-8");
            };
            return Ok(Some(Zeroizing::new(v.to_owned())));
        }
        Ok(None)
    }

    /// The password: given, or asked for on the terminal (no echo) when there is one.
    pub fn get_or_prompt(&self, what: &str) -> Result<Option<Zeroizing<String>>> {
        if let Some(p) = self.given()? {
            return Ok(Some(p));
        }
        if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
            let p = rpassword::prompt_password(format!("Password for {what}: "))
                .context("reading the password from the terminal")?;
            return Ok(Some(Zeroizing::new(p)));
        }
        Ok(None)
    }
}

fn text(bytes: &[u8]) -> Result<Zeroizing<String>> {
    let s = std::str::from_utf8(bytes).context("the password is not valid UTF-8")?;
    let s = s.strip_suffix('\n').unwrap_or(s);
    let s = s.strip_suffix('\r').unwrap_or(s);
    Ok(Zeroizing::new(s.to_owned()))
}
