//! report.html rendered in a real browser (Debian's headless Chromium): the alerts are
//! visible, the script runs without a single console message, the timeline jumps to the
//! hours around an alert, and device strings with markup, script tags, bidi and control
//! characters stay inert text. A screenshot is kept in `<target>/test-output/report.png`.
//!
//! Chromium is found as `BRIDLE_CHROMIUM`, `chromium` or `chromium-browser` on the PATH, or
//! /usr/bin/chromium. Without it the test fails when `CI` or `BRIDLE_REQUIRE_CHROMIUM` is
//! set (CI installs it: `apt-get install -y chromium`) and is skipped with a message
//! otherwise.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const HOSTILE_SMS: &str = "<script>alert('sms')</script><img src=x onerror=alert(1)> \
     invoice\u{202E}fdp.exe \u{1b}[31mred\u{7} zero\u{200B}width \
     https://cdn-updates.bridle-demo.example.com/r/</script><script>alert(2)</script>";
const HOSTILE_NAME: &str = "<b onmouseover=alert(3)>Evil</b>\u{202E}enohp\u{2028}x";

fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("BRIDLE_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser"] {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    let fallback = PathBuf::from("/usr/bin/chromium");
    fallback.is_file().then_some(fallback)
}

/// Runs headless Chromium on a page with a fresh profile; returns (stdout, stderr).
fn browse(chromium: &Path, page: &str, extra: &[&str]) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(page)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start chromium");
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap_or_default());
    let err = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("chromium did not finish in 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    (out.join().unwrap(), err.join().unwrap())
}

fn body_attr(dom: &str, name: &str) -> Option<String> {
    let body = &dom[dom.find("<body")?..];
    let body = &body[..body.find('>')?];
    let at = body.find(&format!("{name}=\""))? + name.len() + 2;
    let rest = &body[at..];
    Some(rest[..rest.find('"')?].to_owned())
}

/// Console messages Chromium logged for the page (errors, warnings, logs, CSP refusals).
fn console_lines(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains(":CONSOLE")).collect()
}

/// A copy of the demo backup whose SMS and device name are hostile.
fn hostile_backup(dir: &Path) -> PathBuf {
    let (backup, _) = demo();
    let copy = dir.join("hostile");
    copy_tree(&backup, &copy);
    let sms = copy.join("3d/3d0d7e5fb2ce288813306e4d4636395e047a3d28");
    let db = rusqlite::Connection::open(&sms).unwrap();
    db.execute(
        "UPDATE message SET text = ?1 WHERE ROWID = 3",
        [HOSTILE_SMS],
    )
    .unwrap();
    drop(db);
    let info = copy.join("Info.plist");
    let mut value = plist::Value::from_file(&info).unwrap();
    value.as_dictionary_mut().unwrap().insert(
        "Device Name".into(),
        plist::Value::String(HOSTILE_NAME.into()),
    );
    value.to_file_xml(&info).unwrap();
    copy
}

#[test]
fn the_report_renders_in_chromium_with_alerts_visible_and_hostile_strings_inert() {
    let Some(chromium) = chromium() else {
        let required = std::env::var_os("CI").is_some()
            || std::env::var_os("BRIDLE_REQUIRE_CHROMIUM").is_some();
        assert!(
            !required,
            "chromium is required (CI / BRIDLE_REQUIRE_CHROMIUM): apt-get install -y chromium"
        );
        eprintln!("SKIPPED: no chromium (apt-get install -y chromium; CI requires it)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let backup = hostile_backup(tmp.path());
    let (_, stix) = demo();
    let out = tmp.path().join("out");
    let o = run(&[
        "check",
        backup.to_str().unwrap(),
        "--only-given-iocs",
        "-q",
        "--iocs",
        stix.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let alerts = read_json(&out.join("alerts.json"));
    let alerts = alerts.as_array().unwrap();
    assert!(alerts.len() >= 4);
    let sms_alert = alerts
        .iter()
        .position(|a| a["module"] == "sms" && !a["matched_indicator"].is_null())
        .expect("the hostile SMS still matches the demo indicator");
    assert!(
        alerts[sms_alert]["message"]
            .as_str()
            .unwrap()
            .contains("</script>"),
        "the alert message carries the hostile URL"
    );

    // The raw file: nothing hostile survives as markup.
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert_eq!(
        html.matches("<script").count(),
        2,
        "only bridle's two script elements"
    );
    assert!(!html.contains("<img"), "no injected element");
    assert!(!html.contains("<b onmouseover"), "no injected element");
    assert!(!html.contains('\u{202E}') && !html.contains('\u{200B}') && !html.contains('\u{2028}'));
    assert!(!html.contains('\u{1b}'));
    assert!(
        html.contains("U+202E"),
        "the bidi override is shown as a marker"
    );
    assert!(html.contains("&lt;b onmouseover=alert(3)&gt;Evil&lt;/b&gt;"));
    assert!(
        !html.contains("src=\"") && !html.contains("<link") && !html.contains("href=\"http"),
        "nothing is loaded from anywhere"
    );
    assert!(html.contains("Content-Security-Policy"));

    // In the browser, opened on the timeline around the SMS alert.
    let page = format!(
        "file://{}#around-{sms_alert}",
        out.join("report.html").display()
    );
    let (dom, log) = browse(&chromium, &page, &["--dump-dom"]);
    assert_eq!(
        body_attr(&dom, "data-ready").as_deref(),
        Some("1"),
        "the script ran: {log}"
    );
    assert_eq!(body_attr(&dom, "data-errors").as_deref(), Some("0"));
    assert_eq!(
        console_lines(&log),
        Vec::<&str>::new(),
        "no console message at all (errors, CSP refusals)"
    );
    let visible: usize = body_attr(&dom, "data-alerts-visible")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(visible, alerts.len(), "every alert is visible");
    for (i, a) in alerts.iter().enumerate() {
        assert!(
            dom.contains(&format!("id=\"alert-{i}\"")),
            "alert {i} is in the page"
        );
        assert!(dom.contains(a["module"].as_str().unwrap()));
    }
    assert!(
        body_attr(&dom, "data-timeline-window").is_some_and(|w| w.contains('/')),
        "the timeline jumped to the hours around the alert"
    );
    assert!(
        dom.contains("is-alert focus"),
        "the alert's row is highlighted"
    );
    let rows: usize = body_attr(&dom, "data-timeline-rows")
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        rows > 0 && rows < 27,
        "the timeline shows a window, not everything: {rows}"
    );
    // The DOM after the script ran: still no injected element, the markers are there.
    assert_eq!(dom.matches("<script").count(), 2);
    assert!(!dom.contains("<img") && !dom.contains("<b onmouseover"));
    assert!(dom.contains("U+202E") && dom.contains("U+001B") && dom.contains("U+200B"));

    // A screenshot for people.
    let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let shots = target.parent().unwrap().join("test-output");
    std::fs::create_dir_all(&shots).unwrap();
    let png = shots.join("report.png");
    let _ = std::fs::remove_file(&png);
    let front = format!("file://{}", out.join("report.html").display());
    let (_, log) = browse(
        &chromium,
        &front,
        &[
            &format!("--screenshot={}", png.display()),
            "--window-size=1280,2000",
            "--hide-scrollbars",
        ],
    );
    let bytes = std::fs::read(&png).unwrap_or_else(|_| panic!("no screenshot: {log}"));
    assert!(
        bytes.starts_with(b"\x89PNG") && bytes.len() > 20_000,
        "{}",
        bytes.len()
    );

    // The re-check's report renders too (its timeline and device come from the original).
    let o = run(&[
        "recheck",
        out.to_str().unwrap(),
        "--only-given-iocs",
        "-q",
        "--iocs",
        stix.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 1);
    let re = std::fs::read_dir(out.join("rechecks"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let (dom, log) = browse(
        &chromium,
        &format!("file://{}", re.join("report.html").display()),
        &["--dump-dom"],
    );
    assert_eq!(body_attr(&dom, "data-ready").as_deref(), Some("1"));
    assert_eq!(console_lines(&log), Vec::<&str>::new());
    assert_eq!(
        body_attr(&dom, "data-alerts-visible")
            .unwrap()
            .parse::<usize>()
            .unwrap(),
        alerts.len()
    );
    assert!(dom.contains("re-check"));
    assert!(
        dom.contains("Evil"),
        "the device comes from the original run"
    );
}
