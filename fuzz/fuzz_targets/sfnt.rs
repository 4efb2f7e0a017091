//! sfnt fonts, collections and WOFF (the magic picks the path): tables, loca, glyphs and the
//! instruction sweep.
#![no_main]

use bridle_exploits::{Format, ScanOptions, scan_bytes_as};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = scan_bytes_as(data, Format::Sfnt, &ScanOptions::default());
});
