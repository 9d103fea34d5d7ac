//! The lenient summary parser takes any model answer: a summary or a refusal, never a panic.
#![no_main]
libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
    let text = String::from_utf8_lossy(bytes);
    let _ = interarec_summary::parse_lenient_object(&text);
    let _ = interarec_summary::parse_summary(&text);
});
