//! The shops' web pages, served by axum on localhost: `/` (the three shops), `/{shop}` (a
//! listing with filters, search and sorting), `/{shop}/item/{id}` (the product page),
//! `/{shop}/image/{id}.svg` (the product picture) and `/{shop}/catalog.csv` (the catalog): the
//! classic layout family. `/storefront/...` serves the same shops in the storefront family
//! ([`crate::storefront`]), `/market/...` in the marketplace family ([`crate::marketplace`]),
//! `/catalogue/...` and `/mapview/homes` in the two held-out families ([`crate::catalogue`]).
//!
//! Listing filters (query parameters): `colour`, `brand`, `category`, `gender`, `best_for`,
//! `city`, `property_type` (exact, without case), `min_price`, `max_price`, `min_beds`,
//! `min_baths`, `q` (words of the title); `sort` is `featured`, `price_asc`, `price_desc` or
//! `rating`. Filter links carry `data-filter="name:value"` and sort links `data-sort`, so
//! browsing scripts can click them by selector.

use crate::catalog::{Domain, Product, catalog_csv};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use interarec_choice::item::AttributeValue;
use std::collections::{BTreeSet, HashMap};
use std::fmt::Write;
use std::sync::Arc;

/// Products listed per page.
const PAGE_SIZE: usize = 24;

pub(crate) struct Shops {
    pub(crate) products: HashMap<Domain, Vec<Product>>,
}

pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `$48.99`, or whole dollars with thousands separators for homes (`$1,349,000`).
fn money(domain: Domain, value: f64) -> String {
    if domain == Domain::RealEstate {
        format!("${}", group_thousands(value.round() as u64, ','))
    } else {
        format!("${value:.2}")
    }
}

pub(crate) use interarec_core::money::group_thousands;

fn stars(rating: f64) -> String {
    let full = rating.round() as usize;
    format!("{}{}", "★".repeat(full.min(5)), "☆".repeat(5 - full.min(5)))
}

pub(crate) fn text_of(product: &Product, name: &str) -> Option<String> {
    match product.item.attributes.get(name)? {
        AttributeValue::Text(text) => Some(text.clone()),
        AttributeValue::Number(number) => Some(number.to_string()),
        AttributeValue::List(values) => Some(values.join(", ")),
    }
}

pub(crate) fn number_of(product: &Product, name: &str) -> Option<f64> {
    match product.item.attributes.get(name)? {
        AttributeValue::Number(number) => Some(*number),
        _ => None,
    }
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{}</title><style>
body{{font-family:"DejaVu Sans",Arial,sans-serif;margin:0;color:#1d1d1f;background:#fff;font-size:16px}}
header{{display:flex;align-items:center;gap:24px;padding:14px 32px;border-bottom:1px solid #ddd}}
header a{{color:#1d1d1f;text-decoration:none;font-weight:bold}}
.banner{{background:#111;color:#fff;text-align:center;padding:10px;font-size:17px;font-weight:bold}}
.layout{{display:flex;gap:28px;padding:20px 32px}}
aside{{width:200px;flex:none}} aside h3{{font-size:15px;margin:14px 0 6px}}
aside a{{display:block;color:#333;text-decoration:none;padding:3px 0;font-size:15px}}
aside a.on{{font-weight:bold;text-decoration:underline}}
.grid{{display:grid;grid-template-columns:repeat(4,1fr);gap:22px;flex:1}}
.card{{border:1px solid #e3e3e3;border-radius:8px;padding:12px;text-decoration:none;color:#1d1d1f;display:block}}
.card img{{width:100%;height:170px;object-fit:contain;background:#f6f6f6}}
.title{{font-size:16px;margin:8px 0 4px;min-height:40px}}
.price{{font-size:18px;font-weight:bold}} .was{{color:#777;text-decoration:line-through;margin-left:8px;font-size:15px}}
.off{{background:#c0392b;color:#fff;border-radius:4px;padding:1px 6px;font-size:14px;margin-left:8px}}
.stars{{color:#b8860b;font-size:15px}} .meta{{color:#555;font-size:14px}}
.sort a{{margin-right:14px;color:#333;font-size:15px}}
.chips{{font-size:16px;color:#1d1d1f;margin:0 0 10px}}
.product{{display:flex;gap:40px;padding:24px 32px}} .product img{{width:420px;height:420px;background:#f6f6f6}}
.product h1{{font-size:28px;margin:0 0 10px}} .big{{font-size:26px;font-weight:bold}}
table{{border-collapse:collapse;margin-top:10px}} td,th{{border:1px solid #ddd;padding:6px 12px;font-size:15px;text-align:left}}
.promo{{border:2px dashed #c0392b;padding:10px;margin:14px 0;font-size:16px}}
.review{{border-left:3px solid #ddd;padding-left:10px;margin:8px 0;font-size:15px}}
</style></head><body>{}</body></html>"#,
        escape(title),
        body
    ))
}

fn header_html(domain: Domain) -> String {
    let mut nav = String::new();
    for other in Domain::ALL {
        write!(nav, r#"<a href="/{}">{}</a>"#, other.slug(), other.shop_name()).unwrap();
    }
    let promo = match domain {
        Domain::Fashion => "SPRING SALE: extra 15% off dresses with code BLOOM15",
        Domain::Footwear => "Members get free shipping · Up to 40% off sale styles",
        Domain::RealEstate => "New listings every day · Price cuts marked in red",
    };
    format!(r#"<header>{nav}</header><div class="banner">{promo}</div>"#)
}

pub(crate) async fn index() -> Html<String> {
    let mut body = String::from("<header><b>InteraRec demo shops</b></header><div class=\"layout\"><ul>");
    for domain in Domain::ALL {
        write!(
            body,
            r#"<li><a href="/{0}">{1}</a> — <a href="/{0}/catalog.csv">catalog.csv</a></li>"#,
            domain.slug(),
            domain.shop_name()
        )
        .unwrap();
    }
    body.push_str("</ul></div>");
    page("InteraRec demo shops", &body)
}

fn not_found(what: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        page("Not found", &format!("<p>{}</p>", escape(what))),
    )
        .into_response()
}

pub(crate) fn shop<'a>(shops: &'a Shops, slug: &str) -> Option<(Domain, &'a [Product])> {
    let domain = Domain::from_slug(slug)?;
    Some((domain, shops.products.get(&domain)?.as_slice()))
}

/// The attributes offered as filters, per domain.
fn filter_names(domain: Domain) -> &'static [&'static str] {
    match domain {
        Domain::Fashion => &["category", "colour", "brand"],
        Domain::Footwear => &["gender", "best_for", "colour", "brand"],
        Domain::RealEstate => &["city", "property_type"],
    }
}

/// The filters in force, as shops show them above their results (`Filtered by: Men · Black ·
/// Up to $140`), so a shopper (and a screenshot) can see what the listing is narrowed to.
fn active_filters(domain: Domain, query: &HashMap<String, String>) -> String {
    let mut chips: Vec<String> = Vec::new();
    for name in filter_names(domain) {
        if let Some(value) = query.get(*name).filter(|v| !v.trim().is_empty()) {
            chips.push(capital(value.trim()));
        }
    }
    let number = |key: &str| query.get(key).and_then(|v| v.trim().parse::<f64>().ok());
    match (number("min_price"), number("max_price")) {
        (Some(low), Some(high)) => chips.push(format!("{}–{}", money(domain, low), money(domain, high))),
        (Some(low), None) => chips.push(format!("From {}", money(domain, low))),
        (None, Some(high)) => chips.push(format!("Up to {}", money(domain, high))),
        (None, None) => {}
    }
    if let Some(beds) = number("min_beds") {
        chips.push(format!("{beds}+ bd"));
    }
    if let Some(baths) = number("min_baths") {
        chips.push(format!("{baths}+ ba"));
    }
    if let Some(search) = query.get("q").filter(|v| !v.trim().is_empty()) {
        chips.push(format!("“{}”", search.trim()));
    }
    if chips.is_empty() {
        return String::new();
    }
    format!(
        r#"<p class="chips">Filtered by: {}</p>"#,
        chips.iter().map(|c| escape(c)).collect::<Vec<_>>().join(" · ")
    )
}

pub(crate) fn matches(product: &Product, query: &HashMap<String, String>) -> bool {
    for (name, wanted) in query {
        let wanted = wanted.trim();
        if wanted.is_empty() {
            continue;
        }
        let number = wanted.parse::<f64>().ok();
        let ok = match name.as_str() {
            "min_price" => number.is_none_or(|n| product.item.price >= n),
            "max_price" => number.is_none_or(|n| product.item.price <= n),
            "min_beds" => number.is_none_or(|n| number_of(product, "bedrooms").unwrap_or(0.0) >= n),
            "min_baths" => number.is_none_or(|n| number_of(product, "bathrooms").unwrap_or(0.0) >= n),
            "q" => {
                let title = product.item.title.to_lowercase();
                wanted
                    .to_lowercase()
                    .split_whitespace()
                    .all(|word| title.contains(word))
            }
            "sort" | "page" => true,
            attribute => text_of(product, attribute).is_some_and(|value| value.eq_ignore_ascii_case(wanted)),
        };
        if !ok {
            return false;
        }
    }
    true
}

/// The products a listing shows for its query: filtered by [`matches`], then sorted by its
/// `sort` (`price_asc`, `price_desc`, `rating`; anything else keeps the shop's order).
pub(crate) fn listed<'a>(products: &'a [Product], query: &HashMap<String, String>) -> Vec<&'a Product> {
    let mut shown: Vec<&Product> = products.iter().filter(|p| matches(p, query)).collect();
    match query.get("sort").map(String::as_str) {
        Some("price_asc") => shown.sort_by(|a, b| a.item.price.total_cmp(&b.item.price)),
        Some("price_desc") => shown.sort_by(|a, b| b.item.price.total_cmp(&a.item.price)),
        Some("rating") => shown.sort_by(|a, b| b.rating.total_cmp(&a.rating)),
        _ => {}
    }
    shown
}

pub(crate) fn link_with(slug: &str, query: &HashMap<String, String>, set: &str, value: Option<&str>) -> String {
    let mut pairs: Vec<(String, String)> = query
        .iter()
        .filter(|(k, _)| k.as_str() != set && k.as_str() != "page")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if let Some(value) = value {
        pairs.push((set.to_owned(), value.to_owned()));
    }
    pairs.sort();
    let encoded: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", v.replace(' ', "+").replace('&', "%26")))
        .collect();
    if encoded.is_empty() {
        format!("/{slug}")
    } else {
        format!("/{slug}?{}", encoded.join("&amp;"))
    }
}

fn card(domain: Domain, product: &Product) -> String {
    let item = &product.item;
    let mut price = format!(r#"<span class="price">{}</span>"#, money(domain, item.price));
    if let Some(was) = product.was_price {
        let off = ((1.0 - item.price / was) * 100.0).round();
        let label = if domain == Domain::RealEstate { "Price cut" } else { "" };
        write!(
            price,
            r#"<span class="was">{}</span><span class="off">{label} -{off}%</span>"#,
            money(domain, was)
        )
        .unwrap();
    }
    let detail = match domain {
        Domain::RealEstate => format!(
            "{} bd · {} ba · {} sqft · {}",
            number_of(product, "bedrooms").unwrap_or(0.0),
            number_of(product, "bathrooms").unwrap_or(0.0),
            number_of(product, "sqft").unwrap_or(0.0),
            text_of(product, "property_type").unwrap_or_default()
        ),
        Domain::Footwear => format!(
            "{}'s {} shoe · {}",
            capital(&text_of(product, "gender").unwrap_or_default()),
            text_of(product, "best_for").unwrap_or_default(),
            text_of(product, "colour").unwrap_or_default()
        ),
        Domain::Fashion => format!(
            "{} · {}",
            text_of(product, "colour").unwrap_or_default(),
            text_of(product, "brand").unwrap_or_default()
        ),
    };
    format!(
        r#"<a class="card" href="/{slug}/item/{id}" data-item="{id}"><img src="/{slug}/image/{id}.svg" alt="{title}"><div class="title">{title}</div><div>{price}</div><div class="meta">{detail}</div><div class="stars">{stars} <span class="meta">{rating} ({reviews})</span></div></a>"#,
        slug = domain.slug(),
        id = item.id,
        title = escape(&item.title),
        detail = escape(&detail),
        stars = stars(product.rating),
        rating = product.rating,
        reviews = product.reviews,
    )
}

pub(crate) fn capital(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

pub(crate) async fn listing(
    State(shops): State<Arc<Shops>>,
    Path(slug): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some((domain, products)) = shop(&shops, &slug) else {
        return not_found(&format!(
            "There is no shop `{slug}`; the shops are fashion, footwear and homes."
        ));
    };
    let shown = listed(products, &query);
    let page_number: usize = query.get("page").and_then(|p| p.parse().ok()).unwrap_or(1).max(1);
    let total = shown.len();
    let mut aside = String::new();
    for name in filter_names(domain) {
        let values: BTreeSet<String> = products.iter().filter_map(|p| text_of(p, name)).collect();
        write!(aside, "<h3>{}</h3>", capital(&name.replace('_', " "))).unwrap();
        for value in values {
            let on = query.get(*name).is_some_and(|v| v.eq_ignore_ascii_case(&value));
            let href = link_with(&slug, &query, name, (!on).then_some(value.as_str()));
            write!(
                aside,
                r#"<a href="{href}" data-filter="{name}:{v}" class="{class}">{label}</a>"#,
                v = escape(&value),
                class = if on { "on" } else { "" },
                label = escape(&capital(&value))
            )
            .unwrap();
        }
    }
    if domain == Domain::RealEstate {
        aside.push_str("<h3>Bedrooms</h3>");
        for beds in 1..=5 {
            let href = link_with(&slug, &query, "min_beds", Some(&beds.to_string()));
            write!(
                aside,
                r#"<a href="{href}" data-filter="min_beds:{beds}">{beds}+ bd</a>"#
            )
            .unwrap();
        }
        aside.push_str("<h3>Bathrooms</h3>");
        for baths in 1..=4 {
            let href = link_with(&slug, &query, "min_baths", Some(&baths.to_string()));
            write!(
                aside,
                r#"<a href="{href}" data-filter="min_baths:{baths}">{baths}+ ba</a>"#
            )
            .unwrap();
        }
    }
    let mut sort = String::from(r#"<div class="sort">Sort by: "#);
    for (key, label) in [
        ("featured", "Featured"),
        ("price_asc", "Price: low to high"),
        ("price_desc", "Price: high to low"),
        ("rating", "Top rated"),
    ] {
        let href = link_with(&slug, &query, "sort", Some(key));
        write!(sort, r#"<a href="{href}" data-sort="{key}">{label}</a>"#).unwrap();
    }
    sort.push_str("</div>");
    let mut grid = String::from(r#"<div class="grid">"#);
    for product in shown.iter().skip((page_number - 1) * PAGE_SIZE).take(PAGE_SIZE) {
        grid.push_str(&card(domain, product));
    }
    grid.push_str("</div>");
    let mut pager = String::new();
    if page_number * PAGE_SIZE < total {
        let href = link_with(&slug, &query, "page", Some(&(page_number + 1).to_string()));
        write!(pager, r#"<p><a href="{href}" id="next-page">Next page</a></p>"#).unwrap();
    }
    let search = format!(
        r#"<form action="/{slug}" method="get"><input id="search" name="q" placeholder="Search {}" value="{}" style="font-size:16px;padding:6px;width:180px"></form>"#,
        domain.shop_name(),
        escape(query.get("q").map(String::as_str).unwrap_or(""))
    );
    let chips = active_filters(domain, &query);
    let body = format!(
        r#"{header}<div class="layout"><aside>{search}{aside}</aside><main style="flex:1"><h2>{name}: {total} results</h2>{chips}{sort}{grid}{pager}</main></div>"#,
        header = header_html(domain),
        name = domain.shop_name(),
    );
    page(domain.shop_name(), &body).into_response()
}

pub(crate) async fn product_page(
    State(shops): State<Arc<Shops>>,
    Path((slug, id)): Path<(String, String)>,
) -> Response {
    let Some((domain, products)) = shop(&shops, &slug) else {
        return not_found(&format!("There is no shop `{slug}`."));
    };
    let Some(product) = products.iter().find(|p| p.item.id == id) else {
        return not_found(&format!("There is no product `{id}` in {}.", domain.shop_name()));
    };
    let item = &product.item;
    let mut price = format!(r#"<span class="big">{}</span>"#, money(domain, item.price));
    if let Some(was) = product.was_price {
        let off = ((1.0 - item.price / was) * 100.0).round();
        write!(
            price,
            r#"<span class="was">{}</span><span class="off">Save {off}%</span>"#,
            money(domain, was)
        )
        .unwrap();
    }
    let mut facts = String::from("<table>");
    for (name, value) in &item.attributes {
        if name == "rating" || name == "discount" {
            continue;
        }
        let shown = match value {
            AttributeValue::Text(t) => capital(t),
            AttributeValue::Number(n) => n.to_string(),
            AttributeValue::List(values) => values.join(", "),
        };
        write!(
            facts,
            "<tr><th>{}</th><td>{}</td></tr>",
            escape(&capital(&name.replace('_', " "))),
            escape(&shown)
        )
        .unwrap();
    }
    facts.push_str("</table>");
    let mut reviews = format!(
        r#"<h3>Reviews</h3><div class="stars">{} {} out of 5 · {} reviews</div>"#,
        stars(product.rating),
        product.rating,
        product.reviews
    );
    for snippet in &product.review_snippets {
        write!(reviews, r#"<div class="review">“{}”</div>"#, escape(snippet)).unwrap();
    }
    // Comparison: three others of the same kind, as a shop's "compare similar" widget.
    let kind = match domain {
        Domain::Fashion => "category",
        Domain::Footwear => "best_for",
        Domain::RealEstate => "property_type",
    };
    let same_kind = text_of(product, kind);
    let mut compare =
        String::from("<h3>Compare similar</h3><table><tr><th>Item</th><th>Price</th><th>Rating</th></tr>");
    write!(
        compare,
        "<tr><td><b>{}</b></td><td>{}</td><td>{}</td></tr>",
        escape(&item.title),
        money(domain, item.price),
        product.rating
    )
    .unwrap();
    for other in products
        .iter()
        .filter(|p| p.item.id != item.id && text_of(p, kind) == same_kind)
        .take(3)
    {
        write!(
            compare,
            r#"<tr><td><a href="/{slug}/item/{id}">{title}</a></td><td>{price}</td><td>{rating}</td></tr>"#,
            id = other.item.id,
            title = escape(&other.item.title),
            price = money(domain, other.item.price),
            rating = other.rating
        )
        .unwrap();
    }
    compare.push_str("</table>");
    let promo = match domain {
        Domain::Fashion => "Free returns within 30 days · Extra 15% off dresses with code BLOOM15",
        Domain::Footwear => "Free shipping for members · 60-day wear test",
        Domain::RealEstate => "Open house Saturday 1–4 pm · Estimated payment shown with 20% down",
    };
    let body = format!(
        r#"{header}<div class="product"><img src="/{slug}/image/{id}.svg" alt="{title}"><div><h1>{title}</h1><div>{price}</div><div class="promo">{promo}</div>{facts}{reviews}{compare}</div></div>"#,
        header = header_html(domain),
        id = item.id,
        title = escape(&item.title),
    );
    page(&item.title, &body).into_response()
}

pub(crate) async fn picture(State(shops): State<Arc<Shops>>, Path((slug, file)): Path<(String, String)>) -> Response {
    let id = file.trim_end_matches(".svg");
    let Some((domain, products)) = shop(&shops, &slug) else {
        return not_found("no such shop");
    };
    let Some(product) = products.iter().find(|p| p.item.id == id) else {
        return not_found("no such product");
    };
    let shape = match domain {
        // A dress: bodice, waist, flared skirt.
        Domain::Fashion => {
            "<path d='M80 20 L120 20 L128 60 L112 90 L150 190 L50 190 L88 90 L72 60 Z' stroke='#555' stroke-width='2'/>"
        }
        // A sneaker: sole and upper.
        Domain::Footwear => {
            "<path d='M20 130 L40 80 L90 90 L120 60 L150 70 L185 120 L185 140 L20 140 Z' stroke='#555' stroke-width='2'/><rect x='20' y='140' width='165' height='14' fill='#eee' stroke='#555'/>"
        }
        // A house: roof, walls, door.
        Domain::RealEstate => {
            "<path d='M30 100 L100 40 L170 100 Z' stroke='#555' stroke-width='2'/><rect x='45' y='100' width='110' height='80' stroke='#555' stroke-width='2'/><rect x='90' y='135' width='22' height='45' fill='#fff'/>"
        }
    };
    let svg = format!(
        "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 200 200' width='200' height='200'><rect width='200' height='200' fill='#f6f6f6'/><g fill='{}'>{shape}</g></svg>",
        product.swatch
    );
    ([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response()
}

pub(crate) async fn csv(State(shops): State<Arc<Shops>>, Path(slug): Path<String>) -> Response {
    match shop(&shops, &slug) {
        Some((domain, products)) => {
            ([(header::CONTENT_TYPE, "text/csv")], catalog_csv(domain, products)).into_response()
        }
        None => not_found("no such shop"),
    }
}
