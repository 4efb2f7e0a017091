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
    /// Check an acquisition (iOS backup; the kind is detected).
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

/// `bridle check`.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// The acquisition: an iOS backup folder (or the folder holding exactly one backup).
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
    /// List the modules for the acquisition kind and exit.
    #[arg(long)]
    pub list_modules: bool,
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
