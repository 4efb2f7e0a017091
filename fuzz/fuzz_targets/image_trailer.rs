//! JPEG/PNG/GIF end-of-image walkers and the appended-archive check.
#![no_main]

use bridle_exploits::{Format, ScanOptions, scan_bytes_as};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let opts = ScanOptions::default();
    for f in [Format::Jpeg, Format::Png, Format::Gif] {
        let _ = scan_bytes_as(data, f, &opts);
    }
});
