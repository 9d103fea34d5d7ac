//! A page's structure read from its text segments and their boxes, in the conventions storefronts
//! share rather than one shop's wording: breadcrumb (`Home › Furniture › Chairs`), heading and
//! result count (`Chairs` / `7 products`), search query (`Results for "trail"`), active filter
//! chips (`Gray ✕`, a row ending in `Clear all`), facet entries with counts (`Converse (12)`),
//! sort control, `Key: value` rows of a product page (`Colour: Gray`), purchase controls (`Add to
//! cart`) and recommendation rows (`You may also like`, `Customers also viewed`).
//!
//! Everything here is geometry and common words; which catalog values a signal names is decided
//! later against the vocabulary, and whether a facet's box is ticked against the pixels
//! ([`crate::offline`]).

use crate::ocr::BoundingBox;
use crate::text::{Segment, leading_prices};

/// Words that head a row of other products (cards below it are not what the shopper filtered to).
const RELATED_HEADINGS: [&str; 14] = [
    "you may also like",
    "you might also like",
    "you may like",
    "related",
    "customers also",
    "people also",
    "recently viewed",
    "similar items",
    "similar products",
    "similar homes",
    "more like this",
    "frequently bought",
    "more from",
    "complete the look",
];

/// Controls only a single product's page has.
const PURCHASE_CONTROLS: [&str; 11] = [
    "add to cart",
    "add to bag",
    "add to basket",
    "add to trolley",
    "buy now",
    "buy it now",
    "contact agent",
    "request a tour",
    "schedule a tour",
    "request info",
    "add to wishlist",
];

/// Words after a number that make it a result count.
const COUNT_NOUNS: [&str; 9] = [
    "products",
    "results",
    "items",
    "homes",
    "listings",
    "styles",
    "properties",
    "product",
    "result",
];

/// A facet entry: a label with a count, in a filter panel.
#[derive(Debug, Clone, PartialEq)]
pub struct Facet {
    /// The label without its count.
    pub label: String,
    /// The count shown beside it.
    pub count: Option<u64>,
    /// Whether the text itself marks it ticked (`☑`, `✓`); `None`: decided from the pixels.
    pub checked: Option<bool>,
    /// Where the label is.
    pub bbox: BoundingBox,
    /// Width of the start of `bbox` that OCR read as stray characters (the tick box itself,
    /// read as `O`, `(C`, `©`); 0 when the box lies left of the label.
    pub box_width: f32,
}

/// What a page's structure says, before any catalog word is looked up.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PageSignals {
    /// Breadcrumb parts, `Home` first.
    pub breadcrumb: Vec<String>,
    /// The page heading (the tallest text in the upper part of the page).
    pub heading: Option<String>,
    /// `7 products`, `1,204 results`.
    pub result_count: Option<u64>,
    /// What the shopper searched for, where the page repeats it.
    pub search_query: Option<String>,
    /// Active filter chips, marks removed.
    pub chips: Vec<String>,
    /// Facet entries with counts.
    pub facets: Vec<Facet>,
    /// The selected sort order (`Price: low to high`).
    pub sort: Option<String>,
    /// `Colour: Gray`-style rows: key (lowercase) and value.
    pub key_values: Vec<(String, String)>,
    /// The page has purchase controls (a single product's page).
    pub purchase_controls: bool,
    /// Top of the first recommendation row (`You may also like`), if any.
    pub related_top: Option<f32>,
    /// Menu lines of the page's header (`Today's Deals Customer Service Gift Cards`): the site's
    /// navigation, never a promotion or a product.
    pub navigation: Vec<String>,
}

/// A header menu line: in the page's top seventh, of body text size (a product's heading is
/// taller), four or more words, each capitalised (or `&`), no digits, prices, percentages or
/// sentence punctuation.
fn is_menu_line(segment: &Segment, page_height: f32, line_height: f32) -> bool {
    let text = segment.text.trim();
    let words: Vec<&str> = text.split_whitespace().collect();
    segment.bbox.y < page_height * 0.15
        && segment.bbox.height < 1.3 * line_height
        && words.len() >= 4
        && !text
            .chars()
            .any(|c| c.is_ascii_digit() || matches!(c, '%' | '$' | '€' | '£' | ':' | '!' | '.' | ','))
        && words
            .iter()
            .all(|w| *w == "&" || w.chars().next().is_some_and(char::is_uppercase))
}

/// A footer line: the copyright, legal and help links every shop ends with.
pub fn is_footer_text(text: &str) -> bool {
    let lower = text.to_lowercase();
    [
        "©",
        "all rights reserved",
        "privacy policy",
        "terms of use",
        "terms & conditions",
        "cookie settings",
    ]
    .iter()
    .any(|w| lower.contains(w))
}

fn lower(segment: &Segment) -> String {
    segment.text.to_lowercase()
}

/// Breadcrumb separators as shops print them and OCR reads them.
fn breadcrumb_parts(text: &str) -> Option<Vec<String>> {
    let separators = ['›', '»', '>', '/', '»', '〉'];
    if !text.contains(separators) {
        return None;
    }
    let parts: Vec<String> = text
        .split(separators)
        .map(|p| p.trim().trim_matches(['.', ',']).to_owned())
        .filter(|p| !p.is_empty())
        .collect();
    let starts_home = parts.first().is_some_and(|p| {
        matches!(
            p.to_lowercase().as_str(),
            "home" | "shop" | "all" | "store" | "all products"
        )
    });
    // Prices and dates use `/` too: every part must read as words, not numbers.
    let wordy = parts
        .iter()
        .all(|p| p.chars().any(char::is_alphabetic) && !p.contains(['$', '€', '£']) && p.len() <= 60);
    (wordy && parts.len() >= 2 && (starts_home || parts.len() >= 3)).then_some(parts)
}

/// `7 products`, `Showing 1–24 of 1,204 results`: the total.
fn result_count(text: &str) -> Option<u64> {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    for (i, word) in words.iter().enumerate().skip(1) {
        let noun = word.trim_matches(|c: char| !c.is_alphabetic());
        if COUNT_NOUNS.contains(&noun) {
            let number = words[i - 1]
                .trim_matches(|c: char| !c.is_ascii_digit())
                .replace([',', '.'], "");
            if let Ok(count) = number.parse::<u64>() {
                return Some(count);
            }
        }
    }
    None
}

/// `Results for "trail"`, `You searched for trail`, `Search: trail`.
fn search_query(text: &str) -> Option<String> {
    let lower = text.to_lowercase();
    for marker in ["results for", "searched for", "search results:", "search:"] {
        if let Some(at) = lower.find(marker) {
            let rest = text[at + marker.len()..]
                .trim()
                .trim_matches(['"', '“', '”', '\'', ':', ' '])
                .trim();
            if !rest.is_empty() {
                return Some(rest.to_owned());
            }
        }
    }
    None
}

/// `Converse (12)`, `Converse (12`, `☑ Gray 3`: a facet label and its count.
fn facet(text: &str) -> Option<(String, Option<u64>, Option<bool>)> {
    let trimmed = text.trim();
    let (checked, rest) = match trimmed.chars().next()? {
        '☑' | '✓' | '✔' | '■' => (Some(true), trimmed[trimmed.chars().next()?.len_utf8()..].trim()),
        '☐' | '□' => (Some(false), trimmed[trimmed.chars().next()?.len_utf8()..].trim()),
        _ => (None, trimmed),
    };
    let open = rest.rfind('(')?;
    let label = rest[..open].trim();
    let digits: String = rest[open + 1..].chars().take_while(char::is_ascii_digit).collect();
    let after = rest[open + 1 + digits.len()..].trim();
    let count_only = after.is_empty() || after == ")";
    // `3.3 (261)` with stars OCR read as letters is a rating, not a facet.
    let ends_in_rating = label
        .rsplit(' ')
        .next()
        .is_some_and(|last| last.contains('.') && last.chars().any(|c| c.is_ascii_digit()));
    (!label.is_empty() && label.chars().any(char::is_alphabetic) && !digits.is_empty() && count_only && !ends_in_rating)
        .then(|| (label.to_owned(), digits.parse().ok(), checked))
}

/// Whether a segment is a facet entry with a count (never a review or a rating).
pub fn is_facet_text(text: &str) -> bool {
    facet(text).is_some()
}

/// A chip's text without its removal mark, when the segment is one (`Gray ✕`, `× Nike`).
fn chip(text: &str) -> Option<String> {
    let trimmed = text.trim();
    let marks = ['✕', '×', '✖', '⨯', '✗'];
    if !trimmed.contains(marks) {
        return None;
    }
    let label = trimmed.replace(marks, " ");
    let label = label.split_whitespace().collect::<Vec<_>>().join(" ");
    (!label.is_empty() && label.len() <= 40).then_some(label)
}

/// `Colour: Gray`, `Brand : Aurora`.
fn key_value(text: &str) -> Option<(String, String)> {
    let (key, value) = text.split_once(':')?;
    let key = key.trim().to_lowercase();
    let value = value.trim();
    let short_key =
        !key.is_empty() && key.split_whitespace().count() <= 3 && key.chars().all(|c| c.is_alphabetic() || c == ' ');
    (short_key && !value.is_empty() && value.len() <= 60).then(|| (key, value.to_owned()))
}

/// Reads the structure of a page from its segments.
pub fn page_signals(segments: &[Segment], page_height: f32, line_height: f32) -> PageSignals {
    let mut signals = PageSignals::default();
    let upper = page_height * 0.6;
    signals.related_top = segments
        .iter()
        .filter(|s| {
            let text = lower(s);
            RELATED_HEADINGS.iter().any(|h| text.starts_with(h)) && s.text.len() <= 48
        })
        .map(|s| s.bbox.y)
        .min_by(f32::total_cmp);
    let related_top = signals.related_top.unwrap_or(f32::INFINITY);
    signals.purchase_controls = segments.iter().any(|s| {
        let text = lower(s);
        s.bbox.y < related_top && PURCHASE_CONTROLS.iter().any(|c| text.contains(c))
    });

    // Rows that end in `Clear all` hold chips even when OCR lost the marks.
    let clear_rows: Vec<f32> = segments
        .iter()
        .filter(|s| {
            let text = lower(s);
            text.contains("clear all") || text.contains("clear filters") || text.contains("reset all")
        })
        .map(|s| s.bbox.centre_y())
        .collect();
    for segment in segments.iter().filter(|s| s.bbox.y < related_top) {
        let text = segment.text.trim();
        if is_menu_line(segment, page_height, line_height) {
            signals.navigation.push(text.to_owned());
            continue;
        }
        if signals.breadcrumb.is_empty()
            && segment.bbox.y < upper
            && let Some(parts) = breadcrumb_parts(text)
        {
            signals.breadcrumb = parts;
            continue;
        }
        if signals.result_count.is_none()
            && segment.bbox.y < upper
            && let Some(count) = result_count(text)
        {
            signals.result_count = Some(count);
        }
        if signals.search_query.is_none()
            && let Some(query) = search_query(text)
        {
            signals.search_query = Some(query);
        }
        if let Some(sort) = lower(segment)
            .strip_prefix("sort by")
            .map(|rest| rest.trim_start_matches([':', ' ']).to_owned())
            && !sort.is_empty()
        {
            signals.sort = Some(sort);
            continue;
        }
        let on_clear_row = clear_rows
            .iter()
            .any(|y| (segment.bbox.centre_y() - y).abs() < line_height * 0.6);
        if let Some(label) = chip(text) {
            signals.chips.push(label);
            continue;
        }
        if on_clear_row {
            // Chips run together on one line: split at separators and at removal marks OCR
            // read as letters (`Women x Under $150.00 x`).
            let lower = text.to_lowercase();
            let before_clear = lower
                .find("clear")
                .filter(|at| text.is_char_boundary(*at))
                .map_or(text, |at| &text[..at]);
            let mut chip: Vec<&str> = Vec::new();
            let flush = |chip: &mut Vec<&str>, chips: &mut Vec<String>| {
                let label = chip.join(" ");
                let lower = label.to_lowercase();
                if !label.is_empty() && !lower.starts_with("filter") && !lower.starts_with("sort") {
                    chips.push(label);
                }
                chip.clear();
            };
            for word in before_clear.split_whitespace() {
                let standalone_mark = matches!(word, "x" | "X" | "×" | "✕" | "✖" | "·" | "|");
                let trimmed = word.trim_end_matches(['✕', '×', '✖']);
                if standalone_mark {
                    flush(&mut chip, &mut signals.chips);
                } else {
                    chip.push(trimmed);
                    if trimmed.len() < word.len() {
                        flush(&mut chip, &mut signals.chips);
                    }
                }
            }
            flush(&mut chip, &mut signals.chips);
            continue;
        }
        if let Some((label, count, checked)) = facet(text) {
            // A tick box OCR read as a stray token before the label (`(CO Fremont`).
            let (label, box_width) = match label.split_once(' ') {
                Some((first, rest))
                    if first.chars().count() <= 3
                        && !rest.trim().is_empty()
                        && (first.chars().any(|c| !c.is_alphanumeric()) || first.chars().all(|c| c.is_uppercase())) =>
                {
                    let share = (first.chars().count() + 1) as f32 / text.chars().count().max(1) as f32;
                    (rest.trim().to_owned(), share * segment.bbox.width)
                }
                _ => (label, 0.0),
            };
            signals.facets.push(Facet {
                label,
                count,
                checked,
                bbox: segment.bbox,
                box_width,
            });
            continue;
        }
        if let Some(pair) = key_value(text)
            && !pair.0.starts_with("filtered by")
        {
            signals.key_values.push(pair);
        }
    }

    // The heading: the tallest text of the upper page below the site header (and the breadcrumb)
    // that is not a price; it must stand out from body text.
    let below = segments
        .iter()
        .find(|s| breadcrumb_parts(&s.text).is_some())
        .map_or(page_height * 0.08, |s| s.bbox.y);
    // A heading sits near the result count when the page shows one, and in the top part of
    // the page (a tall OCR box in a sidebar list is not a heading).
    let count_y = segments
        .iter()
        .find(|s| result_count(&s.text).is_some())
        .map(|s| s.bbox.centre_y());
    signals.heading = segments
        .iter()
        .filter(|s| s.bbox.y > below && s.bbox.y < page_height * 0.4 && s.bbox.y < related_top)
        .filter(|s| s.bbox.height >= 1.5 * line_height)
        .filter(|s| count_y.is_none_or(|y| (s.bbox.centre_y() - y).abs() <= 4.0 * line_height))
        .filter(|s| leading_prices(&s.text).is_empty() && breadcrumb_parts(&s.text).is_none())
        // A sale banner is not what the page is about, nor a facet, chip or control.
        .filter(|s| !crate::text::is_promotion(&s.text))
        .filter(|s| {
            let lower = s.text.to_lowercase();
            facet(&s.text).is_none()
                && chip(&s.text).is_none()
                && !lower.contains("clear")
                && !lower.starts_with("sort")
                && !lower.contains("filtered by")
        })
        .filter(|s| s.text.chars().filter(|c| c.is_alphabetic()).count() >= 3 && s.text.len() <= 60)
        .max_by(|a, b| a.bbox.height.total_cmp(&b.bbox.height))
        .map(|s| s.text.trim().to_owned());
    signals
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(text: &str, x: f32, y: f32, height: f32) -> Segment {
        Segment {
            text: text.to_owned(),
            bbox: BoundingBox {
                x,
                y,
                width: 8.0 * text.chars().count() as f32,
                height,
            },
        }
    }

    #[test]
    fn pieces_of_a_page() {
        let cases: [(&str, Option<Vec<&str>>); 6] = [
            ("Home › Furniture › Chairs", Some(vec!["Home", "Furniture", "Chairs"])),
            ("Home > Shoes", Some(vec!["Home", "Shoes"])),
            ("Women / Shoes / Running", Some(vec!["Women", "Shoes", "Running"])),
            ("$80.00 / $150.00", None),
            ("12/05/2026", None),
            ("Sort by: Featured", None),
        ];
        for (text, expected) in cases {
            assert_eq!(
                breadcrumb_parts(text),
                expected.map(|parts| parts.into_iter().map(str::to_owned).collect()),
                "{text}"
            );
        }
        assert_eq!(result_count("7 products"), Some(7));
        assert_eq!(result_count("Showing 1–24 of 1,204 results"), Some(1204));
        assert_eq!(result_count("Free shipping on 3 items"), Some(3));
        assert_eq!(result_count("Chairs"), None);
        assert_eq!(
            search_query("Results for “trail runner”").as_deref(),
            Some("trail runner")
        );
        assert_eq!(facet("Converse (12)"), Some(("Converse".into(), Some(12), None)));
        assert_eq!(facet("Converse (1"), Some(("Converse".into(), Some(1), None)));
        assert_eq!(facet("☑ Gray (3)"), Some(("Gray".into(), Some(3), Some(true))));
        assert_eq!(facet("4.5 (86)"), None);
        assert_eq!(facet("Nike Air (Men's)"), None);
        assert_eq!(chip("Cameras ✕"), Some("Cameras".into()));
        // A header's menu is navigation; a product's heading and a sale banner are not.
        let top = [
            segment(
                "Today's Deals Customer Service Registry Gift Cards Sell",
                16.0,
                65.0,
                14.0,
            ),
            segment("SPRING SALE: Extra 15% Off Dresses", 360.0, 40.0, 14.0),
            segment("Harbor Gray Lounge Chair", 560.0, 100.0, 30.0),
            segment("New Balance Trail Shoes For Women", 16.0, 500.0, 14.0),
        ];
        assert_eq!(
            page_signals(&top, 800.0, 14.0).navigation,
            ["Today's Deals Customer Service Registry Gift Cards Sell"]
        );
        assert!(is_footer_text("© 2026 Bazaar, Inc. All rights reserved"));
        assert!(!is_footer_text("Free returns within 30 days"));
        // A chip row OCR read with its marks as letters, beside `Clear all`.
        let row = [segment("Women x Under $150.00 x Clear all", 260.0, 210.0, 14.0)];
        assert_eq!(page_signals(&row, 800.0, 14.0).chips, ["Women", "Under $150.00"]);
        assert_eq!(chip("× Under $400"), Some("Under $400".into()));
        assert_eq!(key_value("Colour: Gray"), Some(("colour".into(), "Gray".into())));
        assert_eq!(
            key_value("Free returns: 30 days"),
            Some(("free returns".into(), "30 days".into()))
        );
        assert_eq!(
            key_value("Note: this is a long sentence that goes on and on and on and on forever"),
            None
        );
    }

    #[test]
    fn a_storefront_listing_and_a_product_page() {
        let listing = [
            segment("NORTHWIND", 32.0, 20.0, 30.0),
            segment("Home › Furniture › Chairs", 32.0, 110.0, 14.0),
            segment("Chairs", 260.0, 140.0, 30.0),
            segment("7 products", 260.0, 180.0, 14.0),
            segment("Gray ✕", 260.0, 210.0, 14.0),
            segment("Clear all", 360.0, 210.0, 14.0),
            segment("Sort by: Price: low to high", 900.0, 180.0, 14.0),
            segment("Gray (3)", 40.0, 260.0, 14.0),
            segment("Blue (2)", 40.0, 284.0, 14.0),
            segment("HARBOR", 260.0, 420.0, 12.0),
            segment("Harbor Lounge Chair", 260.0, 440.0, 16.0),
            segment("$349.00", 260.0, 470.0, 16.0),
        ];
        let signals = page_signals(&listing, 800.0, 14.0);
        assert_eq!(signals.breadcrumb, ["Home", "Furniture", "Chairs"]);
        assert_eq!(signals.heading.as_deref(), Some("Chairs"));
        assert_eq!(signals.result_count, Some(7));
        assert_eq!(signals.chips, ["Gray"]);
        assert_eq!(signals.sort.as_deref(), Some("price: low to high"));
        assert_eq!(signals.facets.len(), 2);
        assert!(!signals.purchase_controls);
        assert_eq!(signals.related_top, None);

        let product = [
            segment("Home › Furniture › Chairs › Harbor Lounge Chair", 32.0, 110.0, 14.0),
            segment("Harbor Lounge Chair", 560.0, 150.0, 30.0),
            segment("$349.00", 560.0, 200.0, 24.0),
            segment("Colour: Gray", 560.0, 240.0, 14.0),
            segment("Add to cart", 560.0, 300.0, 16.0),
            segment("You may also like", 32.0, 560.0, 20.0),
            segment("Oslo Dining Chair", 32.0, 760.0, 14.0),
            segment("$129.00", 32.0, 780.0, 14.0),
        ];
        let signals = page_signals(&product, 800.0, 14.0);
        assert!(signals.purchase_controls);
        assert_eq!(signals.related_top, Some(560.0));
        assert_eq!(signals.key_values, [("colour".to_owned(), "Gray".to_owned())]);
        assert_eq!(signals.breadcrumb.len(), 4);
    }
}
