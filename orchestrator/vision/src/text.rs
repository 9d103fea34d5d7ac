//! What one run of text on a page says, by the conventions shops share: segments (runs of
//! words with no wide gap), prices in the usual notations (current, former, bands), discounts,
//! ratings with counts, promotions, and homes' bedrooms/bathrooms/sqft. The page reader
//! ([`crate::reading`]) and the structure reader ([`crate::structure`]) both build on it.

use crate::ocr::{BoundingBox, OcrPage};
use std::collections::BTreeMap;

/// A run of words on one line with no gap wider than about two character heights.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// Its words joined by spaces.
    pub text: String,
    /// Its box.
    pub bbox: BoundingBox,
}

/// Splits every OCR line into segments at gaps wider than twice the line height.
pub fn segments(page: &OcrPage) -> Vec<Segment> {
    let mut out = Vec::new();
    for line in &page.lines {
        let mut current: Vec<&crate::ocr::OcrWord> = Vec::new();
        for word in &line.words {
            if let Some(last) = current.last()
                && word.bbox.x - last.bbox.right() > 2.0 * line.bbox.height.max(8.0)
            {
                out.push(segment_of(&current));
                current.clear();
            }
            current.push(word);
        }
        if !current.is_empty() {
            out.push(segment_of(&current));
        }
    }
    out
}

fn segment_of(words: &[&crate::ocr::OcrWord]) -> Segment {
    let bbox = words.iter().skip(1).fold(words[0].bbox, |acc, w| acc.union(&w.bbox));
    Segment {
        text: words.iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(" "),
        bbox,
    }
}

/// Currency signs and codes a price may start or end with.
const CURRENCY_SIGNS: [char; 4] = ['$', '€', '£', '¥'];
const CURRENCY_CODES: [&str; 5] = ["usd", "eur", "gbp", "chf", "cad"];
/// Words before a current price (`Now $89.99`, `Sale: 1.299,00 €`).
const CURRENT_PRICE_WORDS: [&str; 7] = ["now", "sale", "from", "only", "price", "our price", "special"];
/// Words before a former price (`Was $120.00`, `Reg. $99`, `Compare at $80`).
const FORMER_PRICE_WORDS: [&str; 10] = [
    "was",
    "reg",
    "regular",
    "compare at",
    "before",
    "rrp",
    "list price",
    "list",
    "msrp",
    "original",
];

/// Reads one amount in any of the usual notations: `1,299.00`, `1.299,00`, `1 299,00`, `1299`,
/// `857.988` (OCR's period for a comma in whole-dollar prices). Returns the amount and the
/// bytes used.
fn amount(text: &str) -> Option<(f64, usize)> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut number = String::new();
    let mut end = 0;
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        let group_space = matches!(c, ' ' | '\u{a0}' | '\u{202f}')
            && !number.is_empty()
            && !number.contains([',', '.'])
            && chars[i + 1..]
                .iter()
                .take(3)
                .filter(|(_, d)| d.is_ascii_digit())
                .count()
                == 3
            && chars.get(i + 4).is_none_or(|(_, d)| !d.is_ascii_digit());
        if c.is_ascii_digit() || ((c == ',' || c == '.') && !number.is_empty()) {
            number.push(c);
            end = at + c.len_utf8();
        } else if !group_space {
            break;
        }
        i += 1;
    }
    let number = number.trim_end_matches(['.', ',']);
    if number.is_empty() {
        return None;
    }
    let value = match number.rfind([',', '.']) {
        None => number.parse().ok()?,
        Some(at) => {
            let decimals = number.len() - at - 1;
            let whole: String = number[..at].chars().filter(char::is_ascii_digit).collect();
            if decimals <= 2 {
                format!("{whole}.{}", &number[at + 1..]).parse().ok()?
            } else {
                // Thousands separators only (`857.988` is OCR's `857,988` in a whole price).
                number
                    .chars()
                    .filter(char::is_ascii_digit)
                    .collect::<String>()
                    .parse()
                    .ok()?
            }
        }
    };
    Some((value, end))
}

/// Prices in a run that starts with one: `$83.99`, `$83.99$119.99`, `$1,438,988 $1,585,000`,
/// `1.299,00 € 1.499,00 €`, `EUR 89,95`, `Now $89.99`. Stops at the first text that is not a
/// price (`$129.99 Nike ...` is one price).
fn prices_from(text: &str) -> Vec<f64> {
    let mut prices = Vec::new();
    let mut rest = text.trim_start();
    loop {
        let lower = rest.to_lowercase();
        let mut prefixed = false;
        if let Some(sign) = rest.chars().next().filter(|c| CURRENCY_SIGNS.contains(c)) {
            rest = rest[sign.len_utf8()..].trim_start();
            prefixed = true;
        } else if let Some(code) = CURRENCY_CODES.iter().find(|code| lower.starts_with(*code)) {
            rest = rest[code.len()..].trim_start();
            prefixed = true;
        }
        let Some((value, used)) = amount(rest) else { break };
        let after = rest[used..].trim_start();
        let after_lower = after.to_lowercase();
        // `1.299,00 €`: the sign after the amount (only when none came before it, so the next
        // price's `$` in `$83.99$119.99` stays that price's).
        let suffixed = !prefixed
            && (after.starts_with(CURRENCY_SIGNS) || CURRENCY_CODES.iter().any(|c| after_lower.starts_with(c)));
        if !(prefixed || suffixed) || value <= 0.0 {
            break;
        }
        prices.push(value);
        rest = if suffixed {
            let sign_len = after
                .chars()
                .next()
                .map_or(0, |c| if CURRENCY_SIGNS.contains(&c) { c.len_utf8() } else { 3 });
            after[sign_len..].trim_start()
        } else {
            after
        };
        if rest.is_empty() {
            break;
        }
    }
    prices
}

/// Prices at the start of a segment (see [`prices_from`]), after an optional word that marks a
/// current price (`Now`, `Sale:`). Returns nothing when the segment does not begin with a price,
/// or begins with a former price (`Was $120`).
pub fn leading_prices(text: &str) -> Vec<f64> {
    let trimmed = text.trim_start_matches(['|', ' ']);
    let lower = trimmed.to_lowercase();
    for word in CURRENT_PRICE_WORDS {
        if let Some(rest) = lower.strip_prefix(word)
            && rest.starts_with([' ', ':', '.'])
        {
            let rest = trimmed[word.len()..].trim_start_matches([' ', ':', '.']);
            return prices_from(rest);
        }
    }
    prices_from(trimmed)
}

/// A price band offered as a filter (`Under $50`, `$50 to $100`, `$150 & Above`, `Over
/// 1.000 €`), not a product's price: only prices and band words.
pub fn is_price_band(text: &str) -> bool {
    let lower = text.to_lowercase();
    if !lower.contains(CURRENCY_SIGNS) && !CURRENCY_CODES.iter().any(|c| lower.contains(c)) {
        return false;
    }
    let words: Vec<&str> = lower
        .split(|c: char| c.is_whitespace() || CURRENCY_SIGNS.contains(&c))
        .filter(|w| !w.is_empty())
        .collect();
    let band_word = |w: &str| {
        matches!(
            w,
            "to" | "&" | "and" | "above" | "up" | "over" | "under" | "less" | "more" | "than" | "plus" | "below"
        )
    };
    let amount_word = |w: &str| w.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | ',' | '+'));
    words.iter().any(|w| band_word(w))
        && words.iter().any(|w| amount_word(w))
        && words
            .iter()
            .all(|w| band_word(w) || amount_word(w) || CURRENCY_CODES.contains(w))
}

/// A former price: `Was $120.00`, `Reg. 1.499,00 €`, `Compare at $80`, `List: $120.00`.
pub fn former_price(text: &str) -> Option<f64> {
    let trimmed = text.trim();
    let lower = trimmed.to_lowercase();
    FORMER_PRICE_WORDS.iter().find_map(|word| {
        let rest = lower.strip_prefix(word)?;
        rest.starts_with([' ', ':', '.'])
            .then(|| {
                prices_from(trimmed[word.len()..].trim_start_matches([' ', ':', '.']))
                    .first()
                    .copied()
            })
            .flatten()
    })
}

pub(crate) fn percent_in(text: &str) -> Option<f64> {
    let at = text.find('%')?;
    let digits: String = text[..at]
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits.parse().ok().filter(|p: &f64| *p > 0.0 && *p < 100.0)
}

pub(crate) fn is_discount(text: &str) -> bool {
    let lower = text.to_lowercase();
    // Badges (`-30%`, `Price cut -9%`, `25% off`), not banners that mention a percentage.
    percent_in(text).is_some()
        && (text.trim_start().starts_with('-') || lower.contains("cut") || (lower.contains("off") && text.len() <= 12))
}

/// `4.5 (86)`, `★★★★☆ 4.4 out of 5 · 387 reviews`: rating and review count.
pub(crate) fn rating_in(text: &str) -> Option<(f64, Option<u64>)> {
    let has_stars = text.contains(['★', '☆']);
    let lower = text.to_lowercase();
    let cleaned: String = text
        .chars()
        .map(|c| if c == '★' || c == '☆' { ' ' } else { c })
        .collect();
    let mut numbers = cleaned
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter(|t| !t.is_empty() && *t != ".");
    let first: f64 = numbers.next()?.parse().ok()?;
    // A label before a whole number makes it a facet count (`Converse (1)`), not a rating; a
    // one-decimal number stays a rating whatever OCR made of the stars before it (`tote 3.3`).
    let before_number = &cleaned[..cleaned.find(|c: char| c.is_ascii_digit()).unwrap_or(0)];
    let decimal = cleaned
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .find(|t| !t.is_empty() && *t != ".")
        .is_some_and(|t| t.contains('.'));
    if before_number.chars().any(char::is_alphabetic)
        && !decimal
        && !lower.contains("out of 5")
        && !lower.contains("rat")
    {
        return None;
    }
    let looks_like_rating = has_stars || lower.contains("out of 5") || (cleaned.contains('(') && cleaned.contains(')'));
    if !looks_like_rating || !(0.0..=5.0).contains(&first) {
        return None;
    }
    let count = if lower.contains("out of 5") {
        numbers.nth(1).and_then(|t| t.parse().ok())
    } else {
        numbers.next().and_then(|t| t.parse().ok())
    };
    Some((first, count))
}

const PROMOTION_WORDS: [&str; 12] = [
    "sale",
    "% off",
    "code",
    "deal",
    "promo",
    "free shipping",
    "price cut",
    "open house",
    "clearance",
    "discount",
    "save",
    "offer",
];

pub(crate) fn is_promotion(text: &str) -> bool {
    let lower = text.to_lowercase();
    PROMOTION_WORDS.iter().any(|w| lower.contains(w))
}

/// Numbers before `bd`, `ba`, `sqft` (and their spelled-out forms).
pub(crate) fn real_estate_numbers(text: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    let tokens: Vec<String> = text
        .to_lowercase()
        .split(|c: char| c.is_whitespace() || c == '·')
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    for pair in tokens.windows(2) {
        let Ok(number) = pair[0].replace(',', "").trim_end_matches('+').parse::<f64>() else {
            continue;
        };
        let attribute = match pair[1].trim_end_matches(['.', ',']) {
            "bd" | "bed" | "beds" | "bedroom" | "bedrooms" => "bedrooms",
            "ba" | "bath" | "baths" | "bathroom" | "bathrooms" => "bathrooms",
            "sqft" | "sq.ft" | "ft²" => "sqft",
            _ => continue,
        };
        out.insert(attribute.to_owned(), number);
    }
    out
}
