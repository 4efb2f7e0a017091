//! `bridle check`: detect the acquisition, run its modules, write results, summarise.

use crate::args::CheckArgs;
use crate::{ExitCode, indicators, progress, seal, summary};
use anyhow::{Context, Result, bail};
use bridle_android::AndroidKind;
use bridle_engine::{Config, RunInfo};
use bridle_evidence::{EvidenceLog, Limits, Root};
use bridle_ios::{Ios, OpenError};
use bridle_model::{Module, ModuleInfo};
use std::path::Path;
use std::sync::Arc;

/// The kinds of acquisition `check` recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    IosBackup,
    IosFs,
    IosSysdiagnose,
    /// A `.tar`, `.tar.gz` or `.zip` holding an iOS dump, sysdiagnose or backup.
    IosArchive,
    Android(AndroidKind),
}

/// Every kind, for `--list-modules` without an acquisition.
const ALL_KINDS: [Kind; 7] = [
    Kind::IosBackup,
    Kind::IosFs,
    Kind::IosSysdiagnose,
    Kind::Android(AndroidKind::AndroidQf),
    Kind::Android(AndroidKind::Bugreport),
    Kind::Android(AndroidKind::Backup),
    Kind::Android(AndroidKind::IntrusionLogs),
];

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::IosBackup => "ios_backup",
            Kind::IosFs => "ios_fs",
            Kind::IosSysdiagnose => "ios_sysdiagnose",
            Kind::IosArchive => "ios_archive",
            Kind::Android(k) => k.as_str(),
        }
    }

    fn module_infos(self) -> Vec<ModuleInfo> {
        use bridle_android::modules as a;
        match self {
            Kind::IosBackup => bridle_ios::modules::backup_module_infos(),
            Kind::IosFs => bridle_ios::modules::fs_module_infos(),
            Kind::IosSysdiagnose => bridle_ios::modules::sysdiagnose_module_infos(),
            Kind::IosArchive => Vec::new(),
            Kind::Android(AndroidKind::AndroidQf | AndroidKind::AndroidQfAge) => {
                a::androidqf_module_infos()
            }
            Kind::Android(AndroidKind::Bugreport) => a::bugreport_module_infos(),
            Kind::Android(AndroidKind::Backup | AndroidKind::BackupFolder) => {
                a::backup_module_infos()
            }
            Kind::Android(AndroidKind::IntrusionLogs) => a::intrusion_log_module_infos(),
        }
    }
}

fn detect(path: &Path) -> Result<Kind> {
    if !path.exists() {
        bail!("{}: no such file or folder", path.display());
    }
    if path.is_dir() && bridle_ios::find_backup_root(path).is_ok() {
        return Ok(Kind::IosBackup);
    }
    if path.is_dir() && bridle_ios::find_dump_root(path).is_some() {
        return Ok(Kind::IosFs);
    }
    if path.is_dir() && bridle_ios::find_sysdiagnose_root(path).is_some() {
        return Ok(Kind::IosSysdiagnose);
    }
    if let Some(k) = bridle_android::detect(path) {
        return Ok(Kind::Android(k));
    }
    if path.is_file() && is_archive(path) {
        return Ok(Kind::IosArchive);
    }
    bail!(
        "{}: not a recognised acquisition. bridle check reads iOS backups (a folder with \
         Info.plist and Manifest.db, or the folder holding exactly one), iOS filesystem dumps \
         (a folder holding private/var), unpacked sysdiagnose folders, AndroidQF acquisitions \
         (folder, zip, .zip.age), Android bugreports (zip or folder), Android backups (.ab or \
         unpacked) and Android intrusion logs",
        path.display()
    )
}

/// Whether a file starts like a gzip, tar or zip archive.
fn is_archive(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 512];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    let head = head.get(..n).unwrap_or_default();
    head.starts_with(&[0x1f, 0x8b])
        || head.starts_with(b"PK\x03\x04")
        || head.get(257..262) == Some(b"ustar".as_slice())
}

fn print_modules(infos: &[ModuleInfo]) {
    for m in infos {
        println!("{:<34} {}", m.slug, m.description);
    }
}

pub fn run(args: &CheckArgs) -> Result<ExitCode> {
    let Some(path) = args.path.as_deref() else {
        // --list-modules without a path: every module of every kind.
        for kind in ALL_KINDS {
            println!("{}:", kind.as_str());
            print_modules(&kind.module_infos());
        }
        return Ok(ExitCode::Clean);
    };
    let kind = detect(path)?;
    if args.list_modules {
        print_modules(&kind.module_infos());
        return Ok(ExitCode::Clean);
    }

    let evidence_root = Root::new(path).with_context(|| format!("{}", path.display()))?;
    if let Some(out) = &args.output {
        let out_abs = std::path::absolute(out).unwrap_or_else(|_| out.clone());
        if evidence_root.is_inside(&out_abs) {
            bail!(
                "{}: the output folder is inside the evidence; choose a folder outside {}",
                out.display(),
                path.display()
            );
        }
        if out.is_dir()
            && std::fs::read_dir(out)
                .map(|mut d| d.next().is_some())
                .unwrap_or(false)
        {
            bail!(
                "{}: the output folder is not empty; give a new or empty folder so results of \
                 different runs are never mixed",
                out.display()
            );
        }
    }

    if args.sign.sign.is_some() && args.output.is_none() {
        bail!("--sign needs --output: it signs the results folder's manifest");
    }
    // A wrong key should fail before the check, not after it.
    if let Some(key) = &args.sign.sign {
        bridle_report::sign::load_secret(key)?;
    }

    // The case store is opened before the check: a store that is down or refuses us fails
    // now, not after an hour of work.
    let mut store = match &args.case {
        Some(_) => Some(super::case::open(&args.store)?),
        None => None,
    };
    // --case without --output: the results go through a temporary folder into the store.
    let scratch = match (&args.output, &args.case) {
        (None, Some(_)) => Some(
            tempfile::Builder::new()
                .prefix("bridle-case-")
                .tempdir()
                .context("cannot make a temporary results folder")?,
        ),
        _ => None,
    };
    let output = args
        .output
        .clone()
        .or_else(|| scratch.as_ref().map(|d| d.path().join("results")));

    let loaded = indicators::load(&args.iocs)?;
    if !args.quiet {
        for p in &loaded.problems {
            eprintln!("warning: indicator not used: {p}");
        }
    }

    let log = EvidenceLog::new();
    let modules: Vec<Box<dyn Module>> = match kind {
        Kind::IosBackup => {
            let ios = match Ios::open_backup(path, log.clone(), Limits::default()) {
                Ok(ios) => ios,
                Err(e @ OpenError::Encrypted { .. }) => {
                    let Some(key) = super::ios_key(args.key_file.as_deref(), &args.password, path)?
                    else {
                        eprintln!(
                            "error: {e}\n  give the password with --password-file, --password-stdin or \
                             BRIDLE_BACKUP_PASSWORD (or run on a terminal to be asked), or a key with --key-file"
                        );
                        return Ok(ExitCode::CouldNotCheck);
                    };
                    match Ios::open_backup_with(path, log.clone(), Limits::default(), Some(key)) {
                        Ok(ios) => ios,
                        Err(e @ OpenError::Unlock { .. }) => {
                            eprintln!("error: {e}");
                            return Ok(ExitCode::CouldNotCheck);
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
                Err(e) => return Err(e.into()),
            };
            bridle_ios::modules::backup_modules(&Arc::new(ios))
        }
        Kind::IosFs => {
            let ios = Ios::open_fs(path, log.clone(), Limits::default())?.with_fast(args.fast);
            bridle_ios::modules::fs_modules(&Arc::new(ios))
        }
        Kind::IosSysdiagnose => {
            let ios = Ios::open_sysdiagnose(path, log.clone(), Limits::default())?;
            bridle_ios::modules::sysdiagnose_modules(&Arc::new(ios))
        }
        Kind::IosArchive => {
            let ios = Ios::open_archive(
                path,
                log.clone(),
                Limits::default(),
                bridle_evidence::archive::ArchiveLimits::default(),
            )?
            .with_fast(args.fast);
            let ios = Arc::new(ios);
            match ios.kind() {
                bridle_ios::IosKind::Backup => bridle_ios::modules::backup_modules(&ios),
                bridle_ios::IosKind::FileSystem => bridle_ios::modules::fs_modules(&ios),
                bridle_ios::IosKind::Sysdiagnose => bridle_ios::modules::sysdiagnose_modules(&ios),
            }
        }
        Kind::Android(k) => match android_modules(k, path, &log, args)? {
            Some(m) => m,
            None => return Ok(ExitCode::CouldNotCheck),
        },
    };
    let modules = select(modules, &args.modules, &args.skip_modules)?;

    let info = RunInfo {
        bridle_version: env!("CARGO_PKG_VERSION").to_owned(),
        command_line: super::command_line(),
        acquisition_kind: kind.as_str().to_owned(),
        acquisition_path: path.display().to_string(),
        indicator_files: loaded.files(),
        indicator_problems: loaded.problem_texts(),
        started_at: now(),
    };
    let config = Config {
        output: output.clone(),
        jobs: args.jobs.unwrap_or_else(|| Config::default().jobs).max(1),
        ..Config::default()
    };
    let bar = progress::Bar::new(modules.len(), !args.quiet && !args.no_progress);
    let matcher = indicators::EngineMatcher(&loaded.matcher);
    let files = || (log.files(), log.problems());
    let result = bridle_engine::run(modules, &matcher, &config, &info, &files, &bar);
    bar.finish();
    let mut summary = result?;
    // What is left is writing the report and the manifest: free what the run needed.
    summary.release_records();
    let indicator_count = loaded.set().len();
    drop(loaded);
    let sealed = match &output {
        Some(out) => Some(seal::seal(out, args.sign.sign.as_deref())?),
        None => None,
    };
    let recorded = match (&mut store, &args.case, &output) {
        (Some(store), Some(name), Some(out)) => {
            Some(super::case::record(store, name, out, args.quiet))
        }
        _ => None,
    };

    if !args.quiet {
        eprint!(
            "{}",
            summary::render(&summary, indicator_count, args.output.as_deref())
        );
    }
    if !args.quiet
        && let Some(fp) = sealed.as_ref().and_then(|s| s.fingerprint.as_ref())
    {
        eprintln!("Signed with key {fp}.");
    }
    eprintln!("{}", summary::verdict(&summary));
    if let Some(Err(e)) = recorded {
        return Err(e);
    }
    Ok(if summary.has_findings() {
        ExitCode::Findings
    } else if summary.is_incomplete() {
        ExitCode::CouldNotCheck
    } else {
        ExitCode::Clean
    })
}

/// Opens an Android acquisition and lists its modules; `None` when it cannot be checked
/// (encrypted without a key), after saying why.
fn android_modules(
    kind: AndroidKind,
    path: &Path,
    log: &EvidenceLog,
    args: &CheckArgs,
) -> Result<Option<Vec<Box<dyn Module>>>> {
    use bridle_android::modules as a;
    let limits = bridle_evidence::archive::ArchiveLimits::default();
    let password = args.password.source();
    let refused = |e: &bridle_android::OpenError| {
        eprintln!("error: {e}");
        Ok(None)
    };
    Ok(Some(match kind {
        AndroidKind::AndroidQf | AndroidKind::AndroidQfAge => {
            let options = bridle_android::OpenOptions {
                limits,
                age_identity: args.age_identity.clone(),
                backup_password: password.given()?,
            };
            match bridle_android::AndroidQf::open(path, log.clone(), &options) {
                Ok(q) => a::androidqf_modules(&Arc::new(q)),
                Err(e @ bridle_android::OpenError::AgeIdentityNeeded { .. }) => return refused(&e),
                Err(e) => return Err(e.into()),
            }
        }
        AndroidKind::Bugreport => a::bugreport_modules(&Arc::new(bridle_android::Bugreport::open(
            path,
            log.clone(),
            limits,
        )?)),
        AndroidKind::Backup | AndroidKind::BackupFolder => {
            let pw = if bridle_android::backup::is_encrypted_file(path) {
                password.get_or_prompt(&path.display().to_string())?
            } else {
                password.given()?
            };
            a::backup_modules(&Arc::new(bridle_android::Backup::open(
                path,
                log.clone(),
                pw,
                limits,
            )?))
        }
        AndroidKind::IntrusionLogs => {
            let tz = args
                .timezone
                .as_deref()
                .map(bridle_android::tz::DeviceTz::from_name)
                .unwrap_or_default();
            a::intrusion_log_modules(&Arc::new(bridle_android::IntrusionLogs::open(
                path,
                log.clone(),
                tz,
                limits,
            )?))
        }
    }))
}

/// Keeps the modules named with --module (all when none) minus those named with
/// --skip-module, refusing unknown names.
fn select(
    modules: Vec<Box<dyn Module>>,
    names: &[String],
    skip: &[String],
) -> Result<Vec<Box<dyn Module>>> {
    let known: Vec<&str> = modules.iter().map(|m| m.info().slug).collect();
    for n in names.iter().chain(skip) {
        if !known.contains(&n.as_str()) {
            bail!("unknown module `{n}`; known: {}", known.join(", "));
        }
    }
    Ok(modules
        .into_iter()
        .filter(|m| names.is_empty() || names.iter().any(|n| n == m.info().slug))
        .filter(|m| !skip.iter().any(|n| n == m.info().slug))
        .collect())
}

fn now() -> String {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_micros()).ok());
    micros
        .and_then(bridle_model::Timestamp::from_unix_micros)
        .map(bridle_model::Timestamp::to_rfc3339)
        .unwrap_or_default()
}
