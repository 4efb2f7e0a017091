//! Shared helpers for tests that read the fixtures in ../shared.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use bridle_model::{Level, Module, ModuleOutcome, Record, VecSink};
use std::path::{Path, PathBuf};

/// The shared fixtures folder: `$BRIDLE_SHARED`, or `../shared` beside the repository.
/// Panics when missing: these tests must never pass by skipping.
pub fn shared() -> PathBuf {
    let p = std::env::var_os("BRIDLE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")));
    assert!(
        p.join("fixtures").is_dir(),
        "the shared fixtures are missing at {} (set BRIDLE_SHARED)",
        p.display()
    );
    p
}

/// A fixture under fixtures/mvt.
pub fn mvt(name: &str) -> PathBuf {
    shared().join("fixtures/mvt").join(name)
}

/// Runs one module and returns what it produced (panics if the module failed).
pub fn run(module: &dyn Module) -> (ModuleOutcome, VecSink) {
    let mut sink = VecSink::default();
    let outcome = module
        .run(&mut sink)
        .unwrap_or_else(|e| panic!("{} failed: {e}", module.info().slug));
    (outcome, sink)
}

/// Runs the module with this slug from a list.
pub fn run_slug(modules: &[Box<dyn Module>], slug: &str) -> (ModuleOutcome, VecSink) {
    let m = modules
        .iter()
        .find(|m| m.info().slug == slug)
        .unwrap_or_else(|| panic!("no module {slug}"));
    run(m.as_ref())
}

/// Heuristic levels of a sink, in order.
pub fn levels(sink: &VecSink) -> Vec<Level> {
    sink.heuristics().map(|h| h.level).collect()
}

/// A string field of a record.
pub fn field<'a>(r: &'a Record, key: &str) -> &'a str {
    r.data
        .get(key)
        .and_then(|v| v.as_str())
        .unwrap_or_else(|| panic!("no string field {key} in {:?}", r.data))
}

/// Whether a record has an observable of this kind and value.
pub fn observes(r: &Record, kind: bridle_model::ObservableKind, value: &str) -> bool {
    r.observables
        .iter()
        .any(|o| o.kind == kind && o.value == value)
}

/// SHA-256 of every file under a path (or of the file), sorted: to show evidence is unchanged.
pub fn tree_hash(root: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if root.is_file() {
        let (h, _) = bridle_evidence::hash_file(root).unwrap();
        return vec![(root.display().to_string(), h)];
    }
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let t = e.file_type().unwrap();
            if t.is_dir() {
                stack.push(e.path());
            } else if t.is_file() {
                let (h, _) = bridle_evidence::hash_file(&e.path()).unwrap();
                out.push((
                    e.path().strip_prefix(root).unwrap().display().to_string(),
                    h,
                ));
            }
        }
    }
    out.sort();
    out
}

/// Copies a folder tree.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), &dst).unwrap();
            let mut perm = std::fs::metadata(&dst).unwrap().permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perm.set_readonly(false);
            std::fs::set_permissions(&dst, perm).unwrap();
        }
    }
}

/// Lines of a fixture file (lossy UTF-8).
pub fn fixture_lines(path: &Path) -> Vec<String> {
    String::from_utf8_lossy(&std::fs::read(path).unwrap())
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Writes a zip of (name, bytes).
pub fn write_zip(path: &Path, files: &[(&str, &[u8])]) {
    use std::io::Write;
    let f = std::fs::File::create(path).unwrap();
    let mut w = zip::ZipWriter::new(f);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in files {
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap();
}

/// Writes an unencrypted, compressed `.ab` backup holding these tar members.
pub fn write_ab(path: &Path, files: &[(&str, Vec<u8>)]) {
    use std::io::Write;
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        builder.append_data(&mut h, name, &data[..]).unwrap();
    }
    let tar = builder.into_inner().unwrap();
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&tar).unwrap();
    let body = z.finish().unwrap();
    std::fs::write(
        path,
        [b"ANDROID BACKUP\n5\n1\nnone\n".to_vec(), body].concat(),
    )
    .unwrap();
}
