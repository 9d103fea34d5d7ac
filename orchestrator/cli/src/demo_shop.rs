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
}

pub async fn run(args: DemoShopArgs) -> anyhow::Result<()> {
    if let Some(dir) = args.export {
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        for domain in Domain::ALL {
            let path = dir.join(format!("{}.csv", domain.slug()));
            let products = catalog::generate(domain, args.seed);
            std::fs::write(&path, catalog::catalog_csv(domain, &products))
                .with_context(|| format!("cannot write {}", path.display()))?;
            println!("{}: {} products", path.display(), products.len());
            let path = dir.join(format!("{}-transactions.csv", domain.slug()));
            std::fs::write(&path, catalog::transactions_csv(domain, &products, 7, 4_000))
                .with_context(|| format!("cannot write {}", path.display()))?;
            println!("{}: 4000 simulated purchases", path.display());
        }
        return Ok(());
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
