//! `bridle decrypt` and `bridle ios extract-key`.

use crate::ExitCode;
use crate::args::{DecryptArgs, IosCommand, LayoutArg};
use anyhow::{Context, Result, bail};
use bridle_ios::encrypted::{Layout, UnlockFailure};
use std::io::Write;

pub fn run(args: &DecryptArgs) -> Result<ExitCode> {
    if bridle_android::backup::is_ab_file(&args.backup) {
        return android(args);
    }
    if args.output.exists()
        && std::fs::read_dir(&args.output)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        bail!("{}: give a new or empty folder", args.output.display());
    }
    let Some(key) = super::ios_key(args.key_file.as_deref(), &args.password, &args.backup)? else {
        bail!(
            "a password is needed: --password-file, --password-stdin, BRIDLE_BACKUP_PASSWORD, a terminal prompt, or --key-file"
        );
    };
    let layout = match args.layout {
        LayoutArg::Backup => Layout::Backup,
        LayoutArg::Tree => Layout::Tree,
    };
    let report =
        match bridle_ios::encrypted::decrypt_backup(&args.backup, key, &args.output, layout) {
            Ok(r) => r,
            Err(bridle_ios::encrypted::DecryptBackupError::Open(
                e @ bridle_ios::OpenError::Unlock { .. },
            )) => {
                eprintln!("error: {e}");
                return Ok(ExitCode::CouldNotCheck);
            }
            Err(e) => return Err(e.into()),
        };
    eprintln!(
        "Decrypted {} files ({} bytes) into {}; {} listed in Manifest.db are not in the backup.",
        report.files,
        report.bytes,
        args.output.display(),
        report.absent
    );
    for (name, why) in &report.failed {
        eprintln!(
            "  not decrypted: {}: {why}",
            bridle_model::sanitize::for_terminal(name)
        );
    }
    Ok(if report.failed.is_empty() {
        ExitCode::Clean
    } else {
        ExitCode::CouldNotCheck
    })
}

fn android(args: &DecryptArgs) -> Result<ExitCode> {
    if args.output.exists() {
        bail!(
            "{}: already exists; give a new file name",
            args.output.display()
        );
    }
    let password = args
        .password
        .source()
        .get_or_prompt(&args.backup.display().to_string())?;
    let file = std::fs::File::open(&args.backup)
        .with_context(|| format!("opening {}", args.backup.display()))?;
    let (_, mut tar) =
        match bridle_android::backup::open_ab(std::io::BufReader::new(file), password.as_ref()) {
            Ok(x) => x,
            Err(e) => {
                eprintln!("error: {}: {e}", args.backup.display());
                return Ok(ExitCode::CouldNotCheck);
            }
        };
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&args.output)
        .with_context(|| format!("creating {}", args.output.display()))?;
    let n = std::io::copy(&mut tar, &mut out).with_context(|| {
        format!(
            "decrypting {} into {}",
            args.backup.display(),
            args.output.display()
        )
    })?;
    out.flush()?;
    eprintln!("Wrote {n} bytes of tar to {}.", args.output.display());
    Ok(ExitCode::Clean)
}

pub fn ios(cmd: IosCommand) -> Result<ExitCode> {
    match cmd {
        IosCommand::ExtractKey {
            backup,
            output,
            password,
        } => {
            let root = bridle_ios::find_backup_root(&backup)?;
            let plist = std::fs::read(root.join("Manifest.plist"))
                .with_context(|| format!("{}: no Manifest.plist", root.display()))?;
            let Some(pw) = password
                .source()
                .get_or_prompt(&format!("the encrypted backup {}", backup.display()))?
            else {
                bail!(
                    "a password is needed: --password-file, --password-stdin, BRIDLE_BACKUP_PASSWORD or a terminal prompt"
                );
            };
            let key = match bridle_ios::encrypted::derive_key(&plist, &pw) {
                Ok(k) => k,
                Err(e @ UnlockFailure::WrongPassword) => {
                    eprintln!("error: {}: {e}", backup.display());
                    return Ok(ExitCode::CouldNotCheck);
                }
                Err(e) => bail!("{}: {e}", backup.display()),
            };
            match output {
                Some(path) => {
                    let mut opts = std::fs::OpenOptions::new();
                    opts.write(true).create_new(true);
                    #[cfg(unix)]
                    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
                    let mut f = opts.open(&path).with_context(|| {
                        format!("creating {} (it must not exist)", path.display())
                    })?;
                    f.write_all(key.as_bytes())?;
                    f.write_all(b"\n")?;
                    eprintln!(
                        "Key written to {}. It decrypts the backup: keep it safe.",
                        path.display()
                    );
                }
                None => println!("{}", key.as_str()),
            }
            Ok(ExitCode::Clean)
        }
    }
}
