//! Writes the demo acquisition committed under `examples/demo/`: a small, entirely synthetic
//! iOS backup of a fictional phone, and a STIX2 file with fictional indicators that match it.
//!
//! It exists so that `bridle check` shows a real detection on a fresh machine without any
//! real evidence or third-party indicators in the repository. Every value is invented; the
//! domain is under `.example` (reserved by RFC 2606) and the "malware" is named as a demo.
//!
//! Usage: `cargo run -p bridle-demo -- examples/demo` (the folder is replaced). The output is
//! byte-for-byte reproducible with the bundled SQLite: a test regenerates it and compares.

use anyhow::{Context, Result, bail};
use plist::{Dictionary, Uid, Value};
use rusqlite::Connection;
use sha1::{Digest, Sha1};
use std::path::{Path, PathBuf};

/// 2025-03-14 09:26:53 UTC, the demo backup's date.
const BACKUP_UNIX: i64 = 1_741_944_413;
/// Seconds between 1970 and 2001 (Cocoa epoch).
const COCOA: i64 = 978_307_200;

const DEMO_DOMAIN: &str = "cdn-updates.bridle-demo.example.com";
const DEMO_PROCESS: &str = "bridledemoagentd";
const DEMO_EMAIL: &str = "linkchecker@bridle-demo.example.com";

fn file_id(domain: &str, rel: &str) -> String {
    let mut h = Sha1::new();
    h.update(format!("{domain}-{rel}").as_bytes());
    hex::encode(h.finalize())
}

struct Backup {
    dir: PathBuf,
    manifest: Connection,
    inode: i64,
}

impl Backup {
    fn new(dir: &Path) -> Result<Backup> {
        std::fs::create_dir_all(dir)?;
        let manifest = Connection::open(dir.join("Manifest.db"))?;
        manifest.execute_batch(
            "PRAGMA journal_mode=DELETE;
             CREATE TABLE Files (fileID TEXT PRIMARY KEY, domain TEXT, relativePath TEXT, flags INTEGER, file BLOB);
             CREATE INDEX FilesDomainIdx ON Files(domain);
             CREATE INDEX FilesRelativePathIdx ON Files(relativePath);
             CREATE INDEX FilesFlagsIdx ON Files(flags);
             CREATE TABLE Properties (key TEXT PRIMARY KEY, value BLOB);",
        )?;
        Ok(Backup {
            dir: dir.to_path_buf(),
            manifest,
            inode: 100_000,
        })
    }

    /// An NSKeyedArchiver MBFile record, the shape Manifest.db's `file` column has.
    fn mbfile(&mut self, rel: &str, size: i64, mode: i64, time: i64) -> Result<Vec<u8>> {
        self.inode += 1;
        let mut file = Dictionary::new();
        for (k, v) in [
            ("Birth", time),
            ("LastModified", time),
            ("LastStatusChange", time),
            ("Mode", mode),
            ("UserID", 501),
            ("GroupID", 501),
            ("Size", size),
            ("InodeNumber", self.inode),
            ("ProtectionClass", 3),
            ("Flags", 0),
        ] {
            file.insert(k.into(), Value::Integer(v.into()));
        }
        file.insert("RelativePath".into(), Value::Uid(Uid::new(2)));
        file.insert("$class".into(), Value::Uid(Uid::new(3)));
        let mut class = Dictionary::new();
        class.insert("$classname".into(), Value::String("MBFile".into()));
        class.insert(
            "$classes".into(),
            Value::Array(vec![
                Value::String("MBFile".into()),
                Value::String("NSObject".into()),
            ]),
        );
        let mut top = Dictionary::new();
        top.insert("root".into(), Value::Uid(Uid::new(1)));
        let mut archive = Dictionary::new();
        archive.insert("$version".into(), Value::Integer(100_000.into()));
        archive.insert("$archiver".into(), Value::String("NSKeyedArchiver".into()));
        archive.insert("$top".into(), Value::Dictionary(top));
        archive.insert(
            "$objects".into(),
            Value::Array(vec![
                Value::String("$null".into()),
                Value::Dictionary(file),
                Value::String(rel.into()),
                Value::Dictionary(class),
            ]),
        );
        let mut out = Vec::new();
        Value::Dictionary(archive).to_writer_binary(&mut out)?;
        Ok(out)
    }

    fn add_dir(&mut self, domain: &str, rel: &str, time: i64) -> Result<()> {
        let blob = self.mbfile(rel, 0, 0o40755, time)?;
        self.manifest.execute(
            "INSERT INTO Files VALUES (?1, ?2, ?3, 2, ?4)",
            rusqlite::params![file_id(domain, rel), domain, rel, blob],
        )?;
        Ok(())
    }

    fn add_file(&mut self, domain: &str, rel: &str, bytes: &[u8], time: i64) -> Result<()> {
        let id = file_id(domain, rel);
        let sub = self.dir.join(id.get(..2).context("short id")?);
        std::fs::create_dir_all(&sub)?;
        std::fs::write(sub.join(&id), bytes)?;
        let size = i64::try_from(bytes.len())?;
        let blob = self.mbfile(rel, size, 0o100644, time)?;
        self.manifest.execute(
            "INSERT INTO Files VALUES (?1, ?2, ?3, 1, ?4)",
            rusqlite::params![id, domain, rel, blob],
        )?;
        Ok(())
    }
}

/// Builds an SQLite database in memory with `sql` and returns its bytes.
fn sqlite_bytes(sql: &str) -> Result<Vec<u8>> {
    let dir = std::env::temp_dir().join(format!("bridle-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("db.sqlite");
    let _ = std::fs::remove_file(&path);
    {
        let c = Connection::open(&path)?;
        c.execute_batch("PRAGMA journal_mode=DELETE;")?;
        c.execute_batch(sql)?;
    }
    let bytes = std::fs::read(&path)?;
    std::fs::remove_dir_all(&dir)?;
    Ok(bytes)
}

fn sms_db() -> Result<Vec<u8>> {
    // Cocoa nanoseconds, as sms.db stores them since iOS 11.
    let ns = |unix: i64| (unix - COCOA) * 1_000_000_000;
    let day = 86_400;
    let messages = [
        (
            1,
            1,
            "Are we still on for the meeting tomorrow?",
            0,
            BACKUP_UNIX - 9 * day,
        ),
        (
            2,
            1,
            "Yes, 10am at the office.",
            1,
            BACKUP_UNIX - 9 * day + 600,
        ),
        (
            3,
            2,
            "Your parcel could not be delivered. Reschedule: https://cdn-updates.bridle-demo.example.com/r/7f3a9c",
            0,
            BACKUP_UNIX - 5 * day,
        ),
        (
            4,
            1,
            "Did you see the article? https://www.example.com/news/2025/03/report",
            0,
            BACKUP_UNIX - 2 * day,
        ),
        (
            5,
            1,
            "Thanks, reading it now.",
            1,
            BACKUP_UNIX - 2 * day + 300,
        ),
    ];
    let mut sql = String::from(
        "CREATE TABLE handle (ROWID INTEGER PRIMARY KEY AUTOINCREMENT UNIQUE, id TEXT NOT NULL, country TEXT, service TEXT NOT NULL, uncanonicalized_id TEXT, person_centric_id TEXT);
         CREATE TABLE message (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, guid TEXT UNIQUE NOT NULL, text TEXT, handle_id INTEGER DEFAULT 0, service TEXT, account TEXT, date INTEGER, date_read INTEGER, date_delivered INTEGER, is_from_me INTEGER DEFAULT 0, is_read INTEGER DEFAULT 0, cache_has_attachments INTEGER DEFAULT 0);
         INSERT INTO handle VALUES (1, '+15555550123', 'us', 'iMessage', NULL, NULL);
         INSERT INTO handle VALUES (2, '+15555550199', 'us', 'SMS', NULL, NULL);\n",
    );
    for (rowid, handle, text, from_me, when) in messages {
        let read = if from_me == 1 { 0 } else { ns(when + 120) };
        sql.push_str(&format!(
            "INSERT INTO message (ROWID, guid, text, handle_id, service, account, date, date_read, is_from_me, is_read) VALUES ({rowid}, 'DEMO-0000-0000-0000-{rowid:012}', '{}', {handle}, '{}', 'e:demo@example.com', {}, {read}, {from_me}, {});\n",
            text.replace('\'', "''"),
            if handle == 2 { "SMS" } else { "iMessage" },
            ns(when),
            i32::from(from_me == 0),
        ));
    }
    sqlite_bytes(&sql)
}

fn tcc_db() -> Result<Vec<u8>> {
    let t = BACKUP_UNIX - 4 * 86_400;
    let rows = [
        (
            "kTCCServiceCamera",
            "com.apple.camera",
            0,
            2,
            4,
            t - 80 * 86_400,
        ),
        (
            "kTCCServicePhotos",
            "com.example.notes",
            0,
            3,
            2,
            t - 30 * 86_400,
        ),
        (
            "kTCCServiceMicrophone",
            "com.example.voicememo",
            0,
            2,
            2,
            t - 20 * 86_400,
        ),
        ("kTCCServiceMicrophone", DEMO_PROCESS, 1, 2, 4, t),
        ("kTCCServiceCamera", DEMO_PROCESS, 1, 2, 4, t + 2),
    ];
    let mut sql = String::from(
        "CREATE TABLE access (service TEXT NOT NULL, client TEXT NOT NULL, client_type INTEGER NOT NULL, auth_value INTEGER NOT NULL, auth_reason INTEGER NOT NULL, auth_version INTEGER NOT NULL, csreq BLOB, policy_id INTEGER, indirect_object_identifier_type INTEGER, indirect_object_identifier TEXT NOT NULL DEFAULT 'UNUSED', indirect_object_code_identity BLOB, flags INTEGER, last_modified INTEGER NOT NULL DEFAULT (CAST(strftime('%s','now') AS INTEGER)), PRIMARY KEY (service, client, client_type, indirect_object_identifier));\n",
    );
    for (service, client, ctype, value, reason, when) in rows {
        sql.push_str(&format!(
            "INSERT INTO access (service, client, client_type, auth_value, auth_reason, auth_version, last_modified) VALUES ('{service}', '{client}', {ctype}, {value}, {reason}, 1, {when});\n"
        ));
    }
    sqlite_bytes(&sql)
}

fn plist_bytes(value: &Value, binary: bool) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    if binary {
        value.to_writer_binary(&mut out)?;
    } else {
        value.to_writer_xml(&mut out)?;
    }
    Ok(out)
}

fn dict(pairs: Vec<(&str, Value)>) -> Value {
    Value::Dictionary(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

fn date(unix: i64) -> Result<Value> {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(u64::try_from(unix)?);
    Ok(Value::Date(t.into()))
}

fn write_backup(dir: &Path) -> Result<()> {
    let mut b = Backup::new(dir)?;
    let t0 = BACKUP_UNIX - 200 * 86_400;
    for (domain, rel) in [
        ("HomeDomain", ""),
        ("HomeDomain", "Library"),
        ("HomeDomain", "Library/SMS"),
        ("HomeDomain", "Library/TCC"),
        ("HomeDomain", "Library/Preferences"),
    ] {
        b.add_dir(domain, rel, t0)?;
    }
    b.add_file(
        "HomeDomain",
        "Library/SMS/sms.db",
        &sms_db()?,
        BACKUP_UNIX - 3600,
    )?;
    b.add_file(
        "HomeDomain",
        "Library/TCC/TCC.db",
        &tcc_db()?,
        BACKUP_UNIX - 4 * 86_400,
    )?;
    let prefs = dict(vec![
        (
            "AppleLanguages",
            Value::Array(vec![Value::String("en-US".into())]),
        ),
        ("AppleLocale", Value::String("en_US".into())),
        ("LDMGlobalEnabled", Value::Boolean(false)),
    ]);
    b.add_file(
        "HomeDomain",
        "Library/Preferences/.GlobalPreferences.plist",
        &plist_bytes(&prefs, true)?,
        t0,
    )?;
    // A LocalStorage file named after the demo domain, as WebKit names them.
    b.add_dir(
        "AppDomain-com.apple.mobilesafari",
        "Library/WebKit/WebsiteData/LocalStorage",
        t0,
    )?;
    b.add_file(
        "AppDomain-com.apple.mobilesafari",
        &format!("Library/WebKit/WebsiteData/LocalStorage/https_{DEMO_DOMAIN}_0.localstorage"),
        b"SQLite format 3\0 (demo placeholder, not a database)",
        BACKUP_UNIX - 5 * 86_400,
    )?;
    drop(b.manifest);

    let info = dict(vec![
        ("Build Version", Value::String("22D82".into())),
        ("Device Name", Value::String("Demo iPhone".into())),
        ("Display Name", Value::String("Demo iPhone".into())),
        (
            "GUID",
            Value::String("00000000000000000000000000000000".into()),
        ),
        ("IMEI", Value::String("000000000000000".into())),
        (
            "Installed Applications",
            Value::Array(vec![
                Value::String("com.example.notes".into()),
                Value::String("com.example.voicememo".into()),
            ]),
        ),
        ("Last Backup Date", date(BACKUP_UNIX)?),
        ("Phone Number", Value::String("+1 555 555 0100".into())),
        ("Product Name", Value::String("iPhone 14 Pro".into())),
        ("Product Type", Value::String("iPhone15,2".into())),
        ("Product Version", Value::String("18.3.2".into())),
        ("Serial Number", Value::String("DEMO00000000".into())),
        (
            "Target Identifier",
            Value::String("00008120-000000000000DEMO".into()),
        ),
        ("Target Type", Value::String("Device".into())),
        (
            "Unique Identifier",
            Value::String("00008120-000000000000DEMO".into()),
        ),
        ("iTunes Version", Value::String("12.13.5".into())),
    ]);
    std::fs::write(dir.join("Info.plist"), plist_bytes(&info, false)?)?;
    let manifest = dict(vec![
        ("IsEncrypted", Value::Boolean(false)),
        ("Version", Value::String("10.0".into())),
        ("Date", date(BACKUP_UNIX)?),
        ("WasPasscodeSet", Value::Boolean(true)),
        (
            "Lockdown",
            dict(vec![
                ("ProductVersion", Value::String("18.3.2".into())),
                ("BuildVersion", Value::String("22D82".into())),
                ("DeviceName", Value::String("Demo iPhone".into())),
            ]),
        ),
    ]);
    std::fs::write(dir.join("Manifest.plist"), plist_bytes(&manifest, true)?)?;
    let status = dict(vec![
        ("IsFullBackup", Value::Boolean(false)),
        ("Version", Value::String("3.3".into())),
        ("BackupState", Value::String("new".into())),
        ("Date", date(BACKUP_UNIX)?),
        ("SnapshotState", Value::String("finished".into())),
    ]);
    std::fs::write(dir.join("Status.plist"), plist_bytes(&status, true)?)?;
    Ok(())
}

fn indicator(id: u32, pattern: &str, created: &str) -> serde_json::Value {
    serde_json::json!({
        "type": "indicator",
        "spec_version": "2.1",
        "id": format!("indicator--00000000-0000-4000-8000-{id:012}"),
        "created": created,
        "modified": created,
        "indicator_types": ["malicious-activity"],
        "pattern": pattern,
        "pattern_type": "stix",
        "pattern_version": "2.1",
        "valid_from": created,
    })
}

fn write_stix(path: &Path) -> Result<()> {
    let created = "2025-03-01T00:00:00.000Z";
    let malware_id = "malware--00000000-0000-4000-8000-000000000001";
    let mut objects = vec![serde_json::json!({
        "type": "malware",
        "spec_version": "2.1",
        "id": malware_id,
        "created": created,
        "modified": created,
        "name": "DemoSpy (synthetic demo, not real)",
        "description": "Fictional indicators that match bridle's synthetic demo backup.",
        "is_family": false,
    })];
    let patterns = [
        format!("[domain-name:value = '{}']", "bridle-demo.example.com"),
        format!("[process:name = '{DEMO_PROCESS}']"),
        format!("[email-addr:value = '{DEMO_EMAIL}']"),
    ];
    for (i, p) in patterns.iter().enumerate() {
        let n = u32::try_from(i)? + 1;
        objects.push(indicator(n, p, created));
        objects.push(serde_json::json!({
            "type": "relationship",
            "spec_version": "2.1",
            "id": format!("relationship--00000000-0000-4000-8000-{n:012}"),
            "created": created,
            "modified": created,
            "relationship_type": "indicates",
            "source_ref": format!("indicator--00000000-0000-4000-8000-{n:012}"),
            "target_ref": malware_id,
        }));
    }
    let bundle = serde_json::json!({
        "type": "bundle",
        "id": "bundle--00000000-0000-4000-8000-000000000000",
        "objects": objects,
    });
    let mut text = serde_json::to_string_pretty(&bundle)?;
    text.push('\n');
    std::fs::write(path, text)?;
    Ok(())
}

fn main() -> Result<()> {
    let Some(out) = std::env::args_os().nth(1).map(PathBuf::from) else {
        bail!("usage: bridle-demo OUTPUT_FOLDER   (e.g. examples/demo)");
    };
    let backup = out.join("backup");
    if backup.exists() {
        std::fs::remove_dir_all(&backup)
            .with_context(|| format!("removing the old {}", backup.display()))?;
    }
    write_backup(&backup)?;
    write_stix(&out.join("demo.stix2"))?;
    println!(
        "wrote {} and {}",
        backup.display(),
        out.join("demo.stix2").display()
    );
    Ok(())
}
