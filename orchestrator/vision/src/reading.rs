//! From OCR lines to what a page shows: product cards (title, current and former price,
//! discount, rating, the catalog values their text names, bedrooms/bathrooms/sqft), promotions,
//! reviews and comparison rows. Works on text segments: runs of words with no wide horizontal gap,
//! so Tesseract's lines that span several grid columns and PP-OCR's per-column lines read alike.

use crate::ocr::{BoundingBox, OcrPage};
use crate::vocabulary::Vocabulary;
use interarec_summary::parse_price;
use std::collections::BTreeMap;

/// A run of words on one line with no gap wider than about two character heights.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// Its words joined by spaces.
    pub text: String,
    /// Its box.
    pub bbox: BoundingBox,
}

/// A product as a page shows it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Card {
    /// Its title (the segment above its price), if one was found.
    pub title: String,
    /// Price it sells at now.
    pub price: f64,
    /// Former price when the card shows a struck-through one.
    pub was_price: Option<f64>,
    /// Discount in percent, shown or derived from the two prices.
    pub discount_percent: Option<f64>,
    /// Star rating out of 5.
    pub rating: Option<f64>,
    /// Number of reviews.
    pub review_count: Option<u64>,
    /// Catalog values its text names, by attribute.
    pub values: BTreeMap<String, String>,
    /// Numbers read from `4 bd · 2 ba · 2370 sqft` style text, by attribute.
    pub numbers: BTreeMap<String, f64>,
    /// Region where its picture is, for colour reading.
    pub picture: Option<BoundingBox>,
    /// Where its text is.
    pub bbox: BoundingBox,
}

/// The filters a listing says are in force (`Filtered by: Men · Black · Up to $140 · 2+ bd`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ActiveFilters {
    /// Catalog values named, by attribute.
    pub values: BTreeMap<String, String>,
    /// Lower price bound.
    pub lowest_price: Option<f64>,
    /// Upper price bound.
    pub highest_price: Option<f64>,
    /// Minimums such as `2+ bd`, by attribute (`bedrooms`, `bathrooms`).
    pub minimums: BTreeMap<String, f64>,
}

/// What one page shows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PageReading {
    /// A single product's page (true) or a listing (false).
    pub product_page: bool,
    /// The filters the page says are in force, if it shows them.
    pub filters: Option<ActiveFilters>,
    /// Listing cards, or on a product page the product itself first.
    pub cards: Vec<Card>,
    /// Sale banners, promo codes, shipping offers.
    pub promotions: Vec<String>,
    /// Review quotes.
    pub reviews: Vec<String>,
    /// Rows of comparison widgets (`item · price · rating`).
    pub comparisons: Vec<String>,
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

/// Prices at the start of a segment: `$83.99`, `$83.99$119.99`, `$1,438,988 $1,585,000`.
/// Returns nothing when the segment does not begin with a price.
pub fn leading_prices(text: &str) -> Vec<f64> {
    let trimmed = text.trim_start_matches(['|', ' ']);
    let starts_with_currency = trimmed.starts_with(['$', '€', '£']);
    if !starts_with_currency {
        return Vec::new();
    }
    let mut prices = Vec::new();
    for piece in trimmed.split(['$', '€', '£']).filter(|p| !p.trim().is_empty()) {
        let token: String = piece
            .trim()
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == ',' || *c == '.')
            .collect();
        if token.is_empty() {
            break;
        }
        // OCR often reads the comma of `$857,988` as a period: three digits after the only
        // period, in a price of three or more digits before it, is a thousands separator.
        let token = match token.split_once('.') {
            Some((whole, fraction))
                if fraction.len() == 3
                    && !fraction.contains(['.', ','])
                    && whole.trim_start_matches(',').len() >= 3 =>
            {
                format!("{whole},{fraction}")
            }
            _ => token,
        };
        match parse_price(&format!("${token}")) {
            Some(price) if price > 0.0 => prices.push(price),
            _ => break,
        }
        // Text after the price ends the run (`$129.99 Nike ...`).
        if piece.trim().len() > token.len() && !piece.trim()[token.len()..].trim().is_empty() {
            break;
        }
    }
    prices
}

fn percent_in(text: &str) -> Option<f64> {
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

fn is_discount(text: &str) -> bool {
    let lower = text.to_lowercase();
    // Badges (`-30%`, `Price cut -9%`, `25% off`), not banners that mention a percentage.
    percent_in(text).is_some()
        && (text.trim_start().starts_with('-') || lower.contains("cut") || (lower.contains("off") && text.len() <= 12))
}

/// `4.5 (86)`, `★★★★☆ 4.4 out of 5 · 387 reviews`: rating and review count.
fn rating_in(text: &str) -> Option<(f64, Option<u64>)> {
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

fn is_promotion(text: &str) -> bool {
    let lower = text.to_lowercase();
    PROMOTION_WORDS.iter().any(|w| lower.contains(w))
}

/// Numbers before `bd`, `ba`, `sqft` (and their spelled-out forms).
fn real_estate_numbers(text: &str) -> BTreeMap<String, f64> {
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

/// Reads a `Filtered by:` line.
fn active_filters(text: &str, vocabulary: &Vocabulary) -> Option<ActiveFilters> {
    let lower = text.to_lowercase();
    let at = lower.find("filtered by")?;
    let rest = &text[at + "filtered by".len()..];
    let mut filters = ActiveFilters {
        values: vocabulary.values_in(rest),
        ..ActiveFilters::default()
    };
    for chip in rest.trim_start_matches([':', ' ']).split(['·', '•', '|']) {
        let chip = chip.trim();
        let chip_lower = chip.to_lowercase();
        let prices: Vec<f64> = chip
            .split(['–', '-'])
            .filter_map(|part| leading_prices(part.trim()).first().copied())
            .collect();
        if chip_lower.starts_with("up to") || chip_lower.starts_with("under") {
            filters.highest_price = leading_prices(chip[chip.find(['$', '€', '£']).unwrap_or(0)..].trim())
                .first()
                .copied();
        } else if chip_lower.starts_with("from") || chip_lower.starts_with("over") {
            filters.lowest_price = leading_prices(chip[chip.find(['$', '€', '£']).unwrap_or(0)..].trim())
                .first()
                .copied();
        } else if prices.len() == 2 {
            filters.lowest_price = Some(prices[0].min(prices[1]));
            filters.highest_price = Some(prices[0].max(prices[1]));
        } else if let Some((number, unit)) = chip.split_once('+') {
            let attribute = match unit.trim().to_lowercase().as_str() {
                "bd" | "bed" | "beds" | "bedrooms" => "bedrooms",
                "ba" | "bath" | "baths" | "bathrooms" => "bathrooms",
                _ => continue,
            };
            if let Ok(n) = number.trim().parse::<f64>() {
                filters.minimums.insert(attribute.to_owned(), n);
            }
        }
    }
    Some(filters)
}

/// `Bedrooms 2`, `Sqft 1330` rows of a product page's details.
fn detail_numbers(segments: &[&Segment], line_height: f32) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for key in segments {
        let attribute = match key.text.trim().to_lowercase().as_str() {
            "bedrooms" | "beds" => "bedrooms",
            "bathrooms" | "baths" => "bathrooms",
            "sqft" | "square feet" => "sqft",
            _ => continue,
        };
        let value = segments
            .iter()
            .filter(|v| {
                v.bbox.x > key.bbox.right() && (v.bbox.centre_y() - key.bbox.centre_y()).abs() < line_height / 2.0
            })
            .min_by(|a, b| a.bbox.x.total_cmp(&b.bbox.x));
        if let Some(number) = value.and_then(|v| v.text.replace(',', "").trim().parse::<f64>().ok()) {
            out.insert(attribute.to_owned(), number);
        }
    }
    out
}

/// Reads one OCR page against the catalog's vocabulary.
pub fn read_page(page: &OcrPage, vocabulary: &Vocabulary) -> PageReading {
    let segments = segments(page);
    let mut reading = PageReading::default();
    let lower = |s: &Segment| s.text.to_lowercase();
    // Everything below a comparison heading is comparison content, not the page's products.
    let comparison_top = segments
        .iter()
        .filter(|s| lower(s).starts_with("compare"))
        .map(|s| s.bbox.bottom())
        .fold(f32::INFINITY, f32::min);
    reading.product_page = comparison_top.is_finite() || segments.iter().any(|s| lower(s).contains("out of 5"));
    let line_height = {
        let mut heights: Vec<f32> = segments.iter().map(|s| s.bbox.height).collect();
        heights.sort_by(f32::total_cmp);
        heights.get(heights.len() / 2).copied().unwrap_or(16.0).max(8.0)
    };

    let mut comparison_rows: BTreeMap<i64, Vec<&Segment>> = BTreeMap::new();
    for segment in &segments {
        if segment.bbox.y >= comparison_top {
            let row = (segment.bbox.centre_y() / line_height).round() as i64;
            comparison_rows.entry(row).or_default().push(segment);
            continue;
        }
        let text = segment.text.trim();
        if let Some(filters) = active_filters(text, vocabulary) {
            reading.filters = Some(filters);
            continue;
        }
        if (text.starts_with(['"', '“', '\'']) || text.ends_with(['"', '”'])) && text.len() > 8 {
            reading
                .reviews
                .push(text.trim_matches(['"', '“', '”', '\'']).to_owned());
        } else if is_promotion(text)
            && !is_discount(text)
            && leading_prices(text).is_empty()
            && !reading.promotions.iter().any(|p| p == text)
        {
            reading.promotions.push(text.to_owned());
        }
    }
    for row in comparison_rows.values() {
        let mut row = row.clone();
        row.sort_by(|a, b| a.bbox.x.total_cmp(&b.bbox.x));
        let cells: Vec<&str> = row.iter().map(|s| s.text.as_str()).collect();
        // Only rows naming a price are products; header rows (`Item Price Rating`) are not.
        if cells.iter().any(|c| c.contains(['$', '€', '£'])) {
            reading.comparisons.push(cells.join(" · "));
        }
    }

    let above_comparison: Vec<&Segment> = segments
        .iter()
        .filter(|s| s.bbox.y < comparison_top && !s.text.to_lowercase().contains("filtered by"))
        .collect();
    let prices: Vec<&Segment> = above_comparison
        .iter()
        .copied()
        .filter(|s| !leading_prices(&s.text).is_empty())
        .collect();
    let column_slack = 3.0 * line_height;
    for (index, price_segment) in prices.iter().enumerate() {
        if reading.product_page && index > 0 {
            break; // a product page is about its one product
        }
        let found = leading_prices(&price_segment.text);
        let mut card = Card {
            price: found[0],
            was_price: found.get(1).copied().filter(|was| *was > found[0]),
            bbox: price_segment.bbox,
            ..Card::default()
        };
        // The card's other text: same column, from a few lines above to a few below; on a
        // product page everything down to the comparison widget.
        let (top, bottom) = if reading.product_page {
            (
                price_segment.bbox.y - 4.0 * line_height,
                comparison_top.min(page.height as f32),
            )
        } else {
            (
                price_segment.bbox.y - 4.0 * line_height,
                price_segment.bbox.bottom() + 5.0 * line_height,
            )
        };
        let members: Vec<&Segment> = above_comparison
            .iter()
            .copied()
            .filter(|s| s.bbox.y >= top && s.bbox.y <= bottom)
            .filter(|s| reading.product_page || (s.bbox.x - price_segment.bbox.x).abs() < column_slack)
            // Another card's price below this one ends this card.
            .filter(|s| {
                !prices.iter().any(|p| {
                    !std::ptr::eq(*p, *price_segment)
                        && (p.bbox.x - price_segment.bbox.x).abs() < column_slack
                        && p.bbox.y > price_segment.bbox.y
                        && s.bbox.y >= p.bbox.y - 2.0 * line_height
                })
            })
            .collect();
        let title = members
            .iter()
            .filter(|s| s.bbox.bottom() <= price_segment.bbox.y + 2.0 && leading_prices(&s.text).is_empty())
            .filter(|s| !is_promotion(&s.text))
            .max_by(|a, b| a.bbox.y.total_cmp(&b.bbox.y));
        if let Some(title) = title {
            // Titles wrap: take the line above too when it sits right on top, same column.
            let wrapped_above = members.iter().find(|s| {
                s.bbox.bottom() <= title.bbox.y + 2.0
                    && title.bbox.y - s.bbox.bottom() < 0.6 * line_height
                    && (s.bbox.x - title.bbox.x).abs() < line_height
            });
            card.title = match wrapped_above {
                Some(above) if !reading.product_page => format!("{} {}", above.text, title.text),
                _ => title.text.clone(),
            };
            let picture_bottom = wrapped_above.map_or(title.bbox.y, |s| s.bbox.y) - 0.5 * line_height;
            card.picture = picture_region(page, price_segment, picture_bottom, reading.product_page);
        }
        let mut text = card.title.clone();
        for member in &members {
            if std::ptr::eq(*member, *price_segment) {
                continue;
            }
            if let Some((rating, count)) = rating_in(&member.text) {
                card.rating.get_or_insert(rating);
                if card.review_count.is_none() {
                    card.review_count = count;
                }
            } else if is_discount(&member.text) {
                card.discount_percent = card.discount_percent.or(percent_in(&member.text));
            } else if !is_promotion(&member.text) && member.bbox.y > price_segment.bbox.y {
                text.push_str(" · ");
                text.push_str(&member.text);
            }
            card.bbox = card.bbox.union(&member.bbox);
        }
        if card.discount_percent.is_none()
            && let Some(was) = card.was_price
        {
            card.discount_percent = Some(((1.0 - card.price / was) * 100.0).round());
        }
        card.values = vocabulary.values_in(&text);
        card.numbers = if reading.product_page {
            detail_numbers(&members, line_height)
        } else {
            real_estate_numbers(&text)
        };
        reading.cards.push(card);
    }
    reading
}

/// Where a card's picture is: above its title in a listing, left of the text on a product page.
fn picture_region(page: &OcrPage, price: &Segment, title_top: f32, product_page: bool) -> Option<BoundingBox> {
    let (x, y, width, height): (f32, f32, f32, f32) = if product_page {
        let width = (price.bbox.x - 40.0).min(480.0);
        (20.0, title_top.max(90.0), width, 360.0)
    } else {
        (price.bbox.x, title_top - 200.0, 220.0, 190.0)
    };
    let x = x.max(0.0);
    let y = y.max(0.0);
    let width = width.min(page.width as f32 - x);
    let height = height.min(page.height as f32 - y);
    (width >= 24.0 && height >= 24.0).then_some(BoundingBox { x, y, width, height })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_at_the_start_of_segments() {
        let cases: [(&str, &[f64]); 9] = [
            ("$83.99", &[83.99]),
            ("$83.99$119.99", &[83.99, 119.99]),
            ("$122.99 $171.99", &[122.99, 171.99]),
            ("$1,438,988", &[1_438_988.0]),
            ("$857.988 $1,195,000", &[857_988.0, 1_195_000.0]),
            ("$129.99 Nike Gel", &[129.99]),
            ("Price: low to high", &[]),
            ("Zara $83.99", &[]),
            ("$", &[]),
        ];
        for (text, expected) in cases {
            assert_eq!(leading_prices(text), expected, "{text}");
        }
    }

    #[test]
    fn active_filter_lines() {
        let mut attributes = BTreeMap::new();
        attributes.insert("gender".to_owned(), vec!["men".to_owned(), "women".to_owned()]);
        attributes.insert("city".to_owned(), vec!["San Jose".to_owned()]);
        let vocabulary = Vocabulary::new(&attributes);
        let filters = active_filters("Filtered by: Men · Up to $140.00", &vocabulary).expect("a filter line");
        assert_eq!(filters.values.get("gender").map(String::as_str), Some("men"));
        assert_eq!((filters.lowest_price, filters.highest_price), (None, Some(140.0)));
        let filters = active_filters("Filtered by: San Jose · $80.00–$150.00 · 3+ bd · 2+ ba", &vocabulary)
            .expect("a filter line");
        assert_eq!((filters.lowest_price, filters.highest_price), (Some(80.0), Some(150.0)));
        assert_eq!(filters.minimums.get("bedrooms"), Some(&3.0));
        assert_eq!(filters.minimums.get("bathrooms"), Some(&2.0));
        assert_eq!(filters.values.get("city").map(String::as_str), Some("San Jose"));
        let filters = active_filters("Filtered by: From $1,200,000", &vocabulary).expect("a filter line");
        assert_eq!(filters.lowest_price, Some(1_200_000.0));
        assert!(active_filters("Sort by: Featured", &vocabulary).is_none());
    }

    #[test]
    fn ratings_discounts_and_specifications() {
        let cases: [(&str, Option<(f64, Option<u64>)>); 5] = [
            ("★★★★★ 4.5(86)", Some((4.5, Some(86)))),
            ("★★★★☆4.4 out of 5·387 reviews", Some((4.4, Some(387)))),
            ("4.3 (354)", Some((4.3, Some(354)))),
            ("2370 sqft", None),
            ("Up to 40% off", None),
        ];
        for (text, expected) in cases {
            assert_eq!(rating_in(text), expected, "{text}");
        }
        assert!(is_discount("-30%"));
        assert!(is_discount("Price cut -9%"));
        assert!(!is_discount("4.5 (86)"));
        assert!(is_discount("25% off"));
        assert!(!is_discount("SPRING SALE: extra 15% off dresses"));
        let numbers = real_estate_numbers("4 bd · 2 ba · 2,370 sqft · condo");
        assert_eq!(numbers.get("bedrooms"), Some(&4.0));
        assert_eq!(numbers.get("bathrooms"), Some(&2.0));
        assert_eq!(numbers.get("sqft"), Some(&2370.0));
    }
}
