//! The `storefront` layout family: the same three catalogs dressed as an ordinary modern
//! storefront, with none of the classic family's conventions. A dark header with search and
//! cart, a category menu, a breadcrumb (`Home › Atelier Lane › Dresses`), a heading with a
//! result count (`Dresses` / `12 products`), a sidebar of checkbox facets with counts, active
//! filter chips (`Green ✕  Clear all`), a sort control, a 4-column grid of cards with the brand in
//! small capitals above the name and colour shown only as swatches (no colour word, no stars);
//! product pages without ratings (`Colour: Green`, size buttons, Add to cart, a "You may also
//! like" row); pictures rendered with light and shade on varied backdrops.
//!
//! Routes: `/storefront/{shop}`, `/storefront/{shop}/item/{id}`, `/storefront/{shop}/image/{id}.svg`.
//! Filters are the classic family's query parameters; facet links carry the same
//! `data-filter="name:value"` so one browsing script language drives both.

use crate::catalog::{Domain, Product};
use crate::site::{Shops, capital, escape, group_thousands, link_with, listed, matches, number_of, shop, text_of};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::sync::Arc;

/// Products per page.
const PAGE_SIZE: usize = 24;

/// The attribute the category menu and breadcrumb name, per domain.
fn category_attribute(domain: Domain) -> &'static str {
    match domain {
        Domain::Fashion => "category",
        Domain::Footwear => "best_for",
        Domain::RealEstate => "property_type",
    }
}

/// Facet panels, per domain.
fn facet_names(domain: Domain) -> &'static [&'static str] {
    match domain {
        Domain::Fashion => &["category", "colour", "brand"],
        Domain::Footwear => &["gender", "best_for", "colour", "brand"],
        Domain::RealEstate => &["city", "property_type"],
    }
}

/// `$1,299.00`, or whole dollars for homes (`$1,349,000`).
fn money(domain: Domain, value: f64) -> String {
    let cents = (value * 100.0).round() as u64;
    let grouped = group_thousands(cents / 100, ',');
    if domain == Domain::RealEstate {
        format!("${grouped}")
    } else {
        format!("${grouped}.{:02}", cents % 100)
    }
}

/// A menu's plural: `Dresses`, `Condos`, `Multi-families`; uses (`running`) stay as they are.
fn plural(word: &str) -> String {
    if word.ends_with("ing") || word.ends_with("ss") || word.ends_with('x') {
        if word.ends_with("ing") {
            word.to_owned()
        } else {
            format!("{word}es")
        }
    } else if word.ends_with('s') {
        word.to_owned()
    } else if let Some(stem) = word.strip_suffix('y') {
        format!("{stem}ies")
    } else {
        format!("{word}s")
    }
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{}</title><style>
body{{font-family:"Liberation Sans",Arial,sans-serif;margin:0;color:#222;background:#fafafa;font-size:15px}}
.top{{background:#1f2430;color:#fff;display:flex;align-items:center;gap:28px;padding:12px 36px}}
.logo{{font-size:22px;font-weight:bold;letter-spacing:2px}}
.top input{{flex:1;max-width:420px;padding:8px 12px;border-radius:4px;border:none;font-size:15px}}
.top .cart{{margin-left:auto;color:#fff}}
.menu{{background:#fff;border-bottom:1px solid #e5e5e5;padding:10px 36px;display:flex;gap:26px}}
.menu a{{color:#333;text-decoration:none;font-size:15px}}
.crumbs{{padding:14px 36px 0;color:#666;font-size:14px}} .crumbs a{{color:#666;text-decoration:none}}
.head{{padding:4px 36px 8px}} .head h1{{font-size:30px;margin:6px 0 2px;font-weight:600}}
.count{{color:#666;font-size:14px}}
.wrap{{display:flex;gap:30px;padding:8px 36px 30px}}
.side{{width:210px;flex:none}} .side h4{{font-size:14px;text-transform:uppercase;letter-spacing:1px;margin:18px 0 8px;color:#444}}
.side label{{display:flex;align-items:center;gap:8px;font-size:14px;padding:3px 0;color:#333;cursor:pointer}}
.side .box{{width:13px;height:13px;border:1px solid #8a8a8a;border-radius:3px;background:#fff;flex:none}}
.side .box.on{{background:#2d6cdf;border-color:#2d6cdf;box-shadow:inset 0 0 0 3px #2d6cdf,inset 0 0 0 5px #fff}} .side a{{text-decoration:none;color:inherit}}
.bar{{display:flex;align-items:center;gap:10px;margin-bottom:14px;min-height:30px}}
.chip{{background:#e8eefb;color:#1d3f8f;border-radius:16px;padding:4px 12px;font-size:14px;text-decoration:none}}
.clear{{color:#2d6cdf;font-size:14px;text-decoration:none}} .sort{{margin-left:auto;font-size:14px;color:#444}}
.sort select{{font-size:14px;padding:4px}}
.grid{{display:grid;grid-template-columns:repeat(4,1fr);gap:20px;flex:1}}
.card{{background:#fff;border-radius:6px;padding:12px;text-decoration:none;color:#222;display:block;box-shadow:0 1px 3px rgba(0,0,0,.12)}}
.card img{{width:100%;height:180px;object-fit:cover;border-radius:4px}}
.brand{{font-variant:small-caps;letter-spacing:1px;color:#777;font-size:13px;margin-top:8px}}
.name{{font-size:15px;margin:2px 0 6px;min-height:36px}} .amount{{font-size:17px;font-weight:bold}}
.swatches{{display:flex;gap:5px;margin-top:6px}} .swatches span{{width:14px;height:14px;border-radius:50%;border:1px solid #ccc;display:inline-block}}
.facts{{color:#555;font-size:14px;margin-top:4px}}
.detail{{display:flex;gap:44px;padding:18px 36px}} .detail img{{width:460px;height:460px;border-radius:6px}}
.detail h1{{font-size:30px;margin:2px 0 10px;font-weight:600}} .big{{font-size:28px;font-weight:bold;margin:6px 0 14px}}
.option{{margin:10px 0;font-size:15px}} .sizes button{{font-size:14px;padding:6px 12px;margin:0 6px 6px 0;background:#fff;border:1px solid #bbb;border-radius:4px}}
.buy{{background:#2d6cdf;color:#fff;border:none;border-radius:4px;font-size:17px;padding:12px 36px;margin:12px 0}}
.desc{{max-width:520px;color:#444;line-height:1.5}}
.also{{padding:0 36px 30px}} .also h2{{font-size:22px;font-weight:600}}
.also .grid{{grid-template-columns:repeat(5,1fr)}}
</style></head><body>{}</body></html>"#,
        escape(title),
        body
    ))
}

fn header(domain: Domain, products: &[Product], query: &str) -> String {
    let slug = domain.slug();
    let mut menu = String::new();
    let attribute = category_attribute(domain);
    let mut kinds: Vec<String> = products.iter().filter_map(|p| text_of(p, attribute)).collect();
    kinds.sort();
    kinds.dedup();
    for kind in &kinds {
        write!(
            menu,
            r#"<a href="/storefront/{slug}?{attribute}={}" data-menu="{}">{}</a>"#,
            kind.replace(' ', "+"),
            escape(kind),
            escape(&capital(&plural(kind)))
        )
        .unwrap();
    }
    format!(
        r#"<div class="top"><span class="logo">{}</span><form action="/storefront/{slug}" method="get" style="flex:1;display:flex"><input id="search" name="q" placeholder="Search products" value="{}"></form><a class="cart">Cart (0)</a></div><nav class="menu">{menu}</nav>"#,
        escape(&domain.shop_name().to_uppercase()),
        escape(query)
    )
}

/// `/storefront/{shop}`: the listing.
pub(crate) async fn listing(
    State(shops): State<Arc<Shops>>,
    Path(slug): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some((domain, products)) = shop(&shops, &slug) else {
        return (StatusCode::NOT_FOUND, format!("There is no shop `{slug}`.")).into_response();
    };
    let shown = listed(products, &query);
    let base = format!("storefront/{slug}");
    let attribute = category_attribute(domain);
    let kind = query.get(attribute).filter(|v| !v.is_empty());
    let mut crumbs = format!(
        r#"<a href="/storefront/{slug}">Home</a> › <a href="/storefront/{slug}">{}</a>"#,
        domain.shop_name()
    );
    if let Some(kind) = kind {
        write!(crumbs, " › {}", escape(&capital(&plural(kind)))).unwrap();
    }
    let heading = kind.map_or_else(|| "All products".to_owned(), |k| capital(&plural(k)));
    let noun = if domain == Domain::RealEstate {
        "homes"
    } else {
        "products"
    };

    let mut side = String::new();
    for name in facet_names(domain) {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        // Counts as shops show them: what the other filters leave for each value.
        let mut others = query.clone();
        others.remove(*name);
        for product in products.iter().filter(|p| matches(p, &others)) {
            if let Some(value) = text_of(product, name) {
                *counts.entry(value).or_default() += 1;
            }
        }
        write!(side, "<h4>{}</h4>", capital(&name.replace('_', " "))).unwrap();
        for (value, count) in counts {
            let on = query.get(*name).is_some_and(|v| v.eq_ignore_ascii_case(&value));
            let href = link_with(&base, &query, name, (!on).then_some(value.as_str()));
            write!(
                side,
                r#"<a href="{href}" data-filter="{name}:{v}"><label><span class="box{on}"></span>{label} ({count})</label></a>"#,
                v = escape(&value),
                on = if on { " on" } else { "" },
                label = escape(&capital(&value))
            )
            .unwrap();
        }
    }
    let mut bar = String::new();
    for name in facet_names(domain) {
        if let Some(value) = query.get(*name).filter(|v| !v.is_empty()) {
            let href = link_with(&base, &query, name, None);
            write!(
                bar,
                r#"<a class="chip" href="{href}">{} ✕</a>"#,
                escape(&capital(value))
            )
            .unwrap();
        }
    }
    if let Some(high) = query.get("max_price").and_then(|v| v.parse::<f64>().ok()) {
        let href = link_with(&base, &query, "max_price", None);
        write!(
            bar,
            r#"<a class="chip" href="{href}">Under {} ✕</a>"#,
            money(domain, high)
        )
        .unwrap();
    }
    if !bar.is_empty() {
        write!(bar, r#"<a class="clear" href="/storefront/{slug}">Clear all</a>"#).unwrap();
    }
    let sort_label = match query.get("sort").map(String::as_str) {
        Some("price_asc") => "Price: low to high",
        Some("price_desc") => "Price: high to low",
        _ => "Featured",
    };
    write!(
        bar,
        r#"<span class="sort">Sort by <select><option>{sort_label}</option></select></span>"#
    )
    .unwrap();
    let mut grid = String::from(r#"<div class="grid">"#);
    let page_number: usize = query.get("page").and_then(|p| p.parse().ok()).unwrap_or(1).max(1);
    for product in shown.iter().skip((page_number - 1) * PAGE_SIZE).take(PAGE_SIZE) {
        grid.push_str(&card(domain, product));
    }
    grid.push_str("</div>");
    let body = format!(
        r#"{header}<div class="crumbs">{crumbs}</div><div class="head"><h1>{heading}</h1><div class="count">{total} {noun}</div></div><div class="wrap"><aside class="side">{side}</aside><main style="flex:1"><div class="bar">{bar}</div>{grid}</main></div>"#,
        header = header(domain, products, query.get("q").map(String::as_str).unwrap_or("")),
        total = shown.len(),
    );
    page(domain.shop_name(), &body).into_response()
}

/// The brand (or, for homes, the city) shown above the name, and the name without it.
fn brand_and_name(domain: Domain, product: &Product) -> (String, String) {
    let title = product.item.title.clone();
    match domain {
        Domain::RealEstate => (text_of(product, "city").unwrap_or_default(), title),
        _ => {
            // The name without the brand (shown above it) and without the colour word (the
            // swatches and the picture show the colour).
            let brand = text_of(product, "brand").unwrap_or_default();
            let colour = capital(&text_of(product, "colour").unwrap_or_default());
            let name = title
                .strip_prefix(&brand)
                .unwrap_or(&title)
                .split_whitespace()
                .filter(|word| *word != colour)
                .collect::<Vec<_>>()
                .join(" ");
            (brand, if name.is_empty() { title } else { name })
        }
    }
}

/// Swatches: the product's colour first, then two neighbours in the palette (variants).
fn swatches(product: &Product) -> String {
    let palette = ["#222222", "#f5f5f0", "#8a8d91", "#2f5fb3", "#c0392b"];
    let mut out = format!(
        r#"<div class="swatches"><span style="background:{}"></span>"#,
        product.swatch
    );
    for other in palette.iter().filter(|c| **c != product.swatch).take(2) {
        write!(out, r#"<span style="background:{other}"></span>"#).unwrap();
    }
    out.push_str("</div>");
    out
}

fn card(domain: Domain, product: &Product) -> String {
    let (brand, name) = brand_and_name(domain, product);
    let slug = domain.slug();
    let extra = match domain {
        Domain::RealEstate => format!(
            r#"<div class="facts">{} bd | {} ba | {} sqft</div>"#,
            number_of(product, "bedrooms").unwrap_or(0.0),
            number_of(product, "bathrooms").unwrap_or(0.0),
            money(Domain::RealEstate, number_of(product, "sqft").unwrap_or(0.0)).trim_start_matches('$')
        ),
        _ => swatches(product),
    };
    format!(
        r#"<a class="card" href="/storefront/{slug}/item/{id}" data-item="{id}"><img src="/storefront/{slug}/image/{id}.svg" alt=""><div class="brand">{brand}</div><div class="name">{name}</div><div class="amount">{price}</div>{extra}</a>"#,
        id = product.item.id,
        brand = escape(&brand.to_lowercase()),
        name = escape(&name),
        price = money(domain, product.item.price),
    )
}

/// `/storefront/{shop}/item/{id}`: a product page without ratings.
pub(crate) async fn product_page(
    State(shops): State<Arc<Shops>>,
    Path((slug, id)): Path<(String, String)>,
) -> Response {
    let Some((domain, products)) = shop(&shops, &slug) else {
        return (StatusCode::NOT_FOUND, format!("There is no shop `{slug}`.")).into_response();
    };
    let Some(product) = products.iter().find(|p| p.item.id == id) else {
        return (StatusCode::NOT_FOUND, format!("There is no product `{id}`.")).into_response();
    };
    let (brand, name) = brand_and_name(domain, product);
    let attribute = category_attribute(domain);
    let kind = text_of(product, attribute).unwrap_or_default();
    let crumbs = format!(
        r#"<a href="/storefront/{slug}">Home</a> › {} › <a href="/storefront/{slug}?{attribute}={}">{}</a> › {}"#,
        domain.shop_name(),
        kind.replace(' ', "+"),
        escape(&capital(&plural(&kind))),
        escape(&name)
    );
    let options = match domain {
        Domain::RealEstate => format!(
            r#"<div class="option">Bedrooms: {}</div><div class="option">Bathrooms: {}</div><div class="option">Square feet: {}</div><div class="option">Home type: {}</div><button class="buy">Schedule a tour</button>"#,
            number_of(product, "bedrooms").unwrap_or(0.0),
            number_of(product, "bathrooms").unwrap_or(0.0),
            money(Domain::RealEstate, number_of(product, "sqft").unwrap_or(0.0)).trim_start_matches('$'),
            escape(&capital(&kind)),
        ),
        _ => {
            let sizes: Vec<String> = match domain {
                Domain::Footwear => ["7", "8", "9", "10", "11"].iter().map(|s| (*s).to_owned()).collect(),
                _ => ["XS", "S", "M", "L", "XL"].iter().map(|s| (*s).to_owned()).collect(),
            };
            format!(
                r#"<div class="option">Colour: {}</div>{}<div class="option sizes">{}</div><button class="buy">Add to cart</button>"#,
                escape(&capital(&text_of(product, "colour").unwrap_or_default())),
                swatches(product),
                sizes
                    .iter()
                    .map(|s| format!("<button>{s}</button>"))
                    .collect::<String>()
            )
        }
    };
    // Other products: different kinds and prices, as such rows are.
    let mut also = String::from(r#"<div class="grid">"#);
    let start = products.iter().position(|p| p.item.id == id).unwrap_or(0);
    for other in products.iter().cycle().skip(start + 7).step_by(11).take(5) {
        also.push_str(&card(domain, other));
    }
    also.push_str("</div>");
    let body = format!(
        r#"{header}<div class="crumbs">{crumbs}</div><div class="detail"><img src="/storefront/{slug}/image/{id}.svg" alt=""><div><div class="brand">{brand}</div><h1>{title}</h1><div class="big">{price}</div>{options}<p class="desc">Made to last and easy to love. Free delivery on orders over $50 and free returns within 30 days.</p></div></div><div class="also"><h2>You may also like</h2>{also}</div>"#,
        header = header(domain, products, ""),
        brand = escape(&brand.to_lowercase()),
        title = escape(&name),
        price = money(domain, product.item.price),
    );
    page(&product.item.title, &body).into_response()
}

/// A stable small number from an id (backdrop and light direction vary by product).
fn variety(id: &str) -> usize {
    id.bytes()
        .fold(7usize, |acc, b| acc.wrapping_mul(31).wrapping_add(b as usize))
}

/// `/storefront/{shop}/image/{id}.svg`: the product rendered with light and shade (a gradient
/// from a lit to a shaded tone of its colour, a soft shadow) on a varied backdrop.
pub(crate) async fn picture(State(shops): State<Arc<Shops>>, Path((slug, file)): Path<(String, String)>) -> Response {
    let id = file.trim_end_matches(".svg");
    let Some((domain, products)) = shop(&shops, &slug) else {
        return (StatusCode::NOT_FOUND, "no such shop").into_response();
    };
    let Some(product) = products.iter().find(|p| p.item.id == id) else {
        return (StatusCode::NOT_FOUND, "no such product").into_response();
    };
    let backdrops = [
        ("#efeae2", "#d9d2c5"),
        ("#e9edf1", "#cfd6de"),
        ("#f4f1ec", "#e2dccf"),
        ("#ecefe9", "#d3d9cd"),
    ];
    let (back_top, back_bottom) = backdrops[variety(id) % backdrops.len()];
    let shape = match domain {
        Domain::Fashion => {
            "<path d='M80 22 C90 30 110 30 120 22 L132 60 L114 92 C128 130 142 160 152 192 L48 192 C58 160 72 130 86 92 L68 60 Z'/>"
        }
        Domain::Footwear => {
            "<path d='M18 132 C24 108 36 86 48 80 C62 88 82 92 96 86 C108 70 118 60 132 62 C150 72 172 100 186 118 L188 140 C140 146 70 146 18 144 Z'/>"
        }
        Domain::RealEstate => "<path d='M26 104 L100 40 L174 104 L160 104 L160 184 L40 184 L40 104 Z'/>",
    };
    let light = if variety(id).is_multiple_of(2) {
        ("30%", "25%")
    } else {
        ("70%", "30%")
    };
    let svg = format!(
        "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 200 200' width='200' height='200'><defs><linearGradient id='b' x1='0' y1='0' x2='0' y2='1'><stop offset='0' stop-color='{back_top}'/><stop offset='1' stop-color='{back_bottom}'/></linearGradient><radialGradient id='l' cx='{}' cy='{}' r='80%'><stop offset='0' stop-color='#fff' stop-opacity='0.35'/><stop offset='0.55' stop-color='#fff' stop-opacity='0'/><stop offset='1' stop-color='#000' stop-opacity='0.35'/></radialGradient></defs><rect width='200' height='200' fill='url(#b)'/><ellipse cx='100' cy='190' rx='70' ry='8' fill='#000' opacity='0.18'/><g fill='{}'>{shape}</g><g fill='url(#l)'>{shape}</g></svg>",
        light.0, light.1, product.swatch
    );
    ([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response()
}
