//! Facts about the acquisition itself that modules use: AndroidQF's `acquisition.json`
//! and ADB host key, and the reference time for "how old is this" heuristics.

use crate::files::Files;
use bridle_model::Timestamp;
use serde_json::Value;

/// Most bytes read from acquisition.json or adb_host_key.pub.
const MAX_CONTEXT_BYTES: u64 = 1 << 20;

/// What AndroidQF recorded about the acquisition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AcquisitionContext {
    /// `started` (RFC 3339), when the acquisition began.
    pub started: Option<String>,
    /// The public key of the computer that made the acquisition over ADB.
    pub adb_host_public_key: Option<String>,
}

impl AcquisitionContext {
    /// Reads `acquisition.json` (or, failing a host key there, `adb_host_key.pub`) from an
    /// AndroidQF tree, the first of each by name at any depth.
    pub fn read(files: &Files) -> AcquisitionContext {
        let mut ctx = AcquisitionContext::default();
        let named = |base: &str| -> Vec<String> {
            files
                .tree()
                .files()
                .filter(|e| crate::files::basename(&e.name) == base)
                .map(|e| e.name.clone())
                .collect()
        };
        for name in named("acquisition.json") {
            let Ok((bytes, _)) = files.read(&name, MAX_CONTEXT_BYTES) else {
                continue;
            };
            if let Ok(Value::Object(m)) = serde_json::from_slice::<Value>(&bytes) {
                ctx.started = m.get("started").and_then(Value::as_str).map(str::to_owned);
                ctx.adb_host_public_key = m
                    .get("adb_host_public_key")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                break;
            }
        }
        if ctx.adb_host_public_key.as_deref().is_none_or(str::is_empty) {
            for name in named("adb_host_key.pub") {
                if let Ok((bytes, _)) = files.read(&name, MAX_CONTEXT_BYTES)
                    && let Ok(s) = String::from_utf8(bytes)
                {
                    ctx.adb_host_public_key = Some(s);
                    break;
                }
            }
        }
        ctx
    }

    /// When the acquisition started.
    pub fn started_at(&self) -> Option<Timestamp> {
        let s = self.started.as_deref()?;
        let ts: jiff::Timestamp = s.trim().parse().ok().or_else(|| {
            let dt = crate::tz::parse_civil(s)?;
            jiff::tz::TimeZone::UTC.to_timestamp(dt).ok()
        })?;
        Timestamp::from_unix_micros(ts.as_microsecond())
    }
}
