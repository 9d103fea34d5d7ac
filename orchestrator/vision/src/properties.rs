//! Property tests: the readers never panic on text OCR could produce, whatever Unicode it holds
//! (characters whose lowercase or uppercase forms are longer than they are included), and a
//! price written in the usual dollar notation reads back as written.

use crate::ocr::{BoundingBox, OcrLine, OcrPage, OcrWord};
use crate::reading::read_page;
use crate::text;
use crate::vocabulary::Vocabulary;
use proptest::collection::vec;
use proptest::prelude::*;
use std::collections::BTreeMap;

/// Lines laid out top to bottom, one word box per whitespace-separated token.
fn page(lines: &[String]) -> OcrPage {
    let lines = lines
        .iter()
        .enumerate()
        .filter_map(|(i, text)| {
            let y = 20.0 + 24.0 * i as f32;
            let mut x = 10.0;
            let words: Vec<OcrWord> = text
                .split_whitespace()
                .map(|token| {
                    let width = 9.0 * token.chars().count() as f32;
                    let word = OcrWord {
                        text: token.to_owned(),
                        confidence: 0.9,
                        bbox: BoundingBox {
                            x,
                            y,
                            width,
                            height: 18.0,
                        },
                    };
                    x += width + 8.0;
                    word
                })
                .collect();
            (!words.is_empty()).then(|| OcrLine {
                text: words.iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(" "),
                confidence: 0.9,
                bbox: BoundingBox {
                    x: 10.0,
                    y,
                    width: x - 10.0,
                    height: 18.0,
                },
                words,
            })
        })
        .collect();
    OcrPage::of_lines(lines)
}

fn vocabulary() -> Vocabulary {
    let attributes = BTreeMap::from([
        ("colour".to_owned(), vec!["green".to_owned(), "red".to_owned()]),
        ("brand".to_owned(), vec!["Nike".to_owned(), "Zara".to_owned()]),
    ]);
    Vocabulary::new(&attributes)
}

/// Text that looks like shop pages: currency signs, digits, separators, words, and letters whose
/// case forms change length (`İ`, `ẞ`, `ﬁ`, `ŉ`).
const SHOP_TEXT: &str = "[A-Za-z0-9 $€£¥.,:%()+\\-/✕★İıẞßﬁŉǅΣς]{0,48}";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn text_readers_never_panic(text in any::<String>(), shop in SHOP_TEXT) {
        for text in [&text, &shop] {
            let _ = text::leading_prices(text);
            let _ = text::former_price(text);
            let _ = text::is_price_band(text);
            let _ = text::is_promotion(text);
            let _ = text::rating_in(text);
            let _ = text::percent_in(text);
            let _ = text::is_discount(text);
            let _ = text::real_estate_numbers(text);
        }
    }

    #[test]
    fn pages_of_arbitrary_lines_read_without_panic(
        lines in vec(prop_oneof![any::<String>(), SHOP_TEXT.prop_map(String::from)], 0..14)
    ) {
        let _ = read_page(&page(&lines), &vocabulary());
    }

    #[test]
    fn dollar_prices_read_back_as_written(cents in 1u64..100_000_000) {
        let written = format!(
            "${}.{:02}",
            interarec_core::money::group_thousands(cents / 100, ','),
            cents % 100
        );
        let read = text::leading_prices(&written);
        prop_assert_eq!(read, vec![cents as f64 / 100.0], "{}", written);
    }
}
