//! The sniffer and the whole dispatch: any bytes, whatever they look like.
#![no_main]

use bridle_exploits::{ScanOptions, scan_bytes, sniff};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let r = scan_bytes(data, &ScanOptions::default());
    // Property: the report says what the sniffer says, and is deterministic.
    assert_eq!(r.format, sniff(data));
    assert_eq!(r, scan_bytes(data, &ScanOptions::default()));
});
