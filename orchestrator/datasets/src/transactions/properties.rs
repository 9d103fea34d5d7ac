//! Property tests: no upload makes the transaction readers panic; every line is either used or
//! counted under a reason (an error otherwise names what is wrong).

use super::*;
use proptest::prelude::*;

/// Text shaped like transaction logs: a header, separators, quotes, numbers and words.
const LOG_TEXT: &str = "(choice_set,item,price,chosen\n)?[a-z0-9 ,;.\"\n/:-]{0,240}";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_upload_is_read_or_refused_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400), text in LOG_TEXT) {
        for input in [bytes.as_slice(), text.as_bytes()] {
            let _ = Table::from_csv(input, "upload.csv", None);
            let _ = Table::from_csv(input, "upload.csv", Some("segment"));
            let _ = crate::ta_feng::read_bytes(input, "upload.csv");
        }
    }
}
