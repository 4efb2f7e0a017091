//! Tombstones: native crash records, text or protobuf. Exploits that crash a process (a
//! media codec, adbd) leave them.

use super::DumpsysOrigin;
use super::aqf_log_timestamps::member_mtime;
use crate::files::basename;
use crate::parsers::tombstone::{Crash, parse_protobuf, parse_text};
use bridle_model::{
    Heuristic, Level, ModuleError, ModuleOutcome, Observable, ObservableKind, ProblemKind, Record,
    Sink, Source, TimelineEvent, Timestamp,
};

android_module!(
    Tombstones,
    DumpsysOrigin,
    "tombstones",
    "Tombstones",
    "Native crashes (tombstones, text and protobuf)"
);

/// Largest tombstone read.
const MAX_TOMBSTONE: u64 = 64 << 20;
/// Crashes of processes running as root, system or shell deserve a look.
const SUSPICIOUS_UIDS: [i64; 3] = [0, 1000, 2000];

fn crash_record(c: &Crash, source: Source, tz: &crate::tz::DeviceTz) -> Record {
    let mut r = Record::new(source);
    let process = c.process_name.clone().unwrap_or_else(|| "None".into());
    let shown_time = c.timestamp.map(Timestamp::to_mvt).unwrap_or_default();
    r.event(TimelineEvent::new(
        c.timestamp,
        "Tombstone",
        format!(
            "Crash in '{process}' process running as UID '{}' in file '{}' Crash type '{}' with code '{}'",
            c.uid, c.file_name, c.signal_info.name, c.signal_info.code_name
        ),
    ));
    if let Some(p) = &c.process_name {
        r.observe(Observable::new(
            ObservableKind::Process,
            p.clone(),
            "process_name",
        ));
    }
    if let Some(first) = c.command_line.as_ref().and_then(|l| l.first()) {
        r.observe(Observable::new(
            ObservableKind::Process,
            basename(first),
            "command_line",
        ));
    }
    if let Some(b) = &c.binary_path {
        r.observe(Observable::new(
            ObservableKind::FilePath,
            b.clone(),
            "binary_path",
        ));
    }
    if SUSPICIOUS_UIDS.contains(&c.uid) {
        r.alert(Heuristic::new(
            Level::Medium,
            format!(
                "Potentially suspicious crash in process '{process}' running as UID '{}' in tombstone '{}' at {shown_time}",
                c.uid, c.file_name
            ),
        ));
    }
    r.data = c.json(tz);
    r
}

fn run(origin: &DumpsysOrigin, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    let Some(b) = origin.bugreport()? else {
        return Ok(origin.missing());
    };
    let tz = b.tz();
    let files = b.files();
    let mut members: Vec<_> = files
        .tree()
        .glob("*/tombstone_*")
        .into_iter()
        .filter(|e| e.is_file())
        .collect();
    if members.is_empty() {
        return Ok(ModuleOutcome::NotFound(
            "no tombstone files in this bugreport".into(),
        ));
    }
    members.sort_by(|a, b| a.name.cmp(&b.name));
    for e in members {
        let (bytes, file) = match files.read(&e.name, MAX_TOMBSTONE) {
            Ok(x) => x,
            Err(err) => {
                sink.problem(files.problem(ProblemKind::Unreadable, &e.name, err.to_string()));
                continue;
            }
        };
        let file_name = basename(&e.name);
        let mtime = member_mtime(e, &tz);
        let parsed = if e.name.ends_with(".pb") {
            parse_protobuf(file_name, mtime, &bytes, &tz)
        } else {
            parse_text(file_name, mtime, &String::from_utf8_lossy(&bytes), &tz)
        };
        match parsed {
            Ok(c) => sink.record(crash_record(&c, Source::file(&file), &tz)),
            Err(why) => sink.problem(files.problem(ProblemKind::Unreadable, &e.name, why)),
        }
    }
    Ok(ModuleOutcome::Done)
}
