//! ZIP central directory and local-header walk, member dispatch.
#![no_main]

use bridle_exploits::{Format, ScanOptions, scan_bytes_as};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = scan_bytes_as(data, Format::Zip, &ScanOptions::default());
});
