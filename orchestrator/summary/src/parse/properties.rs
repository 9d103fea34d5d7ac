//! Property tests: the lenient parser never panics on any answer text, and a summary written as
//! plain JSON reads back with its values.

use super::*;
use proptest::prelude::*;

/// Text shaped like model answers: braces, quotes, colons, escapes, fences and words.
const ANSWER_TEXT: &str = "[{}\\[\\]\":,'`a-zA-Z0-9 $.\\\\\n-]{0,120}";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_answer_text_parses_or_fails_without_panic(text in any::<String>(), shaped in ANSWER_TEXT) {
        let _ = parse_summary(&text);
        let _ = parse_summary(&shaped);
        let _ = parse_summary(&format!("```json\n{{\"Brand\": \"{shaped}\"}}\n```"));
    }

    #[test]
    fn plain_json_summaries_keep_their_prices(low in 1u32..10_000, span in 0u32..10_000) {
        let high = low + span;
        let answer = format!(r#"{{"Lowest Price": "${low}", "Highest Price": "${high}", "Brand": "Nike"}}"#);
        let parsed = parse_summary(&answer).unwrap();
        prop_assert_eq!(parsed.summary.lowest_price, Some(f64::from(low)));
        prop_assert_eq!(parsed.summary.highest_price, Some(f64::from(high)));
    }
}
