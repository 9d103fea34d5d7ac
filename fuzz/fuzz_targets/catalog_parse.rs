//! Catalog parsing (CSV and JSON Lines, strict or not) answers rows or a refusal, never a panic.
#![no_main]
use interarec_core::catalog::{CatalogFormat, parse_catalog};
libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
    for format in [CatalogFormat::Csv, CatalogFormat::Jsonl] {
        for strict in [false, true] {
            let _ = parse_catalog(format, bytes, &Default::default(), strict);
        }
    }
});
