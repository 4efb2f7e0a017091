//! `update`: a local index, and an HTTP server on 127.0.0.1 run by the test (never the
//! internet), including failures that must leave the previous set in place.
#![cfg(feature = "update")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

mod common;

use bridle_indicators::IndicatorSet;
use bridle_indicators::update::{IndexSource, UpdateError, UpdateOptions, update};
use common::stix2;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// A tiny HTTP/1.1 server: serves fixed routes, one request per connection, and stops after
/// a bounded number of connections or when asked.
struct Server {
    base: String,
    routes: Routes,
    handle: Option<JoinHandle<Vec<String>>>,
}

type Routes = Arc<Mutex<HashMap<String, (u16, Vec<u8>)>>>;

const MAX_CONNECTIONS: usize = 64;

impl Server {
    fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let routes: Routes = Arc::default();
        let shared = Arc::clone(&routes);
        let handle = std::thread::spawn(move || {
            let mut requested = Vec::new();
            for stream in listener.incoming().take(MAX_CONNECTIONS) {
                let Ok(mut stream) = stream else { continue };
                stream
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .unwrap();
                let path = read_request_path(&stream).unwrap_or_default();
                if path == "/__stop" {
                    break;
                }
                requested.push(path.clone());
                let (status, body) = shared
                    .lock()
                    .unwrap()
                    .get(&path)
                    .cloned()
                    .unwrap_or((404, b"not found".to_vec()));
                let head = format!(
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body);
            }
            requested
        });
        Server {
            base,
            routes,
            handle: Some(handle),
        }
    }

    fn route(&self, path: &str, status: u16, body: Vec<u8>) {
        self.routes
            .lock()
            .unwrap()
            .insert(path.to_owned(), (status, body));
    }

    /// Stop the server and return the paths it was asked for, in order.
    fn stop(mut self) -> Vec<String> {
        let addr = self.base.trim_start_matches("http://").to_owned();
        if let Ok(mut s) = TcpStream::connect(&addr) {
            let _ = s.write_all(b"GET /__stop HTTP/1.1\r\n\r\n");
        }
        self.handle.take().unwrap().join().unwrap()
    }
}

fn read_request_path(stream: &TcpStream) -> Option<String> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let path = line.split_whitespace().nth(1)?.to_owned();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 || header == "\r\n" {
            break;
        }
    }
    Some(path)
}

fn opts(base: &str) -> UpdateOptions {
    UpdateOptions {
        timeout: Duration::from_secs(10),
        github_raw_base: base.to_owned(),
        proxy_from_env: false,
        ..UpdateOptions::default()
    }
}

/// A destination holding an "old" indicator set, in a parent folder of its own.
fn old_set(tmp: &Path) -> PathBuf {
    let dest = tmp.join("data").join("indicators");
    std::fs::create_dir_all(&dest).unwrap();
    std::fs::copy(stix2("test.stix2"), dest.join("old.stix2")).unwrap();
    dest
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn assert_old_set_intact(dest: &Path) {
    assert_eq!(listing(dest), ["old.stix2"]);
    assert_eq!(
        std::fs::read(dest.join("old.stix2")).unwrap(),
        std::fs::read(stix2("test.stix2")).unwrap()
    );
    // No staging or holder folder is left beside it.
    assert_eq!(listing(dest.parent().unwrap()), ["indicators"]);
}

#[test]
fn local_index_with_local_paths() {
    let tmp = tempfile::tempdir().unwrap();
    let dest = old_set(tmp.path());
    let feeds = tmp.path().join("feeds");
    std::fs::create_dir_all(&feeds).unwrap();
    std::fs::copy(stix2("cytrox.stix2"), feeds.join("cytrox.stix2")).unwrap();
    std::fs::copy(
        stix2("638cd3ee5e5f019f84f9e0ea.json"),
        feeds.join("otx.json"),
    )
    .unwrap();
    let index = feeds.join("indicators.yaml");
    std::fs::write(
        &index,
        "indicators:\n  - name: Cytrox\n    path: cytrox.stix2\n  - name: OTX\n    path: otx.json\n",
    )
    .unwrap();
    let report = update(
        &IndexSource::Path(index),
        &dest,
        &opts("http://127.0.0.1:9"),
    )
    .unwrap();
    let got: Vec<(&str, Option<&str>, usize)> = report
        .files
        .iter()
        .map(|f| (f.file_name.as_str(), f.title.as_deref(), f.indicators))
        .collect();
    assert_eq!(
        got,
        [
            ("cytrox.stix2", Some("Cytrox"), 343),
            ("otx.json", Some("OTX"), 69)
        ]
    );
    assert_eq!(listing(&dest), ["cytrox.stix2", "otx.json"]);
    assert_eq!(listing(dest.parent().unwrap()), ["indicators"]);
    let loaded = IndicatorSet::load(std::slice::from_ref(&dest));
    assert!(loaded.problems.is_empty());
    assert_eq!(loaded.set.len(), 343 + 69);
    assert_eq!(loaded.set.files()[0].sha256, report.files[0].sha256);
}

#[test]
fn http_index_github_and_download_url_entries_replace_the_old_set() {
    let test = std::fs::read(stix2("test.stix2")).unwrap();
    let server = Server::start();
    server.route(
        "/AmnestyTech/investigations/master/2021-12-16_cytrox/cytrox.stix2",
        200,
        std::fs::read(stix2("cytrox.stix2")).unwrap(),
    );
    server.route("/o/r/main/test.stix2", 200, test.clone());
    server.route("/direct/test.stix2", 200, test);
    let index = format!(
        "indicators:\n  - type: github\n    name: Cytrox\n    github:\n      owner: AmnestyTech\n      repo: investigations\n      branch: master\n      path: 2021-12-16_cytrox/cytrox.stix2\n  - type: github\n    name: Test\n    github: {{owner: o, repo: r, path: test.stix2}}\n  - name: Direct\n    download_url: {}/direct/test.stix2\n",
        server.base
    );
    server.route("/indicators.yaml", 200, index.into_bytes());

    let tmp = tempfile::tempdir().unwrap();
    let dest = old_set(tmp.path());
    let report = update(
        &IndexSource::parse(&format!("{}/indicators.yaml", server.base)),
        &dest,
        &opts(&server.base),
    )
    .unwrap();
    let requested = server.stop();
    assert_eq!(
        requested,
        [
            "/indicators.yaml",
            "/AmnestyTech/investigations/master/2021-12-16_cytrox/cytrox.stix2",
            "/o/r/main/test.stix2",
            "/direct/test.stix2"
        ]
    );
    // Two files named test.stix2: the second is renamed; the old set is gone.
    assert_eq!(
        listing(&dest),
        ["cytrox.stix2", "test-2.stix2", "test.stix2"]
    );
    assert_eq!(listing(dest.parent().unwrap()), ["indicators"]);
    let counts: Vec<usize> = report.files.iter().map(|f| f.indicators).collect();
    assert_eq!(counts, [343, 9, 9]);
    assert!(report.files[2].source.ends_with("/direct/test.stix2"));
    assert_eq!(report.dest, dest);
}

#[test]
fn a_failure_midway_leaves_the_old_set_intact() {
    let server = Server::start();
    server.route(
        "/o/r/main/one.stix2",
        200,
        std::fs::read(stix2("test.stix2")).unwrap(),
    );
    server.route("/o/r/main/two.stix2", 500, b"server error".to_vec());
    server.route(
        "/o/r/main/three.stix2",
        200,
        std::fs::read(stix2("test.stix2")).unwrap(),
    );
    let tmp = tempfile::tempdir().unwrap();
    let dest = old_set(tmp.path());
    let index = tmp.path().join("indicators.yaml");
    std::fs::write(
        &index,
        "indicators:\n  - {type: github, github: {owner: o, repo: r, path: one.stix2}}\n  - {type: github, github: {owner: o, repo: r, path: two.stix2}}\n  - {type: github, github: {owner: o, repo: r, path: three.stix2}}\n",
    )
    .unwrap();
    let err = update(&IndexSource::Path(index), &dest, &opts(&server.base)).unwrap_err();
    let requested = server.stop();
    assert!(
        matches!(&err, UpdateError::Http { url, .. } if url.ends_with("/two.stix2")),
        "{err}"
    );
    assert!(err.to_string().contains("500"), "{err}");
    // It stopped at the failure.
    assert_eq!(requested, ["/o/r/main/one.stix2", "/o/r/main/two.stix2"]);
    assert_old_set_intact(&dest);
}

#[test]
fn a_file_that_is_not_a_bundle_or_too_large_leaves_the_old_set_intact() {
    let server = Server::start();
    server.route("/page.stix2", 200, b"<html>rate limited</html>".to_vec());
    server.route(
        "/big.stix2",
        200,
        std::fs::read(stix2("cytrox.stix2")).unwrap(),
    );
    let tmp = tempfile::tempdir().unwrap();
    let dest = old_set(tmp.path());
    let index = tmp.path().join("indicators.yaml");

    std::fs::write(
        &index,
        format!(
            "indicators:\n  - download_url: {}/page.stix2\n",
            server.base
        ),
    )
    .unwrap();
    let err = update(
        &IndexSource::Path(index.clone()),
        &dest,
        &opts(&server.base),
    )
    .unwrap_err();
    assert!(matches!(err, UpdateError::NotBundle { .. }), "{err}");
    assert_old_set_intact(&dest);

    std::fs::write(
        &index,
        format!("indicators:\n  - download_url: {}/big.stix2\n", server.base),
    )
    .unwrap();
    let small = UpdateOptions {
        max_file_bytes: 1000,
        ..opts(&server.base)
    };
    let err = update(&IndexSource::Path(index.clone()), &dest, &small).unwrap_err();
    assert!(
        matches!(err, UpdateError::TooLarge { limit: 1000, .. }),
        "{err}"
    );
    assert_old_set_intact(&dest);
    server.stop();

    // A missing local file and a malformed index fail the same way.
    std::fs::write(&index, "indicators:\n  - path: missing.stix2\n").unwrap();
    let err = update(
        &IndexSource::Path(index.clone()),
        &dest,
        &opts("http://127.0.0.1:9"),
    )
    .unwrap_err();
    assert!(matches!(err, UpdateError::Read { .. }), "{err}");
    std::fs::write(&index, "indicators: 12\n").unwrap();
    let err = update(
        &IndexSource::Path(index.clone()),
        &dest,
        &opts("http://127.0.0.1:9"),
    )
    .unwrap_err();
    assert!(matches!(err, UpdateError::Index { .. }), "{err}");
    assert_old_set_intact(&dest);
}

#[test]
fn the_shared_mvt_index_resolves_to_raw_github_urls() {
    // The real index, read locally; its entries point at a local server standing in for
    // raw.githubusercontent.com that knows none of them, so the first download fails and
    // nothing is installed.
    let server = Server::start();
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("data").join("indicators");
    let index = common::shared().join("iocs/mvt-indicators/indicators.yaml");
    let err = update(&IndexSource::Path(index), &dest, &opts(&server.base)).unwrap_err();
    let requested = server.stop();
    assert!(matches!(err, UpdateError::Http { .. }), "{err}");
    assert_eq!(
        requested,
        ["/AmnestyTech/investigations/master/2021-07-18_nso/pegasus.stix2"]
    );
    assert!(!dest.exists());
    assert!(listing(dest.parent().unwrap()).is_empty());
}
