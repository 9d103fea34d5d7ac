//! Writing the eight categories (and the `Evidence` account beside them) from what a batch's
//! pages stated, focused on and showed.

use super::*;

/// The eight categories, and the number ranges written among the specifications.
pub(super) fn write_categories(
    readings: &[PageReading],
    seen: &[Seen],
    preferences: &BTreeMap<String, BTreeSet<String>>,
    stated: &ActiveFilters,
) -> (Value, BTreeMap<String, (f64, f64)>) {
    let mut out = Map::new();
    let evidence: Vec<&Card> = seen.iter().map(|s| s.card).collect();

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
            json!(interarec_core::money::dollars(lowest))
        } else {
            not_available()
        },
    );
    out.insert(
        "Highest Price".into(),
        if highest.is_finite() {
            json!(interarec_core::money::dollars(highest))
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
    // Numbers a listing's cards show describe the range the shopper browsed; a product page's
    // describe the one item, so they count only when no listing is in view (a square footage
    // only the opened home shows is not something the shopper asked for).
    let listing_in_view = seen.iter().any(|s| !s.on_product_page);
    let mut numeric: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for seen in seen.iter().filter(|s| !(listing_in_view && s.on_product_page)) {
        for (attribute, &value) in &seen.card.numbers {
            let range = numeric.entry(attribute.clone()).or_insert((value, value));
            range.0 = range.0.min(value);
            range.1 = range.1.max(value);
        }
    }
    for (attribute, &minimum) in &stated.minimums {
        let range = numeric.entry(attribute.clone()).or_insert((minimum, minimum));
        range.0 = minimum;
        range.1 = range.1.max(minimum);
    }
    for (attribute, (min, max)) in &numeric {
        specifications.insert(attribute.clone(), json!({ "min": min, "max": max }));
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
    (Value::Object(out), numeric)
}
