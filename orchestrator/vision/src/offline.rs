//! The embedded offline vision engine: from the OCR pages (and pixels) of a batch of screenshots
//! to the paper's eight categories, as the same JSON a multimodal model is asked for.
//!
//! How it reads a batch:
//! - each page is read into its structure ([`crate::structure`]: breadcrumb, heading, result
//!   count, chips, facets, sort, `Key: value` rows, purchase controls, recommendation rows) and
//!   its cards, promotions, reviews and comparison rows ([`crate::reading`]);
//! - each card and product page is recognised against the session catalog's items by title,
//!   brand and price ([`crate::recognise`]), so its catalog attributes are known however the
//!   shop shows them; a card still without a colour gets the dominant colour of its picture;
//! - what a page says is in force states preferences outright: a `Filtered by:` line, chips,
//!   ticked facets (the box's pixels), the breadcrumb below `Home`, a listing's heading, the
//!   search query, the frame's URL query; the price bounds and minimums of the last frame that
//!   states any are the shopper's;
//! - a listing frame *focuses* a value when at least four in five of the cards that name the
//!   attribute (two or more, and at least half the cards) share it, which is what a filter or a
//!   targeted search looks like; the values focused or stated in any frame are preferences (so
//!   `Mango`, then `Zara` gives both);
//! - the view log weighs what was looked at: a product page more than a card of a filtered
//!   listing, that more than a card of an unfiltered one, recommendation rows hardly at all; a
//!   value three or more different items share, with three quarters of the weight, is a
//!   preference too (one product looked at long is not);
//! - prices and numbers come from the most refined view: the last listing with a focus or stated
//!   filters (an unfiltered one only when no product page was opened) and the listings just
//!   before it refined the same way (the same attributes focused, the same bounds), plus the
//!   product pages opened, keeping only cards that match the preferences and the stated bounds,
//!   never recommendation rows; a product page's numbers count only when no listing is in view;
//! - every fact gets its account under `Evidence`: its value, the reasons it was read, their
//!   support (`stated`, `listing`, `viewed`) and a confidence (see [`confidence_of`]); merging
//!   across batches uses the support so that what was only viewed never moves an earlier bound.
//!
//! Anything it cannot tell is "not available", as the prompt asks.

mod categories;
mod stated;

use categories::write_categories;
pub use stated::url_filters;
use stated::{mark_ticked_facets, stated_filters};

use crate::colour::dominant_colour;
use crate::ocr::OcrPage;
use crate::reading::{ActiveFilters, Card, PageReading, read_page};
use crate::recognise::ItemIndex;
use crate::structure::Facet;
use crate::vocabulary::Vocabulary;
use interarec_summary::{NOT_AVAILABLE, Support};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// Share of a listing's cards naming an attribute that must agree on its value for the listing to
/// focus it (three of four cards agreeing happens by chance on unfiltered pages).
const FOCUS_SHARE: f64 = 0.8;

/// Weights of a view in the view log: what the shopper opened counts more than what a filtered
/// listing showed, which counts more than an unfiltered listing; recommendation rows barely count.
const PRODUCT_PAGE_WEIGHT: f64 = 3.0;
const FILTERED_CARD_WEIGHT: f64 = 1.0;
const UNFILTERED_CARD_WEIGHT: f64 = 0.25;
const RELATED_CARD_WEIGHT: f64 = 0.05;
/// A value the view log prefers: this share of the attribute's weight, and at least this weight
/// (one opened product page and some agreeing cards, or several filtered cards).
const VIEW_SHARE: f64 = 0.75;
const VIEW_WEIGHT: f64 = 5.0;
/// Different items (not related-row cards) a viewed value needs behind it.
const VIEW_ITEMS: usize = 3;

/// One screenshot of the batch: what OCR read, and the pixels for colour reading.
#[derive(Debug, Clone)]
pub struct SeenFrame {
    /// The OCR page.
    pub page: OcrPage,
    /// The decoded image (`None`: colours come from text only).
    pub image: Option<image::RgbImage>,
    /// The page's URL when the client sent one (its query names filters on many shops).
    pub url: Option<String>,
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
    /// Cards recognised as catalog items.
    pub cards_recognised: usize,
    /// Where each preferred value came from (`attribute=value` → evidence such as `chip`,
    /// `breadcrumb`, `focus`, `views 7.5 of 8.0`).
    pub evidence: BTreeMap<String, BTreeSet<String>>,
}

/// Summarises a batch: `vocabulary` holds the catalog's words, `items` its items (empty when
/// the catalog is unknown; cards are then read by their words alone).
pub fn summarize(frames: &[SeenFrame], vocabulary: &Vocabulary, items: &ItemIndex) -> OfflineSummary {
    let colour_names: Vec<String> = vocabulary.values_of("colour").into_iter().map(str::to_owned).collect();
    let colour_names: Vec<&str> = colour_names.iter().map(String::as_str).collect();
    let mut cards_recognised = 0;
    // Numbers the pages show (bedrooms, sqft) are specifications; a recognised item's other
    // numbers (its rating, its discount) describe the item, not what the shopper asked for.
    let mut shown_numbers: BTreeSet<String> = BTreeSet::new();
    let mut readings: Vec<PageReading> = frames
        .iter()
        .map(|frame| {
            let mut reading = read_page(&frame.page, vocabulary);
            for card in &mut reading.cards {
                // The catalog's own values for the item the card shows; words the card prints
                // (and `Colour: Gray` on its page) come first.
                shown_numbers.extend(card.numbers.keys().cloned());
                if let Some(found) = items.recognise(&card.text, Some(card.price), card.was_price) {
                    cards_recognised += 1;
                    for (attribute, value) in found.values {
                        card.values.entry(attribute).or_insert(value);
                    }
                    for (attribute, value) in found.numbers {
                        card.numbers.entry(attribute).or_insert(value);
                    }
                    card.item_ids = found.ids;
                }
            }
            if let Some(image) = &frame.image {
                if !colour_names.is_empty() {
                    for card in &mut reading.cards {
                        if !card.values.contains_key("colour")
                            && let Some(region) = card.picture
                            && let Some(colour) = dominant_colour(image, region, &colour_names)
                        {
                            card.values.insert("colour".into(), colour);
                        }
                    }
                }
                mark_ticked_facets(image, &mut reading.signals.facets);
            }
            reading
        })
        .collect();

    for card in readings.iter_mut().flat_map(|r| r.cards.iter_mut()) {
        card.numbers.retain(|attribute, _| shown_numbers.contains(attribute));
    }
    let mut evidence: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut note = |attribute: &str, value: &str, why: &str| {
        evidence
            .entry(format!("{attribute}={value}"))
            .or_default()
            .insert(why.to_owned());
    };
    // A frame's focus: the values its cards share, and the filters it says are in force.
    let mut filters: Vec<Option<ActiveFilters>> = Vec::with_capacity(readings.len());
    let focus: Vec<BTreeSet<(String, String)>> = readings
        .iter()
        .zip(frames)
        .map(|(reading, frame)| {
            let mut focus = focused_values(reading);
            for (attribute, value) in &focus {
                note(attribute, value, "focus");
            }
            let stated = stated_filters(reading, frame.url.as_deref(), vocabulary, &mut note);
            focus.extend(stated.values.iter().map(|(a, v)| (a.clone(), v.clone())));
            filters.push((!stated.is_empty()).then_some(stated));
            focus
        })
        .collect();
    let mut preferences: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (attribute, value) in focus.iter().flatten() {
        preferences.entry(attribute.clone()).or_default().insert(value.clone());
    }
    // The view log: values the items the shopper looked at share, weighted by how they looked.
    for (attribute, value, why) in viewed_values(&readings, &focus) {
        if !preferences.contains_key(&attribute) {
            note(&attribute, &value, &why);
            preferences.entry(attribute).or_default().insert(value);
        }
    }
    // Price bounds and minimums the shopper set: those of the last listing that shows filters
    // (a product page's breadcrumb names the category, not the filters in force).
    let stated = filters
        .iter()
        .zip(&readings)
        .rev()
        .find_map(|(filters, reading)| filters.clone().filter(|_| !reading.product_page))
        .unwrap_or_default();

    // The most refined view: the last refined listing (one with a focus or filters in force; an
    // unfiltered one when there is none) and the listings just before it refined the same way
    // (the same attributes focused, the same bounds: `Pacifica`, then `San Jose`), plus the
    // product pages opened; recommendation rows never count, nor cards outside stated bounds.
    let is_listing = |r: &PageReading| !r.product_page && r.cards.iter().any(|c| !c.related);
    let last_refined = (0..readings.len())
        .rev()
        .find(|&i| is_listing(&readings[i]) && !focus[i].is_empty());
    let any_product_page = readings.iter().any(|r| r.product_page && !r.cards.is_empty());
    let last_listing = last_refined.or_else(|| {
        // An unfiltered listing says little about price when the shopper opened products.
        (!any_product_page)
            .then(|| (0..readings.len()).rev().find(|&i| is_listing(&readings[i])))
            .flatten()
    });
    let refinement = |i: usize| {
        let attributes: BTreeSet<&str> = focus[i].iter().map(|(a, _)| a.as_str()).collect();
        let bounds = filters[i]
            .as_ref()
            .map(|f| (f.lowest_price, f.highest_price, f.minimums.clone()));
        (attributes, bounds)
    };
    // Listings with the same focus and bounds but different result counts differ by a filter
    // the page does not spell out (a price band shown only in bold): the later one is its own.
    let refined_alike = |j: usize, last: usize| {
        let counts = (readings[j].signals.result_count, readings[last].signals.result_count);
        let unseen_filter = focus[j] == focus[last] && matches!(counts, (Some(a), Some(b)) if a != b);
        refinement(j) == refinement(last) && !unseen_filter
    };
    let within_stated = |price: f64| {
        stated.lowest_price.is_none_or(|low| price >= low * 0.99)
            && stated.highest_price.is_none_or(|high| price <= high * 1.01)
    };
    let price_evidence: Vec<Seen> = readings
        .iter()
        .enumerate()
        .filter(|(i, r)| match last_listing {
            _ if r.product_page => true,
            Some(last) => *i <= last && (*i..=last).all(|j| refined_alike(j, last)),
            None => false,
        })
        .flat_map(|(_, r)| {
            r.cards.iter().map(move |card| Seen {
                card,
                on_product_page: r.product_page,
            })
        })
        .filter(|seen| {
            !seen.card.related && matches_preferences(seen.card, &preferences) && within_stated(seen.card.price)
        })
        .collect();
    // How the prices and numbers are supported: what a refined listing showed, or only what was
    // viewed (product pages, an unfiltered listing).
    let seen_why = match last_listing {
        Some(last) if price_evidence.iter().any(|s| !s.on_product_page) => {
            if Some(last) == last_refined {
                "refined listing"
            } else {
                "unfiltered listing"
            }
        }
        _ => "product pages",
    };

    let cards_seen = readings.iter().map(|r| r.cards.len()).sum();
    let (mut json, numbers) = write_categories(&readings, &price_evidence, &preferences, &stated);
    let account = account_of(&preferences, &evidence, &stated, &numbers, &price_evidence, seen_why);
    if let Some(fields) = json.as_object_mut()
        && !account.is_empty()
    {
        fields.insert("Evidence".into(), Value::Object(account));
    }
    OfflineSummary {
        json,
        preferences,
        cards_seen,
        cards_recognised,
        evidence,
    }
}

/// A card of the price evidence, and whether it is a product page's.
struct Seen<'a> {
    card: &'a Card,
    on_product_page: bool,
}

/// Confidence in a value by how it was supported. Stated outright: 0.95; a listing's
/// breadcrumb or heading: 0.85; a listing's cards sharing it: 0.75; a refined listing's prices
/// and numbers: 0.7; the view log: 0.4 to 0.8 by the value's share of the weight; a product
/// page's breadcrumb, and prices and numbers of product pages alone: 0.5; an unfiltered
/// listing's prices: 0.35.
fn confidence_of(why: &str) -> (Support, f64) {
    match why {
        "filter line" | "chip" | "ticked facet" | "url" | "search" | "stated" => (Support::Stated, 0.95),
        "breadcrumb" | "heading" => (Support::Listing, 0.85),
        "product breadcrumb" => (Support::Viewed, 0.5),
        "focus" => (Support::Listing, 0.75),
        "refined listing" => (Support::Listing, 0.7),
        "product pages" => (Support::Viewed, 0.5),
        "unfiltered listing" => (Support::Viewed, 0.35),
        views => {
            // `views W of T over N items`
            let numbers: Vec<f64> = views.split_whitespace().filter_map(|w| w.parse().ok()).collect();
            let share = match numbers.as_slice() {
                [weight, total, ..] if *total > 0.0 => weight / total,
                _ => VIEW_SHARE,
            };
            (
                Support::Viewed,
                0.4 + 0.4 * ((share - VIEW_SHARE) / (1.0 - VIEW_SHARE)).clamp(0.0, 1.0),
            )
        }
    }
}

/// The summary's `Evidence`: for each fact, its value, why it was read (strongest reason's
/// support and confidence), keyed as the constraint function's fields are without `_min`/`_max`.
fn account_of(
    preferences: &BTreeMap<String, BTreeSet<String>>,
    evidence: &BTreeMap<String, BTreeSet<String>>,
    stated: &ActiveFilters,
    numbers: &BTreeMap<String, (f64, f64)>,
    seen: &[Seen],
    seen_why: &str,
) -> Map<String, Value> {
    let mut account = Map::new();
    let strongest = |whys: &[&str]| {
        whys.iter()
            .map(|why| confidence_of(why))
            .max_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)))
    };
    let mut record = |fact: &str, value: Value, sources: Vec<&str>, (support, confidence): (Support, f64)| {
        account.insert(
            fact.to_owned(),
            json!({ "value": value, "sources": sources, "support": support, "confidence": (confidence * 100.0).round() / 100.0 }),
        );
    };
    for (attribute, values) in preferences {
        // A value list is as sure as its least supported value.
        let mut sources: BTreeSet<&str> = BTreeSet::new();
        let mut weakest: Option<(Support, f64)> = None;
        for value in values {
            let whys: Vec<&str> = evidence
                .get(&format!("{attribute}={value}"))
                .map(|w| w.iter().map(String::as_str).collect())
                .unwrap_or_default();
            sources.extend(&whys);
            if let Some(best) = strongest(&whys)
                && weakest.is_none_or(|w| best.0 < w.0 || (best.0 == w.0 && best.1 < w.1))
            {
                weakest = Some(best);
            }
        }
        if let Some(weakest) = weakest {
            record(attribute, one_or_many(values), sources.into_iter().collect(), weakest);
        }
    }
    for (fact, stated_bound) in [
        ("lowest_price", stated.lowest_price),
        ("highest_price", stated.highest_price),
    ] {
        match stated_bound {
            Some(bound) => record(fact, json!(bound), vec!["stated"], confidence_of("stated")),
            None if !seen.is_empty() => {
                let prices = seen.iter().map(|s| s.card.price);
                let bound = if fact == "lowest_price" {
                    prices.fold(f64::INFINITY, f64::min)
                } else {
                    prices.fold(f64::NEG_INFINITY, f64::max)
                };
                record(fact, json!(bound), vec![seen_why], confidence_of(seen_why));
            }
            None => {}
        }
    }
    for (attribute, (min, max)) in numbers {
        let why = if stated.minimums.contains_key(attribute) {
            "stated"
        } else {
            seen_why
        };
        record(
            attribute,
            json!({ "min": min, "max": max }),
            vec![why],
            confidence_of(why),
        );
    }
    account
}

/// Values the items looked at share, weighted by how they were looked at: product pages most,
/// filtered listings' cards less, unfiltered listings' little, recommendation rows least. Each
/// frame counts (a product page looked at over three frames weighs three times), but a value
/// needs several different items behind it: one product looked at long is not a preference.
fn viewed_values(readings: &[PageReading], focus: &[BTreeSet<(String, String)>]) -> Vec<(String, String, String)> {
    let mut weights: BTreeMap<&str, BTreeMap<&str, (f64, BTreeSet<String>)>> = BTreeMap::new();
    for (reading, focus) in readings.iter().zip(focus) {
        for card in &reading.cards {
            let weight = if card.related {
                RELATED_CARD_WEIGHT
            } else if reading.product_page {
                PRODUCT_PAGE_WEIGHT
            } else if !focus.is_empty() {
                FILTERED_CARD_WEIGHT
            } else {
                UNFILTERED_CARD_WEIGHT
            };
            let item = card
                .item_ids
                .first()
                .cloned()
                .unwrap_or_else(|| format!("{} {}", card.title, card.price));
            for (attribute, value) in &card.values {
                let entry = weights.entry(attribute).or_default().entry(value).or_default();
                entry.0 += weight;
                if !card.related {
                    entry.1.insert(item.clone());
                }
            }
        }
    }
    let mut out = Vec::new();
    for (attribute, values) in weights {
        let total: f64 = values.values().map(|(w, _)| w).sum();
        if let Some((value, (weight, items))) = values.iter().max_by(|a, b| a.1.0.total_cmp(&b.1.0))
            && *weight >= VIEW_WEIGHT
            && *weight >= VIEW_SHARE * total
            && items.len() >= VIEW_ITEMS
        {
            out.push((
                attribute.to_owned(),
                (*value).to_owned(),
                format!("views {weight:.2} of {total:.2} over {} items", items.len()),
            ));
        }
    }
    out
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
            page: OcrPage::of_lines(lines),
            image: None,
            url: None,
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
    fn filtered_listings_become_preferences_and_the_last_refinement_sets_prices() {
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
        let summary = summarize(&frames, &vocabulary(), &ItemIndex::default());
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
            promotions.contains("1 of 5 matching items on sale, 24–24% off"),
            "{promotions}"
        );
        assert_eq!(summary.json["Comparisons"], json!(NOT_AVAILABLE));
    }

    /// A frame from positioned lines: (text, x, y, height).
    fn frame(lines: &[(&str, f32, f32, f32)], url: &str) -> SeenFrame {
        SeenFrame {
            page: OcrPage::of_lines(
                lines
                    .iter()
                    .map(|(text, x, y, height)| {
                        split_line(
                            text,
                            0.99,
                            BoundingBox {
                                x: *x,
                                y: *y,
                                width: 0.55 * height * text.chars().count() as f32,
                                height: *height,
                            },
                        )
                    })
                    .collect(),
            ),
            image: None,
            url: (!url.is_empty()).then(|| url.to_owned()),
        }
    }

    fn furniture() -> (Vocabulary, ItemIndex) {
        use interarec_core::catalog::{AttributeValue, Item};
        let mut attributes = BTreeMap::new();
        attributes.insert(
            "brand".to_owned(),
            vec!["Harbor".into(), "Oslo".into(), "Aurora".into()],
        );
        attributes.insert("colour".to_owned(), vec!["gray".into(), "blue".into(), "black".into()]);
        attributes.insert(
            "category".to_owned(),
            vec!["chair".into(), "camera".into(), "sofa".into()],
        );
        let vocabulary = Vocabulary::new(&attributes);
        let item = |id: &str, title: &str, price: f64, brand: &str, colour: &str, category: &str| {
            let mut attributes = BTreeMap::new();
            for (name, value) in [("brand", brand), ("colour", colour), ("category", category)] {
                attributes.insert(name.to_owned(), AttributeValue::Text(value.into()));
            }
            Item {
                id: id.into(),
                title: title.into(),
                price,
                image: None,
                attributes,
            }
        };
        let items = [
            item("c1", "Harbor Gray Lounge Chair", 349.0, "Harbor", "gray", "chair"),
            item("c2", "Oslo Gray Dining Chair", 129.0, "Oslo", "gray", "chair"),
            item("c3", "Harbor Gray Accent Chair", 289.0, "Harbor", "gray", "chair"),
            item("c4", "Oslo Blue Dining Chair", 139.0, "Oslo", "blue", "chair"),
            item(
                "k1",
                "Aurora Black Mirrorless Camera",
                1245.0,
                "Aurora",
                "black",
                "camera",
            ),
            item("s1", "Oslo Blue Sofa", 65.0, "Oslo", "blue", "sofa"),
        ];
        let index = ItemIndex::new(&items, &vocabulary.attributes());
        (vocabulary, index)
    }

    #[test]
    fn a_storefront_without_filter_lines_or_colour_words() {
        let (vocabulary, items) = furniture();
        let listing = frame(
            &[
                ("NORTHWIND", 36.0, 16.0, 26.0),
                ("Home › Furniture › Chairs", 36.0, 110.0, 14.0),
                ("Chairs", 36.0, 140.0, 30.0),
                ("3 products", 36.0, 180.0, 14.0),
                ("Gray ✕", 290.0, 215.0, 14.0),
                ("Clear all", 380.0, 215.0, 14.0),
                ("Gray (3)", 60.0, 260.0, 14.0),
                ("Blue (1)", 60.0, 284.0, 14.0),
                // Cards: brand in small capitals, the name without its colour, the price.
                ("HARBOR", 290.0, 450.0, 12.0),
                ("Lounge Chair", 290.0, 466.0, 15.0),
                ("$349.00", 290.0, 492.0, 17.0),
                ("OSLO", 540.0, 450.0, 12.0),
                ("Dining Chair", 540.0, 466.0, 15.0),
                ("$129.00", 540.0, 492.0, 17.0),
                ("HARBOR", 790.0, 450.0, 12.0),
                ("Accent Chair", 790.0, 466.0, 15.0),
                ("$289.00", 790.0, 492.0, 17.0),
            ],
            "https://shop.example/furniture/chairs",
        );
        let product = frame(
            &[
                ("Home › Furniture › Chairs › Lounge Chair", 36.0, 110.0, 14.0),
                ("HARBOR", 560.0, 140.0, 12.0),
                ("Lounge Chair", 560.0, 160.0, 30.0),
                ("$349.00", 560.0, 205.0, 26.0),
                ("Colour: Gray", 560.0, 250.0, 15.0),
                ("Add to cart", 560.0, 300.0, 17.0),
                ("You may also like", 36.0, 560.0, 22.0),
                ("AURORA", 36.0, 740.0, 12.0),
                ("Mirrorless Camera", 36.0, 756.0, 15.0),
                ("$1,245.00", 36.0, 776.0, 17.0),
                ("OSLO", 290.0, 740.0, 12.0),
                ("Sofa", 290.0, 756.0, 15.0),
                ("$65.00", 290.0, 776.0, 17.0),
            ],
            "https://shop.example/product/harbor-lounge-chair",
        );
        let summary = summarize(&[listing, product.clone(), product], &vocabulary, &items);
        assert_eq!(
            summary
                .preferences
                .get("category")
                .map(|v| v.iter().collect::<Vec<_>>()),
            Some(vec![&"chair".to_owned()])
        );
        assert_eq!(
            summary.preferences.get("colour").map(|v| v.iter().collect::<Vec<_>>()),
            Some(vec![&"gray".to_owned()])
        );
        assert!(!summary.preferences.contains_key("brand"), "{:?}", summary.preferences);
        assert!(summary.cards_recognised >= 5, "{}", summary.cards_recognised);
        let parsed = interarec_summary::parse_summary(&summary.json.to_string()).expect("parses");
        // The related row's sofa and camera never set the range.
        assert_eq!(parsed.summary.lowest_price, Some(129.0));
        assert_eq!(parsed.summary.highest_price, Some(349.0));
        let chip = summary.evidence.get("colour=gray").expect("evidence for gray");
        assert!(chip.contains("chip"), "{chip:?}");
        // The account of each fact: the chip is stated, the prices are the refined listing's.
        let account = parsed.summary.evidence.clone().expect("an Evidence account");
        assert_eq!(account["colour"]["support"], "stated", "{account}");
        assert_eq!(account["colour"]["confidence"], 0.95, "{account}");
        assert_eq!(account["lowest_price"]["support"], "listing", "{account}");
        assert_eq!(account["lowest_price"]["value"], 129.0, "{account}");
        assert!(parsed.summary.viewed_only_facts().is_empty(), "{account}");
    }

    fn homes() -> Vocabulary {
        let mut attributes = BTreeMap::new();
        attributes.insert(
            "city".to_owned(),
            vec!["Pacifica".into(), "San Jose".into(), "Oakland".into()],
        );
        attributes.insert("property_type".to_owned(), vec!["house".into(), "condo".into()]);
        Vocabulary::new(&attributes)
    }

    #[test]
    fn listings_refined_alike_share_the_price_range_and_an_opened_home_is_not_a_wish() {
        let with_filters = |mut frame: SeenFrame, city: &str| {
            frame.url = Some(format!(
                "https://homes.example/homes?city={city}&max_price=1400000&min_beds=3"
            ));
            frame
        };
        let pacifica = with_filters(
            listing(&[
                ("412 Palmetto Ave, Pacifica", "$905,000", "3 bd · 2 ba · house"),
                ("88 Linda Mar Blvd, Pacifica", "$1,120,000", "4 bd · 2 ba · house"),
                ("9 Rockaway Beach, Pacifica", "$1,395,000", "3 bd · 3 ba · house"),
            ]),
            "Pacifica",
        );
        let san_jose = with_filters(
            listing(&[
                ("2777 Monterey Rd, San Jose", "$1,398,000", "4 bd · 2 ba · house"),
                // A sponsored card above the stated bound is not the shopper's range.
                ("1 Market St, San Jose", "$2,450,000", "5 bd · 4 ba · house"),
            ]),
            "San+Jose",
        );
        let vocabulary = homes();
        let summary = summarize(&[pacifica, san_jose], &vocabulary, &ItemIndex::default());
        let parsed = interarec_summary::parse_summary(&summary.json.to_string())
            .expect("parses")
            .summary;
        assert_eq!(parsed.lowest_price, Some(905_000.0), "{}", summary.json);
        assert_eq!(parsed.highest_price, Some(1_400_000.0), "{}", summary.json);
        let account = parsed.evidence.clone().expect("an account");
        assert_eq!(account["highest_price"]["support"], "stated", "{account}");
        assert_eq!(account["bedrooms"]["support"], "stated", "{account}");
        assert_eq!(account["bedrooms"]["value"]["min"], 3.0, "{account}");

        // A batch of one home's page alone: its numbers rest on what was viewed.
        let page = frame(
            &[
                ("Home › Homes › San Jose › 2777 Monterey Rd", 36.0, 110.0, 14.0),
                ("2777 Monterey Rd, San Jose", 560.0, 160.0, 30.0),
                ("$1,398,000", 560.0, 205.0, 26.0),
                ("Bedrooms: 4", 560.0, 250.0, 15.0),
                ("Bathrooms: 2", 560.0, 272.0, 15.0),
                ("Sqft: 2,280", 560.0, 294.0, 15.0),
                ("Schedule a tour", 560.0, 330.0, 17.0),
            ],
            "https://homes.example/homes/item/h166",
        );
        let summary = summarize(&[page.clone(), page], &vocabulary, &ItemIndex::default());
        let parsed = interarec_summary::parse_summary(&summary.json.to_string())
            .expect("parses")
            .summary;
        let viewed = parsed.viewed_only_facts();
        assert_eq!(parsed.lowest_price, Some(1_398_000.0), "{}", summary.json);
        // Even the city: a product page's breadcrumb describes the home, not the search.
        for fact in ["lowest_price", "highest_price", "bedrooms", "bathrooms", "sqft", "city"] {
            assert!(
                viewed.contains(fact),
                "{fact} not viewed-only: {viewed:?} in {}",
                summary.json
            );
        }
    }

    #[test]
    fn an_empty_batch_is_not_available_everywhere() {
        let summary = summarize(&[], &vocabulary(), &ItemIndex::default());
        for category in interarec_summary::CATEGORIES {
            assert_eq!(summary.json[category], json!(NOT_AVAILABLE), "{category}");
        }
    }
}
