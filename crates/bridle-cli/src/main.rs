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

/// Tunes glibc's allocator before any thread starts. By default each worker thread gets its
/// own arena, which keeps what is freed, and large buffers move from mmap into the heap after
/// the first is freed: a small check then peaked at over twice its live heap. Two arenas (one per worker thread on a two-core machine; one made checks slower) and
/// fixed mmap and trim thresholds keep peak memory near the live heap, at no measured cost in
/// time (docs/benchmarks.md). `MALLOC_*` environment variables, if set, still take effect:
/// glibc reads them before this runs, and a value set here is only the default.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_allocator() {
    const SET_BY_ENV: [&str; 3] = [
        "MALLOC_ARENA_MAX",
        "MALLOC_MMAP_THRESHOLD_",
        "MALLOC_TRIM_THRESHOLD_",
    ];
    let settings = [
        (libc::M_ARENA_MAX, 2),
        (libc::M_MMAP_THRESHOLD, 256 * 1024),
        (libc::M_TRIM_THRESHOLD, 1024 * 1024),
    ];
    for (name, (param, value)) in SET_BY_ENV.iter().zip(settings) {
        if std::env::var_os(name).is_none() {
            // SAFETY: mallopt only sets allocator parameters; it is called from the main
            // thread before any other thread exists, and takes plain integers.
            #[allow(unsafe_code)]
            unsafe {
                libc::mallopt(param, value);
            }
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_allocator() {}

fn main() -> ProcessExit {
    tune_allocator();
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
