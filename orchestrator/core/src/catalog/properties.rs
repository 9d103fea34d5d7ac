//! Property tests: no import text makes catalog parsing panic; every row is either an item or a
//! counted error.

use super::*;
use proptest::prelude::*;

/// Text shaped like CSV and JSON Lines imports.
const IMPORT_TEXT: &str = "(id,title,price,colour\n)?[a-z0-9 ,.\"{}:\\[\\]\n$€-]{0,200}";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_import_parses_or_fails_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400), text in IMPORT_TEXT) {
        for input in [bytes.as_slice(), text.as_bytes()] {
            for format in [CatalogFormat::Csv, CatalogFormat::Jsonl] {
                let _ = parse_catalog(format, input, &BTreeMap::new(), false);
                let _ = parse_catalog(format, input, &BTreeMap::new(), true);
            }
        }
    }
}
