//! The embedded offline vision engine: from the OCR pages (and pixels) of a batch of screenshots
//! to the paper's eight categories, as the same JSON a multimodal model is asked for.
//!
//! How it reads a batch:
//! - each page is read into cards, promotions, reviews and comparison rows ([`crate::reading`]);
//!   a card whose text names no colour gets the dominant colour of its picture;
//! - a listing frame *focuses* a value when at least four in five of the cards that name the
//!   attribute (two or more, and at least half the cards) share it, which is what a filter or a targeted search looks like; the values focused in any
//!   frame are the shopper's preferences (so `Mango`, then `Zara` gives both). A product page
//!   alone does not make a preference: looking at one product is weaker evidence than filtering;
//! - a `Filtered by:` line, where the shop shows one, states preferences outright: its values
//!   join the focused ones, and the price bounds and minimums (`Up to $140`, `2+ bd`) of the last
//!   frame showing one are the shopper's;
//! - other prices, bedrooms and the like come from the most refined view: the last listing frame
//!   and the frames before it with the same focus, plus the product pages opened, keeping only
//!   cards that match the preferences.
//!
//! Anything it cannot tell is "not available", as the prompt asks.

use crate::colour::dominant_colour;
use crate::ocr::OcrPage;
use crate::reading::{ActiveFilters, Card, PageReading, read_page};
use crate::vocabulary::Vocabulary;
use interarec_summary::NOT_AVAILABLE;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// Share of a listing's cards naming an attribute that must agree on its value for the listing to
/// focus it (three of four cards agreeing happens by chance on unfiltered pages).
const FOCUS_SHARE: f64 = 0.8;

/// One screenshot of the batch: what OCR read, and the pixels for colour reading.
#[derive(Debug, Clone)]
pub struct SeenFrame {
    /// The OCR page.
    pub page: OcrPage,
    /// The decoded image (`None`: colours come from text only).
    pub image: Option<image::RgbImage>,
}

/// The offline engine's answer: the summary JSON and how it was reached.
#[derive(Debug, Clone)]
pub struct OfflineSummary {
    /// The eight categories, keyed as the prompt names them.
    pub json: Value,
    /// Preferred values by attribute.
    pub preferences: BTreeMap<String, BTreeSet<String>>,
    /// Cards read over the batch.
    pub cards_seen: usize,
}

/// Summarises a batch.
pub fn summarize(frames: &[SeenFrame], vocabulary: &Vocabulary) -> OfflineSummary {
    let colour_names: Vec<String> = vocabulary.values_of("colour").into_iter().map(str::to_owned).collect();
    let colour_names: Vec<&str> = colour_names.iter().map(String::as_str).collect();
    let readings: Vec<PageReading> = frames
        .iter()
        .map(|frame| {
            let mut reading = read_page(&frame.page, vocabulary);
            if let Some(image) = &frame.image
                && !colour_names.is_empty()
            {
                for card in &mut reading.cards {
                    if !card.values.contains_key("colour")
                        && let Some(region) = card.picture
                        && let Some(colour) = dominant_colour(image, region, &colour_names)
                    {
                        card.values.insert("colour".into(), colour);
                    }
                }
            }
            reading
        })
        .collect();

    // A frame's focus: the values its cards share, and the filters it says are in force.
    let focus: Vec<BTreeSet<(String, String)>> = readings
        .iter()
        .map(|reading| {
            let mut focus = focused_values(reading);
            if let Some(filters) = &reading.filters {
                focus.extend(filters.values.iter().map(|(a, v)| (a.clone(), v.clone())));
            }
            focus
        })
        .collect();
    let mut preferences: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (attribute, value) in focus.iter().flatten() {
        preferences.entry(attribute.clone()).or_default().insert(value.clone());
    }
    // Price bounds and minimums the shopper set: those of the last frame that shows filters.
    let stated = readings
        .iter()
        .rev()
        .find_map(|r| r.filters.clone())
        .unwrap_or_default();

    // The most refined view: the last listing frame, the earlier ones with its focus, and
    // product pages.
    let last_listing = readings.iter().rposition(|r| !r.product_page && !r.cards.is_empty());
    let evidence: Vec<&Card> = readings
        .iter()
        .enumerate()
        .filter(|(i, r)| match last_listing {
            _ if r.product_page => true,
            Some(last) => {
                *i == last || (*i < last && focus[*i] == focus[last] && consecutive_same_focus(&focus, *i, last))
            }
            None => true,
        })
        .flat_map(|(_, r)| r.cards.iter())
        .filter(|card| matches_preferences(card, &preferences))
        .collect();

    let cards_seen = readings.iter().map(|r| r.cards.len()).sum();
    let json = write_categories(&readings, &evidence, &preferences, &stated);
    OfflineSummary {
        json,
        preferences,
        cards_seen,
    }
}

fn consecutive_same_focus(focus: &[BTreeSet<(String, String)>], from: usize, last: usize) -> bool {
    focus[from..=last].iter().all(|f| *f == focus[last])
}

/// The values at least three quarters of a listing's cards share.
fn focused_values(reading: &PageReading) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    if reading.product_page || reading.cards.len() < 2 {
        return out;
    }
    let mut counts: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    for card in &reading.cards {
        for (attribute, value) in &card.values {
            *counts.entry(attribute).or_default().entry(value).or_default() += 1;
        }
    }
    for (attribute, values) in counts {
        // Cards cut off at the viewport's edge may not show the attribute at all; they neither
        // agree nor disagree.
        let named: usize = values.values().sum();
        if let Some((value, &count)) = values.iter().max_by_key(|(_, c)| **c)
            && count >= 2
            && 2 * named >= reading.cards.len()
            && count as f64 >= FOCUS_SHARE * named as f64
        {
            out.insert((attribute.to_owned(), (*value).to_owned()));
        }
    }
    out
}

fn matches_preferences(card: &Card, preferences: &BTreeMap<String, BTreeSet<String>>) -> bool {
    preferences
        .iter()
        .all(|(attribute, values)| card.values.get(attribute).is_none_or(|v| values.contains(v)))
}

fn money(value: f64) -> String {
    if value >= 1000.0 && value.fract() == 0.0 {
        let digits = format!("{value:.0}");
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        format!("${out}")
    } else {
        format!("${value:.2}")
    }
}

fn one_or_many(values: &BTreeSet<String>) -> Value {
    if values.len() == 1 {
        json!(values.iter().next())
    } else {
        json!(values)
    }
}

fn not_available() -> Value {
    Value::String(NOT_AVAILABLE.into())
}

fn write_categories(
    readings: &[PageReading],
    evidence: &[&Card],
    preferences: &BTreeMap<String, BTreeSet<String>>,
    stated: &ActiveFilters,
) -> Value {
    let mut out = Map::new();

    let mut characteristics: Vec<String> = Vec::new();
    for attribute in ["gender", "colour", "best_for", "category", "property_type", "city"] {
        if let Some(values) = preferences.get(attribute) {
            characteristics.push(values.iter().cloned().collect::<Vec<_>>().join(" or "));
        }
    }
    out.insert(
        "Product Characteristics".into(),
        if characteristics.is_empty() {
            not_available()
        } else {
            json!(characteristics.join(", "))
        },
    );

    let prices: Vec<f64> = evidence.iter().map(|c| c.price).collect();
    let lowest = stated
        .lowest_price
        .unwrap_or_else(|| prices.iter().copied().fold(f64::INFINITY, f64::min));
    let highest = stated
        .highest_price
        .unwrap_or_else(|| prices.iter().copied().fold(f64::NEG_INFINITY, f64::max));
    out.insert(
        "Lowest Price".into(),
        if lowest.is_finite() {
            json!(money(lowest))
        } else {
            not_available()
        },
    );
    out.insert(
        "Highest Price".into(),
        if highest.is_finite() {
            json!(money(highest))
        } else {
            not_available()
        },
    );
    out.insert(
        "Brand Preference".into(),
        preferences.get("brand").map(one_or_many).unwrap_or_else(not_available),
    );

    let mut specifications = Map::new();
    for (attribute, values) in preferences {
        if attribute != "brand" {
            specifications.insert(attribute.clone(), one_or_many(values));
        }
    }
    let mut numeric: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for card in evidence {
        for (attribute, &value) in &card.numbers {
            let range = numeric.entry(attribute.as_str()).or_insert((value, value));
            range.0 = range.0.min(value);
            range.1 = range.1.max(value);
        }
    }
    for (attribute, &minimum) in &stated.minimums {
        let range = numeric.entry(attribute.as_str()).or_insert((minimum, minimum));
        range.0 = minimum;
        range.1 = range.1.max(minimum);
    }
    for (attribute, (min, max)) in numeric {
        specifications.insert(attribute.to_owned(), json!({ "min": min, "max": max }));
    }
    out.insert(
        "Product Specifications".into(),
        if specifications.is_empty() {
            not_available()
        } else {
            Value::Object(specifications)
        },
    );

    let ratings: Vec<f64> = evidence.iter().filter_map(|c| c.rating).collect();
    let quotes: BTreeSet<&str> = readings
        .iter()
        .flat_map(|r| r.reviews.iter().map(String::as_str))
        .collect();
    out.insert(
        "User Reviews and Testimonials".into(),
        if ratings.is_empty() && quotes.is_empty() {
            not_available()
        } else {
            let mut reviews = Map::new();
            if !ratings.is_empty() {
                let low = ratings.iter().copied().fold(f64::INFINITY, f64::min);
                let high = ratings.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let count: u64 = evidence.iter().filter_map(|c| c.review_count).sum();
                reviews.insert("rating".into(), json!(format!("{low:.1}–{high:.1} out of 5")));
                reviews.insert("reviews".into(), json!(count));
            }
            if !quotes.is_empty() {
                reviews.insert("quotes".into(), json!(quotes));
            }
            Value::Object(reviews)
        },
    );

    let comparisons: BTreeSet<&str> = readings
        .iter()
        .flat_map(|r| r.comparisons.iter().map(String::as_str))
        .collect();
    out.insert(
        "Comparisons".into(),
        if comparisons.is_empty() {
            not_available()
        } else {
            json!(comparisons)
        },
    );

    let mut promotions: Vec<String> = Vec::new();
    for reading in readings {
        for banner in &reading.promotions {
            if !promotions.contains(banner) {
                promotions.push(banner.clone());
            }
        }
    }
    let discounted: Vec<&&Card> = evidence.iter().filter(|c| c.discount_percent.is_some()).collect();
    if !discounted.is_empty() {
        let (low, high) = discounted
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), c| {
                let d = c.discount_percent.unwrap_or(0.0);
                (lo.min(d), hi.max(d))
            });
        promotions.push(format!(
            "{} of {} matching items on sale, {low:.0}–{high:.0}% off",
            discounted.len(),
            evidence.len()
        ));
    }
    out.insert(
        "Promotions".into(),
        if promotions.is_empty() {
            not_available()
        } else {
            json!(promotions)
        },
    );
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ocr::{BoundingBox, split_line};

    /// A listing page with cards in a 4-column grid: title, price line, meta line.
    fn listing(cards: &[(&str, &str, &str)]) -> SeenFrame {
        let mut lines = vec![split_line(
            "SPRING SALE: extra 15% off dresses",
            0.99,
            BoundingBox {
                x: 360.0,
                y: 50.0,
                width: 400.0,
                height: 18.0,
            },
        )];
        for (i, (title, price, meta)) in cards.iter().enumerate() {
            let x = 260.0 + 252.0 * (i % 4) as f32;
            let y = 390.0 + 330.0 * (i / 4) as f32;
            for (dy, text) in [(0.0, *title), (42.0, *price), (65.0, *meta)] {
                let width = 8.0 * text.chars().count() as f32;
                lines.push(split_line(
                    text,
                    0.99,
                    BoundingBox {
                        x,
                        y: y + dy,
                        width,
                        height: 16.0,
                    },
                ));
            }
        }
        SeenFrame {
            page: OcrPage {
                engine: "test".into(),
                width: 1280,
                height: 800,
                lines,
                millis: 0,
                reused_lines: 0,
            },
            image: None,
        }
    }

    fn vocabulary() -> Vocabulary {
        let mut attributes = BTreeMap::new();
        attributes.insert("brand".to_owned(), vec!["Zara".into(), "Mango".into(), "Monki".into()]);
        attributes.insert("colour".to_owned(), vec!["green".into(), "red".into(), "black".into()]);
        attributes.insert("category".to_owned(), vec!["dress".into(), "top".into()]);
        Vocabulary::new(&attributes)
    }

    #[test]
    fn filtered_listings_become_preferences_and_the_last_view_sets_prices() {
        let frames = [
            // Unfiltered: nothing shared by three quarters of the cards.
            listing(&[
                ("Zara Red Top", "$27.99", "red · Zara"),
                ("Mango Black Dress", "$140.00", "black · Mango"),
                ("Monki Green Top", "$13.99", "green · Monki"),
                ("Zara Green Dress", "$83.99$119.99", "green · Zara"),
            ]),
            // Filtered to red dresses by Mango, then by Zara.
            listing(&[
                ("Mango Red Dress", "$60.99", "red · Mango"),
                ("Mango Red Midi Dress", "$91.99", "red · Mango"),
            ]),
            listing(&[
                ("Zara Red Dress", "$53.99$70.99", "red · Zara"),
                ("Zara Red Wrap Dress", "$99.99", "red · Zara"),
                ("Zara Red Midi Dress", "$73.99", "red · Zara"),
            ]),
        ];
        let summary = summarize(&frames, &vocabulary());
        let expected: BTreeMap<String, BTreeSet<String>> = [
            ("brand", &["Mango", "Zara"][..]),
            ("category", &["dress"][..]),
            ("colour", &["red"][..]),
        ]
        .into_iter()
        .map(|(a, v)| (a.to_owned(), v.iter().map(|s| s.to_string()).collect()))
        .collect();
        assert_eq!(summary.preferences, expected);
        let parsed = interarec_summary::parse_summary(&summary.json.to_string()).expect("parses");
        assert_eq!(parsed.summary.lowest_price, Some(53.99));
        assert_eq!(parsed.summary.highest_price, Some(99.99));
        assert_eq!(summary.json["Brand Preference"], json!(["Mango", "Zara"]));
        let promotions = summary.json["Promotions"].to_string();
        assert!(promotions.contains("SPRING SALE"), "{promotions}");
        assert!(
            promotions.contains("1 of 3 matching items on sale, 24–24% off"),
            "{promotions}"
        );
        assert_eq!(summary.json["Comparisons"], json!(NOT_AVAILABLE));
    }

    #[test]
    fn an_empty_batch_is_not_available_everywhere() {
        let summary = summarize(&[], &vocabulary());
        for category in interarec_summary::CATEGORIES {
            assert_eq!(summary.json[category], json!(NOT_AVAILABLE), "{category}");
        }
    }
}
