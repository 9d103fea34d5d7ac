//! Recognising the catalog's items on screen: a card's or a product page's title (as OCR read it,
//! brand line included) and price are matched to the session catalog's items, so what the shopper
//! looked at is known by its catalog attributes (colour shown only as a swatch, a category the
//! card never names, bedrooms) instead of by the words a shop happens to print.
//!
//! Matching is by title words, OCR-tolerant: a word matches exactly, or within one edit when it
//! has five letters or more, or as the start of a word cut off by an ellipsis. An item is
//! recognised when most of its title's words are on the card and, where the price is read, the
//! price agrees (within 1%, the current or the former price). Several items that match equally
//! well (the same shoe in two colours) give only the attributes they share.

use crate::vocabulary::tokens;
use interarec_core::catalog::{AttributeValue, Item};
use std::collections::{BTreeMap, HashMap};

/// Share of an item's title words that must be on the card when the price agrees (two words at
/// least: `Velocity 37` at the item's price, its brand and colour shown apart).
const COVERAGE_WITH_PRICE: f64 = 0.5;
/// Share of an item's title words that must be on the card when no price agrees.
const COVERAGE_WITHOUT_PRICE: f64 = 0.85;
/// Most candidates taken from the items at a card's price.
const MAX_PRICE_CANDIDATES: usize = 256;
/// Relative price difference still read as the same price (rounding, OCR).
const PRICE_TOLERANCE: f64 = 0.01;

/// An item as recognition needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct KnownItem {
    /// Catalog id.
    pub id: String,
    /// Price.
    pub price: f64,
    /// Categorical values by attribute (only attributes the vocabulary reads).
    pub values: BTreeMap<String, String>,
    /// Number attributes (bedrooms, sqft, ...).
    pub numbers: BTreeMap<String, f64>,
    title_words: Vec<String>,
}

/// What a card was recognised as.
#[derive(Debug, Clone, PartialEq)]
pub struct Recognised {
    /// The matching items' ids (more than one when they match equally well).
    pub ids: Vec<String>,
    /// Values all matching items share.
    pub values: BTreeMap<String, String>,
    /// Numbers all matching items share.
    pub numbers: BTreeMap<String, f64>,
    /// Share of the best item's title words found on the card.
    pub coverage: f64,
    /// Whether the card's price agreed.
    pub price_agrees: bool,
}

/// The session catalog's items, indexed by title word. Items with the same title words share
/// one title entry, so a card is compared with each distinct title once: a catalog of a million
/// items repeats the same few thousand titles in many colours, sizes and prices.
#[derive(Debug, Clone, Default)]
pub struct ItemIndex {
    items: Vec<KnownItem>,
    /// Each item's title entry.
    title_of: Vec<u32>,
    /// Distinct titles: their words and their items, ascending.
    titles: Vec<(Vec<String>, Vec<u32>)>,
    /// Per word, the titles holding it and how many items those have.
    by_word: HashMap<String, (Vec<u32>, usize)>,
    /// Items by price in cents.
    by_price: BTreeMap<i64, Vec<u32>>,
}

/// Builds an [`ItemIndex`] item by item (a catalog read from the store row by row is never held
/// as items and as its index at once); the same index as [`ItemIndex::new`] over those items.
#[derive(Debug)]
pub struct ItemIndexBuilder<'a> {
    attributes: &'a [String],
    known: Vec<KnownItem>,
}

impl<'a> ItemIndexBuilder<'a> {
    /// A builder keeping the values of `attributes` and every number.
    pub fn new(attributes: &'a [String]) -> ItemIndexBuilder<'a> {
        ItemIndexBuilder {
            attributes,
            known: Vec::new(),
        }
    }

    /// Adds the next item.
    pub fn push(&mut self, item: &Item) {
        let attributes = self.attributes;
        let known = {
            let mut values = BTreeMap::new();
            let mut numbers = BTreeMap::new();
            for (name, value) in &item.attributes {
                match value {
                    AttributeValue::Text(text) if attributes.contains(name) => {
                        values.insert(name.clone(), text.clone());
                    }
                    AttributeValue::Number(number) => {
                        numbers.insert(name.clone(), *number);
                    }
                    _ => {}
                }
            }
            let mut title_words = tokens(&item.title);
            title_words.dedup();
            KnownItem {
                id: item.id.clone(),
                price: item.price,
                values,
                numbers,
                title_words,
            }
        };
        self.known.push(known);
    }

    /// The index.
    pub fn finish(self) -> ItemIndex {
        ItemIndex::index(self.known)
    }
}

impl ItemIndex {
    /// Indexes `items`, keeping the values of `attributes` (the vocabulary's) and every number.
    pub fn new(items: &[Item], attributes: &[String]) -> ItemIndex {
        let mut builder = ItemIndexBuilder::new(attributes);
        for item in items {
            builder.push(item);
        }
        builder.finish()
    }

    fn index(known: Vec<KnownItem>) -> ItemIndex {
        let mut title_ids: HashMap<&[String], u32> = HashMap::new();
        let mut titles: Vec<(Vec<String>, Vec<u32>)> = Vec::new();
        let mut title_of = Vec::with_capacity(known.len());
        for (index, item) in known.iter().enumerate() {
            let next = titles.len() as u32;
            let title = *title_ids.entry(item.title_words.as_slice()).or_insert(next);
            if title == next {
                titles.push((item.title_words.clone(), Vec::new()));
            }
            titles[title as usize].1.push(index as u32);
            title_of.push(title);
        }
        let mut by_word: HashMap<String, (Vec<u32>, usize)> = HashMap::new();
        for (title, (words, members)) in titles.iter().enumerate() {
            for word in words {
                let (postings, count) = by_word.entry(word.clone()).or_default();
                if postings.last() != Some(&(title as u32)) {
                    postings.push(title as u32);
                    *count += members.len();
                }
            }
        }
        let mut by_price: BTreeMap<i64, Vec<u32>> = BTreeMap::new();
        for (index, item) in known.iter().enumerate() {
            by_price
                .entry((item.price * 100.0).round() as i64)
                .or_default()
                .push(index as u32);
        }
        ItemIndex {
            items: known,
            title_of,
            titles,
            by_word,
            by_price,
        }
    }

    /// Items indexed.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Recognises the item a card shows from its text (title and the lines around it) and price.
    pub fn recognise(&self, text: &str, price: Option<f64>, was_price: Option<f64>) -> Option<Recognised> {
        if self.items.is_empty() {
            return None;
        }
        let card_words = tokens(text);
        if card_words.is_empty() {
            return None;
        }
        // Candidates: the items of the card's two rarest title words (OCR slips within one
        // edit), and the items at the card's price; never a scan of the catalog.
        let mut postings: Vec<&(Vec<u32>, usize)> = Vec::new();
        for word in &card_words {
            if word.len() < 3 {
                continue;
            }
            if let Some(titles) = self.by_word.get(word) {
                postings.push(titles);
            } else if word.len() >= 5 {
                postings.extend(
                    self.by_word
                        .iter()
                        .filter(|(k, _)| k.len().abs_diff(word.len()) <= 1 && within_one_edit(k, word))
                        .map(|(_, titles)| titles),
                );
            }
        }
        postings.sort_by_key(|(_, items)| *items);
        let mut candidate_titles: Vec<u32> = postings
            .iter()
            .take(2)
            .flat_map(|(titles, _)| titles.iter().copied())
            .collect();
        candidate_titles.sort_unstable();
        candidate_titles.dedup();
        let prices: Vec<f64> = [price, was_price].into_iter().flatten().collect();
        let agrees = |item: &KnownItem| {
            prices
                .iter()
                .any(|p| (p - item.price).abs() <= PRICE_TOLERANCE * item.price.max(1.0))
        };
        // Whether a title word is on the card, asked once per word for the whole card.
        let mut on_card: HashMap<&str, bool> = HashMap::new();
        let mut coverage_of = |title: u32| {
            let words = &self.titles[title as usize].0;
            if words.is_empty() {
                return 0.0;
            }
            let found = words
                .iter()
                .filter(|word| {
                    *on_card
                        .entry(word.as_str())
                        .or_insert_with(|| card_words.iter().any(|seen| same_word(word, seen)))
                })
                .count();
            found as f64 / words.len() as f64
        };
        let mut best: Vec<(u32, f64, bool)> = Vec::new();
        let passes = |index: u32, coverage: f64, best: &mut Vec<(u32, f64, bool)>| {
            let item = &self.items[index as usize];
            if coverage * (item.title_words.len() as f64) < 1.5 {
                return;
            }
            let price_agrees = agrees(item);
            let needed = if price_agrees {
                COVERAGE_WITH_PRICE
            } else {
                COVERAGE_WITHOUT_PRICE
            };
            // A card whose price is read and disagrees is another item (or another variant).
            if coverage < needed || (price.is_some() && !price_agrees && coverage < 1.0) {
                return;
            }
            best.push((index, coverage, price_agrees));
        };
        // Titles whose items can pass only where the price agrees are met through the price
        // index below, so their (possibly many) other items are never visited.
        let mut price_only: Vec<(u32, f64)> = Vec::new();
        for &title in &candidate_titles {
            let coverage = coverage_of(title);
            let every_item_may_pass = coverage >= 1.0 || (price.is_none() && coverage >= COVERAGE_WITHOUT_PRICE);
            if every_item_may_pass {
                for &index in &self.titles[title as usize].1 {
                    passes(index, coverage, &mut best);
                }
            } else if coverage >= COVERAGE_WITH_PRICE && !prices.is_empty() {
                price_only.push((title, coverage));
            }
        }
        if !price_only.is_empty() {
            for &p in &prices {
                // Every item whose price is within the tolerance of its own price of `p`.
                let low = ((p / (1.0 + PRICE_TOLERANCE)).min(p - PRICE_TOLERANCE) * 100.0).floor() as i64 - 1;
                let high = ((p / (1.0 - PRICE_TOLERANCE)).max(p + PRICE_TOLERANCE) * 100.0).ceil() as i64 + 1;
                for (_, members) in self.by_price.range(low..=high) {
                    for &index in members {
                        let title = self.title_of[index as usize];
                        if let Ok(at) = price_only.binary_search_by_key(&title, |(t, _)| *t) {
                            passes(index, price_only[at].1, &mut best);
                        }
                    }
                }
            }
        }
        // The first items at the card's price, whatever their words, as a card may name them
        // in words no title index lookup found.
        for &p in &prices {
            let cents = (p * 100.0).round() as i64;
            let slack = ((p * PRICE_TOLERANCE * 100.0).round() as i64).max(1);
            for &index in self
                .by_price
                .range(cents - slack..=cents + slack)
                .flat_map(|(_, items)| items.iter())
                .take(MAX_PRICE_CANDIDATES)
            {
                let title = self.title_of[index as usize];
                if candidate_titles.binary_search(&title).is_err() {
                    let coverage = coverage_of(title);
                    passes(index, coverage, &mut best);
                }
            }
        }
        best.sort_unstable_by_key(|(index, _, _)| *index);
        best.dedup_by_key(|(index, _, _)| *index);
        // Best first: price agreement, then coverage.
        best.sort_by(|a, b| b.2.cmp(&a.2).then(b.1.total_cmp(&a.1)));
        let &(_, top_coverage, top_price) = best.first()?;
        let tied: Vec<&KnownItem> = best
            .iter()
            .take_while(|(_, coverage, agrees)| *agrees == top_price && (top_coverage - coverage).abs() < 1e-9)
            .map(|(index, _, _)| &self.items[*index as usize])
            .collect();
        let mut values = tied[0].values.clone();
        values.retain(|attribute, value| tied.iter().all(|item| item.values.get(attribute) == Some(value)));
        let mut numbers = tied[0].numbers.clone();
        numbers.retain(|attribute, value| tied.iter().all(|item| item.numbers.get(attribute) == Some(value)));
        Some(Recognised {
            ids: tied.iter().map(|item| item.id.clone()).collect(),
            values,
            numbers,
            coverage: top_coverage,
            price_agrees: top_price,
        })
    }
}

/// Share of `title` words found among `card` words (OCR-tolerant); the tests' reference.
#[cfg(test)]
fn coverage(title: &[String], card: &[String]) -> f64 {
    if title.is_empty() {
        return 0.0;
    }
    let found = title
        .iter()
        .filter(|word| card.iter().any(|seen| same_word(word, seen)))
        .count();
    found as f64 / title.len() as f64
}

fn same_word(title_word: &str, seen: &str) -> bool {
    title_word == seen
        || (title_word.len() >= 5 && seen.len().abs_diff(title_word.len()) <= 1 && within_one_edit(title_word, seen))
        // A title cut off by an ellipsis ends in the start of a word.
        || (seen.len() >= 3 && title_word.starts_with(seen) && title_word.len() > seen.len())
}

/// Levenshtein distance of at most one.
fn within_one_edit(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let (short, long) = if a.len() <= b.len() { (&a, &b) } else { (&b, &a) };
    if long.len() - short.len() > 1 {
        return false;
    }
    let prefix = short.iter().zip(long.iter()).take_while(|(x, y)| x == y).count();
    if short.len() == long.len() {
        short[prefix + 1.min(short.len() - prefix)..] == long[prefix + 1.min(long.len() - prefix)..]
    } else {
        short[prefix..] == long[prefix + 1..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, title: &str, price: f64, colour: &str, category: &str) -> Item {
        let mut attributes = BTreeMap::new();
        attributes.insert("colour".to_owned(), AttributeValue::Text(colour.into()));
        attributes.insert("category".to_owned(), AttributeValue::Text(category.into()));
        attributes.insert("bedrooms".to_owned(), AttributeValue::Number(2.0));
        Item {
            id: id.into(),
            title: title.into(),
            price,
            image: None,
            attributes,
        }
    }

    fn index() -> ItemIndex {
        let items = [
            item("c1", "Harbor Lounge Chair", 349.0, "gray", "chair"),
            item("c2", "Harbor Lounge Chair", 349.0, "blue", "chair"),
            item("c3", "Oslo Dining Chair", 129.0, "gray", "chair"),
            item("k1", "Aurora Mirrorless Camera 24MP", 1299.0, "black", "camera"),
            item("s1", "Velocity Trail Runner", 89.5, "gray", "shoe"),
        ];
        ItemIndex::new(&items, &["colour".to_owned(), "category".to_owned()])
    }

    #[test]
    fn cards_are_recognised_despite_ocr_slips_and_variants() {
        let index = index();
        // (card text, price, expected ids, expected colour)
        let cases: [(&str, Option<f64>, &[&str], Option<&str>); 8] = [
            ("HARBOR Harbor Lounge Chair", Some(349.0), &["c1", "c2"], None),
            ("Oslo Dinlng Chair", Some(129.0), &["c3"], Some("gray")),
            ("Aurora Mirrorless Camera 24MP", None, &["k1"], Some("black")),
            ("AURORA Aurora Mirrorless Cam…", Some(1299.0), &["k1"], Some("black")),
            ("Velocity Trail Runner", Some(65.0), &["s1"], Some("gray")),
            ("Velocity Trail", Some(65.0), &[], None),
            ("Lounge", Some(349.0), &[], None),
            ("Free shipping on orders over $50", None, &[], None),
        ];
        for (text, price, ids, colour) in cases {
            let found = index.recognise(text, price, None);
            let found_ids: Vec<String> = found.as_ref().map(|r| r.ids.clone()).unwrap_or_default();
            assert_eq!(
                found_ids,
                ids.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                "{text}"
            );
            assert_eq!(
                found.as_ref().and_then(|r| r.values.get("colour")).map(String::as_str),
                colour,
                "{text}"
            );
            if let Some(found) = found {
                let category = match found.ids[0].as_str() {
                    "k1" => "camera",
                    "s1" => "shoe",
                    _ => "chair",
                };
                assert_eq!(
                    found.values.get("category").map(String::as_str),
                    Some(category),
                    "{text}"
                );
                assert_eq!(found.numbers.get("bedrooms"), Some(&2.0), "{text}");
            }
        }
    }

    /// The recognition as first written: every candidate item compared on its own.
    fn reference(index: &ItemIndex, text: &str, price: Option<f64>, was_price: Option<f64>) -> Option<Vec<String>> {
        let card_words = tokens(text);
        let mut by_word: HashMap<&str, Vec<u32>> = HashMap::new();
        for (i, item) in index.items.iter().enumerate() {
            for word in &item.title_words {
                let postings = by_word.entry(word.as_str()).or_default();
                if postings.last() != Some(&(i as u32)) {
                    postings.push(i as u32);
                }
            }
        }
        let mut postings: Vec<&Vec<u32>> = Vec::new();
        for word in &card_words {
            if word.len() < 3 {
                continue;
            }
            if let Some(items) = by_word.get(word.as_str()) {
                postings.push(items);
            } else if word.len() >= 5 {
                postings.extend(
                    by_word
                        .iter()
                        .filter(|(k, _)| k.len().abs_diff(word.len()) <= 1 && within_one_edit(k, word))
                        .map(|(_, items)| items),
                );
            }
        }
        postings.sort_by_key(|items| items.len());
        let mut candidates: Vec<u32> = postings
            .iter()
            .take(2)
            .flat_map(|items| items.iter().copied())
            .collect();
        for price in [price, was_price].into_iter().flatten() {
            let cents = (price * 100.0).round() as i64;
            let slack = ((price * PRICE_TOLERANCE * 100.0).round() as i64).max(1);
            candidates.extend(
                index
                    .by_price
                    .range(cents - slack..=cents + slack)
                    .flat_map(|(_, items)| items.iter().copied())
                    .take(MAX_PRICE_CANDIDATES),
            );
        }
        candidates.sort_unstable();
        candidates.dedup();
        let mut best: Vec<(u32, f64, bool)> = Vec::new();
        for i in candidates {
            let item = &index.items[i as usize];
            let coverage = coverage(&item.title_words, &card_words);
            if coverage * (item.title_words.len() as f64) < 1.5 {
                continue;
            }
            let agrees = [price, was_price]
                .into_iter()
                .flatten()
                .any(|p| (p - item.price).abs() <= PRICE_TOLERANCE * item.price.max(1.0));
            let needed = if agrees {
                COVERAGE_WITH_PRICE
            } else {
                COVERAGE_WITHOUT_PRICE
            };
            if coverage < needed || (price.is_some() && !agrees && coverage < 1.0) {
                continue;
            }
            best.push((i, coverage, agrees));
        }
        best.sort_by(|a, b| b.2.cmp(&a.2).then(b.1.total_cmp(&a.1)));
        let &(_, top_coverage, top_price) = best.first()?;
        Some(
            best.iter()
                .take_while(|(_, c, a)| *a == top_price && (top_coverage - c).abs() < 1e-9)
                .map(|(i, _, _)| index.items[*i as usize].id.clone())
                .collect(),
        )
    }

    const WORDS: [&str; 8] = [
        "harbor", "lounge", "chair", "oslo", "dining", "velocity", "trail", "runner",
    ];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        #[test]
        fn grouping_by_title_recognises_what_comparing_every_item_did(
            catalog in proptest::collection::vec((proptest::collection::vec(0usize..8, 1..4), 1u32..40), 1..60),
            card in proptest::collection::vec((0usize..8, proptest::prelude::any::<bool>()), 0..5),
            price in proptest::option::of(1u32..40),
            was in proptest::option::weighted(0.2, 1u32..40),
        ) {
            let items: Vec<Item> = catalog
                .iter()
                .enumerate()
                .map(|(i, (words, price))| {
                    let title: Vec<&str> = words.iter().map(|w| WORDS[*w]).collect();
                    item(&format!("i{i}"), &title.join(" "), f64::from(*price) * 10.0, "gray", "chair")
                })
                .collect();
            let index = ItemIndex::new(&items, &["colour".to_owned()]);
            // Card words, some with an OCR slip (a letter dropped).
            let text: Vec<String> = card
                .iter()
                .map(|(w, slip)| if *slip && WORDS[*w].len() >= 6 { WORDS[*w][1..].to_owned() } else { WORDS[*w].to_owned() })
                .collect();
            let text = text.join(" ");
            let (price, was) = (price.map(|p| f64::from(p) * 10.0), was.map(|p| f64::from(p) * 10.0));
            let found = index.recognise(&text, price, was).map(|r| r.ids);
            proptest::prop_assert_eq!(found, reference(&index, &text, price, was), "{}", text);
        }
    }

    #[test]
    fn one_edit() {
        for (a, b, expected) in [
            ("chair", "chalr", true),
            ("chair", "chairs", true),
            ("chair", "hair", true),
            ("chair", "chiar", false),
            ("chair", "chair", true),
            ("lounge", "lunges", false),
        ] {
            assert_eq!(within_one_edit(a, b), expected, "{a} {b}");
        }
    }
}
