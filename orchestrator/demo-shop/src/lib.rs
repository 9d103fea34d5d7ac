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
//! sponsored cards, price ranges, list prices). [`router`] routes every family's pages.

pub mod catalog;
pub mod catalogue;
pub mod marketplace;
pub mod site;
pub mod storefront;

pub use catalog::{Domain, Product, generate};

use axum::Router;
use axum::routing::get;
use std::sync::Arc;

/// The router of the three shops generated from `seed`.
pub fn router(seed: u64) -> Router {
    let products = Domain::ALL.into_iter().map(|d| (d, generate(d, seed))).collect();
    Router::new()
        .route("/", get(site::index))
        .route("/{shop}", get(site::listing))
        .route("/{shop}/item/{id}", get(site::product_page))
        .route("/{shop}/image/{file}", get(site::picture))
        .route("/{shop}/catalog.csv", get(site::csv))
        .route("/storefront/{shop}", get(storefront::listing))
        .route("/storefront/{shop}/item/{id}", get(storefront::product_page))
        .route("/storefront/{shop}/image/{file}", get(storefront::picture))
        .route("/catalogue/{shop}", get(catalogue::catalogue_listing))
        .route("/catalogue/{shop}/item/{id}", get(catalogue::catalogue_product))
        .route("/market/{shop}", get(marketplace::market_listing))
        .route("/market/{shop}/item/{id}", get(marketplace::market_product))
        .route("/mapview/homes", get(catalogue::map_listing))
        .route("/mapview/homes/item/{id}", get(catalogue::map_home))
        .with_state(Arc::new(site::Shops { products }))
}

/// Serves the shops on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    seed: u64,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(seed))
        .with_graceful_shutdown(shutdown)
        .await
}
