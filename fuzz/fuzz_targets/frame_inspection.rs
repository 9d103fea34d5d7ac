//! Frame inspection never panics and never accepts what it cannot decode.
#![no_main]
libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
    if let Ok(facts) = interarec_sessions::inspect_image(bytes) {
        assert!(facts.width >= 16 && facts.height >= 16);
    }
});
