//! Intrusion logs: DNS lookups, with the app that made them and the addresses returned.

use super::LogsOrigin;
use super::intrusion_common::{event_time, logs_or_missing, report_walk};
use crate::py;
use bridle_model::{
    ModuleError, ModuleOutcome, Observable, ObservableKind, Record, Sink, Source, TimelineEvent,
};
use serde_json::{Value, json};

android_module!(
    DnsEvent,
    LogsOrigin,
    "dns_event",
    "DnsEvent",
    "DNS lookups in Android intrusion logs: host names, addresses, apps"
);

/// An address as MVT shows it (leading `/` stripped); `None` for `0.0.0.0` and blanks.
fn clean_ip(v: &Value) -> Option<String> {
    let s = match v {
        Value::String(s) => s.trim_start_matches('/').to_owned(),
        other => py::str_of(other),
    };
    (!s.is_empty() && s != "0.0.0.0").then_some(s)
}

fn run(origin: &LogsOrigin, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    let logs = match logs_or_missing(origin)? {
        Ok(l) => l,
        Err(missing) => return Ok(missing),
    };
    let tz = logs.tz().clone();
    let mut problems = Vec::new();
    let stats = logs.walk("dns_event", &mut problems, |ev| {
        let mut data = ev.data;
        let t = event_time(data.get("event_time"), 1_000);
        data.insert(
            "timestamp".into(),
            json!(t.map(bridle_model::Timestamp::to_mvt)),
        );
        let host = data.get("hostname").map(py::str_of).unwrap_or_default();
        let package = data.get("package_name").map(py::str_of).unwrap_or_default();
        let ips: Vec<String> = match data.get("ip_addresses") {
            Some(Value::Array(a)) => a.iter().filter_map(clean_ip).collect(),
            _ => Vec::new(),
        };
        let mut r = Record::new(Source::row(ev.file, "intrusion log", ev.line));
        r.observe(Observable::new(
            ObservableKind::Domain,
            host.clone(),
            "hostname",
        ));
        for ip in &ips {
            r.observe(Observable::new(
                ObservableKind::Ip,
                ip.clone(),
                "ip_addresses",
            ));
        }
        r.observe(Observable::new(
            ObservableKind::AppId,
            package.clone(),
            "package_name",
        ));
        let text = if ips.is_empty() {
            format!("DNS query for {host} by {package}")
        } else {
            format!(
                "DNS query for {host} by {package} [IPs: {}]",
                ips.join(", ")
            )
        };
        r.event(TimelineEvent::new(t, "dns_query", text));
        data.insert("device_timezone".into(), tz.json());
        r.data = data;
        sink.record(r);
    });
    report_walk(&stats, true, &mut problems);
    for p in problems {
        sink.problem(p);
    }
    Ok(ModuleOutcome::Done)
}
