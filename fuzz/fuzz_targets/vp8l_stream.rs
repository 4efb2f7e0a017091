//! The VP8L prefix-code decoder and libwebp table emulation on raw bits; the first four bytes
//! give the image size.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let w = u32::from(u16::from_le_bytes([data[0], data[1]]) & 0x3FFF) + 1;
    let h = u32::from(u16::from_le_bytes([data[2], data[3]]) & 0x3FFF) + 1;
    let _ = bridle_exploits::fuzzing::vp8l_stream(&data[4..], w, h);
});
