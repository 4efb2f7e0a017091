//! `dumpsys adb`: the computers trusted for USB debugging. With an AndroidQF acquisition's
//! own host key, MVT's checks flag keys that are not the acquiring computer's.

use super::{DumpsysOrigin, with_section};
use crate::context::AcquisitionContext;
use crate::parsers::adb::{AdbKey, AdbState, is_valid_key, key_material, parse};
use bridle_model::{
    Heuristic, Level, ModuleError, ModuleOutcome, ProblemKind, Record, Sink, Source, Timestamp,
};

dumpsys_module!(
    DumpsysAdbState,
    "dumpsys_adb_state",
    "DumpsysADBState",
    "aqf_dumpsys_adb_state",
    "AQFDumpsysADBState",
    "Trusted ADB debugging hosts and their keys (dumpsys adb)"
);

/// Most bytes of the adb section read (it is small; a binary keystore is a few KiB).
const MAX_ADB_SECTION: usize = 16 << 20;

/// MVT's checks of the trusted keys against the acquiring computer's key.
pub fn adb_heuristics(state: &AdbState, ctx: &AcquisitionContext) -> Vec<Heuristic> {
    let acquisition_key = ctx
        .adb_host_public_key
        .as_deref()
        .map(key_material)
        .filter(|k| is_valid_key(k))
        .unwrap_or_default();
    let cutoff = ctx
        .started_at()
        .and_then(|t| t.unix_micros().checked_sub(86_400 * 1_000_000))
        .and_then(Timestamp::from_unix_micros);
    let mut out = Vec::new();
    for k in state.trusted_keys() {
        let key = key_material(&k.key);
        let description = describe(k);
        let last = k.last_connected_time();
        let h = if !is_valid_key(key) {
            Heuristic::new(
                Level::Low,
                format!("Found an invalid trusted ADB host key: {description}"),
            )
        } else if acquisition_key.is_empty() {
            Heuristic::new(
                Level::Low,
                format!(
                    "Found a trusted ADB host key, but the AndroidQF acquisition does not include its host key: {description}"
                ),
            )
        } else if key != acquisition_key {
            Heuristic::new(
                Level::Low,
                format!(
                    "Found a trusted ADB host key different from the AndroidQF acquisition host: {description}"
                ),
            )
        } else if let (Some(c), Some(l)) = (cutoff, last)
            && l <= c
        {
            Heuristic::new(
                Level::Informational,
                format!(
                    "Found a trusted ADB host key last connected at least one day before the AndroidQF acquisition: {description}"
                ),
            )
        } else {
            continue;
        };
        out.push(h.at(last));
    }
    out
}

fn describe(k: &AdbKey) -> String {
    let fp = if k.fingerprint.is_empty() {
        "<unknown key>"
    } else {
        &k.fingerprint
    };
    let user = if k.user.is_empty() {
        "unknown user"
    } else {
        &k.user
    };
    format!("{fp} ({user})")
}

fn run(origin: &DumpsysOrigin, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    let context = origin.context();
    with_section(origin, "adb", sink, |ds, lines, sink, problems| {
        let mut content: Vec<u8> = Vec::new();
        let mut first = true;
        while let Some(raw) = lines.next_raw() {
            if content.len() + raw.len() > MAX_ADB_SECTION {
                problems.push(ds.files().problem(
                    ProblemKind::Partial,
                    ds.member(),
                    "adb section over 16 MiB; the rest is not read",
                ));
                break;
            }
            if !first {
                content.push(b'\n');
            }
            first = false;
            content.extend_from_slice(&raw);
        }
        match parse(&content) {
            Ok(state) => {
                let mut r = Record::new(Source::row(ds.file(), "dumpsys adb", 0));
                if let Some(ctx) = &context {
                    for h in adb_heuristics(&state, ctx) {
                        r.alert(h);
                    }
                }
                r.data = state.json;
                sink.record(r);
            }
            Err(why) => problems.push(ds.files().problem(
                ProblemKind::Partial,
                ds.member(),
                format!("adb section: {why}"),
            )),
        }
    })
}
