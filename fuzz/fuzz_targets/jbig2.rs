//! Standalone JBIG2 files (both organisations) and headerless segment streams.
#![no_main]

use bridle_exploits::{Format, ScanOptions, scan_bytes_as};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let opts = ScanOptions::default();
    let _ = scan_bytes_as(data, Format::Jbig2, &opts);
    let _ = scan_bytes_as(data, Format::Jbig2Stream, &opts);
});
