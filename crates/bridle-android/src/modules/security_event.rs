//! Intrusion logs: Android security events (`SecurityLog` tags): adb shell use, app starts,
//! package installs, certificate installs, failed crypto checks...

use super::LogsOrigin;
use super::intrusion_common::{event_time, logs_or_missing, report_walk};
use crate::py;
use bridle_model::{
    Heuristic, Level, ModuleError, ModuleOutcome, Observable, ObservableKind, Record, Sink, Source,
    TimelineEvent, Timestamp,
};
use serde_json::{Map, Value, json};

android_module!(
    SecurityEvent,
    LogsOrigin,
    "security_event",
    "SecurityEvent",
    "Security events in Android intrusion logs: adb, app starts, installs, certificates, crypto failures"
);

/// Keys of a security event that are not its tag.
const METADATA_KEYS: [&str; 5] = [
    "event_id",
    "event_time",
    "event_type",
    "timestamp",
    "device_timezone",
];

/// The 46 `SecurityLog` tags and their display names.
pub const TAGS: [(&str, &str); 46] = [
    ("adb_shell_interactive", "ADB Shell Interactive"),
    ("adb_shell_cmd", "ADB Shell Command"),
    ("adb_sync_recv_file", "ADB Sync Recv File"),
    ("adb_sync_send_file", "ADB Sync Send File"),
    ("app_process_start", "App Process Start"),
    ("keyguard_dismissed", "Keyguard Dismissed"),
    (
        "keyguard_dismiss_auth_attempt",
        "Keyguard Dismiss Auth Attempt",
    ),
    ("keyguard_secured", "Keyguard Secured"),
    ("os_startup", "OS Startup"),
    ("os_shutdown", "OS Shutdown"),
    ("logging_started", "Logging Started"),
    ("logging_stopped", "Logging Stopped"),
    ("media_mount", "Media Mount"),
    ("media_unmount", "Media Unmount"),
    ("log_buffer_size_critical", "Log Buffer Size Critical"),
    ("password_expiration_set", "Password Expiration Set"),
    ("password_complexity_set", "Password Complexity Set"),
    ("password_history_length_set", "Password History Length Set"),
    ("max_screen_lock_timeout_set", "Max Screen Lock Timeout Set"),
    ("max_password_attempts_set", "Max Password Attempts Set"),
    (
        "keyguard_disabled_features_set",
        "Keyguard Disabled Features Set",
    ),
    ("remote_lock", "Remote Lock"),
    ("wipe_failure", "Wipe Failure"),
    ("key_generated", "Key Generated"),
    ("key_import", "Key Import"),
    ("key_destruction", "Key Destruction"),
    ("user_restriction_added", "User Restriction Added"),
    ("user_restriction_removed", "User Restriction Removed"),
    (
        "cert_authority_installed",
        "Certificate Authority Installed",
    ),
    ("cert_authority_removed", "Certificate Authority Removed"),
    ("crypto_self_test_completed", "Crypto Self Test Completed"),
    ("key_integrity_violation", "Key Integrity Violation"),
    ("cert_validation_failure", "Certificate Validation Failure"),
    ("camera_policy_set", "Camera Policy Set"),
    (
        "password_complexity_required",
        "Password Complexity Required",
    ),
    ("password_changed", "Password Changed"),
    ("wifi_connection", "WiFi Connection"),
    ("wifi_disconnection", "WiFi Disconnection"),
    ("bluetooth_connection", "Bluetooth Connection"),
    ("bluetooth_disconnection", "Bluetooth Disconnection"),
    ("package_installed", "Package Installed"),
    ("package_updated", "Package Updated"),
    ("package_uninstalled", "Package Uninstalled"),
    ("backup_service_toggled", "Backup Service Toggled"),
    ("nfc_enabled", "NFC Enabled"),
    ("nfc_disabled", "NFC Disabled"),
];

/// Python truthiness of a JSON value.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// `info.get(key, default)` as shown by an f-string.
fn get(info: &Value, key: &str, default: &str) -> String {
    info.get(key).map_or_else(|| default.to_owned(), py::str_of)
}

/// `info.get(key, default)` as a truth value.
fn flag(info: &Value, key: &str, default: bool) -> bool {
    info.get(key).map_or(default, truthy)
}

/// The event's tag: its first key that is not metadata.
pub fn tag_of(data: &Map<String, Value>) -> Option<&str> {
    data.keys()
        .map(String::as_str)
        .find(|k| !METADATA_KEYS.contains(k))
}

/// MVT's timeline text for a tagged event.
pub fn describe(tag: &str, info: &Value) -> String {
    let g = |k: &str| get(info, k, "");
    let ok = |k: &str| flag(info, k, false);
    match tag {
        "adb_shell_interactive" => "ADB interactive shell opened".into(),
        "adb_shell_cmd" => format!("ADB shell command: {}", g("command")),
        "adb_sync_recv_file" => format!("File pulled via ADB: {}", g("path")),
        "adb_sync_send_file" => format!("File pushed via ADB: {}", g("path")),
        "app_process_start" => format!(
            "Process started: {} (UID: {}, PID: {})",
            g("process"),
            g("uid"),
            g("pid")
        ),
        "keyguard_dismiss_auth_attempt" => format!(
            "Auth attempt: {} (method strength: {})",
            if ok("success") { "Success" } else { "Failed" },
            get(info, "method_strength", "0")
        ),
        "keyguard_dismissed" => "Keyguard dismissed".into(),
        "keyguard_secured" => "Device locked".into(),
        "keyguard_disabled_features_set" => {
            format!(
                "Keyguard features disabled by {}: {}",
                g("admin_package"),
                g("disabled_features")
            )
        }
        "key_generated" => format!(
            "Key {}: {} (UID: {})",
            if ok("success") {
                "generated"
            } else {
                "generation failed"
            },
            get(info, "key_id", "unknown"),
            g("uid")
        ),
        "key_destruction" => format!(
            "Key {}: {} (UID: {})",
            if ok("success") {
                "destroyed"
            } else {
                "destruction failed"
            },
            get(info, "key_id", "unknown"),
            g("uid")
        ),
        "key_import" => format!(
            "Key {}: {}",
            if ok("success") {
                "imported"
            } else {
                "import failed"
            },
            get(info, "key_id", "unknown")
        ),
        "key_integrity_violation" => format!(
            "Key integrity violation: {}",
            get(info, "key_id", "unknown")
        ),
        "cert_authority_installed" => format!(
            "Cert {}: {}",
            if ok("success") {
                "installed"
            } else {
                "install failed"
            },
            get(info, "subject", "unknown")
        ),
        "cert_authority_removed" => format!(
            "Cert {}: {}",
            if ok("success") {
                "removed"
            } else {
                "removal failed"
            },
            get(info, "subject", "unknown")
        ),
        "cert_validation_failure" => {
            format!("Certificate validation failure: {}", py::str_of(info))
        }
        "crypto_self_test_completed" => {
            let success = match info {
                Value::Object(_) => ok("success"),
                other => is_one(other),
            };
            format!(
                "Crypto self test: {}",
                if success { "passed" } else { "FAILED" }
            )
        }
        "package_installed" | "package_updated" | "package_uninstalled" => {
            let action = tag.trim_start_matches("package_");
            let mut title = action.to_owned();
            if let Some(first) = title.get_mut(..1) {
                first.make_ascii_uppercase();
            }
            format!(
                "Package {title}: {} (v{}, user: {})",
                g("package_name"),
                g("version_code"),
                g("user_id")
            )
        }
        "os_startup" => format!(
            "OS startup (verified boot: {}, dm-verity: {})",
            g("verified_boot_state"),
            g("dm_verity_mode")
        ),
        "os_shutdown" => "OS shutdown".into(),
        "logging_started" => "Audit logging started".into(),
        "logging_stopped" => "Audit logging stopped".into(),
        "log_buffer_size_critical" => "Log buffer at 90% capacity".into(),
        "media_mount" => format!(
            "Media mounted: {} ({})",
            g("mount_point"),
            g("volume_label")
        ),
        "media_unmount" => format!(
            "Media unmounted: {} ({})",
            g("mount_point"),
            g("volume_label")
        ),
        "password_expiration_set" => format!(
            "Password expiration set by {}: {}ms",
            g("admin_package"),
            g("timeout_ms")
        ),
        "password_complexity_set" => format!("Password complexity set by {}", g("admin_package")),
        "password_complexity_required" => {
            format!(
                "Password complexity required by {}: {}",
                g("admin_package"),
                g("complexity")
            )
        }
        "password_history_length_set" => format!(
            "Password history length set by {}: {}",
            g("admin_package"),
            g("length")
        ),
        "password_changed" => format!(
            "Password changed (complexity: {}, user: {})",
            g("complexity"),
            g("user_id")
        ),
        "max_screen_lock_timeout_set" => {
            format!(
                "Max screen lock timeout set by {}: {}ms",
                g("admin_package"),
                g("timeout_ms")
            )
        }
        "max_password_attempts_set" => {
            format!(
                "Max password attempts set by {}: {}",
                g("admin_package"),
                g("max_attempts")
            )
        }
        "remote_lock" => format!("Device remotely locked by {}", g("admin_package")),
        "wipe_failure" => "Device wipe failed".into(),
        "user_restriction_added" => format!(
            "User restriction added by {}: {}",
            g("admin_package"),
            g("restriction")
        ),
        "user_restriction_removed" => {
            format!(
                "User restriction removed by {}: {}",
                g("admin_package"),
                g("restriction")
            )
        }
        "wifi_connection" => {
            let mut s = format!(
                "WiFi connection: {} (BSSID: {})",
                g("event_type"),
                g("bssid")
            );
            if flag(info, "reason", false) {
                s.push_str(&format!(" - {}", g("reason")));
            }
            s
        }
        "wifi_disconnection" => {
            let mut s = format!("WiFi disconnection (BSSID: {})", g("bssid"));
            if flag(info, "reason", false) {
                s.push_str(&format!(" - {}", g("reason")));
            }
            s
        }
        "bluetooth_connection" => {
            let mut s = format!(
                "Bluetooth {}: {}",
                if ok("success") {
                    "connected"
                } else {
                    "connection failed"
                },
                g("mac_address")
            );
            if flag(info, "reason", false) {
                s.push_str(&format!(" - {}", g("reason")));
            }
            s
        }
        "bluetooth_disconnection" => {
            let mut s = format!("Bluetooth disconnected: {}", g("mac_address"));
            if flag(info, "reason", false) {
                s.push_str(&format!(" - {}", g("reason")));
            }
            s
        }
        "camera_policy_set" => format!(
            "Camera {} by {}",
            if ok("disabled") {
                "disabled"
            } else {
                "enabled"
            },
            g("admin_package")
        ),
        "backup_service_toggled" => format!(
            "Backup service {} by {}",
            if ok("enabled") { "enabled" } else { "disabled" },
            g("admin_package")
        ),
        "nfc_enabled" => "NFC enabled".into(),
        "nfc_disabled" => "NFC disabled".into(),
        other => match TAGS.iter().find(|(t, _)| *t == other) {
            Some((_, name)) => format!("{name}: {}", py::str_of(info)),
            None => format!("{other}: {}", py::str_of(info)),
        },
    }
}

/// Python's `x == 1` for a JSON value (`True == 1` too).
fn is_one(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() == Some(1.0),
        _ => false,
    }
}

/// MVT's heuristics on a security event (they run whatever the indicators).
pub fn security_heuristics(data: &Map<String, Value>, t: Option<Timestamp>) -> Vec<Heuristic> {
    let mut out = Vec::new();
    let mut medium = |m: String| out.push(Heuristic::new(Level::Medium, m).at(t));
    if let Some(v) = data.get("cert_validation_failure") {
        medium(format!(
            "Certificate validation failure detected: {}",
            py::str_of(v)
        ));
    }
    if let Some(v) = data.get("key_integrity_violation") {
        medium(format!(
            "Key integrity violation detected: {}",
            py::str_of(v)
        ));
    }
    if let Some(info) = data.get("cert_authority_installed")
        && flag(info, "success", true)
    {
        medium(format!(
            "Certificate authority installed: {}",
            get(info, "subject", "unknown")
        ));
    }
    if data.contains_key("wipe_failure") {
        medium("Device wipe failure detected".into());
    }
    if let Some(info) = data.get("crypto_self_test_completed") {
        let success = match info {
            Value::Object(_) => flag(info, "success", true),
            other => is_one(other),
        };
        if !success {
            medium("Cryptographic self test failed".into());
        }
    }
    out
}

fn observe(r: &mut Record, data: &Map<String, Value>) {
    let field = |ev: &str, k: &str| {
        data.get(ev)
            .and_then(|i| i.get(k))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let process = field("app_process_start", "process");
    if !process.is_empty() {
        r.observe(Observable::new(
            ObservableKind::AppId,
            process.clone(),
            "app_process_start.process",
        ));
        for part in process.split(':').skip(1).filter(|p| !p.is_empty()) {
            r.observe(Observable::new(
                ObservableKind::AppId,
                part,
                "app_process_start.process",
            ));
        }
    }
    for ev in [
        "package_installed",
        "package_updated",
        "package_uninstalled",
    ] {
        r.observe(Observable::new(
            ObservableKind::AppId,
            field(ev, "package_name"),
            "package_name",
        ));
    }
    r.observe(Observable::new(
        ObservableKind::AppId,
        field("adb_shell_cmd", "command"),
        "adb_shell_cmd.command",
    ));
    for ev in ["adb_sync_recv_file", "adb_sync_send_file"] {
        r.observe(Observable::new(
            ObservableKind::FilePath,
            field(ev, "path"),
            "path",
        ));
    }
}

fn run(origin: &LogsOrigin, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    let logs = match logs_or_missing(origin)? {
        Ok(l) => l,
        Err(missing) => return Ok(missing),
    };
    let tz = logs.tz().clone();
    let mut problems = Vec::new();
    let stats = logs.walk("security_event", &mut problems, |ev| {
        let mut data = ev.data;
        let t = event_time(data.get("event_time"), 1_000_000_000);
        data.insert("timestamp".into(), json!(t.map(Timestamp::to_mvt)));
        let mut r = Record::new(Source::row(ev.file, "intrusion log", ev.line));
        let (event, text) = match tag_of(&data) {
            Some(tag) => {
                let info = data.get(tag).cloned().unwrap_or(Value::Null);
                (tag.to_owned(), describe(tag, &info))
            }
            None => ("unknown".to_owned(), py::repr(&Value::Object(data.clone()))),
        };
        r.event(TimelineEvent::new(t, event, text));
        for h in security_heuristics(&data, t) {
            r.alert(h);
        }
        observe(&mut r, &data);
        data.insert("device_timezone".into(), tz.json());
        r.data = data;
        sink.record(r);
    });
    report_walk(&stats, false, &mut problems);
    for p in problems {
        sink.problem(p);
    }
    Ok(ModuleOutcome::Done)
}
