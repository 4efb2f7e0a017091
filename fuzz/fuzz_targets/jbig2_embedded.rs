//! JBIG2 segment streams as embedded in PDF, with a globals stream; the first two bytes give
//! the globals length.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let split = (usize::from(u16::from_le_bytes([data[0], data[1]])) + 2).min(data.len());
    let _ = bridle_exploits::fuzzing::jbig2_embedded(&data[2..split], &data[split..]);
});
