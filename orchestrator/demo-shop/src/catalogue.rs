//! Two more layout families, kept out of the reader's tuning (the recovery benchmark reports them
//! as held out):
//!
//! - `catalogue` (all three shops): a European catalogue shop. A top filter bar of dropdown
//!   buttons (`Colour: Black ▾`, `Price ▾`), a list view with one product per row (picture, name,
//!   a detail line, the price on the right in euros: `1.299,00 €`, with `Was 1.499,00 €` under a
//!   sale price), ratings as `4.3/5`, a product page with `Add to basket` and a "Customers also
//!   viewed" strip.
//! - `mapview` (homes): a property search with the result list on the left and a map panel on
//!   the right carrying price pins (`$1.3M`); filter buttons at the top (`Beds & baths`, `Home
//!   type`), cards as `3 bds | 2 ba | 1,450 sqft - Condo for sale`.
//!
//! Routes: `/catalogue/{shop}`, `/catalogue/{shop}/item/{id}`, `/mapview/homes`,
//! `/mapview/homes/item/{id}`. Filters are the classic query parameters (a dropdown choice
//! reloads the page with its parameter, so scripts visit those URLs).

use crate::catalog::{Domain, Product};
use crate::site::{Shops, capital, escape, group_thousands, listed, number_of, shop, text_of};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Arc;

fn euros(value: f64) -> String {
    let cents = (value * 100.0).round() as u64;
    format!("{},{:02} €", group_thousands(cents / 100, '.'), cents % 100)
}

fn dollars(value: f64) -> String {
    format!("${}", group_thousands(value.round() as u64, ','))
}

fn price_text(domain: Domain, value: f64) -> String {
    if domain == Domain::RealEstate {
        dollars(value)
    } else {
        euros(value)
    }
}

fn page(title: &str, style: &str, body: &str) -> Html<String> {
    Html(format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{}</title><style>{style}</style></head><body>{body}</body></html>"#,
        escape(title)
    ))
}

const CATALOGUE_STYLE: &str = r#"
body{font-family:"DejaVu Serif",Georgia,serif;margin:0;color:#2b2b2b;background:#fff;font-size:15px}
.masthead{display:flex;align-items:baseline;gap:30px;padding:18px 40px;border-bottom:3px double #2b2b2b}
.masthead b{font-size:26px;letter-spacing:1px} .masthead span{font-size:15px;color:#555}
.filters{display:flex;gap:12px;padding:12px 40px;background:#f3f0ea;border-bottom:1px solid #ddd}
.filters span{border:1px solid #999;background:#fff;padding:6px 14px;font-size:14px;font-family:"DejaVu Sans",sans-serif}
.filters span.set{border-color:#2b2b2b;font-weight:bold}
.summary{display:flex;justify-content:space-between;padding:12px 40px;color:#555;font-size:14px;font-family:"DejaVu Sans",sans-serif}
.row{display:flex;gap:24px;padding:14px 40px;border-bottom:1px solid #e6e6e6;text-decoration:none;color:#2b2b2b;align-items:center}
.row img{width:120px;height:120px;background:#f3f3f3}
.row .what{flex:1} .row .what div:first-child{font-size:18px;margin-bottom:6px}
.row .line{color:#666;font-size:14px;font-family:"DejaVu Sans",sans-serif}
.row .cost{width:200px;text-align:right} .row .cost div:first-child{font-size:20px}
.row .cost .sale{color:#b00020} .row .cost .old{color:#777;font-size:14px;text-decoration:line-through}
.detail{display:flex;gap:40px;padding:24px 40px} .detail img{width:420px;height:420px;background:#f3f3f3}
.detail h1{font-size:28px;font-weight:normal;margin:0 0 12px} .detail .now{font-size:26px;margin:8px 0}
.detail button{background:#2b2b2b;color:#fff;border:none;padding:12px 30px;font-size:16px;margin-top:14px}
.strip{padding:10px 40px 30px} .strip h3{font-weight:normal;font-size:20px}
.strip div.items{display:flex;gap:18px} .strip a{width:180px;text-decoration:none;color:#2b2b2b;font-size:14px}
.strip img{width:180px;height:140px;background:#f3f3f3}
"#;

/// The dropdowns of the filter bar per domain.
fn dropdowns(domain: Domain) -> &'static [(&'static str, &'static str)] {
    match domain {
        Domain::Fashion => &[("category", "Category"), ("colour", "Colour"), ("brand", "Brand")],
        Domain::Footwear => &[
            ("gender", "Gender"),
            ("best_for", "Activity"),
            ("colour", "Colour"),
            ("brand", "Brand"),
        ],
        Domain::RealEstate => &[("city", "Location"), ("property_type", "Type")],
    }
}

/// `/catalogue/{shop}`: the list view.
pub(crate) async fn catalogue_listing(
    State(shops): State<Arc<Shops>>,
    Path(slug): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some((domain, products)) = shop(&shops, &slug) else {
        return (StatusCode::NOT_FOUND, format!("There is no shop `{slug}`.")).into_response();
    };
    let shown = listed(products, &query);
    let mut bar = String::new();
    for (name, label) in dropdowns(domain) {
        match query.get(*name).filter(|v| !v.is_empty()) {
            Some(value) => write!(
                bar,
                r#"<span class="set">{label}: {} ▾</span>"#,
                escape(&capital(value))
            )
            .unwrap(),
            None => write!(bar, "<span>{label} ▾</span>").unwrap(),
        }
    }
    match query.get("max_price").and_then(|v| v.parse::<f64>().ok()) {
        Some(high) => write!(
            bar,
            r#"<span class="set">Price: max {} ▾</span>"#,
            price_text(domain, high)
        )
        .unwrap(),
        None => bar.push_str("<span>Price ▾</span>"),
    }
    let sort = match query.get("sort").map(String::as_str) {
        Some("price_asc") => "Price ascending",
        Some("price_desc") => "Price descending",
        _ => "Relevance",
    };
    let mut rows = String::new();
    for product in shown.iter().take(20) {
        rows.push_str(&catalogue_row(domain, product));
    }
    let body = format!(
        r#"<div class="masthead"><b>{shop}</b><span>New in</span><span>Collections</span><span>Sale</span><span style="margin-left:auto">Basket (0)</span></div><div class="filters">{bar}</div><div class="summary"><span>Showing {n} of {n} items</span><span>Sort: {sort}</span></div>{rows}"#,
        shop = escape(&domain.shop_name().to_uppercase()),
        n = shown.len(),
    );
    page(domain.shop_name(), CATALOGUE_STYLE, &body).into_response()
}

fn catalogue_line(domain: Domain, product: &Product) -> String {
    match domain {
        Domain::RealEstate => format!(
            "{} bedrooms, {} bathrooms, {} sq ft · {}",
            number_of(product, "bedrooms").unwrap_or(0.0),
            number_of(product, "bathrooms").unwrap_or(0.0),
            number_of(product, "sqft").unwrap_or(0.0),
            capital(&text_of(product, "property_type").unwrap_or_default())
        ),
        Domain::Footwear => format!(
            "{} · {} · colour {}",
            capital(&text_of(product, "gender").unwrap_or_default()),
            capital(&text_of(product, "best_for").unwrap_or_default()),
            text_of(product, "colour").unwrap_or_default()
        ),
        Domain::Fashion => format!(
            "{} · colour {} · sizes {}",
            text_of(product, "brand").unwrap_or_default(),
            text_of(product, "colour").unwrap_or_default(),
            text_of(product, "sizes").unwrap_or_default()
        ),
    }
}

fn catalogue_row(domain: Domain, product: &Product) -> String {
    let slug = domain.slug();
    let cost = match product.was_price {
        Some(was) => format!(
            r#"<div class="sale">{}</div><div class="old">Was {}</div>"#,
            price_text(domain, product.item.price),
            price_text(domain, was)
        ),
        None => format!("<div>{}</div>", price_text(domain, product.item.price)),
    };
    format!(
        r#"<a class="row" href="/catalogue/{slug}/item/{id}" data-item="{id}"><img src="/{slug}/image/{id}.svg" alt=""><div class="what"><div>{title}</div><div class="line">{line}</div><div class="line">{rating}/5 ({reviews} reviews)</div></div><div class="cost">{cost}</div></a>"#,
        id = product.item.id,
        title = escape(&product.item.title),
        line = escape(&catalogue_line(domain, product)),
        rating = product.rating,
        reviews = product.reviews,
    )
}

/// `/catalogue/{shop}/item/{id}`.
pub(crate) async fn catalogue_product(
    State(shops): State<Arc<Shops>>,
    Path((slug, id)): Path<(String, String)>,
) -> Response {
    let Some((domain, products)) = shop(&shops, &slug) else {
        return (StatusCode::NOT_FOUND, format!("There is no shop `{slug}`.")).into_response();
    };
    let Some(product) = products.iter().find(|p| p.item.id == id) else {
        return (StatusCode::NOT_FOUND, format!("There is no product `{id}`.")).into_response();
    };
    let mut strip = String::new();
    let start = products.iter().position(|p| p.item.id == id).unwrap_or(0);
    for other in products.iter().cycle().skip(start + 3).step_by(13).take(5) {
        write!(
            strip,
            r#"<a href="/catalogue/{slug}/item/{id}"><img src="/{slug}/image/{id}.svg" alt=""><div>{title}</div><div>{price}</div></a>"#,
            id = other.item.id,
            title = escape(&other.item.title),
            price = price_text(domain, other.item.price)
        )
        .unwrap();
    }
    let was = product
        .was_price
        .map(|was| format!(r#"<div style="color:#777">Was {}</div>"#, price_text(domain, was)))
        .unwrap_or_default();
    let button = if domain == Domain::RealEstate {
        "Arrange a viewing"
    } else {
        "Add to basket"
    };
    let body = format!(
        r#"<div class="masthead"><b>{shop}</b><span>New in</span><span>Collections</span><span>Sale</span><span style="margin-left:auto">Basket (0)</span></div><div class="detail"><img src="/{slug}/image/{id}.svg" alt=""><div><h1>{title}</h1><div class="now">{price}</div>{was}<div class="line">{line}</div><div>In stock · delivery in 2–4 days</div><button>{button}</button></div></div><div class="strip"><h3>Customers also viewed</h3><div class="items">{strip}</div></div>"#,
        shop = escape(&domain.shop_name().to_uppercase()),
        title = escape(&product.item.title),
        price = price_text(domain, product.item.price),
        line = escape(&catalogue_line(domain, product)),
    );
    page(&product.item.title, CATALOGUE_STYLE, &body).into_response()
}

const MAP_STYLE: &str = r#"
body{font-family:"DejaVu Sans",Arial,sans-serif;margin:0;color:#1b1b1b;font-size:14px}
.bar{display:flex;gap:10px;align-items:center;padding:10px 20px;border-bottom:1px solid #d6d6d6}
.bar .where{border:1px solid #bbb;border-radius:4px;padding:7px 12px;width:260px}
.bar span.f{border:1px solid #bbb;border-radius:4px;padding:7px 12px} .bar span.on{border-color:#006aff;color:#006aff}
.split{display:flex;height:740px} .list{width:560px;overflow:hidden;padding:10px 16px}
.list h2{font-size:20px;margin:6px 0} .list .n{color:#555;margin-bottom:10px}
.cards{display:grid;grid-template-columns:1fr 1fr;gap:12px}
.home{border:1px solid #e0e0e0;border-radius:6px;text-decoration:none;color:#1b1b1b;display:block;overflow:hidden}
.home img{width:100%;height:120px;object-fit:cover} .home div{padding:2px 10px}
.home .p{font-size:19px;font-weight:bold;padding-top:6px}
.map{flex:1;position:relative;background:#e8ecdf;overflow:hidden}
.pin{position:absolute;background:#d6202b;color:#fff;font-size:12px;font-weight:bold;padding:2px 6px;border-radius:10px}
.facts{display:flex;gap:40px;padding:20px} .facts img{width:520px;height:360px}
.facts h1{font-size:26px;margin:0} .facts .p{font-size:30px;font-weight:bold;margin:6px 0}
.facts button{background:#006aff;color:#fff;border:none;border-radius:4px;padding:10px 24px;font-size:16px;margin-top:12px}
.near{padding:0 20px} .near .cards{grid-template-columns:repeat(4,1fr)}
"#;

fn short_price(value: f64) -> String {
    if value >= 1_000_000.0 {
        format!("${:.1}M", value / 1_000_000.0)
    } else {
        format!("${:.0}K", value / 1_000.0)
    }
}

fn home_card(product: &Product) -> String {
    format!(
        r#"<a class="home" href="/mapview/homes/item/{id}" data-item="{id}"><img src="/homes/image/{id}.svg" alt=""><div class="p">{price}</div><div>{beds} bds | {baths} ba | {sqft} sqft - {kind} for sale</div><div>{address}</div></a>"#,
        id = product.item.id,
        price = dollars(product.item.price),
        beds = number_of(product, "bedrooms").unwrap_or(0.0),
        baths = number_of(product, "bathrooms").unwrap_or(0.0),
        sqft = dollars(number_of(product, "sqft").unwrap_or(0.0)).trim_start_matches('$'),
        kind = capital(&text_of(product, "property_type").unwrap_or_default()),
        address = escape(&product.item.title),
    )
}

/// `/mapview/homes`: list beside a map.
pub(crate) async fn map_listing(
    State(shops): State<Arc<Shops>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some((_, products)) = shop(&shops, "homes") else {
        return (StatusCode::NOT_FOUND, "no homes").into_response();
    };
    let shown = listed(products, &query);
    let place = query.get("city").cloned().unwrap_or_else(|| "Bay Area".into());
    let beds = query
        .get("min_beds")
        .map_or("Beds & baths".to_owned(), |b| format!("{b}+ bds"));
    let kind = query
        .get("property_type")
        .map_or("Home type".to_owned(), |k| capital(k));
    let price = query
        .get("max_price")
        .and_then(|v| v.parse::<f64>().ok())
        .map_or("Price".to_owned(), |high| format!("Up to {}", short_price(high)));
    let on = |set: bool| if set { "f on" } else { "f" };
    let mut cards = String::new();
    let mut pins = String::new();
    for product in shown.iter().take(8) {
        cards.push_str(&home_card(product));
    }
    for (i, product) in shown.iter().take(14).enumerate() {
        let x = 40 + (i * 97 + product.item.id.len() * 13) % 560;
        let y = 60 + (i * 151) % 600;
        write!(
            pins,
            r#"<span class="pin" style="left:{x}px;top:{y}px">{}</span>"#,
            short_price(product.item.price)
        )
        .unwrap();
    }
    let body = format!(
        r##"<div class="bar"><b style="font-size:20px;color:#006aff">{shop}</b><span class="where">{place}, CA</span><span class="{c1}">{price}</span><span class="{c2}">{beds}</span><span class="{c3}">{kind}</span><span class="f">More</span></div><div class="split"><div class="list"><h2>{place} Real Estate &amp; Homes For Sale</h2><div class="n">{n} results</div><div class="cards">{cards}</div></div><div class="map"><svg width="100%" height="100%"><path d="M0 200 L900 260 M120 0 L200 740 M0 520 L900 470 M420 0 L380 740" stroke="#fff" stroke-width="9"/><path d="M600 0 C560 200 700 400 640 740 L900 740 L900 0 Z" fill="#b9d3e8"/></svg>{pins}</div></div>"##,
        shop = escape(Domain::RealEstate.shop_name()),
        place = escape(&place),
        n = shown.len(),
        c1 = on(query.contains_key("max_price")),
        c2 = on(query.contains_key("min_beds")),
        c3 = on(query.contains_key("property_type")),
    );
    page("Homes for sale", MAP_STYLE, &body).into_response()
}

/// `/mapview/homes/item/{id}`.
pub(crate) async fn map_home(State(shops): State<Arc<Shops>>, Path(id): Path<String>) -> Response {
    let Some((_, products)) = shop(&shops, "homes") else {
        return (StatusCode::NOT_FOUND, "no homes").into_response();
    };
    let Some(product) = products.iter().find(|p| p.item.id == id) else {
        return (StatusCode::NOT_FOUND, format!("There is no home `{id}`.")).into_response();
    };
    let city = text_of(product, "city").unwrap_or_default();
    let mut near = String::new();
    for other in products
        .iter()
        .filter(|p| p.item.id != id && text_of(p, "city").as_deref() == Some(city.as_str()))
        .take(4)
    {
        near.push_str(&home_card(other));
    }
    let body = format!(
        r#"<div class="bar"><b style="font-size:20px;color:#006aff">{shop}</b><span class="where">{city}, CA</span></div><div class="facts"><img src="/homes/image/{id}.svg" alt=""><div><div class="p">{price}</div><h1>{address}</h1><div>{beds} bds | {baths} ba | {sqft} sqft</div><div>{kind} · Built 1978 · Lot 5,000 sqft</div><div>Est. payment: {payment}/mo</div><button>Request a tour</button></div></div><div class="near"><h3>Similar homes nearby</h3><div class="cards">{near}</div></div>"#,
        shop = escape(Domain::RealEstate.shop_name()),
        city = escape(&city),
        price = dollars(product.item.price),
        address = escape(&product.item.title),
        beds = number_of(product, "bedrooms").unwrap_or(0.0),
        baths = number_of(product, "bathrooms").unwrap_or(0.0),
        sqft = dollars(number_of(product, "sqft").unwrap_or(0.0)).trim_start_matches('$'),
        kind = capital(&text_of(product, "property_type").unwrap_or_default()),
        payment = dollars(product.item.price * 0.0058),
    );
    page(&product.item.title, MAP_STYLE, &body).into_response()
}
