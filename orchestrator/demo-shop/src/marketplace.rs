//! The `marketplace` layout family (fashion and footwear): a dense marketplace search page. A
//! dark header with a department selector and the search box, a results line (`1-24 of 57
//! results for "trail"`), a sidebar of department links (the chosen one bold), brand check
//! boxes without counts, price band links and colour as unlabelled swatch squares; a 5-column
//! grid of small cards with long seller titles cut by an ellipsis and no colour word, star
//! ratings with counts, was/now pairs (`List: $120.00`), size-dependent price ranges
//! (`$24.99 – $31.99`), delivery lines and `Sponsored` cards that ignore the filters. Product
//! pages carry a marketplace breadcrumb, `Visit the Nike Store`, `4.3 out of 5 stars`,
//! `Color: Black` (US spelling), `Add to Cart` / `Buy Now` and sponsored related rows.
//!
//! Filters are opaque codes in the URL (`?k=trail&i=2&rh=b4&c=3&p=2`: department, brands,
//! colour and price band by position), so only the page says what is filtered; the search
//! words (`k`) are readable as on real marketplaces. Routes: `/market/{shop}`,
//! `/market/{shop}/item/{id}`; pictures are the storefront family's.

use crate::catalog::{Domain, Product};
use crate::site::{Shops, capital, escape, group_thousands, link_with, listed, shop, text_of};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Arc;

/// Cards per page (five columns).
const PAGE_SIZE: usize = 24;
/// Price bands of the sidebar: (label, low, high).
const PRICE_BANDS: [(&str, f64, f64); 4] = [
    ("Under $50", 0.0, 50.0),
    ("$50 to $100", 50.0, 100.0),
    ("$100 to $150", 100.0, 150.0),
    ("$150 & Above", 150.0, 100_000.0),
];
/// The attribute the department list filters.
fn department_attribute(domain: Domain) -> &'static str {
    match domain {
        Domain::Footwear => "best_for",
        _ => "category",
    }
}

fn dollars(value: f64) -> String {
    let cents = (value * 100.0).round() as u64;
    format!("${}.{:02}", group_thousands(cents / 100, ','), cents % 100)
}

/// The sorted values of an attribute in the shop (the codes are positions in this list).
fn values_of(products: &[Product], attribute: &str) -> Vec<String> {
    let mut values: Vec<String> = products.iter().filter_map(|p| text_of(p, attribute)).collect();
    values.sort();
    values.dedup();
    values
}

/// The marketplace's opaque filters, decoded into the shops' common query (`category=dress`).
struct Filters {
    common: HashMap<String, String>,
    department: Option<String>,
    brands: Vec<String>,
    colour: Option<String>,
    band: Option<usize>,
}

fn decode(domain: Domain, products: &[Product], query: &HashMap<String, String>) -> Filters {
    let code = |key: &str| {
        query
            .get(key)
            .and_then(|v| v.trim_start_matches(char::is_alphabetic).parse::<usize>().ok())
    };
    let departments = values_of(products, department_attribute(domain));
    let brands_all = values_of(products, "brand");
    let department = code("i").and_then(|i| departments.get(i.checked_sub(1)?).cloned());
    let brands: Vec<String> = query
        .get("rh")
        .map(|codes| {
            codes
                .split(',')
                .filter_map(|c| c.trim_start_matches('b').parse::<usize>().ok())
                .filter_map(|i| brands_all.get(i.checked_sub(1)?).cloned())
                .collect()
        })
        .unwrap_or_default();
    let colour = code("c").and_then(|i| values_of(products, "colour").get(i.checked_sub(1)?).cloned());
    let band = code("p").filter(|b| (1..=PRICE_BANDS.len()).contains(b));
    let mut common = HashMap::new();
    if let Some(department) = &department {
        common.insert(department_attribute(domain).to_owned(), department.clone());
    }
    if let Some(colour) = &colour {
        common.insert("colour".to_owned(), colour.clone());
    }
    if let Some(band) = band {
        let (_, low, high) = PRICE_BANDS[band - 1];
        common.insert("min_price".to_owned(), low.to_string());
        common.insert("max_price".to_owned(), high.to_string());
    }
    Filters {
        common,
        department,
        brands,
        colour,
        band,
    }
}

/// A link to the listing with one opaque parameter set (or removed) and the rest kept.
fn link(slug: &str, query: &HashMap<String, String>, key: &str, value: Option<String>) -> String {
    link_with(&format!("market/{slug}"), query, key, value.as_deref())
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{}</title><style>
body{{font-family:"DejaVu Sans",Verdana,sans-serif;margin:0;color:#0f1111;background:#fff;font-size:13px}}
.nav{{background:#131921;color:#fff;display:flex;align-items:center;gap:14px;padding:8px 16px}}
.nav .logo{{font-size:24px;font-weight:bold;letter-spacing:-1px}} .nav .dept{{background:#e6e6e6;color:#333;padding:8px 10px;font-size:12px}}
.nav input{{flex:1;padding:9px;font-size:15px;border:none}} .nav .go{{background:#febd69;color:#111;padding:8px 12px}}
.nav .acct{{font-size:12px;line-height:1.2}} .sub{{background:#232f3e;color:#fff;padding:7px 16px;display:flex;gap:18px;font-size:13px}}
.results{{display:flex;justify-content:space-between;padding:9px 16px;border-bottom:1px solid #ddd;box-shadow:0 2px 3px rgba(0,0,0,.08);font-size:14px}}
.results b{{color:#c45500}} .wrap{{display:flex;gap:16px;padding:10px 16px}}
.side{{width:190px;flex:none;font-size:13px}} .side h4{{font-size:14px;margin:12px 0 5px}} .side a{{display:block;color:#0f1111;text-decoration:none;padding:2px 0}}
.side a.on{{font-weight:bold}} .side .tick{{display:inline-block;width:12px;height:12px;border:1px solid #888;border-radius:2px;margin-right:6px;vertical-align:-2px}}
.side .tick.on{{background:#007185;border-color:#007185}}
.swatch{{display:inline-block!important;width:22px;height:22px;margin:2px;border:1px solid #bbb;padding:0!important}} .swatch.on{{outline:3px solid #e77600}}
.grid{{display:grid;grid-template-columns:repeat(5,1fr);gap:12px;flex:1}}
.card{{text-decoration:none;color:#0f1111;display:block;padding:4px}} .card img{{width:100%;height:150px;object-fit:contain;background:#fff}}
.sponsored{{color:#565959;font-size:11px}} .title{{font-size:13px;line-height:17px;height:51px;overflow:hidden;display:-webkit-box;-webkit-line-clamp:3;-webkit-box-orient:vertical}}
.stars{{color:#de7921;font-size:13px}} .count{{color:#007185;font-size:12px}} .now{{font-size:19px;margin-top:3px}}
.list{{color:#565959;font-size:12px}} .list s{{color:#565959}} .ship{{color:#565959;font-size:12px}}
.crumb{{padding:10px 16px;color:#565959;font-size:12px}} .detail{{display:flex;gap:28px;padding:6px 16px}} .detail img{{width:420px;height:420px;object-fit:contain}}
.detail h1{{font-size:22px;font-weight:normal;line-height:30px;margin:0}} .store{{color:#007185}} .big{{font-size:27px;margin:10px 0 4px}}
.box{{width:220px;border:1px solid #ddd;border-radius:8px;padding:14px;flex:none}} .box button{{display:block;width:100%;border:none;border-radius:18px;padding:8px;margin:8px 0;font-size:13px}}
.cartb{{background:#ffd814}} .buyb{{background:#ffa41c}} .opt{{margin:10px 0}} .opt button{{margin:0 6px 6px 0;background:#fff;border:1px solid #888;border-radius:6px;padding:5px 10px}}
.related{{padding:10px 16px 30px}} .related h2{{font-size:20px}} .related .grid{{grid-template-columns:repeat(6,1fr)}}
</style></head><body>{}</body></html>"#,
        escape(title),
        body
    ))
}

fn header(domain: Domain, words: &str) -> String {
    format!(
        r#"<div class="nav"><span class="logo">bazaar</span><span class="dept">All ▾</span><form action="/market/{slug}" method="get" style="flex:1;display:flex"><input id="search" name="k" value="{}"><span class="go">Search</span></form><span class="acct">Hello, sign in<br><b>Account &amp; Lists</b></span><span class="acct">Returns<br><b>&amp; Orders</b></span><span class="acct"><b>Cart</b></span></div><div class="sub"><span>Today's Deals</span><span>Customer Service</span><span>Registry</span><span>Gift Cards</span><span>Sell</span></div>"#,
        escape(words),
        slug = domain.slug()
    )
}

/// The long seller title: brand and model, who and what it is for, selling words; never the
/// colour (the picture and the product page's `Color:` show it).
fn seller_title(domain: Domain, product: &Product) -> String {
    let colour = capital(&text_of(product, "colour").unwrap_or_default());
    let name: Vec<&str> = product.item.title.split_whitespace().filter(|w| *w != colour).collect();
    let name = name.join(" ");
    match domain {
        Domain::Footwear => {
            let gender = match text_of(product, "gender").as_deref() {
                Some("men") => "Men's",
                Some("women") => "Women's",
                _ => "Unisex",
            };
            let purpose = capital(&text_of(product, "best_for").unwrap_or_default());
            format!("{name} {gender} {purpose} Shoe - Breathable Lightweight Cushioned Sneakers for Everyday Comfort")
        }
        _ => format!("{name} for Women - Soft Stretch Fabric, Relaxed Fit, Easy Care, Everyday and Occasion Wear"),
    }
}

/// The price block: a size-dependent range for some clothes, else the price with the list price
/// when discounted.
fn price_block(domain: Domain, product: &Product) -> String {
    let price = product.item.price;
    let sizes = match product.item.attributes.get("size") {
        Some(interarec_choice::item::AttributeValue::List(sizes)) => sizes.len(),
        _ => 0,
    };
    if domain == Domain::Fashion && sizes >= 4 && product.was_price.is_none() {
        return format!(
            r#"<div class="now">{} – {}</div>"#,
            dollars(price),
            dollars(price + 7.0)
        );
    }
    let mut out = format!(r#"<div class="now">{}</div>"#, dollars(price));
    if let Some(was) = product.was_price {
        write!(out, r#"<div class="list">List: <s>{}</s></div>"#, dollars(was)).unwrap();
    }
    out
}

fn stars(rating: f64) -> String {
    let full = rating.round() as usize;
    format!("{}{}", "★".repeat(full.min(5)), "☆".repeat(5 - full.min(5)))
}

fn card(domain: Domain, product: &Product, sponsored: bool) -> String {
    let slug = domain.slug();
    let day = ["Mon, Dec 7", "Tue, Dec 8", "Thu, Dec 10"][product.item.id.len() % 3];
    format!(
        r#"<a class="card" href="/market/{slug}/item/{id}" data-item="{id}"><img src="/storefront/{slug}/image/{id}.svg" alt="">{sponsored}<div class="title">{title}</div><div><span class="stars">{stars}</span> <span class="count">{count}</span></div>{price}<div class="ship">FREE delivery {day}</div></a>"#,
        id = product.item.id,
        sponsored = if sponsored {
            r#"<div class="sponsored">Sponsored</div>"#
        } else {
            ""
        },
        title = escape(&seller_title(domain, product)),
        stars = stars(product.rating),
        count = group_thousands(u64::from(product.reviews) * 7, ','),
        price = price_block(domain, product),
    )
}

/// `/market/{shop}`: the search and browse page.
pub(crate) async fn market_listing(
    State(shops): State<Arc<Shops>>,
    Path(slug): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some((domain, products)) = shop(&shops, &slug).filter(|(d, _)| *d != Domain::RealEstate) else {
        return (
            StatusCode::NOT_FOUND,
            format!("The marketplace has no `{slug}` department."),
        )
            .into_response();
    };
    let filters = decode(domain, products, &query);
    let words = query.get("k").cloned().unwrap_or_default();
    // Search matches the seller titles shoppers see (`Women's Trail Shoe`), word by word.
    let searched = |p: &Product| {
        let title = seller_title(domain, p).to_lowercase();
        words.to_lowercase().split_whitespace().all(|word| title.contains(word))
    };
    let shown: Vec<&Product> = listed(products, &filters.common)
        .into_iter()
        .filter(|p| filters.brands.is_empty() || text_of(p, "brand").is_some_and(|b| filters.brands.contains(&b)))
        .filter(|p| searched(p))
        .collect();

    let mut side = String::from("<h4>Department</h4>");
    let attribute = department_attribute(domain);
    if filters.department.is_some() {
        write!(
            side,
            r#"<a href="{}">‹ Any Department</a>"#,
            link(&slug, &query, "i", None)
        )
        .unwrap();
    }
    for (i, value) in values_of(products, attribute).iter().enumerate() {
        let on = filters.department.as_deref() == Some(value.as_str());
        write!(
            side,
            r#"<a class="{}" href="{}" data-filter="{attribute}:{v}">{}</a>"#,
            if on { "on" } else { "" },
            link(&slug, &query, "i", Some((i + 1).to_string())),
            escape(&capital(value)),
            v = escape(value)
        )
        .unwrap();
    }
    side.push_str(r#"<h4>Customer Reviews</h4><a><span class="stars">★★★★☆</span> &amp; Up</a><h4>Brands</h4>"#);
    let brands = values_of(products, "brand");
    for (i, brand) in brands.iter().enumerate() {
        let on = filters.brands.contains(brand);
        let mut codes: Vec<String> = filters
            .brands
            .iter()
            .filter(|b| *b != brand)
            .filter_map(|b| brands.iter().position(|x| x == b))
            .map(|p| format!("b{}", p + 1))
            .collect();
        if !on {
            codes.push(format!("b{}", i + 1));
        }
        let href = link(&slug, &query, "rh", (!codes.is_empty()).then(|| codes.join(",")));
        write!(
            side,
            r#"<a href="{href}" data-filter="brand:{v}"><span class="tick{}"></span>{}</a>"#,
            if on { " on" } else { "" },
            escape(brand),
            v = escape(brand)
        )
        .unwrap();
    }
    side.push_str("<h4>Price</h4>");
    for (i, (label, ..)) in PRICE_BANDS.iter().enumerate() {
        let on = filters.band == Some(i + 1);
        write!(
            side,
            r#"<a class="{}" href="{}" data-filter="price:{}">{}</a>"#,
            if on { "on" } else { "" },
            link(&slug, &query, "p", (!on).then(|| (i + 1).to_string())),
            i + 1,
            escape(label)
        )
        .unwrap();
    }
    side.push_str("<h4>Colour</h4><div>");
    for (i, colour) in values_of(products, "colour").iter().enumerate() {
        let on = filters.colour.as_deref() == Some(colour.as_str());
        let css = products
            .iter()
            .find(|p| text_of(p, "colour").as_deref() == Some(colour.as_str()))
            .map_or("#ccc", |p| p.swatch);
        write!(
            side,
            r#"<a class="swatch{}" style="background:{css}" href="{}" data-filter="colour:{colour}"></a>"#,
            if on { " on" } else { "" },
            link(&slug, &query, "c", (!on).then(|| (i + 1).to_string())),
        )
        .unwrap();
    }
    side.push_str("</div>");

    // One sponsored card leads a filtered page, whatever the filters say, as on marketplaces.
    let filtered = !filters.common.is_empty() || !filters.brands.is_empty() || !words.trim().is_empty();
    let page_number: usize = query.get("page").and_then(|p| p.parse().ok()).unwrap_or(1).max(1);
    let mut grid = String::from(r#"<div class="grid">"#);
    if filtered && let Some(ad) = products.iter().find(|p| !shown.iter().any(|s| s.item.id == p.item.id)) {
        grid.push_str(&card(domain, ad, true));
    }
    for product in shown.iter().skip((page_number - 1) * PAGE_SIZE).take(PAGE_SIZE) {
        grid.push_str(&card(domain, product, false));
    }
    grid.push_str("</div>");
    let first = (page_number - 1) * PAGE_SIZE + 1;
    let last = (page_number * PAGE_SIZE).min(shown.len());
    let results = if words.trim().is_empty() {
        format!("{first}-{last} of {} results", shown.len())
    } else {
        format!(
            "{first}-{last} of {} results for <b>\"{}\"</b>",
            shown.len(),
            escape(words.trim())
        )
    };
    let body = format!(
        r#"{header}<div class="results"><span>{results}</span><span>Sort by: Featured ▾</span></div><div class="wrap"><aside class="side">{side}</aside><main style="flex:1">{grid}</main></div>"#,
        header = header(domain, &words),
    );
    page(domain.shop_name(), &body).into_response()
}

/// `/market/{shop}/item/{id}`: the product page.
pub(crate) async fn market_product(
    State(shops): State<Arc<Shops>>,
    Path((slug, id)): Path<(String, String)>,
) -> Response {
    let Some((domain, products)) = shop(&shops, &slug).filter(|(d, _)| *d != Domain::RealEstate) else {
        return (
            StatusCode::NOT_FOUND,
            format!("The marketplace has no `{slug}` department."),
        )
            .into_response();
    };
    let Some(product) = products.iter().find(|p| p.item.id == id) else {
        return (StatusCode::NOT_FOUND, format!("There is no product `{id}`.")).into_response();
    };
    let brand = text_of(product, "brand").unwrap_or_default();
    let crumb = match domain {
        Domain::Footwear => format!(
            "Clothing, Shoes &amp; Jewelry › {} › Shoes › {}",
            escape(&capital(&text_of(product, "gender").unwrap_or_default())),
            escape(&capital(&text_of(product, "best_for").unwrap_or_default()))
        ),
        _ => format!(
            "Clothing, Shoes &amp; Jewelry › Women › Clothing › {}",
            escape(&capital(&text_of(product, "category").unwrap_or_default()))
        ),
    };
    let sizes: &[&str] = match domain {
        Domain::Footwear => &["7", "8", "9", "10", "11"],
        _ => &["XS", "S", "M", "L", "XL"],
    };
    let mut related = String::from(r#"<div class="grid">"#);
    let start = products.iter().position(|p| p.item.id == id).unwrap_or(0);
    for (n, other) in products.iter().cycle().skip(start + 5).step_by(13).take(6).enumerate() {
        related.push_str(&card(domain, other, n < 3));
    }
    related.push_str("</div>");
    let body = format!(
        r#"{header}<div class="crumb">{crumb}</div><div class="detail"><img src="/storefront/{slug}/image/{id}.svg" alt=""><div style="flex:1"><h1>{title}</h1><div class="store">Visit the {brand} Store</div><div><span class="stars">{stars}</span> {rating:.1} out of 5 stars <span class="count">{count} ratings</span></div><hr>{price}<div class="opt">Color: <b>{colour}</b></div><div class="opt">Size: {sizes}</div></div><div class="box">{now}<div class="ship">FREE delivery Thu, Dec 10</div><div>In Stock</div><button class="cartb">Add to Cart</button><button class="buyb">Buy Now</button></div></div><div class="related"><h2>Products related to this item</h2>{related}</div>"#,
        header = header(domain, ""),
        title = escape(&seller_title(domain, product)),
        brand = escape(&brand),
        stars = stars(product.rating),
        rating = product.rating,
        count = group_thousands(u64::from(product.reviews) * 7, ','),
        price = price_block(domain, product),
        colour = escape(&capital(&text_of(product, "colour").unwrap_or_default())),
        sizes = sizes
            .iter()
            .map(|s| format!("<button>{s}</button>"))
            .collect::<String>(),
        now = dollars(product.item.price),
    );
    page(&product.item.title, &body).into_response()
}
