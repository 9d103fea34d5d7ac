//! The shops' products, generated from a seed: the same seed gives the same catalog on every
//! machine. Each product is a catalog item (id, title, price, attributes) plus what only the
//! pages show (was-price, review snippets).

use interarec_choice::item::{AttributeValue, Item};
use interarec_choice::simulation::Rng;
use std::collections::BTreeMap;

/// Products per shop.
pub const PRODUCTS_PER_SHOP: usize = 180;
/// Catalogs larger than this get purchase logs by shelf (see [`write_transactions_csv`]).
pub const SHELF_FROM_ITEMS: usize = 3_999;
/// Products per shelf of a large catalog's purchase log.
pub const SHELF_ITEMS: usize = 100;

/// A shop's domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Domain {
    /// Dresses and apparel.
    Fashion,
    /// Sneakers and shoes.
    Footwear,
    /// Homes for sale.
    RealEstate,
}

impl Domain {
    /// All three.
    pub const ALL: [Domain; 3] = [Domain::Fashion, Domain::Footwear, Domain::RealEstate];

    /// URL segment and catalog id.
    pub fn slug(self) -> &'static str {
        match self {
            Domain::Fashion => "fashion",
            Domain::Footwear => "footwear",
            Domain::RealEstate => "homes",
        }
    }

    /// Shop name shown on the pages.
    pub fn shop_name(self) -> &'static str {
        match self {
            Domain::Fashion => "Atelier Lane",
            Domain::Footwear => "Stride Athletics",
            Domain::RealEstate => "Bayside Homes",
        }
    }

    /// The domain for a slug.
    pub fn from_slug(slug: &str) -> Option<Domain> {
        Domain::ALL.into_iter().find(|d| d.slug() == slug)
    }
}

/// One product of a shop.
#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    /// The catalog item (what the catalog service imports).
    pub item: Item,
    /// Price before the discount, when discounted.
    pub was_price: Option<f64>,
    /// Average stars (1–5).
    pub rating: f64,
    /// Number of reviews.
    pub reviews: u32,
    /// Review snippets shown on the product page.
    pub review_snippets: Vec<String>,
    /// CSS colour of the picture.
    pub swatch: &'static str,
}

/// Colour names with their swatch.
const FASHION_COLOURS: [(&str, &str); 10] = [
    ("green", "#2e8b57"),
    ("red", "#c0392b"),
    ("blue", "#2f5fb3"),
    ("black", "#222222"),
    ("white", "#f4f4f4"),
    ("pink", "#e88aa8"),
    ("yellow", "#e8c33a"),
    ("beige", "#d8c3a0"),
    ("navy", "#1f2f57"),
    ("purple", "#7d4bb0"),
];
const FASHION_BRANDS: [&str; 8] = [
    "Asos Design",
    "Mango",
    "Zara",
    "Monki",
    "Topshop",
    "Nobody's Child",
    "Reformation",
    "Whistles",
];
const FASHION_KINDS: [(&str, &str, f64); 5] = [
    ("dress", "Midi Dress", 1.0),
    ("dress", "Wrap Dress", 1.1),
    ("top", "Satin Blouse", 0.6),
    ("skirt", "Pleated Skirt", 0.7),
    ("jumpsuit", "Wide Leg Jumpsuit", 1.2),
];
const FASHION_SIZES: [&str; 5] = ["XS", "S", "M", "L", "XL"];

const SHOE_COLOURS: [(&str, &str); 8] = [
    ("black", "#222222"),
    ("white", "#f4f4f4"),
    ("red", "#c0392b"),
    ("blue", "#2f5fb3"),
    ("green", "#2e8b57"),
    ("grey", "#8a8f98"),
    ("orange", "#e67e22"),
    ("pink", "#e88aa8"),
];
const SHOE_BRANDS: [&str; 6] = ["Nike", "Adidas", "Puma", "New Balance", "Asics", "Hoka"];
const SHOE_MODELS: [&str; 8] = [
    "Pegasus",
    "Vomero",
    "Ultraboost",
    "Velocity",
    "Fresh Foam",
    "Gel Nimbus",
    "Clifton",
    "Court Vision",
];
const SHOE_USES: [&str; 5] = ["running", "training", "lifestyle", "basketball", "trail"];
const GENDERS: [&str; 3] = ["men", "women", "unisex"];

const CITIES: [&str; 8] = [
    "Pacifica",
    "San Jose",
    "Daly City",
    "San Mateo",
    "Oakland",
    "Palo Alto",
    "Redwood City",
    "Fremont",
];
const PROPERTY_TYPES: [(&str, &str); 4] = [
    ("house", "#b5835a"),
    ("condo", "#7f8c8d"),
    ("townhouse", "#a0522d"),
    ("multi-family", "#6b8e23"),
];
const STREETS: [&str; 10] = [
    "Ocean View Dr",
    "Palmetto Ave",
    "Linda Mar Blvd",
    "Monterey Rd",
    "Alameda",
    "Crespi Dr",
    "Fassler Ave",
    "El Camino Real",
    "Skyline Blvd",
    "Mission St",
];

const PRAISE: [&str; 6] = [
    "Fits true to size and the colour is exactly as pictured.",
    "Great quality for the price, I get compliments every time.",
    "Comfortable all day, would buy again.",
    "Lovely fabric, washes well.",
    "Arrived quickly and looks even better in person.",
    "Runs slightly small, order one size up.",
];
const HOME_PRAISE: [&str; 4] = [
    "Light-filled rooms and a quiet street.",
    "Recently remodeled kitchen with new appliances.",
    "Walking distance to schools and the beach.",
    "Spacious backyard with room for a garden.",
];

fn pick<'a, T>(rng: &mut Rng, values: &'a [T]) -> &'a T {
    &values[rng.below(values.len())]
}

fn text(value: &str) -> AttributeValue {
    AttributeValue::Text(value.to_owned())
}

fn round_to(value: f64, step: f64) -> f64 {
    (value / step).round() * step
}

/// The products of a shop for a seed.
pub fn generate(domain: Domain, seed: u64) -> Vec<Product> {
    let mut rng = Rng(seed ^ (domain as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    (0..PRODUCTS_PER_SHOP).map(|i| product(domain, i, &mut rng)).collect()
}

/// The shop's products, then more drawn the same way until there are `n`: a catalog of retail
/// size whose first products are the shop's own, so recorded sessions still read against it
/// (benchmarks at 10^3 to 10^6 items, `just bench-scale`).
pub fn scaled(domain: Domain, seed: u64, n: usize) -> Vec<Product> {
    scaled_products(domain, seed, n).collect()
}

/// [`scaled`] one product at a time, for catalogs too large to hold as products.
pub fn scaled_products(domain: Domain, seed: u64, n: usize) -> impl Iterator<Item = Product> {
    let mut rng = Rng(seed ^ (domain as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    (0..n.max(PRODUCTS_PER_SHOP)).map(move |i| product(domain, i, &mut rng))
}

/// What the simulated shoppers weigh of a product: kept for every product of a large export,
/// where the products themselves are written out and dropped.
#[derive(Debug, Clone, PartialEq)]
pub struct Offer {
    /// Item id.
    pub id: String,
    /// List price.
    pub price: f64,
    /// Average stars.
    pub rating: f64,
}

impl Offer {
    /// The offer of a product.
    pub fn of(product: &Product) -> Offer {
        Offer {
            id: product.item.id.clone(),
            price: product.item.price,
            rating: product.rating,
        }
    }
}

fn product(domain: Domain, index: usize, rng: &mut Rng) -> Product {
    let mut attributes = BTreeMap::new();
    let rating = (30.0 + rng.unit() * 20.0).round() / 10.0;
    let reviews = 3 + rng.below(400) as u32;
    let (id, title, price, swatch) = match domain {
        Domain::Fashion => {
            let (colour, swatch) = *pick(rng, &FASHION_COLOURS);
            let brand = *pick(rng, &FASHION_BRANDS);
            let (category, style, factor) = *pick(rng, &FASHION_KINDS);
            let price = round_to((18.0 + rng.unit() * 130.0) * factor, 1.0) - 0.01;
            let sizes: Vec<String> = FASHION_SIZES
                .iter()
                .filter(|_| rng.unit() < 0.7)
                .map(|s| (*s).to_owned())
                .collect();
            attributes.insert("colour".into(), text(colour));
            attributes.insert("brand".into(), text(brand));
            attributes.insert("category".into(), text(category));
            attributes.insert(
                "size".into(),
                AttributeValue::List(if sizes.is_empty() { vec!["M".into()] } else { sizes }),
            );
            let name = format!("{brand} {} {style}", capitalise(colour));
            (format!("f{index:03}"), name, price, swatch)
        }
        Domain::Footwear => {
            let (colour, swatch) = *pick(rng, &SHOE_COLOURS);
            let brand = *pick(rng, &SHOE_BRANDS);
            let model = *pick(rng, &SHOE_MODELS);
            let best_for = *pick(rng, &SHOE_USES);
            let gender = *pick(rng, &GENDERS);
            let price = round_to(55.0 + rng.unit() * 150.0, 5.0) - 0.01;
            attributes.insert("colour".into(), text(colour));
            attributes.insert("brand".into(), text(brand));
            attributes.insert("gender".into(), text(gender));
            attributes.insert("best_for".into(), text(best_for));
            let version = 2 + rng.below(40);
            let name = format!("{brand} {model} {version} {}", capitalise(colour));
            (format!("s{index:03}"), name, price, swatch)
        }
        Domain::RealEstate => {
            let city = *pick(rng, &CITIES);
            let (kind, swatch) = *pick(rng, &PROPERTY_TYPES);
            let bedrooms = 1 + rng.below(5) as u32 + u32::from(kind == "multi-family");
            let bathrooms = (1 + rng.below(bedrooms as usize)) as u32;
            let sqft = round_to(550.0 + bedrooms as f64 * 380.0 + rng.unit() * 900.0, 10.0);
            let price = round_to(sqft * (480.0 + rng.unit() * 700.0), 1_000.0) - 12.0 * (rng.below(2) as f64);
            attributes.insert("city".into(), text(city));
            attributes.insert("property_type".into(), text(kind));
            attributes.insert("bedrooms".into(), AttributeValue::Number(bedrooms.into()));
            attributes.insert("bathrooms".into(), AttributeValue::Number(bathrooms.into()));
            attributes.insert("sqft".into(), AttributeValue::Number(sqft));
            let street = *pick(rng, &STREETS);
            let name = format!("{} {street}, {city}", 100 + rng.below(9_800));
            (format!("h{index:03}"), name, price, swatch)
        }
    };
    let discounted = rng.unit() < 0.35;
    let was_price = discounted.then(|| {
        let step = if domain == Domain::RealEstate { 5_000.0 } else { 1.0 };
        round_to(price * (1.1 + rng.unit() * 0.4), step) - if step > 1.0 { 0.0 } else { 0.01 }
    });
    if let Some(was) = was_price {
        let cut = ((1.0 - price / was) * 100.0).round();
        attributes.insert("discount".into(), AttributeValue::Number(cut));
    }
    attributes.insert("rating".into(), AttributeValue::Number(rating));
    let snippets_pool: &[&str] = if domain == Domain::RealEstate {
        &HOME_PRAISE
    } else {
        &PRAISE
    };
    let review_snippets = (0..2).map(|_| (*pick(rng, snippets_pool)).to_owned()).collect();
    Product {
        item: Item {
            id,
            title,
            price,
            image: None,
            attributes,
        },
        was_price,
        rating,
        reviews,
        review_snippets,
        swatch,
    }
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Simulated shopping for fitting the demo shops' choice models: `occasions` choice sets of eight
/// products drawn at random at prices up to 20% below list, each answered by a multinomial-logit
/// shopper whose utility rises
/// with the product's rating and falls with its price (the price sensitivity scaled to the
/// shop's prices), with an outside option; in catalogs over 3,999 products the eight come from
/// one shelf of 100 (a `group` column). Occasions where nothing was bought are left out
/// (purchases are what shops log). A transactions CSV (`choice_set`, `item_id`, `price`,
/// `quantity`) for `interarec fit`; the same seed gives the same log.
pub fn transactions_csv(domain: Domain, products: &[Product], seed: u64, occasions: usize) -> String {
    let offers: Vec<Offer> = products.iter().map(Offer::of).collect();
    let mut out = Vec::new();
    write_transactions_csv(&mut out, domain, &offers, seed, occasions).expect("writing to memory");
    String::from_utf8(out).expect("the log is UTF-8")
}

/// [`transactions_csv`] written to `out` as it is drawn, over the products' offers; returns the
/// purchases written (fewer than `occasions` only when nine in ten occasions buy nothing).
pub fn write_transactions_csv(
    out: &mut impl std::io::Write,
    domain: Domain,
    offers: &[Offer],
    seed: u64,
    occasions: usize,
) -> std::io::Result<usize> {
    let mut rng = Rng(seed ^ 0x5eed_7a4e_0000_0000 ^ domain as u64);
    let mean_price = offers.iter().map(|p| p.price).sum::<f64>() / offers.len().max(1) as f64;
    // A product at the mean price and a 4-star rating is as likely as buying nothing.
    let beta = -1.5 / mean_price;
    let utility = |p: &Offer, price: f64| 1.2 * (p.rating - 4.0) + beta * (price - mean_price);
    // A large catalog is shelved: each occasion shows eight products of one shelf, and the log
    // names the shelf as the group, since the fit estimates one group's intercepts together
    // (at most 3,999 items each). A shop of its own size keeps the plain log it always had.
    let shelved = offers.len() > SHELF_FROM_ITEMS;
    out.write_all(if shelved {
        b"choice_set,group,item_id,price,quantity\n"
    } else {
        b"choice_set,item_id,price,quantity\n"
    })?;
    let shelves = offers.len().div_ceil(SHELF_ITEMS);
    let mut written = 0;
    let mut attempt = 0;
    while written < occasions && attempt < occasions * 10 {
        attempt += 1;
        let (shelf, first, on_shelf) = if shelved {
            let shelf = rng.below(shelves);
            let first = shelf * SHELF_ITEMS;
            (shelf, first, SHELF_ITEMS.min(offers.len() - first))
        } else {
            (0, 0, offers.len())
        };
        let mut shown: Vec<usize> = Vec::with_capacity(8);
        while shown.len() < 8.min(on_shelf) {
            let index = first + rng.below(on_shelf);
            if !shown.contains(&index) {
                shown.push(index);
            }
        }
        // Prices vary between occasions (promotions up to 20% off, as in a real log); without
        // that variation a price coefficient could not be told apart from item intercepts.
        let prices: Vec<f64> = shown
            .iter()
            .map(|&i| (offers[i].price * (1.0 - 0.2 * rng.unit()) * 100.0).round() / 100.0)
            .collect();
        let weights: Vec<f64> = shown
            .iter()
            .zip(&prices)
            .map(|(&i, &price)| utility(&offers[i], price).exp())
            .collect();
        let total: f64 = 1.0 + weights.iter().sum::<f64>();
        // The outside option has weight 1.
        let mut draw = rng.unit() * total - 1.0;
        if draw < 0.0 {
            continue; // bought nothing
        }
        let chosen = weights
            .iter()
            .position(|w| {
                draw -= w;
                draw < 0.0
            })
            .unwrap_or(weights.len() - 1);
        written += 1;
        for (k, (&i, price)) in shown.iter().zip(&prices).enumerate() {
            let chosen = u8::from(k == chosen);
            if shelved {
                writeln!(out, "o{written},shelf-{shelf},{},{price},{chosen}", offers[i].id)?;
            } else {
                writeln!(out, "o{written},{},{price},{chosen}", offers[i].id)?;
            }
        }
    }
    Ok(written)
}

/// The catalog CSV of a shop (`id,title,price,image,<attributes>`; lists joined by `|`), as the
/// catalog service imports it; pictures are paths on the demo shop (`/fashion/image/3.svg`).
pub fn catalog_csv(domain: Domain, products: &[Product]) -> String {
    catalog_csv_pictured(domain, products, "")
}

/// [`catalog_csv`] with picture URLs under `image_base` (the demo shop's address, such as
/// `http://127.0.0.1:8000`), so that a page elsewhere (the console) can show them.
pub fn catalog_csv_pictured(domain: Domain, products: &[Product], image_base: &str) -> String {
    let names = attribute_names(products);
    let mut csv = Vec::new();
    write_catalog_header(&mut csv, &names).expect("writing to memory");
    for product in products {
        write_catalog_row(&mut csv, domain, product, &names, image_base).expect("writing to memory");
    }
    String::from_utf8(csv).expect("the catalog is UTF-8")
}

/// The attribute columns of a catalog of these products, sorted.
pub fn attribute_names(products: &[Product]) -> Vec<String> {
    let mut names: Vec<String> = products
        .iter()
        .flat_map(|p| p.item.attributes.keys().cloned())
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// The header row of [`catalog_csv`] with these attribute columns.
pub fn write_catalog_header(out: &mut impl std::io::Write, names: &[String]) -> std::io::Result<()> {
    writeln!(out, "id,title,price,image,{}", names.join(","))
}

/// One row of [`catalog_csv_pictured`]; attributes outside `names` are left out.
pub fn write_catalog_row(
    out: &mut impl std::io::Write,
    domain: Domain,
    product: &Product,
    names: &[String],
    image_base: &str,
) -> std::io::Result<()> {
    let image_base = image_base.trim_end_matches('/');
    let item = &product.item;
    write!(
        out,
        "{},\"{}\",{},{image_base}/{}/image/{}.svg",
        item.id,
        item.title.replace('"', "\"\""),
        item.price,
        domain.slug(),
        item.id
    )?;
    for name in names {
        match item.attributes.get(name) {
            None => write!(out, ",")?,
            Some(AttributeValue::Number(n)) => write!(out, ",{n}")?,
            Some(AttributeValue::Text(t)) => write!(out, ",\"{}\"", t.replace('"', "\"\""))?,
            Some(AttributeValue::List(values)) => write!(out, ",{}", values.join("|"))?,
        }
    }
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scaled_catalog_starts_with_the_shop_and_has_unique_ids() {
        for domain in Domain::ALL {
            let shop = generate(domain, 42);
            let scaled = scaled(domain, 42, 5_000);
            assert_eq!(scaled.len(), 5_000);
            assert_eq!(&scaled[..shop.len()], &shop[..]);
            let ids: std::collections::HashSet<&str> = scaled.iter().map(|p| p.item.id.as_str()).collect();
            assert_eq!(ids.len(), scaled.len(), "{domain:?}");
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_shop_and_every_domain_has_its_attributes() {
        let cases: [(Domain, &[&str]); 3] = [
            (Domain::Fashion, &["brand", "category", "colour", "rating", "size"]),
            (Domain::Footwear, &["best_for", "brand", "colour", "gender", "rating"]),
            (
                Domain::RealEstate,
                &["bathrooms", "bedrooms", "city", "property_type", "rating", "sqft"],
            ),
        ];
        for (domain, required) in cases {
            let products = generate(domain, 7);
            assert_eq!(products, generate(domain, 7), "{domain:?} is deterministic");
            assert_ne!(products, generate(domain, 8), "{domain:?} depends on the seed");
            assert!(products.len() >= 150);
            for product in &products {
                for name in required {
                    assert!(
                        product.item.attributes.contains_key(*name),
                        "{domain:?} {}: no {name}",
                        product.item.id
                    );
                }
                assert!(product.item.price > 0.0);
                if let Some(was) = product.was_price {
                    assert!(
                        was > product.item.price,
                        "{}: was {was} now {}",
                        product.item.id,
                        product.item.price
                    );
                }
            }
            let discounted = products.iter().filter(|p| p.was_price.is_some()).count();
            assert!(
                discounted > 20 && discounted < products.len() / 2,
                "{domain:?}: {discounted} discounted"
            );
        }
    }

    #[test]
    fn the_csv_imports_into_the_catalog_format() {
        let csv = catalog_csv(Domain::Fashion, &generate(Domain::Fashion, 1));
        let header = csv.lines().next().unwrap();
        assert_eq!(
            header,
            "id,title,price,image,brand,category,colour,discount,rating,size"
        );
        assert_eq!(csv.lines().count(), PRODUCTS_PER_SHOP + 1);
        assert!(csv.contains("|"), "sizes are a list");
    }
}
