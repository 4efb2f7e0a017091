//! PDF filters with output caps; the first byte picks the filter.
#![no_main]

use libfuzzer_sys::fuzz_target;

const FILTERS: [&[u8]; 5] = [
    b"FlateDecode",
    b"LZWDecode",
    b"ASCIIHexDecode",
    b"ASCII85Decode",
    b"RunLengthDecode",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let filter = FILTERS[usize::from(pick) % FILTERS.len()];
    let n = bridle_exploits::fuzzing::pdf_filter(filter, rest);
    assert!(n <= 1 << 20);
});
