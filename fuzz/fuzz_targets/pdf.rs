//! PDF object scanner, object streams, filter chains, embedded streams.
#![no_main]

use bridle_exploits::{Format, ScanOptions, scan_bytes_as};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = scan_bytes_as(data, Format::Pdf, &ScanOptions::default());
});
