//! Demo shops: three small but realistic web shops (fashion, footwear, real estate, after the
//! paper's Asos, Nike and Zillow sessions), generated deterministically from a seed, with
//! listing pages (filters, sorting), product pages (brand, colour, prices struck through,
//! discounts, star ratings, review snippets, comparisons, promotions) and product pictures drawn
//! as SVG in the product's colour. [`catalog`] generates the items (also exported as the CSV the
//! catalog service imports); [`site`] serves the pages in the classic layout family and
//! [`storefront`] in the storefront family (breadcrumbs, checkbox facets, chips, colour as
//! swatches, product pages without ratings); [`catalogue`] serves the held-out families
//! (a euro list view with a dropdown filter bar, a homes list beside a map); [`marketplace`]
//! serves fashion and footwear as a dense marketplace search page (opaque filter codes,
//! sponsored cards, price ranges, list prices).

pub mod catalog;
pub mod catalogue;
pub mod marketplace;
pub mod site;
pub mod storefront;

pub use catalog::{Domain, Product, generate};
pub use site::{router, serve};
