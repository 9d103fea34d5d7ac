//! `interarec demo-shop`: serves the three demo shops on localhost, or writes their catalogs as
//! CSV files for `interarec catalog import`.

use anyhow::Context;
use clap::Args;
use interarec_demo_shop::{Domain, catalog};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct DemoShopArgs {
    /// Address to serve on (loopback by default; the shops hold nothing secret).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// Seed of the generated catalogs: the same seed gives the same shops.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Write the catalogs (fashion.csv, footwear.csv, homes.csv) and simulated purchase logs
    /// (<shop>-transactions.csv, 4,000 purchases each, for `interarec fit`) into this folder and
    /// exit instead of serving.
    #[arg(long)]
    export: Option<PathBuf>,
    /// With --export: only this shop (fashion, footwear or homes).
    #[arg(long, requires = "export")]
    shop: Option<String>,
    /// With --export: products per shop, the shop's own first and then more drawn the same way
    /// (up to 10,000,000; a million rows make a CSV of about 130 MB).
    #[arg(long, default_value_t = catalog::PRODUCTS_PER_SHOP, requires = "export")]
    items: usize,
    /// With --export: simulated purchases per shop (each a choice among eight products; over
    /// 3,999 products, eight of one shelf of 100, named in a `group` column for the fit).
    #[arg(long, default_value_t = 4_000, requires = "export")]
    purchases: usize,
}

/// Most products an export writes per shop.
const MAX_EXPORT_ITEMS: usize = 10_000_000;
/// Most simulated purchases an export writes per shop.
const MAX_EXPORT_PURCHASES: usize = 10_000_000;

pub async fn run(args: DemoShopArgs) -> anyhow::Result<()> {
    if let Some(dir) = &args.export {
        return export(dir, &args);
    }
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("cannot listen on {}; pick another --listen address", args.listen))?;
    let address = listener.local_addr()?;
    eprintln!(
        "demo shops on http://{address}/ (fashion, footwear, homes; seed {}); Ctrl-C stops",
        args.seed
    );
    interarec_demo_shop::serve(listener, args.seed, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .context("the demo shop server failed")
}

/// Writes each chosen shop's catalog and purchase log, product by product: a catalog of millions
/// is never held (only each product's id, price and rating, for the purchases).
fn export(dir: &std::path::Path, args: &DemoShopArgs) -> anyhow::Result<()> {
    use std::io::Write;
    anyhow::ensure!(
        (1..=MAX_EXPORT_ITEMS).contains(&args.items),
        "--items {} is out of range; give 1 to {MAX_EXPORT_ITEMS} (fewer than {} still exports the shop's own {})",
        args.items,
        catalog::PRODUCTS_PER_SHOP,
        catalog::PRODUCTS_PER_SHOP
    );
    anyhow::ensure!(
        args.purchases <= MAX_EXPORT_PURCHASES,
        "--purchases {} is over the limit; give at most {MAX_EXPORT_PURCHASES}",
        args.purchases
    );
    let domains: Vec<Domain> = match args.shop.as_deref() {
        None => Domain::ALL.to_vec(),
        Some(slug) => vec![
            Domain::ALL
                .into_iter()
                .find(|d| d.slug() == slug)
                .with_context(|| format!("there is no demo shop `{slug}`; choose fashion, footwear or homes"))?,
        ],
    };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let create = |path: &std::path::Path| {
        std::fs::File::create(path)
            .map(|file| std::io::BufWriter::with_capacity(1 << 20, file))
            .with_context(|| format!("cannot write {}", path.display()))
    };
    for domain in domains {
        let path = dir.join(format!("{}.csv", domain.slug()));
        let mut out = create(&path)?;
        // Every product of a shop has the same attributes: the shop's own name the columns.
        let names = catalog::attribute_names(&catalog::generate(domain, args.seed));
        catalog::write_catalog_header(&mut out, &names)?;
        let mut offers = Vec::with_capacity(args.items.max(catalog::PRODUCTS_PER_SHOP));
        for product in catalog::scaled_products(domain, args.seed, args.items) {
            catalog::write_catalog_row(&mut out, domain, &product, &names, "")
                .with_context(|| format!("cannot write {}", path.display()))?;
            offers.push(catalog::Offer::of(&product));
            if offers.len().is_multiple_of(PROGRESS_EVERY) {
                eprintln!("{}: {} products so far", path.display(), offers.len());
            }
        }
        out.flush()
            .with_context(|| format!("cannot write {}", path.display()))?;
        println!("{}: {} products", path.display(), offers.len());
        let path = dir.join(format!("{}-transactions.csv", domain.slug()));
        let mut out = create(&path)?;
        let purchases = catalog::write_transactions_csv(&mut out, domain, &offers, 7, args.purchases)
            .and_then(|purchases| out.flush().map(|()| purchases))
            .with_context(|| format!("cannot write {}", path.display()))?;
        println!("{}: {purchases} simulated purchases", path.display());
    }
    Ok(())
}

/// Products between two progress lines of a large export.
const PROGRESS_EVERY: usize = 100_000;
