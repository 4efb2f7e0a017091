//! Prints what each module produces on an acquisition: `cargo run -p bridle-android
//! --example dump_modules -- PATH [AGE_IDENTITY]` (set VERBOSE=1 for records and alerts).

use bridle_android::{
    AndroidKind, AndroidQf, Backup, Bugreport, IntrusionLogs, OpenOptions, detect, modules,
};
use bridle_evidence::EvidenceLog;
use bridle_model::{Heuristic, Problem, Record, Sink, VecSink};
use std::sync::Arc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(path) = std::env::args().nth(1).map(std::path::PathBuf::from) else {
        return Err("usage: dump_modules PATH [AGE_IDENTITY]".into());
    };
    let log = EvidenceLog::new();
    let opts = OpenOptions {
        age_identity: std::env::args().nth(2).map(Into::into),
        ..OpenOptions::default()
    };
    let kind = detect(&path);
    println!("kind: {kind:?}");
    let mods = match kind {
        Some(AndroidKind::AndroidQf | AndroidKind::AndroidQfAge) => {
            modules::androidqf_modules(&Arc::new(AndroidQf::open(&path, log.clone(), &opts)?))
        }
        Some(AndroidKind::Bugreport) => {
            modules::bugreport_modules(&Arc::new(Bugreport::open(&path, log.clone(), opts.limits)?))
        }
        Some(AndroidKind::Backup | AndroidKind::BackupFolder) => modules::backup_modules(
            &Arc::new(Backup::open(&path, log.clone(), None, opts.limits)?),
        ),
        Some(AndroidKind::IntrusionLogs) => modules::intrusion_log_modules(&Arc::new(
            IntrusionLogs::open(&path, log.clone(), Default::default(), opts.limits)?,
        )),
        None => return Err(format!("{}: not an Android acquisition", path.display()).into()),
    };
    let verbose = std::env::var_os("VERBOSE").is_some();
    for m in mods {
        if !verbose {
            // Count only, keeping nothing: shows the modules' own memory use.
            let mut c = Counting::default();
            let out = m.run(&mut c);
            println!(
                "{:32} {:?} records={} timeline={} alerts={} problems={}",
                m.info().slug,
                out.as_ref().map(|_| ()).map_err(ToString::to_string),
                c.records,
                c.timeline,
                c.alerts,
                c.problems
            );
            continue;
        }
        let mut sink = VecSink::default();
        let out = m.run(&mut sink);
        println!(
            "{:32} {:?} records={} timeline={} alerts={} problems={}",
            m.info().slug,
            out.as_ref().map(|_| ()).map_err(ToString::to_string),
            sink.records.len(),
            sink.timeline().count(),
            sink.heuristics().count(),
            sink.problems.len()
        );
        {
            for r in sink.records.iter().take(3) {
                let s = serde_json::to_string(&r.data)?;
                println!("   {}", s.chars().take(300).collect::<String>());
            }
            for h in sink.heuristics().take(5) {
                println!("   ! {:?} {}", h.level, h.message);
            }
            for p in &sink.problems {
                println!("   ? {p:?}");
            }
        }
    }
    for p in log.problems() {
        println!("log problem: {p:?}");
    }
    println!("evidence files: {}", log.files().len());
    Ok(())
}

/// A sink that only counts.
#[derive(Default)]
struct Counting {
    records: u64,
    timeline: u64,
    alerts: u64,
    problems: u64,
}

impl Sink for Counting {
    fn record(&mut self, r: Record) {
        self.records += 1;
        self.timeline += r.timeline.len() as u64;
        self.alerts += r.heuristics.len() as u64;
    }
    fn alert(&mut self, _: Heuristic) {
        self.alerts += 1;
    }
    fn problem(&mut self, _: Problem) {
        self.problems += 1;
    }
}
