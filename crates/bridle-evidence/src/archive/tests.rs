//! Hostile archives built in the tests themselves.

use super::*;
use std::io::{Cursor, Write};
use zip::write::SimpleFileOptions;

fn zip_bytes(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in files {
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// Replaces every occurrence of `from` by `to` (same length) in raw archive bytes: names
/// that archive writers refuse to produce.
fn patch(bytes: &mut [u8], from: &[u8], to: &[u8]) {
    assert_eq!(from.len(), to.len());
    let mut i = 0;
    let mut hits = 0;
    while i + from.len() <= bytes.len() {
        if &bytes[i..i + from.len()] == from {
            bytes[i..i + from.len()].copy_from_slice(to);
            hits += 1;
            i += from.len();
        } else {
            i += 1;
        }
    }
    assert!(hits > 0, "nothing to patch");
}

fn tree(bytes: Vec<u8>) -> Tree {
    Tree::from_bytes("test.zip", bytes, ArchiveLimits::default()).unwrap()
}

fn skipped(t: &Tree, needle: &str) -> bool {
    t.problems()
        .iter()
        .any(|p| p.file.as_deref().is_some_and(|f| f.contains(needle)))
}

#[test]
fn zip_reads_members_and_checks_crc() {
    let bytes = zip_bytes(&[("a/b.txt", b"hello"), ("a/c.txt", b"world")]);
    let t = tree(bytes.clone());
    assert_eq!(t.kind(), TreeKind::Zip);
    let names: Vec<_> = t.entries().iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["a", "a/b.txt", "a/c.txt"]);
    assert_eq!(t.read("a/b.txt", 100).unwrap(), b"hello");
    assert!(matches!(
        t.read("a/b.txt", 2),
        Err(ArchiveError::TooLarge { .. })
    ));
    assert_eq!(t.glob("*/c.txt").len(), 1);
    let (h, n) = t.hash("a/c.txt").unwrap();
    assert_eq!(n, 5);
    assert_eq!(
        h,
        "486ea46224d1bb4fb680f34f7c9ad96a8f24ec88be73ea8e5a6c65260e9cb8a7"
    );
    assert!(t.entry("a/b.txt").unwrap().mtime_is_local);
    assert!(t.problems().is_empty());

    // A flipped data byte in a stored member: the CRC catches it.
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    w.start_file(
        "s.txt",
        SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored),
    )
    .unwrap();
    w.write_all(b"stored-data").unwrap();
    let mut raw = w.finish().unwrap().into_inner();
    patch(&mut raw, b"stored-data", b"stored-DATA");
    let t = tree(raw);
    let err = t.read("s.txt", 100).unwrap_err().to_string();
    assert!(err.contains("CRC-32"), "{err}");
}

#[test]
fn zip_slip_and_absolute_names_are_skipped_and_reported() {
    let mut bytes = zip_bytes(&[
        ("ok.txt", b"fine"),
        ("XX/evil.txt", b"evil"),
        ("Xetc/passwd", b"root"),
        ("bidi\u{202E}txt", b"x"),
    ]);
    patch(&mut bytes, b"XX/evil", b"../evil");
    patch(&mut bytes, b"Xetc/passwd", b"/etc/passwd");
    let t = tree(bytes);
    let names: Vec<_> = t.entries().iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["ok.txt"]);
    assert!(skipped(&t, "../evil.txt"));
    assert!(skipped(&t, "/etc/passwd"));
    assert!(skipped(&t, "bidi\\u{202E}txt"));
    assert_eq!(t.problems().len(), 3);
    assert!(t.problems().iter().all(|p| p.kind == ProblemKind::Skipped));
}

#[test]
fn zip_symlinks_stay_inside() {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default();
    w.start_file("dir/real.txt", opts).unwrap();
    w.write_all(b"inside").unwrap();
    w.add_symlink("dir/good", "real.txt", opts).unwrap();
    w.add_symlink("dir/up", "../dir/real.txt", opts).unwrap();
    w.add_symlink("dir/out", "../../etc/passwd", opts).unwrap();
    w.add_symlink("dir/abs", "/etc/passwd", opts).unwrap();
    w.add_symlink("loop1", "loop2", opts).unwrap();
    w.add_symlink("loop2", "loop1", opts).unwrap();
    let t = tree(w.finish().unwrap().into_inner());
    assert_eq!(t.read("dir/good", 100).unwrap(), b"inside");
    assert_eq!(t.read("dir/up", 100).unwrap(), b"inside");
    assert!(matches!(
        t.open_file("dir/out"),
        Err(ArchiveError::LinkEscapes { .. })
    ));
    assert!(matches!(
        t.open_file("dir/abs"),
        Err(ArchiveError::LinkEscapes { .. })
    ));
    assert!(matches!(
        t.open_file("loop1"),
        Err(ArchiveError::LinkLoop { .. })
    ));
    assert!(matches!(
        t.entry("dir/out").unwrap().kind,
        EntryKind::Symlink { .. }
    ));
}

#[test]
fn zip_declaring_a_gigabyte_is_skipped() {
    // A stored member whose central directory claims 1 GiB: more than the archive holds.
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    w.start_file("big.bin", opts).unwrap();
    w.write_all(&[7u8; 100]).unwrap();
    w.start_file("small.txt", opts).unwrap();
    w.write_all(b"ok").unwrap();
    let mut bytes = w.finish().unwrap().into_inner();
    // Patch the uncompressed size (offset 24) in the central directory record of big.bin.
    let cd = bytes
        .windows(4)
        .position(|w| w == [0x50, 0x4b, 0x01, 0x02])
        .unwrap();
    bytes[cd + 24..cd + 28].copy_from_slice(&(1u32 << 30).to_le_bytes());
    let t = tree(bytes);
    assert!(t.entry("big.bin").is_none());
    assert!(skipped(&t, "big.bin"));
    assert_eq!(t.read("small.txt", 10).unwrap(), b"ok");
    // With a per-member cap below the declared size, it is refused by that cap instead.
    let limits = ArchiveLimits {
        max_entry_size: 50,
        ..ArchiveLimits::default()
    };
    let t = Tree::from_bytes(
        "x.zip",
        zip_bytes(&[("a", &[1u8; 100]), ("b", b"x")]),
        limits,
    )
    .unwrap();
    assert!(t.entry("a").is_none() && t.entry("b").is_some());
    assert!(t.problems()[0].message.contains("limit per member"));
}

#[test]
fn zip_bomb_is_skipped_by_ratio() {
    let zeros = vec![0u8; 8 << 20];
    let bytes = zip_bytes(&[("bomb.bin", &zeros), ("note.txt", b"hi")]);
    assert!(bytes.len() < 64 << 10);
    let t = tree(bytes);
    assert!(t.entry("bomb.bin").is_none());
    assert!(t.problems()[0].message.contains("ratio"));
    assert_eq!(t.read("note.txt", 10).unwrap(), b"hi");
}

#[test]
fn zip_member_lying_about_its_size_fails_to_read() {
    // The central directory says 10 bytes; the deflate stream holds 100.
    let bytes_in = [5u8; 100];
    let mut bytes = zip_bytes(&[("lie.bin", &bytes_in)]);
    let cd = bytes
        .windows(4)
        .position(|w| w == [0x50, 0x4b, 0x01, 0x02])
        .unwrap();
    bytes[cd + 24..cd + 28].copy_from_slice(&10u32.to_le_bytes());
    let t = tree(bytes);
    let err = t.read("lie.bin", 1000).unwrap_err().to_string();
    assert!(err.contains("more data than its declared size"), "{err}");
}

#[test]
fn zip_duplicate_names_are_reported() {
    let mut bytes = zip_bytes(&[("a.txt", b"first"), ("b.txt", b"second")]);
    patch(&mut bytes, b"b.txt", b"a.txt");
    let t = tree(bytes);
    assert_eq!(t.files().count(), 1);
    assert!(skipped(&t, "a.txt"));
    assert!(t.problems()[0].message.contains("share this name"));
}

#[test]
fn entry_count_cap() {
    let files: Vec<(String, Vec<u8>)> = (0..10).map(|i| (format!("f{i}"), vec![b'x'])).collect();
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    let limits = ArchiveLimits {
        max_entries: 4,
        ..ArchiveLimits::default()
    };
    let t = Tree::from_bytes("x.zip", zip_bytes(&refs), limits).unwrap();
    assert_eq!(t.entries().len(), 4);
    assert_eq!(t.problems().len(), 1);
    assert!(t.problems()[0].message.contains("more than 4 members"));
}

#[test]
fn nested_zip_opens_within_the_nesting_cap() {
    let inner = zip_bytes(&[
        ("main_entry.txt", b"dumpstate.txt"),
        ("dumpstate.txt", b"x"),
    ]);
    let middle = zip_bytes(&[("dir/bugreport.zip", &inner)]);
    let outer = zip_bytes(&[("acq/middle.zip", &middle)]);
    let t = tree(outer);
    let m = t.open_nested("acq/middle.zip").unwrap();
    assert_eq!(m.label(), "test.zip!/acq/middle.zip");
    assert_eq!(m.depth(), 1);
    let b = m.open_nested("dir/bugreport.zip").unwrap();
    assert_eq!(b.read("main_entry.txt", 100).unwrap(), b"dumpstate.txt");
    assert_eq!(
        b.display_name("x"),
        "test.zip!/acq/middle.zip!/dir/bugreport.zip!/x"
    );
    let limits = ArchiveLimits {
        max_nesting: 1,
        ..ArchiveLimits::default()
    };
    let t = Tree::from_bytes("o.zip", zip_bytes(&[("acq/middle.zip", &middle)]), limits).unwrap();
    let m = t.open_nested("acq/middle.zip").unwrap();
    assert!(matches!(
        m.open_nested("dir/bugreport.zip"),
        Err(ArchiveError::TooDeep { .. })
    ));
    // Large nested archives go through a temporary file instead of memory.
    let limits = ArchiveLimits {
        max_in_memory: 10,
        ..ArchiveLimits::default()
    };
    let t = Tree::from_bytes("o.zip", zip_bytes(&[("acq/middle.zip", &middle)]), limits).unwrap();
    let m = t.open_nested("acq/middle.zip").unwrap();
    let b = m.open_nested("dir/bugreport.zip").unwrap();
    assert_eq!(b.read("dumpstate.txt", 10).unwrap(), b"x");
}

#[test]
fn materialize_makes_a_temporary_copy() {
    let t = tree(zip_bytes(&[("db.sqlite", b"SQLite format 3\0rest")]));
    let path;
    {
        let m = t.materialize("db.sqlite").unwrap();
        assert!(m.is_copy());
        path = m.path().to_path_buf();
        assert_eq!(std::fs::read(&path).unwrap(), b"SQLite format 3\0rest");
    }
    assert!(!path.exists(), "the copy is deleted with its handle");
}

fn tar_with(f: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    f(&mut b);
    b.into_inner().unwrap()
}

fn file_header(name: &[u8], size: u64, kind: tar::EntryType) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.as_old_mut().name[..name.len()].copy_from_slice(name);
    h.set_size(size);
    h.set_entry_type(kind);
    h.set_mode(0o644);
    h.set_mtime(1_600_000_000);
    h.set_cksum();
    h
}

#[test]
fn tar_skips_devices_and_unsafe_names() {
    let bytes = tar_with(|b| {
        b.append(
            &file_header(b"./data/a.txt", 3, tar::EntryType::Regular),
            &b"abc"[..],
        )
        .unwrap();
        b.append(
            &file_header(b"dev/sda", 0, tar::EntryType::Block),
            io::empty(),
        )
        .unwrap();
        b.append(
            &file_header(b"dev/tty", 0, tar::EntryType::Char),
            io::empty(),
        )
        .unwrap();
        b.append(&file_header(b"pipe", 0, tar::EntryType::Fifo), io::empty())
            .unwrap();
        b.append(
            &file_header(b"../escape", 1, tar::EntryType::Regular),
            &b"x"[..],
        )
        .unwrap();
        b.append(&file_header(b"/abs", 1, tar::EntryType::Regular), &b"y"[..])
            .unwrap();
        let mut link = file_header(b"data/link", 0, tar::EntryType::Symlink);
        link.set_link_name("a.txt").unwrap();
        link.set_cksum();
        b.append(&link, io::empty()).unwrap();
        let mut out = file_header(b"data/out", 0, tar::EntryType::Symlink);
        out.as_old_mut().linkname[..13].copy_from_slice(b"../../../etc/");
        out.set_cksum();
        b.append(&out, io::empty()).unwrap();
        let mut hard = file_header(b"hard", 0, tar::EntryType::Link);
        hard.set_link_name("data/a.txt").unwrap();
        hard.set_cksum();
        b.append(&hard, io::empty()).unwrap();
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dump.tar");
    std::fs::write(&path, &bytes).unwrap();
    let t = Tree::open(&path).unwrap();
    assert_eq!(t.kind(), TreeKind::Tar);
    let names: Vec<_> = t.entries().iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        ["data", "data/a.txt", "data/link", "data/out", "hard"]
    );
    assert_eq!(t.read("data/a.txt", 10).unwrap(), b"abc");
    assert_eq!(t.read("data/link", 10).unwrap(), b"abc");
    assert_eq!(t.read("hard", 10).unwrap(), b"abc");
    assert!(matches!(
        t.open_file("data/out"),
        Err(ArchiveError::LinkEscapes { .. })
    ));
    assert_eq!(
        t.entry("data/a.txt").unwrap().mtime,
        Timestamp::from_unix_seconds(1_600_000_000)
    );
    for name in ["dev/sda", "dev/tty", "pipe", "../escape", "/abs"] {
        assert!(skipped(&t, name), "{name} not reported: {:?}", t.problems());
    }
    assert_eq!(t.problems().len(), 5);

    // The same archive gzipped reads the same, in place.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&bytes).unwrap();
    let gz = gz.finish().unwrap();
    let t = Tree::from_bytes("dump.tar.gz", gz, ArchiveLimits::default()).unwrap();
    assert_eq!(t.kind(), TreeKind::TarGz);
    assert_eq!(t.read("data/link", 10).unwrap(), b"abc");
    assert_eq!(t.problems().len(), 5);
}

#[test]
fn truncated_tar_keeps_what_it_can() {
    let bytes = tar_with(|b| {
        b.append(
            &file_header(b"one", 4, tar::EntryType::Regular),
            &b"1111"[..],
        )
        .unwrap();
        b.append(
            &file_header(b"two", 2000, tar::EntryType::Regular),
            &[2u8; 2000][..],
        )
        .unwrap();
    });
    let cut = &bytes[..1024 + 512];
    let t = Tree::from_bytes("cut.tar", cut.to_vec(), ArchiveLimits::default()).unwrap();
    assert_eq!(t.read("one", 10).unwrap(), b"1111");
    assert!(t.entry("two").is_none());
    assert!(skipped(&t, "two"));
}

#[test]
fn gzip_bomb_stops_the_index() {
    let bytes = tar_with(|b| {
        b.append(
            &file_header(b"zeros", 64 << 20, tar::EntryType::Regular),
            io::repeat(0).take(64 << 20),
        )
        .unwrap();
    });
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&bytes).unwrap();
    let gz = gz.finish().unwrap();
    let limits = ArchiveLimits {
        max_ratio: 100,
        ..ArchiveLimits::default()
    };
    let t = Tree::from_bytes("bomb.tar.gz", gz, limits).unwrap();
    assert!(
        t.problems().iter().any(|p| p.message.contains("limit")),
        "{:?}",
        t.problems()
    );
}

#[test]
fn not_an_archive() {
    let err = Tree::from_bytes(
        "x.bin",
        b"just some text, not an archive".to_vec(),
        ArchiveLimits::default(),
    )
    .unwrap_err();
    assert!(matches!(err, ArchiveError::NotAnArchive { .. }));
    let err = Tree::from_bytes(
        "x.zip",
        b"PK\x03\x04garbage".to_vec(),
        ArchiveLimits::default(),
    )
    .unwrap_err();
    assert!(matches!(err, ArchiveError::Format { .. }));
}

#[cfg(unix)]
#[test]
fn folder_walk_skips_fifos_and_keeps_links_inside() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret"), b"secret").unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("acq/logs")).unwrap();
    std::fs::write(dir.path().join("acq/packages.json"), b"[]").unwrap();
    std::fs::write(dir.path().join("acq/logs/x.log"), b"log").unwrap();
    std::os::unix::fs::symlink("packages.json", dir.path().join("acq/alias")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret"), dir.path().join("acq/leak")).unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg(dir.path().join("acq/fifo"))
        .status()
        .expect("mkfifo is needed for this test");
    assert!(status.success());
    let t = Tree::open(dir.path()).unwrap();
    assert_eq!(t.kind(), TreeKind::Folder);
    let names: Vec<_> = t.entries().iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "acq",
            "acq/alias",
            "acq/leak",
            "acq/logs",
            "acq/logs/x.log",
            "acq/packages.json"
        ]
    );
    assert_eq!(t.read("acq/alias", 10).unwrap(), b"[]");
    assert!(matches!(
        t.open_file("acq/leak"),
        Err(ArchiveError::LinkEscapes { .. })
    ));
    assert!(skipped(&t, "acq/fifo"));
    assert_eq!(t.glob("*/packages.json").len(), 1);
    assert_eq!(t.glob("*/logs/*").len(), 1);
    let m = t.materialize("acq/packages.json").unwrap();
    assert!(!m.is_copy());
    assert!(t.entry("acq/packages.json").unwrap().mtime.is_some());
}
