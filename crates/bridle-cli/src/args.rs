//! Command-line arguments. Plain data: `main` turns them into validated configurations.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Checks phone acquisitions for traces of mercenary spyware, against public STIX2
/// indicators and with forensic heuristics.
///
/// Exit codes: 0 = checked, nothing found; 1 = an indicator matched or a HIGH/CRITICAL alert was
/// raised; 2 = could not check (bad arguments, unreadable or encrypted acquisition, or part of
/// the acquisition could not be read and nothing was found in the rest).
#[derive(Debug, Parser)]
#[command(name = "bridle", version, max_term_width = 100)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check an acquisition: iOS backup (encrypted too), filesystem dump, sysdiagnose archive,
    /// AndroidQF, bugreport or Android .ab backup (the kind is detected).
    Check(CheckArgs),
    /// Re-check the results of an earlier check against the current indicators, without the
    /// evidence; writes to RESULTS_DIR/rechecks/ and marks the alerts that are new.
    Recheck(RecheckArgs),
    /// Cases: checks recorded in a database (SQLite by default, or PostgreSQL), re-checked
    /// together when new indicators are published.
    #[command(subcommand)]
    Case(CaseCommand),
    /// Verify a results folder against its manifest (and the evidence, and a signature).
    Verify(VerifyArgs),
    /// Make an ed25519 key pair for signing results (--sign) and verifying them.
    Keygen(KeygenArgs),
    /// Scan files and folders for zero-click exploit files (FORCEDENTRY, BLASTPASS,
    /// TRIANGULATION, CVE-2025-43300, CVE-2025-21043, LANDFALL), recognised by content.
    Scan(ScanArgs),
    /// Decrypt an encrypted iOS backup into a folder (as a plain backup, or with readable
    /// paths), or an Android `.ab` backup into a plain tar file.
    Decrypt(DecryptArgs),
    /// iOS tools.
    #[command(subcommand)]
    Ios(IosCommand),
    /// Manage indicator files.
    #[command(subcommand)]
    Iocs(IocsCommand),
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// Where indicators come from.
#[derive(Debug, Clone, Args)]
pub struct IocArgs {
    /// A STIX2 file or a folder of them (`.stix2`, `.json`); repeatable. Also read:
    /// BRIDLE_IOCS (colon-separated) and the folder `bridle iocs update` fills.
    #[arg(short = 'i', long = "iocs", value_name = "PATH")]
    pub iocs: Vec<PathBuf>,
    /// Use only the indicators given with --iocs (ignore BRIDLE_IOCS and the updated set).
    #[arg(long)]
    pub only_given_iocs: bool,
}

/// Where a backup password comes from. There is deliberately no `--password VALUE`: a
/// password on the command line ends up in shell histories and process lists.
#[derive(Debug, Clone, Default, Args)]
pub struct PasswordArgs {
    /// Read the backup password from this file (a trailing newline is ignored).
    #[arg(long, value_name = "FILE", conflicts_with = "password_stdin")]
    pub password_file: Option<PathBuf>,
    /// Read the backup password from standard input.
    #[arg(long)]
    pub password_stdin: bool,
}

impl PasswordArgs {
    /// As the library-facing source.
    pub fn source(&self) -> crate::secrets::PasswordSource {
        crate::secrets::PasswordSource {
            file: self.password_file.clone(),
            stdin: self.password_stdin,
        }
    }
}

/// `bridle check`.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// The acquisition: an iOS backup folder (or the folder holding exactly one backup), an
    /// iOS filesystem dump folder, an unpacked sysdiagnose folder, an AndroidQF folder, zip or
    /// .zip.age, an Android bugreport zip or folder, an Android backup (.ab or unpacked), or a
    /// folder or zip of Android intrusion logs.
    #[arg(required_unless_present = "list_modules")]
    pub path: Option<PathBuf>,
    /// Indicators.
    #[command(flatten)]
    pub iocs: IocArgs,
    /// Write results to this folder (created if missing; refused inside the evidence).
    /// Without it, only the summary is printed.
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Run only this module (repeatable); see --list-modules.
    #[arg(short, long = "module", value_name = "NAME")]
    pub modules: Vec<String>,
    /// Do not run this module (repeatable), e.g. `exploit_files` to skip the exploit-file
    /// scan of attachment stores.
    #[arg(long = "skip-module", value_name = "NAME")]
    pub skip_modules: Vec<String>,
    /// List the modules for the acquisition kind and exit.
    #[arg(long)]
    pub list_modules: bool,
    /// Filesystem dumps: skip the slowest checks, as MVT's --fast (path components as process
    /// names, the search for process binaries missing from the dump).
    #[arg(long)]
    pub fast: bool,
    /// Backup password sources (encrypted iOS backups and Android `.ab` files).
    #[command(flatten)]
    pub password: PasswordArgs,
    /// The derived key of an encrypted iOS backup (64 hex digits, as `bridle ios extract-key`
    /// writes it), instead of the password: skips the slow key derivation.
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// The age identity (private key) file of an encrypted AndroidQF acquisition (`.zip.age`).
    #[arg(long, value_name = "FILE")]
    pub age_identity: Option<PathBuf>,
    /// The device's time zone (IANA name, e.g. Europe/Rome) for intrusion logs, whose times
    /// have no zone. AndroidQF acquisitions take it from the device's properties.
    #[arg(long, value_name = "ZONE")]
    pub timezone: Option<String>,
    /// Worker threads (default: the number of CPUs).
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Print only errors and the final verdict line.
    #[arg(short, long)]
    pub quiet: bool,
    /// Do not draw progress bars (they are drawn only on a terminal anyway).
    #[arg(long)]
    pub no_progress: bool,
    /// Record this check in a case (created if needed): the acquisition, its observables,
    /// alerts and the run, for `bridle case recheck`.
    #[arg(long, value_name = "NAME")]
    pub case: Option<String>,
    /// Store for --case.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Signing.
    #[command(flatten)]
    pub sign: SignArgs,
}

/// Where cases are stored.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// The case store: a PostgreSQL URL (`postgres://user@host/db`) or the path of a SQLite
    /// file. Default: cases.db in bridle's user data folder (or BRIDLE_STORE).
    #[arg(long, value_name = "URL|FILE", env = "BRIDLE_STORE")]
    pub store: Option<String>,
}

/// Signing the results.
#[derive(Debug, Clone, Args)]
pub struct SignArgs {
    /// Sign the results' manifest with this ed25519 secret key (see `bridle keygen`); the
    /// signature is written to bridle-manifest.sig.
    #[arg(long, value_name = "KEY")]
    pub sign: Option<PathBuf>,
}

/// `bridle recheck`.
#[derive(Debug, Clone, Args)]
pub struct RecheckArgs {
    /// The output folder of an earlier `bridle check`.
    pub results: PathBuf,
    /// Indicators.
    #[command(flatten)]
    pub iocs: IocArgs,
    /// Write the re-check here instead of RESULTS_DIR/rechecks/<sequence>-<time>/.
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Worker threads (default: the number of CPUs).
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Signing.
    #[command(flatten)]
    pub sign: SignArgs,
    /// Print only errors and the final verdict line.
    #[arg(short, long)]
    pub quiet: bool,
}

/// `bridle case ...`.
#[derive(Debug, Subcommand)]
pub enum CaseCommand {
    /// List the cases.
    List {
        /// Store.
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Show a case: its devices, runs and latest alerts.
    Show {
        /// The case.
        name: String,
        /// Store.
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Re-check every device of a case (or of all cases) against the current indicators.
    Recheck {
        /// The case.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        name: Option<String>,
        /// Every case.
        #[arg(long)]
        all: bool,
        /// Indicators.
        #[command(flatten)]
        iocs: IocArgs,
        /// Store.
        #[command(flatten)]
        store: StoreArgs,
        /// Print only errors and the final verdict line.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Record the results folder of an earlier check in a case.
    Import {
        /// The case (created if needed).
        name: String,
        /// The output folder of `bridle check`.
        results: PathBuf,
        /// Store.
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// `bridle verify`.
#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// A results folder (its re-checks are verified too).
    pub results: PathBuf,
    /// Also re-hash the evidence files listed in info.json, under this acquisition.
    #[arg(long, value_name = "PATH")]
    pub evidence: Option<PathBuf>,
    /// Check the manifest signature (bridle-manifest.sig) with this ed25519 public key.
    #[arg(long, value_name = "PUB")]
    pub verify_signature: Option<PathBuf>,
}

/// `bridle keygen`.
#[derive(Debug, Clone, Args)]
pub struct KeygenArgs {
    /// Where to write the secret key (PKCS#8 PEM, readable by you only); the public key goes
    /// to the same path plus `.pub`.
    #[arg(short, long, value_name = "FILE")]
    pub out: PathBuf,
}

/// `bridle scan`.
#[derive(Debug, Clone, Args)]
pub struct ScanArgs {
    /// Files or folders (searched recursively; symbolic links are not followed).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// One JSON object per file on stdout instead of a table.
    #[arg(long)]
    pub json: bool,
    /// List every file scanned, not only those with findings, notes or errors.
    #[arg(long)]
    pub all: bool,
    /// Worker threads (default: the number of CPUs).
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Largest file scanned, in MiB (larger files are reported as not scanned).
    #[arg(long, value_name = "MIB", default_value_t = 512)]
    pub max_file_mib: u64,
    /// Print only findings and the verdict line.
    #[arg(short, long)]
    pub quiet: bool,
    /// Do not draw a progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

/// How `bridle decrypt` lays out an iOS backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LayoutArg {
    /// A plain backup (`xx/<fileID>`, decrypted Manifest.db) that MVT and bridle read.
    Backup,
    /// Readable `<domain>/<relativePath>` folders.
    Tree,
}

/// `bridle decrypt`.
#[derive(Debug, Clone, Args)]
pub struct DecryptArgs {
    /// The encrypted backup: an iOS backup folder or an Android `.ab` file.
    pub backup: PathBuf,
    /// Where to write: a new or empty folder (iOS) or a new `.tar` file (Android).
    #[arg(short, long, value_name = "PATH")]
    pub output: PathBuf,
    /// iOS: the layout of the decrypted files.
    #[arg(long, value_enum, default_value_t = LayoutArg::Backup)]
    pub layout: LayoutArg,
    /// Password sources.
    #[command(flatten)]
    pub password: PasswordArgs,
    /// iOS: the derived key file instead of the password.
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
}

/// `bridle ios ...`.
#[derive(Debug, Subcommand)]
pub enum IosCommand {
    /// Derive the key of an encrypted backup from its password (the slow step) and print it,
    /// or write it to a file, for later use with --key-file. The key decrypts the backup:
    /// keep it as safe as the password.
    ExtractKey {
        /// The encrypted backup folder.
        backup: PathBuf,
        /// Write the key to this new file (created with owner-only permissions) instead of
        /// printing it.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Password sources.
        #[command(flatten)]
        password: PasswordArgs,
    },
}

/// `bridle iocs ...`.
#[derive(Debug, Subcommand)]
pub enum IocsCommand {
    /// List indicator files, malware names and counts by type.
    List {
        /// Indicators.
        #[command(flatten)]
        iocs: IocArgs,
    },
    /// Download the indicator files listed in an indicators.yaml index, replacing the local set
    /// atomically (the old set is kept if anything fails).
    Update {
        /// The index: a file or an http(s) URL (default: the public mvt-indicators index).
        #[arg(long, value_name = "FILE|URL")]
        index: Option<String>,
        /// The folder to fill (default: bridle's user data folder).
        #[arg(long, value_name = "DIR")]
        dest: Option<PathBuf>,
    },
}
