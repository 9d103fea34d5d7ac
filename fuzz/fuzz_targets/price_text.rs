//! Reading prices out of any Unicode text (lowercase forms longer than the original included)
//! never panics.
#![no_main]
libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
    let text = String::from_utf8_lossy(bytes);
    let _ = interarec_vision::text::leading_prices(&text);
    let _ = interarec_vision::text::former_price(&text);
    let _ = interarec_summary::parse_price_range(&text);
});
