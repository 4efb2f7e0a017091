//! `report.html`: one self-contained file a person opens in any browser, offline.
//!
//! It is rendered from the files of a results folder, so a check and a re-check (whose
//! folder holds only its alerts, and points to the original run for the timeline and the
//! device) produce their reports the same way. Order: the verdict; the alerts with their
//! provenance and indicator; an interactive timeline; the device; what could not be checked;
//! the indicators used.
//!
//! Every device string goes through [`Dev`]; the timeline is embedded as JSON through
//! [`SafeJson`] and shown by the script with `textContent` only. A Content-Security-Policy
//! with the hashes of the inline style and script forbids everything else: no network, no
//! other script, even if a string escaped its escaping.

use crate::escape::{Dev, SafeJson};
use askama::Template;
use base64::Engine;
use bridle_engine::results::{self, ReadError};
use bridle_model::{Alert, Level, Timestamp};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::path::{Path, PathBuf};

/// The report's file name.
pub const REPORT_FILE: &str = "report.html";
/// Most timeline events embedded. Events near alerts come first; all are in timeline.csv.
pub const MAX_TIMELINE_ROWS: usize = 10_000;
/// Events within this many hours of an alert are kept first when the timeline is capped.
pub const WINDOW_HOURS: i64 = 6;
/// Longest description embedded per timeline event, in characters.
pub const MAX_EVENT_CHARS: usize = 2_000;
/// Longest record shown under an alert, in bytes of JSON.
pub const MAX_RECORD_BYTES: usize = 64 * 1024;
/// Most alerts shown in full. A noisy or hostile acquisition can raise tens of thousands
/// (one per file in a temporary folder, say): the report counts them all, shows the most
/// severe, and says that alerts.json has the rest, so it stays readable and its memory
/// bounded whatever alerts.json holds.
pub const MAX_REPORT_ALERTS: usize = 2_000;

const STYLE: &str = include_str!("../templates/report.css");
const SCRIPT: &str = include_str!("../templates/report.js");

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// A results file could not be read.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// Rendering failed.
    #[error("rendering the report: {0}")]
    Render(String),
    /// Writing failed.
    #[error("{}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// One alert as the report shows it.
struct AlertView {
    index: usize,
    level: &'static str,
    level_class: &'static str,
    module: Dev,
    message: Dev,
    new: bool,
    time: String,
    time_micros: String,
    provenance: Vec<(&'static str, Dev)>,
    indicator: Vec<(&'static str, Dev)>,
    record: Dev,
}

struct Row {
    label: &'static str,
    value: Dev,
}

struct ModuleRow {
    module: Dev,
    status: Dev,
    detail: Dev,
}

struct IndicatorFileRow {
    path: Dev,
    sha256: Dev,
    indicators: String,
}

#[derive(Template)]
#[template(path = "report.html", escape = "html")]
struct Page {
    csp: String,
    style: &'static str,
    script: &'static str,
    title: Dev,
    is_recheck: bool,
    headline: &'static str,
    verdict_class: &'static str,
    verdict_lines: Vec<Dev>,
    counts: Vec<(&'static str, &'static str, usize)>,
    malware: Vec<(Dev, usize)>,
    run: Vec<Row>,
    alerts: Vec<AlertView>,
    alerts_total: usize,
    alerts_note: String,
    device: Vec<(Dev, Dev)>,
    not_found: Vec<ModuleRow>,
    problems: Vec<ModuleRow>,
    modules_done: usize,
    modules_total: usize,
    indicator_files: Vec<IndicatorFileRow>,
    original_indicator_files: Vec<IndicatorFileRow>,
    indicator_problems: Vec<Dev>,
    timeline_note: Dev,
    timeline: SafeJson,
}

fn sha256_b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes()))
}

fn level_class(level: Level) -> &'static str {
    match level {
        Level::Critical => "critical",
        Level::High => "high",
        Level::Medium => "medium",
        Level::Low => "low",
        Level::Informational => "info",
    }
}

fn str_field<'a>(v: &'a serde_json::Value, name: &str) -> Option<&'a str> {
    v.get(name).and_then(serde_json::Value::as_str)
}

fn scalar(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The folder that holds the original run: the folder itself for a check; for a re-check,
/// `../..` when it sits in `rechecks/`, else the path its info.json names.
fn original_folder(dir: &Path, info: &serde_json::Value) -> Option<PathBuf> {
    if str_field(info, "kind") != Some("recheck") {
        return Some(dir.to_owned());
    }
    let original = info.get("original");
    let expected = original.and_then(|o| str_field(o, "info_sha256"));
    let candidates = [
        dir.parent().and_then(Path::parent).map(Path::to_owned),
        original
            .and_then(|o| str_field(o, "path"))
            .map(PathBuf::from),
    ];
    candidates.into_iter().flatten().find(|c| {
        let Ok(digest) = results::hash_file(&c.join("info.json")) else {
            return false;
        };
        expected.is_none_or(|e| e == digest.sha256)
    })
}

/// One embedded timeline row, a JSON array for compactness: `[micros or null, time text,
/// module, event, description, alert level or null, alert index or null]`.
type TimelineRowData = (
    Option<i64>,
    String,
    String,
    String,
    String,
    Option<&'static str>,
    Option<usize>,
);

#[derive(Serialize)]
struct TimelineData {
    rows: Vec<TimelineRowData>,
    total: u64,
    capped: bool,
}

fn alert_time(a: &Alert) -> Option<Timestamp> {
    a.event_time.or(a.provenance.record_time)
}

/// Reads timeline.csv, keeping at most [`MAX_TIMELINE_ROWS`] events, those near alerts first
/// ([`crate::timeline::select`]), and adds the dated alerts as rows of their own.
fn read_timeline(
    original: Option<&Path>,
    total: Option<u64>,
    alerts: &[Kept],
    notes: &mut Vec<String>,
) -> TimelineData {
    let mut data = TimelineData {
        rows: Vec::new(),
        total: total.unwrap_or(0),
        capped: false,
    };
    let times: Vec<i64> = alerts
        .iter()
        .filter_map(|k| alert_time(&k.alert))
        .map(Timestamp::unix_micros)
        .collect();
    match original {
        Some(dir) => {
            let selection = crate::timeline::select(
                &dir.join("timeline.csv"),
                &times,
                WINDOW_HOURS * 3_600_000_000,
                MAX_TIMELINE_ROWS,
                total,
            );
            notes.extend(selection.problems);
            data.capped = selection.capped;
            if total.is_none() {
                data.total = selection.rows.len() as u64;
            }
            for row in selection.rows {
                let [text, module, event, mut description] = row.fields;
                if description.chars().count() > MAX_EVENT_CHARS {
                    description = description.chars().take(MAX_EVENT_CHARS).collect();
                    description.push_str(" [...]");
                }
                data.rows.push((
                    row.time.map(Timestamp::unix_micros),
                    text,
                    module,
                    event,
                    description,
                    None,
                    None,
                ));
            }
        }
        None => notes.push("the original results folder was not found: no timeline".into()),
    }
    for k in alerts {
        let (i, a) = (k.index(), &k.alert);
        if let Some(t) = alert_time(a) {
            data.rows.push((
                Some(t.unix_micros()),
                t.to_mvt(),
                a.module.clone(),
                format!("ALERT {}", a.level),
                a.message.clone(),
                Some(a.level.as_str()),
                Some(i),
            ));
        }
    }
    data.rows
        .sort_by(|a, b| (a.0, &a.2, &a.3, &a.4).cmp(&(b.0, &b.2, &b.3, &b.4)));
    data
}

fn device_rows(original: Option<&Path>) -> Vec<(Dev, Dev)> {
    let mut rows = Vec::new();
    let Some(dir) = original else { return rows };
    if let Ok((serde_json::Value::Object(info), _)) =
        results::read_json::<serde_json::Value>(&dir.join("backup_info.json"))
    {
        for (key, value) in &info {
            let shown = match value {
                serde_json::Value::Array(items) => Some(format!("{} entries", items.len())),
                v => scalar(v),
            };
            if let Some(v) = shown {
                rows.push((Dev::new(key), Dev::new(&v)));
            }
        }
    }
    if let Ok((serde_json::Value::Array(props), _)) =
        results::read_json::<serde_json::Value>(&dir.join("getprop.json"))
    {
        const WANTED: [&str; 8] = [
            "ro.product.manufacturer",
            "ro.product.model",
            "ro.product.name",
            "ro.build.version.release",
            "ro.build.version.security_patch",
            "ro.build.fingerprint",
            "ro.serialno",
            "persist.sys.timezone",
        ];
        for p in &props {
            let (Some(name), Some(value)) = (str_field(p, "name"), p.get("value")) else {
                continue;
            };
            if WANTED.contains(&name)
                && let Some(v) = scalar(value)
            {
                rows.push((Dev::new(name), Dev::new(&v)));
            }
        }
    }
    rows
}

fn indicator_rows(v: Option<&serde_json::Value>) -> Vec<IndicatorFileRow> {
    v.and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .map(|f| IndicatorFileRow {
            path: Dev::new(str_field(f, "path").unwrap_or("")),
            sha256: Dev::new(str_field(f, "sha256").unwrap_or("")),
            indicators: f
                .get("indicators")
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0)
                .to_string(),
        })
        .collect()
}

fn alert_view(index: usize, a: &Alert, new: bool) -> AlertView {
    let mut provenance = Vec::new();
    let p = &a.provenance;
    let mut add = |label: &'static str, v: Option<&str>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            provenance.push((label, Dev::new(v)));
        }
    };
    add("module", Some(&p.module));
    add("record", p.record_index.map(|i| i.to_string()).as_deref());
    add("file (device path)", p.logical_path.as_deref());
    add("file (in acquisition)", p.stored_path.as_deref());
    add("file SHA-256", p.sha256.as_deref());
    add("table", p.table.as_deref());
    add("row", p.row.as_deref());
    add(
        "record time (UTC)",
        p.record_time.map(|t| t.to_mvt()).as_deref(),
    );
    let mut indicator = Vec::new();
    if let Some(m) = &a.matched_indicator {
        let mut add = |label: &'static str, v: &str| {
            if !v.is_empty() {
                indicator.push((label, Dev::new(v)));
            }
        };
        add("indicator", &m.value);
        add("type", &m.bucket);
        add("malware / report", &m.name);
        add("STIX id", &m.stix_id);
        add("pattern", &m.pattern);
        add("STIX file", &m.stix2_file_name);
        add("STIX file SHA-256", &m.stix2_file_sha256);
        add(
            "matched",
            &format!(
                "{} `{}` in {}",
                m.observable_kind, m.observable_value, m.observable_field
            ),
        );
        add("rule", &m.match_rule);
        for other in &m.also_in {
            add("also in", other);
        }
    }
    let mut record = serde_json::to_string_pretty(&a.event).unwrap_or_default();
    if record.len() > MAX_RECORD_BYTES {
        let mut cut = MAX_RECORD_BYTES;
        while !record.is_char_boundary(cut) {
            cut -= 1;
        }
        record.truncate(cut);
        record.push_str("\n[... truncated; the whole record is in alerts.json]");
    }
    let time = alert_time(a);
    AlertView {
        index,
        level: a.level.as_str(),
        level_class: level_class(a.level),
        module: Dev::new(&a.module),
        message: Dev::new(&a.message),
        new,
        time: time.map(Timestamp::to_mvt).unwrap_or_default(),
        time_micros: time
            .map(|t| t.unix_micros().to_string())
            .unwrap_or_default(),
        provenance,
        indicator,
        record: Dev::new(&record),
    }
}

/// An alert of a results folder as the report reads it: the fields of [`Alert`] (without
/// `serde(flatten)`, which buffers every field and made reading ten thousand alerts take a
/// large part of the report's time), the record left as raw JSON until the alert is kept, and
/// the `new` flag a re-check writes.
#[derive(serde::Deserialize)]
struct MarkedAlert {
    level: Level,
    module: String,
    message: String,
    #[serde(default)]
    event_time: String,
    event: Box<serde_json::value::RawValue>,
    matched_indicator: Option<bridle_model::IndicatorRef>,
    provenance: bridle_model::Provenance,
    #[serde(default)]
    new: bool,
}

/// An alert kept for the report, ordered by how prominently it is shown: most severe first,
/// indicator matches before heuristics, then by time and by position in alerts.json.
struct Kept {
    key: (Reverse<Level>, bool, Option<Timestamp>, usize),
    alert: Alert,
    new: bool,
}

impl Kept {
    /// Position in alerts.json: the alert's anchor in the page.
    fn index(&self) -> usize {
        self.key.3
    }
}

impl PartialEq for Kept {
    fn eq(&self, other: &Kept) -> bool {
        self.key == other.key
    }
}
impl Eq for Kept {}
impl PartialOrd for Kept {
    fn partial_cmp(&self, other: &Kept) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Kept {
    fn cmp(&self, other: &Kept) -> std::cmp::Ordering {
        self.key.cmp(&other.key)
    }
}

/// What the report needs from alerts.json, gathered one alert at a time: counts of all of
/// them, and the [`MAX_REPORT_ALERTS`] most prominent in full.
#[derive(Default)]
struct AlertDigest {
    total: usize,
    by_level: BTreeMap<Level, usize>,
    indicator: usize,
    severe: usize,
    new: usize,
    malware: BTreeMap<String, usize>,
    /// A max-heap on the display order: its top is the least prominent alert kept.
    kept: BinaryHeap<Kept>,
}

impl AlertDigest {
    fn add(&mut self, m: MarkedAlert) {
        let index = self.total;
        self.total += 1;
        *self.by_level.entry(m.level).or_default() += 1;
        match &m.matched_indicator {
            Some(ind) => {
                self.indicator += 1;
                *self.malware.entry(ind.name.clone()).or_default() += 1;
            }
            None if m.level.is_severe() => self.severe += 1,
            None => {}
        }
        if m.new {
            self.new += 1;
        }
        let event_time = Timestamp::parse(&m.event_time);
        let key = (
            Reverse(m.level),
            m.matched_indicator.is_none(),
            event_time.or(m.provenance.record_time),
            index,
        );
        if self.kept.len() >= MAX_REPORT_ALERTS
            && self.kept.peek().is_some_and(|least| least.key <= key)
        {
            return;
        }
        // Only a kept alert's record is parsed (an object; anything else shows as empty).
        let event =
            serde_json::from_str::<bridle_model::AlertRecord>(m.event.get()).unwrap_or_default();
        let alert = Alert {
            level: m.level,
            module: m.module,
            message: m.message,
            event_time,
            event,
            matched_indicator: m.matched_indicator,
            provenance: m.provenance,
        };
        self.kept.push(Kept {
            key,
            alert,
            new: m.new,
        });
        if self.kept.len() > MAX_REPORT_ALERTS {
            self.kept.pop();
        }
    }
}

/// `info.json` without its list of evidence files, which the report does not show and which
/// runs to thousands of entries (a JSON tree of it cost tens of megabytes).
#[derive(serde::Deserialize)]
struct InfoWithoutEvidence {
    #[serde(default, rename = "evidence_files")]
    _evidence_files: serde::de::IgnoredAny,
    #[serde(flatten)]
    rest: serde_json::Map<String, serde_json::Value>,
}

fn read_info(path: &Path) -> Result<serde_json::Value, results::ReadError> {
    let (info, _) = results::read_json::<InfoWithoutEvidence>(path)?;
    Ok(serde_json::Value::Object(info.rest))
}

/// Renders the report of a results folder (a check's or a re-check's) to a string.
pub fn render(dir: &Path) -> Result<String, ReportError> {
    page(dir)?
        .render()
        .map_err(|e| ReportError::Render(e.to_string()))
}

/// Gathers what the report shows from the files of a results folder.
fn page(dir: &Path) -> Result<Page, ReportError> {
    let info = read_info(&dir.join("info.json"))?;
    let mut digest = AlertDigest::default();
    results::for_each_in_array::<MarkedAlert>(&dir.join("alerts.json"), |m| digest.add(m))?;
    let is_recheck = str_field(&info, "kind") == Some("recheck");
    let mut notes = Vec::new();
    let original = original_folder(dir, &info);
    let original_info = match &original {
        Some(o) if is_recheck => read_info(&o.join("info.json")).ok(),
        Some(_) => Some(info.clone()),
        None => None,
    };
    // The verdict.
    let indicator_alerts = digest.indicator;
    let severe = digest.severe;
    let mut problems: Vec<ModuleRow> = Vec::new();
    let mut not_found: Vec<ModuleRow> = Vec::new();
    let mut modules_total = 0;
    let mut modules_done = 0;
    let problem_row = |p: &serde_json::Value| ModuleRow {
        module: Dev::new(str_field(p, "module").unwrap_or("")),
        status: Dev::new(str_field(p, "file").unwrap_or("")),
        detail: Dev::new(str_field(p, "message").unwrap_or("")),
    };
    if let Some(oi) = &original_info {
        for m in oi
            .get("modules")
            .and_then(serde_json::Value::as_array)
            .into_iter()
            .flatten()
        {
            modules_total += 1;
            match str_field(m, "status") {
                Some("done") => modules_done += 1,
                Some("not_found") => not_found.push(ModuleRow {
                    module: Dev::new(str_field(m, "module").unwrap_or("")),
                    status: Dev::new("not in this acquisition"),
                    detail: Dev::new(str_field(m, "detail").unwrap_or("")),
                }),
                other => problems.push(ModuleRow {
                    module: Dev::new(str_field(m, "module").unwrap_or("")),
                    status: Dev::new(other.unwrap_or("unknown")),
                    detail: Dev::new(str_field(m, "detail").unwrap_or("")),
                }),
            }
        }
        for p in oi
            .get("problems")
            .and_then(serde_json::Value::as_array)
            .into_iter()
            .flatten()
        {
            problems.push(problem_row(p));
        }
    }
    if is_recheck {
        for p in info
            .get("problems")
            .and_then(serde_json::Value::as_array)
            .into_iter()
            .flatten()
        {
            problems.push(problem_row(p));
        }
    }
    let incomplete = !problems.is_empty();
    let (headline, verdict_class) = if indicator_alerts > 0 {
        ("Indicators of compromise matched", "verdict-critical")
    } else if severe > 0 {
        ("Severe alerts raised", "verdict-high")
    } else if incomplete {
        (
            "Nothing found, but the check is incomplete",
            "verdict-incomplete",
        )
    } else {
        ("Nothing found", "verdict-clean")
    };
    let mut verdict_lines = Vec::new();
    let malware = std::mem::take(&mut digest.malware);
    if indicator_alerts > 0 {
        verdict_lines.push(Dev::new(&format!(
            "{indicator_alerts} alert(s) match published indicators of compromise ({} malware or report name(s), below).",
            malware.len()
        )));
    }
    if severe > 0 {
        verdict_lines.push(Dev::new(&format!(
            "{severe} HIGH or CRITICAL alert(s) from forensic heuristics."
        )));
    }
    if is_recheck {
        let new = digest.new;
        let removed = info
            .get("removed_alerts")
            .and_then(serde_json::Value::as_array)
            .map_or(0, Vec::len);
        verdict_lines.push(Dev::new(&format!(
            "Re-check without the evidence: {new} indicator alert(s) new since the previous run; {removed} no longer match."
        )));
    }
    if incomplete {
        verdict_lines.push(Dev::new(&format!(
            "{} item(s) could not be checked (see \"Not checked\").",
            problems.len()
        )));
    }
    verdict_lines.push(Dev::new(if indicator_alerts > 0 || severe > 0 {
        "Only expert review can confirm a compromise: read each alert with its evidence below."
    } else {
        "The absence of findings does not prove the device is clean."
    }));
    let counts: Vec<(&'static str, &'static str, usize)> = Level::ALL
        .iter()
        .rev()
        .map(|l| {
            (
                l.as_str(),
                level_class(*l),
                digest.by_level.get(l).copied().unwrap_or(0),
            )
        })
        .collect();

    // Alerts: most severe first, indicator matches before heuristics, then by time.
    let alerts_total = digest.total;
    let kept = std::mem::take(&mut digest.kept).into_sorted_vec();
    let alert_views: Vec<AlertView> = kept
        .iter()
        .map(|k| alert_view(k.index(), &k.alert, k.new))
        .collect();
    let alerts_note = if alert_views.len() < alerts_total {
        format!(
            "This report shows the {} most severe of the {alerts_total} alerts; alerts.json has all of them.",
            alert_views.len()
        )
    } else {
        String::new()
    };

    let total_rows = original_info
        .as_ref()
        .and_then(|o| o.get("timeline_rows"))
        .and_then(serde_json::Value::as_u64);
    let timeline = read_timeline(original.as_deref(), total_rows, &kept, &mut notes);
    let mut note = format!(
        "{} events in the timeline{}.",
        timeline.total,
        if timeline.total == 0 {
            ""
        } else {
            " (timeline.csv)"
        }
    );
    if timeline.capped {
        note.push_str(&format!(
            " This report embeds {} of them: every event within {WINDOW_HOURS} hours of an alert first, then the earliest others. All events are in timeline.csv.",
            timeline.rows.iter().filter(|r| r.6.is_none()).count()
        ));
    }
    for n in &notes {
        note.push(' ');
        note.push_str(n);
    }

    let field = |v: Option<&serde_json::Value>, name: &str| {
        v.and_then(|v| v.get(name))
            .and_then(scalar)
            .unwrap_or_default()
    };
    let mut run = Vec::new();
    let mut push_run = |label: &'static str, value: String| {
        if !value.is_empty() {
            run.push(Row {
                label,
                value: Dev::new(&value),
            });
        }
    };
    push_run(
        "acquisition",
        field(original_info.as_ref(), "acquisition_path"),
    );
    push_run("kind", field(original_info.as_ref(), "acquisition_kind"));
    push_run("checked", field(original_info.as_ref(), "started_at"));
    if is_recheck {
        push_run("re-checked", field(Some(&info), "started_at"));
        push_run("compared with", field(Some(&info), "compared_with"));
    }
    push_run("bridle", field(Some(&info), "bridle_version"));
    push_run("results", dir.display().to_string());

    let title = format!(
        "bridle {} report: {}",
        if is_recheck { "re-check" } else { "check" },
        field(original_info.as_ref(), "acquisition_path")
    );
    let page = Page {
        csp: format!(
            "default-src 'none'; style-src 'sha256-{}'; script-src 'sha256-{}'; img-src data:; \
             base-uri 'none'; form-action 'none'",
            sha256_b64(STYLE),
            sha256_b64(SCRIPT)
        ),
        style: STYLE,
        script: SCRIPT,
        title: Dev::new(&title),
        is_recheck,
        headline,
        verdict_class,
        verdict_lines,
        counts,
        malware: malware
            .into_iter()
            .map(|(n, c)| (Dev::new(&n), c))
            .collect(),
        run,
        alerts: alert_views,
        alerts_total,
        alerts_note,
        device: device_rows(original.as_deref()),
        not_found,
        problems,
        modules_done,
        modules_total,
        indicator_files: indicator_rows(info.get("indicator_files")),
        original_indicator_files: if is_recheck {
            indicator_rows(
                original_info
                    .as_ref()
                    .and_then(|o| o.get("indicator_files")),
            )
        } else {
            Vec::new()
        },
        indicator_problems: info
            .get("indicator_problems")
            .and_then(serde_json::Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(serde_json::Value::as_str)
            .map(Dev::new)
            .collect(),
        timeline_note: Dev::new(&note),
        timeline: SafeJson::new(&timeline),
    };
    Ok(page)
}

/// Renders and writes `report.html` in a results folder.
pub fn write(dir: &Path) -> Result<PathBuf, ReportError> {
    let page = page(dir)?;
    let path = dir.join(REPORT_FILE);
    let failed = |source| ReportError::Write {
        path: path.clone(),
        source,
    };
    // Streamed to the file (the page of a large run is tens of megabytes), hashed on the
    // way for the manifest.
    let file = bridle_engine::written::DigestingFile::create(&path).map_err(failed)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    page.write_into(&mut out).map_err(failed)?;
    bridle_engine::written::finish(out).map_err(failed)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bridle_model::{AlertRecord, Provenance};

    fn alert(i: usize, level: Level) -> Alert {
        let mut event = bridle_model::Map::new();
        event.insert("path".into(), format!("/data/local/tmp/f{i}").into());
        Alert {
            level,
            module: "aqf_files".into(),
            message: format!("suspicious file {i}"),
            event_time: Timestamp::from_unix_seconds(1_700_000_000 + i as i64),
            event: AlertRecord::from_map(&event),
            matched_indicator: None,
            provenance: Provenance {
                module: "aqf_files".into(),
                record_index: Some(i as u64),
                ..Provenance::default()
            },
        }
    }

    #[test]
    fn a_flood_of_alerts_is_counted_and_only_the_most_severe_are_shown() {
        let dir = tempfile::tempdir().unwrap();
        let total = MAX_REPORT_ALERTS + 500;
        // LOW alerts everywhere, and three CRITICAL ones at the end of the file.
        let alerts: Vec<Alert> = (0..total)
            .map(|i| {
                let level = if i >= total - 3 {
                    Level::Critical
                } else {
                    Level::Low
                };
                alert(i, level)
            })
            .collect();
        std::fs::write(
            dir.path().join("alerts.json"),
            serde_json::to_vec_pretty(&alerts).unwrap(),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("info.json"),
            br#"{"bridle_version":"test"}"#,
        )
        .unwrap();

        let html = render(dir.path()).unwrap();
        assert!(
            html.contains(&format!("Alerts ({total})")),
            "all alerts counted"
        );
        assert_eq!(
            html.matches("<article class=\"alert").count(),
            MAX_REPORT_ALERTS
        );
        assert!(html.contains(&format!(
            "shows the {MAX_REPORT_ALERTS} most severe of the {total} alerts"
        )));
        // The CRITICAL ones come first, then the earliest LOW ones.
        let first = html.find("<article class=\"alert").unwrap();
        let tail = html.get(first..).unwrap();
        let id = tail.find("id=\"alert-").unwrap();
        assert!(
            tail[id..].starts_with(&format!("id=\"alert-{}\"", total - 3)),
            "{}",
            &tail[..200]
        );
        assert!(html.contains("id=\"alert-0\""));
        assert!(!html.contains(&format!("id=\"alert-{}\"", total - 4)));

        // Written to the file the same way.
        let path = write(dir.path()).unwrap();
        assert_eq!(std::fs::read_to_string(path).unwrap(), html);
    }

    #[test]
    fn a_truncated_alerts_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("info.json"), b"{}").unwrap();
        let mut json = serde_json::to_vec(&vec![alert(0, Level::High)]).unwrap();
        json.truncate(json.len() / 2);
        std::fs::write(dir.path().join("alerts.json"), json).unwrap();
        let Err(e) = render(dir.path()) else {
            panic!("a truncated alerts.json renders")
        };
        assert!(e.to_string().contains("alerts.json"), "{e}");
    }
}
