//! Intrusion logs: network connections, with the app that made them.

use super::LogsOrigin;
use super::intrusion_common::{event_time, logs_or_missing, report_walk};
use crate::py;
use bridle_model::{
    ModuleError, ModuleOutcome, Observable, ObservableKind, Record, Sink, Source, TimelineEvent,
};
use serde_json::json;

android_module!(
    ConnectEvent,
    LogsOrigin,
    "connect_event",
    "ConnectEvent",
    "Network connections in Android intrusion logs: addresses, ports, apps"
);

/// The address part of `host/addr` (MVT shows the part after the last `/`).
fn clean_ip(raw: &str) -> String {
    if raw.contains('/') {
        raw.rsplit('/').next().unwrap_or_default().to_owned()
    } else {
        raw.to_owned()
    }
}

fn run(origin: &LogsOrigin, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    let logs = match logs_or_missing(origin)? {
        Ok(l) => l,
        Err(missing) => return Ok(missing),
    };
    let tz = logs.tz().clone();
    let mut problems = Vec::new();
    let stats = logs.walk("connect_event", &mut problems, |ev| {
        let mut data = ev.data;
        let t = event_time(data.get("event_time"), 1_000);
        data.insert(
            "timestamp".into(),
            json!(t.map(bridle_model::Timestamp::to_mvt)),
        );
        let ip = clean_ip(&data.get("ip_address").map(py::str_of).unwrap_or_default());
        let port = data.get("port").map_or_else(|| "0".to_owned(), py::str_of);
        let package = data.get("package_name").map(py::str_of).unwrap_or_default();
        let mut r = Record::new(Source::row(ev.file, "intrusion log", ev.line));
        if !["::1", "127.0.0.1", "0.0.0.0"].contains(&ip.as_str()) {
            r.observe(Observable::new(
                ObservableKind::Ip,
                ip.clone(),
                "ip_address",
            ));
        }
        r.observe(Observable::new(
            ObservableKind::AppId,
            package.clone(),
            "package_name",
        ));
        r.event(TimelineEvent::new(
            t,
            "network_connection",
            format!("Connection to {ip}:{port} by {package}"),
        ));
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
