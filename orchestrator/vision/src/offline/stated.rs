//! What a page says outright about the shopper's filters: the filter line, chips, ticked facets
//! (read from the box's pixels), the breadcrumb and heading, the search query and the URL query.

use super::*;

/// What a page says is in force: a `Filtered by:` line, chips, ticked facets, the breadcrumb
/// below `Home`, the heading of a listing, the search query it repeats, and the URL's query.
pub(super) fn stated_filters(
    reading: &PageReading,
    url: Option<&str>,
    vocabulary: &Vocabulary,
    note: &mut impl FnMut(&str, &str, &str),
) -> ActiveFilters {
    let mut stated = reading.filters.clone().unwrap_or_default();
    for (attribute, value) in &stated.values {
        note(attribute, value, "filter line");
    }
    let signals = &reading.signals;
    let mut add = |stated: &mut ActiveFilters, found: BTreeMap<String, String>, why: &str| {
        for (attribute, value) in found {
            if let std::collections::btree_map::Entry::Vacant(slot) = stated.values.entry(attribute) {
                note(slot.key(), &value, why);
                slot.insert(value);
            }
        }
    };
    for chip in &signals.chips {
        let chip_filters = crate::reading::filter_chip(chip);
        merge_prices(&mut stated, &chip_filters);
        add(&mut stated, vocabulary.values_in(chip), "chip");
    }
    for facet in signals.facets.iter().filter(|f| f.checked == Some(true)) {
        add(&mut stated, vocabulary.values_in(&facet.label), "ticked facet");
    }
    // The breadcrumb's trail below `Home`. On a product page it describes the product, and its
    // last part is usually the product's name: kept only when it is a short category name
    // (`Training`), never a name (`Harbor Gray Lounge Chair`, `2777 Monterey Rd`).
    let trail = &signals.breadcrumb;
    let first = usize::from(trail.first().is_some_and(|p| p.trim().eq_ignore_ascii_case("home")));
    let last_is_category = trail.last().is_some_and(|part| {
        part.split_whitespace().count() <= 2
            && !part.chars().any(|c| c.is_ascii_digit())
            && !vocabulary.values_in(part).is_empty()
    });
    let trail_end = if reading.product_page && !last_is_category {
        trail.len().saturating_sub(1)
    } else {
        trail.len()
    };
    let why = if reading.product_page {
        "product breadcrumb"
    } else {
        "breadcrumb"
    };
    for part in trail.iter().take(trail_end).skip(first) {
        add(&mut stated, vocabulary.values_in(part), why);
    }
    if !reading.product_page
        && let Some(heading) = &signals.heading
    {
        add(&mut stated, vocabulary.values_in(heading), "heading");
    }
    if let Some(query) = &signals.search_query {
        add(&mut stated, vocabulary.values_in(query), "search");
    }
    if let Some(url) = url {
        let url_filters = url_filters(url, vocabulary);
        merge_prices(&mut stated, &url_filters);
        add(&mut stated, url_filters.values, "url");
    }
    stated
}

pub(super) fn merge_prices(into: &mut ActiveFilters, from: &ActiveFilters) {
    into.lowest_price = into.lowest_price.or(from.lowest_price);
    into.highest_price = into.highest_price.or(from.highest_price);
    for (attribute, minimum) in &from.minimums {
        into.minimums.entry(attribute.clone()).or_insert(*minimum);
    }
}

/// Filters in a URL's query (`?colour=black&max_price=140`, `?price=0-140`, `?q=trail`) and
/// path (`/shoes/running`): values through the vocabulary, price bounds by parameter name.
pub fn url_filters(url: &str, vocabulary: &Vocabulary) -> ActiveFilters {
    let mut filters = ActiveFilters::default();
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let path = path
        .split_once("://")
        .map_or(path, |(_, rest)| rest.split_once('/').map_or("", |(_, p)| p));
    let decode = |text: &str| {
        let text = text.replace('+', " ");
        let mut out = Vec::new();
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%'
                && i + 2 < bytes.len()
                && let Ok(byte) = u8::from_str_radix(&text[i + 1..i + 3], 16)
            {
                out.push(byte);
                i += 3;
                continue;
            }
            out.push(bytes[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    // Product pages' paths name the product, not a filter: only listing-like paths count.
    if !path.contains("item") && !path.contains("product") && !path.contains("/p/") {
        for part in path.split('/').filter(|p| !p.is_empty()) {
            for (attribute, value) in vocabulary.values_in(&decode(part).replace('-', " ")) {
                filters.values.entry(attribute).or_insert(value);
            }
        }
    }
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = decode(key).to_lowercase();
        let value = decode(value);
        let number = value.trim().replace(',', "").parse::<f64>().ok();
        if key.contains("price") {
            let bounds: Vec<f64> = value
                .split(['-', '_', ':', ','])
                .filter_map(|p| p.trim().parse().ok())
                .collect();
            if key.contains("max") || key.contains("to") || key.contains("lte") || key.contains("under") {
                filters.highest_price = number.or(filters.highest_price);
            } else if key.contains("min") || key.contains("from") || key.contains("gte") {
                filters.lowest_price = number.or(filters.lowest_price);
            } else if bounds.len() == 2 {
                filters.lowest_price = Some(bounds[0].min(bounds[1]));
                filters.highest_price = Some(bounds[0].max(bounds[1]));
            }
            continue;
        }
        if let Some(n) = number {
            let attribute = if key.contains("bed") {
                "bedrooms"
            } else if key.contains("bath") {
                "bathrooms"
            } else {
                continue;
            };
            if key.contains("min") || !key.contains("max") {
                filters.minimums.insert(attribute.to_owned(), n);
            }
            continue;
        }
        if matches!(key.as_str(), "sort" | "page" | "order" | "view") {
            continue;
        }
        let found = match vocabulary.attribute_named(&key) {
            Some(attribute) => vocabulary
                .values_in(&value)
                .into_iter()
                .filter(|(a, _)| *a == attribute)
                .collect(),
            None => vocabulary.values_in(&value),
        };
        for (attribute, value) in found {
            filters.values.entry(attribute).or_insert(value);
        }
    }
    filters
}

/// Share of a tick box's pixels that are dark or saturated when it is ticked (an empty box is
/// an outline: a fifth of its pixels or fewer).
pub(super) const TICKED_INK: f64 = 0.35;

/// Decides from the pixels which facets are ticked: the box left of a ticked label is filled,
/// an unticked one is an outline. Only a minority of a panel can be ticked (colour swatches
/// beside every label are not ticks).
pub(super) fn mark_ticked_facets(image: &image::RgbImage, facets: &mut [Facet]) {
    let ink: Vec<Option<f64>> = facets
        .iter()
        .map(|facet| {
            if facet.checked.is_some() {
                return None;
            }
            let size = facet.bbox.height.max(8.0);
            // The box: the stray characters OCR made of it, else left of the label.
            let (x0, x1) = if facet.box_width > 0.0 {
                (facet.bbox.x, facet.bbox.x + facet.box_width.min(1.5 * size))
            } else {
                (facet.bbox.x - 1.9 * size, facet.bbox.x - 0.15 * size)
            };
            if x0 < 0.0 {
                return None;
            }
            let (x0, x1) = (x0 as u32, (x1 as u32).min(image.width()));
            let (y0, y1) = (
                facet.bbox.y.max(0.0) as u32,
                (facet.bbox.bottom() as u32).min(image.height()),
            );
            if x1 <= x0 + 3 || y1 <= y0 + 3 {
                return None;
            }
            let mut inked = 0u32;
            let mut all = 0u32;
            for y in y0..y1 {
                for x in x0..x1 {
                    let [r, g, b] = image.get_pixel(x, y).0;
                    let (max, min) = (r.max(g).max(b), r.min(g).min(b));
                    // Dark, or saturated (an accent-coloured tick box).
                    if max < 150 || max - min > 90 {
                        inked += 1;
                    }
                    all += 1;
                }
            }
            Some(f64::from(inked) / f64::from(all))
        })
        .collect();
    let filled: Vec<usize> = (0..facets.len())
        .filter(|&i| ink[i].is_some_and(|share| share >= TICKED_INK))
        .collect();
    let measured = ink.iter().filter(|i| i.is_some()).count();
    if !filled.is_empty() && 2 * filled.len() <= measured {
        for i in filled {
            facets[i].checked = Some(true);
        }
    }
}
