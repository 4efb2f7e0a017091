//! The TrueType instruction sweep (push decoding, IDEF and jump checks).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = bridle_exploits::fuzzing::truetype_program(data);
});
