//! The bounded PDF object parser (dictionaries, arrays, names, strings, references).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = bridle_exploits::fuzzing::pdf_object(data);
});
