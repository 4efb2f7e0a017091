//! Measures iOS backup key derivation (the slow step of opening an encrypted backup).
//!
//! ```text
//! cargo run --release -p bridle-crypto --example kdf_bench [-- RUNS [KEYBAG_MANIFEST_PLIST]]
//! ```
//!
//! Prints, for 10,000,000 rounds of PBKDF2-HMAC-SHA256 (the `DPIC` of current iOS):
//! the `pbkdf2` crate, this crate's portable loop (over `sha2::block_api::compress256`),
//! this crate's public function (the SHA-NI register loop where available), and a bare
//! chain of 20,000,000 `compress256` calls (the work any implementation over that function
//! must do). Then the whole derivation and unlock of a real-cost keybag: by default the
//! `ios_backup_encrypted_real` fixture (DPIC 10,000,000, ITER 10,000, password
//! `bridle-test`), alone and with `Manifest.db` decrypted as well. Each figure is the best and the median of RUNS runs (default 5).

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bridle_crypto::ios::ManifestPlist;
use bridle_crypto::kdf::{pbkdf2_hmac_sha256, pbkdf2_hmac_sha256_portable};

const ROUNDS: u32 = 10_000_000;

/// CPU time (user + system) of this process in seconds, from `/proc/self/stat` (Linux;
/// 10 ms resolution). On a shared machine it is steadier than wall time, which counts the
/// time the scheduler gives to other processes. `None` elsewhere.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses and may contain spaces):
    // utime and stime are fields 14 and 15 of the whole line.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

struct Stats {
    best: Duration,
    median: Duration,
    cpu_best: Option<f64>,
}

fn measure(runs: usize, mut f: impl FnMut()) -> Stats {
    let mut wall = Vec::new();
    let mut cpu = Vec::new();
    for _ in 0..runs {
        let c0 = cpu_seconds();
        let start = Instant::now();
        f();
        wall.push(start.elapsed());
        if let (Some(a), Some(b)) = (c0, cpu_seconds()) {
            cpu.push(b - a);
        }
    }
    wall.sort();
    cpu.sort_by(f64::total_cmp);
    Stats {
        best: wall[0],
        median: wall[wall.len() / 2],
        cpu_best: cpu.first().copied(),
    }
}

fn report(name: &str, stats: Stats) {
    let cpu = stats
        .cpu_best
        .map_or_else(|| "n/a".to_string(), |c| format!("{c:.2} s"));
    println!(
        "{name:<60} wall best {:>6.3} s  median {:>6.3} s  cpu best {cpu}",
        stats.best.as_secs_f64(),
        stats.median.as_secs_f64()
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let runs: usize = args
        .next()
        .map_or(5, |a| a.parse().expect("RUNS is a number"));
    let manifest = args.next().map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/fixtures/encrypted/ios_backup_encrypted_real/Manifest.plist"
        ))
    });
    let rounds = NonZeroU32::new(ROUNDS).expect("non-zero");
    let salt = [0x5au8; 20];
    let mut out = [0u8; 32];

    println!(
        "SHA-NI: {}",
        if std::arch::is_x86_feature_detected!("sha") {
            "yes"
        } else {
            "no"
        }
    );
    report(
        "pbkdf2 crate 0.13 (pbkdf2_hmac::<Sha256>), 10M rounds",
        measure(runs, || {
            pbkdf2::pbkdf2_hmac::<sha2::Sha256>(b"bridle-test", &salt, ROUNDS, &mut out);
        }),
    );
    report(
        "bridle portable loop over compress256, 10M rounds",
        measure(runs, || {
            pbkdf2_hmac_sha256_portable(b"bridle-test", &salt, rounds, &mut out);
        }),
    );
    report(
        "bridle pbkdf2_hmac_sha256 (SHA-NI register loop), 10M rounds",
        measure(runs, || {
            pbkdf2_hmac_sha256(b"bridle-test", &salt, rounds, &mut out)
        }),
    );
    report(
        "bare chain of 20M compress256 calls (2 per round)",
        measure(runs, || {
            let mut state = [1u32; 8];
            let block = [[3u8; 64]];
            for _ in 0..2 * ROUNDS {
                sha2::block_api::compress256(&mut state, &block);
            }
            std::hint::black_box(state);
        }),
    );

    let bytes = std::fs::read(&manifest)
        .unwrap_or_else(|e| panic!("{}: {e} (pass a Manifest.plist path)", manifest.display()));
    let plist = ManifestPlist::parse(&bytes).expect("Manifest.plist");
    let keybag = plist.parse_keybag().expect("keybag");
    let dpic = keybag.second_stage().map_or(0, |s| s.iterations.get());
    report(
        &format!(
            "derive_key + unlock (DPIC {dpic}, ITER {})",
            keybag.iterations().get()
        ),
        measure(runs, || {
            let key = keybag.derive_key(b"bridle-test");
            keybag.unlock(&key).expect("password of the fixture");
        }),
    );
    // The README's "unlock": derivation, class keys, and Manifest.db decrypted in memory.
    let manifest_db = std::fs::read(manifest.with_file_name("Manifest.db")).expect("Manifest.db");
    let manifest_key = plist.manifest_key.clone().expect("ManifestKey");
    report(
        "derive_key + unlock + Manifest.db decryption (3.2 MB)",
        measure(runs, || {
            let key = keybag.derive_key(b"bridle-test");
            let unlocked = keybag.unlock(&key).expect("password of the fixture");
            let db_key = unlocked
                .unwrap_manifest_key(&manifest_key)
                .expect("ManifestKey");
            let plain = db_key.decrypt_vec(&manifest_db).expect("Manifest.db");
            assert!(bridle_crypto::ios::looks_like_sqlite(&plain));
        }),
    );
}
