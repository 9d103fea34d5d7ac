//! From OCR lines to what a page shows: product cards (title, current and former price,
//! discount, rating, the catalog values their text names, bedrooms/bathrooms/sqft), promotions,
//! reviews and comparison rows. Works on text segments: runs of words with no wide horizontal gap,
//! so Tesseract's lines that span several grid columns and PP-OCR's per-column lines read alike
//! ([`crate::text`] reads prices, ratings and the like inside one segment).

use crate::ocr::{BoundingBox, OcrPage};
use crate::structure::{PageSignals, page_signals};
pub use crate::text::{Segment, former_price, is_price_band, leading_prices, segments};
use crate::text::{is_discount, is_promotion, percent_in, rating_in, real_estate_numbers};
use crate::vocabulary::Vocabulary;
use std::collections::BTreeMap;

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
    /// All its text (title, the lines above and below it), for recognising the item.
    pub text: String,
    /// It sits in a recommendation row (`You may also like`), not in what the shopper chose.
    pub related: bool,
    /// The catalog item(s) it was recognised as, by id.
    pub item_ids: Vec<String>,
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

impl ActiveFilters {
    /// Whether it states nothing at all.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
            && self.lowest_price.is_none()
            && self.highest_price.is_none()
            && self.minimums.is_empty()
    }
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
    /// The page's structure: breadcrumb, heading, chips, facets, `Key: value` rows.
    pub signals: PageSignals,
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
        let bounds = filter_chip(chip);
        filters.lowest_price = bounds.lowest_price.or(filters.lowest_price);
        filters.highest_price = bounds.highest_price.or(filters.highest_price);
        filters.minimums.extend(bounds.minimums);
    }
    Some(filters)
}

/// The bounds one filter chip states: `Up to $140`, `Under $400`, `From $1,200,000`, `$80–$150`,
/// `3+ bd`, `2+ baths`. Catalog values are looked up by the caller.
pub fn filter_chip(chip: &str) -> ActiveFilters {
    let mut filters = ActiveFilters::default();
    let chip = chip.trim();
    let chip_lower = chip.to_lowercase();
    let prices: Vec<f64> = chip
        .split(['–', '-'])
        .filter_map(|part| leading_prices(part.trim()).first().copied())
        .collect();
    let after_currency = || {
        leading_prices(chip[chip.find(['$', '€', '£']).unwrap_or(0)..].trim())
            .first()
            .copied()
    };
    if chip_lower.starts_with("up to") || chip_lower.starts_with("under") || chip_lower.starts_with("below") {
        filters.highest_price = after_currency();
    } else if chip_lower.starts_with("from") || chip_lower.starts_with("over") || chip_lower.starts_with("above") {
        filters.lowest_price = after_currency();
    } else if prices.len() == 2 {
        filters.lowest_price = Some(prices[0].min(prices[1]));
        filters.highest_price = Some(prices[0].max(prices[1]));
    } else if let Some((number, unit)) = chip.split_once('+') {
        let attribute = match unit.trim().to_lowercase().as_str() {
            "bd" | "bed" | "beds" | "bedrooms" => "bedrooms",
            "ba" | "bath" | "baths" | "bathrooms" => "bathrooms",
            _ => return filters,
        };
        if let Ok(n) = number.trim().parse::<f64>() {
            filters.minimums.insert(attribute.to_owned(), n);
        }
    }
    filters
}

/// `Bedrooms 2`, `Sqft 1330` rows of a product page's details.
fn detail_numbers(segments: &[&Segment], line_height: f32) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    // `Bedrooms: 3`, `Square feet: 1,450` in one segment.
    for segment in segments {
        if let Some((key, value)) = segment.text.split_once(':') {
            let attribute = match key.trim().to_lowercase().as_str() {
                "bedrooms" | "beds" => "bedrooms",
                "bathrooms" | "baths" => "bathrooms",
                "sqft" | "square feet" | "living area" => "sqft",
                _ => continue,
            };
            let digits: String = value
                .trim()
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == ',' || *c == '.')
                .filter(|c| *c != ',')
                .collect();
            if let Ok(number) = digits.trim_end_matches('.').parse::<f64>() {
                out.insert(attribute.to_owned(), number);
            }
        }
    }
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
    let line_height = {
        let mut heights: Vec<f32> = segments.iter().map(|s| s.bbox.height).collect();
        heights.sort_by(f32::total_cmp);
        heights.get(heights.len() / 2).copied().unwrap_or(16.0).max(8.0)
    };
    reading.signals = page_signals(&segments, page.height as f32, line_height);
    // Cards below a recommendation row's heading are other products, not the shopper's choice.
    let related_top = reading.signals.related_top.unwrap_or(f32::INFINITY);
    // A single product's page: purchase controls, a rating summary, a comparison widget, or one
    // price standing out above everything else.
    let prices_above_related: Vec<&Segment> = segments
        .iter()
        .filter(|s| s.bbox.y < related_top.min(comparison_top) && !leading_prices(&s.text).is_empty())
        .collect();
    // A listing narrowed to one result has one price too: it says how many results it has, or
    // which filters are in force.
    let says_listing = reading.signals.result_count.is_some()
        || !reading.signals.chips.is_empty()
        || segments.iter().any(|s| lower(s).contains("filtered by"));
    let one_big_price =
        prices_above_related.len() == 1 && prices_above_related[0].bbox.height >= 1.25 * line_height && !says_listing;
    reading.product_page = comparison_top.is_finite()
        || reading.signals.purchase_controls
        || one_big_price
        || segments.iter().any(|s| lower(s).contains("out of 5"));

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
        if crate::structure::is_facet_text(text)
            || crate::structure::is_footer_text(text)
            || reading.signals.navigation.iter().any(|line| line == text)
        {
            continue;
        }
        if (text.starts_with(['"', '“', '\'']) || text.ends_with(['"', '”']))
            && text.len() > 8
            && text.split_whitespace().count() >= 3
        {
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
        .filter(|s| !leading_prices(&s.text).is_empty() && !is_price_band(&s.text))
        .collect();
    let column_slack = 3.0 * line_height;
    let detail_bottom = comparison_top.min(related_top).min(page.height as f32);
    for (index, price_segment) in prices.iter().enumerate() {
        let related = price_segment.bbox.y > related_top;
        if reading.product_page && (index > 0 || related) {
            break; // a product page is about its one product
        }
        let found = leading_prices(&price_segment.text);
        let mut card = Card {
            price: found[0],
            was_price: found.get(1).copied().filter(|was| *was > found[0]),
            bbox: price_segment.bbox,
            related,
            ..Card::default()
        };
        // The card's other text: same column, from a few lines above to a few below; on a
        // product page everything down to the comparison widget.
        let (top, bottom) = if reading.product_page {
            (price_segment.bbox.y - 4.0 * line_height, detail_bottom)
        } else {
            // Titles in dense grids wrap over three lines above a line of stars.
            (
                price_segment.bbox.y - 6.0 * line_height,
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
        // A sponsored card is placed by an advertiser, not by the shopper's filters: it counts
        // as little as a recommendation row.
        if members.iter().any(|m| is_sponsored_label(&m.text)) {
            card.related = true;
        }
        if reading.product_page {
            let title = members
                .iter()
                .filter(|s| s.bbox.bottom() <= price_segment.bbox.y + 2.0 && leading_prices(&s.text).is_empty())
                .filter(|s| !is_promotion(&s.text))
                .max_by(|a, b| a.bbox.y.total_cmp(&b.bbox.y));
            if let Some(title) = title {
                card.title = title.text.clone();
                card.picture = picture_region(page, price_segment, title.bbox.y - 0.5 * line_height, true);
            }
        } else if let Some(block) = title_block(&members, price_segment, line_height) {
            card.title = block.iter().map(|s| s.text.as_str()).collect::<Vec<_>>().join(" ");
            card.picture = picture_region(page, price_segment, block[0].bbox.y - 0.5 * line_height, false);
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
            } else if let Some(was) = former_price(&member.text) {
                if was > card.price {
                    card.was_price.get_or_insert(was);
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
        // All of the card's lines, above the title too (a brand in small capitals).
        let mut all_text: Vec<&str> = members.iter().map(|m| m.text.as_str()).collect();
        if reading.product_page
            && let Some(heading) = &reading.signals.heading
        {
            all_text.insert(0, heading);
        }
        card.text = all_text.join(" · ");
        if reading.product_page {
            // `Colour: Gray` names the product's own value, whatever else the page lists.
            for (key, value) in &reading.signals.key_values {
                if let Some(attribute) = vocabulary.attribute_named(key)
                    && let Some(found) = vocabulary.values_in(value).remove(&attribute)
                {
                    card.values.insert(attribute, found);
                }
            }
        }
        card.numbers = if reading.product_page {
            detail_numbers(&members, line_height)
        } else {
            real_estate_numbers(&text)
        };
        reading.cards.push(card);
    }
    reading
}

/// `Sponsored`, `Ad`: an advertiser placed the card.
fn is_sponsored_label(text: &str) -> bool {
    matches!(
        text.trim().to_lowercase().as_str(),
        "sponsored" | "ad" | "promoted" | "advertisement" | "sponsored ad"
    )
}

/// A listing card's title: of the blocks of lines stacked right on top of each other above the
/// price (a title wrapping over lines, a brand line above it, a line of stars under it), the one
/// with the most letters; top line first.
fn title_block<'a>(members: &[&'a Segment], price: &Segment, line_height: f32) -> Option<Vec<&'a Segment>> {
    let mut above: Vec<&Segment> = members
        .iter()
        .copied()
        .filter(|s| s.bbox.bottom() <= price.bbox.y + 2.0 && leading_prices(&s.text).is_empty())
        .filter(|s| !is_promotion(&s.text) && former_price(&s.text).is_none() && !is_sponsored_label(&s.text))
        .collect();
    above.sort_by(|a, b| a.bbox.y.total_cmp(&b.bbox.y));
    let mut blocks: Vec<Vec<&Segment>> = Vec::new();
    for segment in above {
        let joins = blocks.last().and_then(|b| b.last()).is_some_and(|last| {
            segment.bbox.y - last.bbox.bottom() < 0.6 * line_height
                && (segment.bbox.x - last.bbox.x).abs() < line_height
        });
        if joins && let Some(block) = blocks.last_mut() {
            block.push(segment);
        } else {
            blocks.push(vec![segment]);
        }
    }
    let letters = |block: &Vec<&Segment>| -> usize {
        block
            .iter()
            .map(|s| s.text.chars().filter(|c| c.is_alphabetic()).count())
            .sum()
    };
    // The nearest block wins a tie (the name right above the price): `max_by_key` keeps the
    // last of equals, and the blocks run top to bottom.
    blocks.into_iter().max_by_key(|block| letters(block))
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
        let cases: [(&str, &[f64]); 19] = [
            ("1.299,00 €", &[1299.0]),
            ("1.299,00 € 1.499,00 €", &[1299.0, 1499.0]),
            ("€1.299,00", &[1299.0]),
            ("EUR 89,95", &[89.95]),
            ("1 299,00 €", &[1299.0]),
            ("Now $89.99", &[89.99]),
            ("Sale: 64,90 €", &[64.9]),
            ("$40 – $60", &[40.0]),
            ("Was $120.00", &[]),
            ("12 items", &[]),
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
        assert_eq!(former_price("Was $120.00"), Some(120.0));
        assert_eq!(former_price("Reg. 1.499,00 €"), Some(1499.0));
        assert_eq!(former_price("Compare at $80"), Some(80.0));
        assert_eq!(former_price("$80"), None);
        assert_eq!(former_price("List: $120.00"), Some(120.0));
        assert_eq!(former_price("List Price: $64.99"), Some(64.99));
        assert_eq!(former_price("List view"), None);
    }

    #[test]
    fn price_bands_offered_as_filters_are_not_prices() {
        let cases = [
            ("Under $50", true),
            ("$50 to $100", true),
            ("$150 & Above", true),
            ("Over 1.000 €", true),
            ("$25 and up", true),
            ("$96.99 – $103.99", false),
            ("$89.99", false),
            ("Now $89.99", false),
            ("Up to 40% off", false),
            ("Shoes under 50", false),
        ];
        for (text, band) in cases {
            assert_eq!(is_price_band(text), band, "{text}");
        }
    }

    /// A dense marketplace grid: two columns of cards with a sponsored label, a title wrapping over
    /// three lines, a line of stars, a price (or a range) and a list price.
    #[test]
    fn dense_grid_cards_keep_their_whole_title_and_sponsored_cards_are_set_apart() {
        use crate::ocr::{BoundingBox, split_line};
        let line = |text: &str, x: f32, y: f32| {
            split_line(
                text,
                0.95,
                BoundingBox {
                    x,
                    y,
                    width: 7.0 * text.chars().count() as f32,
                    height: 15.0,
                },
            )
        };
        let mut lines = vec![line("1-24 of 57 results for \"trail\"", 16.0, 90.0)];
        for (x, sponsored, price, list) in [
            (226.0, true, "$27.99 – $34.99", None),
            (437.0, false, "$89.99", Some("List: $120.00")),
        ] {
            let mut y = 280.0;
            if sponsored {
                lines.push(line("Sponsored", x, y));
            }
            y += 16.0;
            for text in [
                "Hoka Speedgoat 12 Women's",
                "Trail Shoe - Breathable",
                "Lightweight Cushioned…",
            ] {
                lines.push(line(text, x, y));
                y += 17.0;
            }
            lines.push(line("★★★★☆ 1,827", x, y));
            lines.push(line(price, x, y + 20.0));
            if let Some(list) = list {
                lines.push(line(list, x, y + 44.0));
            }
            lines.push(line("FREE delivery Tue, Dec 8", x, y + 62.0));
        }
        lines.push(line("$50 to $100", 16.0, 540.0));
        lines.push(line("$100 to $150", 16.0, 560.0));
        let page = OcrPage::of_lines(lines);
        let reading = read_page(&page, &Vocabulary::new(&BTreeMap::new()));
        let cards: Vec<(&str, f64, Option<f64>, bool)> = reading
            .cards
            .iter()
            .map(|c| (c.title.as_str(), c.price, c.was_price, c.related))
            .collect();
        assert_eq!(cards.len(), 2, "price bands are not cards: {cards:?}");
        for (title, ..) in &cards {
            assert!(title.starts_with("Hoka Speedgoat 12"), "the whole title: {cards:?}");
        }
        assert_eq!((cards[0].1, cards[0].3), (27.99, true), "{cards:?}");
        assert_eq!(
            (cards[1].1, cards[1].2, cards[1].3),
            (89.99, Some(120.0), false),
            "{cards:?}"
        );
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
