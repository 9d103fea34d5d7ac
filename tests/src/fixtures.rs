//! Deterministic test data: a fashion catalog of any size and shopper visits simulated from a
//! known MNL over it, as the CSV files the catalog and choice-model services import.

use std::fmt::Write;

use interarec_choice::simulation::Rng;

/// Colours of the fashion fixture.
pub const COLOURS: [&str; 5] = ["green", "red", "blue", "black", "white"];
/// Brands of the fashion fixture.
pub const BRANDS: [&str; 4] = ["Asos", "Mango", "Zara", "Monki"];

/// One fixture item and its true utility intercept.
#[derive(Debug, Clone)]
pub struct FixtureItem {
    /// Catalog id.
    pub id: String,
    /// Price.
    pub price: f64,
    /// Colour.
    pub colour: &'static str,
    /// Brand.
    pub brand: &'static str,
    /// True intercept of the simulation.
    pub intercept: f64,
}

/// `n` dresses with prices 15–200, colours, brands and true intercepts.
pub fn fashion_items(n: usize, seed: u64) -> Vec<FixtureItem> {
    let mut rng = Rng(seed);
    (0..n)
        .map(|i| FixtureItem {
            id: format!("d{i}"),
            price: (15.0 + 185.0 * rng.unit()).round(),
            colour: COLOURS[rng.below(COLOURS.len())],
            brand: BRANDS[rng.below(BRANDS.len())],
            intercept: 3.0 * rng.unit() - 1.0,
        })
        .collect()
}

/// The catalog CSV of `items`.
pub fn catalog_csv(items: &[FixtureItem]) -> String {
    let mut csv = String::from("id,title,price,colour,brand\n");
    for item in items {
        writeln!(
            csv,
            "{},{} {} dress,{},{},{}",
            item.id, item.brand, item.colour, item.price, item.colour, item.brand
        )
        .unwrap();
    }
    csv
}

/// True price coefficient per segment of the simulation.
pub const SEGMENT_BETAS: [(&str, f64); 2] = [("young", -0.03), ("old", -0.012)];

/// Shopper visits as a transactions CSV with explicit choice sets: each visit browses one brand
/// (the `group` column, so each brand is fitted as its own product group), is offered `offered`
/// random items of it, each at its price less a random promotion of 0–30%, and buys one by the
/// MNL of its segment (`age` column).
pub fn transactions_csv(items: &[FixtureItem], visits: usize, offered: usize, seed: u64) -> String {
    let mut rng = Rng(seed);
    let mut csv = String::from("choice_set,group,item_id,price,quantity,age\n");
    let by_brand: Vec<Vec<usize>> = BRANDS
        .iter()
        .map(|brand| (0..items.len()).filter(|&i| items[i].brand == *brand).collect())
        .collect();
    for visit in 0..visits {
        let (age, beta) = SEGMENT_BETAS[visit % SEGMENT_BETAS.len()];
        let brand = rng.below(BRANDS.len());
        let pool = &by_brand[brand];
        let mut shown: Vec<usize> = Vec::with_capacity(offered);
        while shown.len() < offered.min(pool.len()) {
            let candidate = pool[rng.below(pool.len())];
            if !shown.contains(&candidate) {
                shown.push(candidate);
            }
        }
        // Promotions vary the prices (without that, price and intercept cannot be told apart).
        let prices: Vec<f64> = shown
            .iter()
            .map(|&i| (items[i].price * (1.0 - 0.1 * rng.below(4) as f64)).round())
            .collect();
        let weights: Vec<f64> = shown
            .iter()
            .zip(&prices)
            .map(|(&i, price)| (items[i].intercept + beta * price).exp())
            .collect();
        let mut draw = rng.unit() * weights.iter().sum::<f64>();
        let mut chosen = shown.len() - 1;
        for (position, weight) in weights.iter().enumerate() {
            if draw < *weight {
                chosen = position;
                break;
            }
            draw -= weight;
        }
        for (position, &i) in shown.iter().enumerate() {
            let quantity = u8::from(position == chosen);
            writeln!(
                csv,
                "v{visit},{},{},{},{quantity},{age}",
                BRANDS[brand], items[i].id, prices[position]
            )
            .unwrap();
        }
    }
    csv
}
