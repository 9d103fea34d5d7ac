//! Transaction logs (the generic CSV and Ta-Feng) parse or are refused, never a panic.
#![no_main]
use interarec_datasets::{ta_feng, transactions::Table};
libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
    if let Ok(table) = Table::from_csv(bytes, "fuzz.csv", None) {
        let _ = table.choice_sets(None);
    }
    let _ = ta_feng::read_bytes(bytes, "fuzz.csv");
});
