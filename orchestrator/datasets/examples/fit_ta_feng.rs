//! `just fit-ta-feng`: reads Ta-Feng, builds per-subclass weekly choice sets, and fits the
//! conditional logit on each of the largest subclasses. Prints a table, then one JSON line.
//! Usage: fit_ta_feng [PATH] [SUBCLASSES] (defaults: data/ta_feng.csv.zip, 20).

use interarec_choice::estimation::{FitOptions, MAX_PARAMETERS, Observation, fit, fit_shared_price};
use interarec_datasets::ta_feng;
use interarec_datasets::transactions::Table;
use std::path::PathBuf;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = PathBuf::from(args.next().unwrap_or_else(|| "data/ta_feng.csv.zip".to_owned()));
    let wanted: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(20);

    let started = Instant::now();
    eprintln!("reading {}", path.display());
    let data = ta_feng::read(&path)?;
    let read_ms = started.elapsed().as_secs_f64() * 1e3;
    eprintln!(
        "{} lines, {} purchases used, {} skipped in {read_ms:.0} ms",
        data.lines,
        data.purchases.len(),
        data.skipped.total()
    );
    for (reason, (count, lines)) in &data.skipped.reasons {
        eprintln!("  skipped {count} lines: {reason} (first at lines {lines:?})");
    }
    let started = Instant::now();
    let subclasses = Table::from_ta_feng(&data, None)?.choice_sets(None);
    eprintln!(
        "{} subclasses, choice sets built in {:.0} ms",
        subclasses.len(),
        started.elapsed().as_secs_f64() * 1e3
    );

    println!(
        "| subclass | products | purchases | weeks | log-lik | null log-lik | pseudo R² | iter | β | se(β) | ms |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut rows = Vec::new();
    let mut fitted_count = 0;
    for (position, subclass) in subclasses.iter().enumerate() {
        if fitted_count == wanted {
            break;
        }
        if subclass.item_ids.len() + 1 > MAX_PARAMETERS {
            eprintln!(
                "subclass {} has {} products, over the dense limit; skipped",
                subclass.name,
                subclass.item_ids.len()
            );
            continue;
        }
        eprintln!(
            "[{}/{wanted}] fitting subclass {} (rank {})",
            fitted_count + 1,
            subclass.name,
            position + 1
        );
        let started = Instant::now();
        let result = fit(subclass.item_ids.len(), &subclass.observations, &FitOptions::default());
        let ms = started.elapsed().as_secs_f64() * 1e3;
        fitted_count += 1;
        match result {
            Ok(fitted) => {
                let pseudo_r2 = 1.0 - fitted.log_likelihood / fitted.null_log_likelihood;
                println!(
                    "| {} | {} | {} | {} | {:.1} | {:.1} | {pseudo_r2:.3} | {} | {:.4} | {:.4} | {ms:.0} |",
                    subclass.name,
                    subclass.item_ids.len(),
                    subclass.choices,
                    subclass.observations.len(),
                    fitted.log_likelihood,
                    fitted.null_log_likelihood,
                    fitted.iterations,
                    fitted.price_coefficient,
                    fitted.price_standard_error
                );
                rows.push(format!(
                    "{{\"subclass\":{},\"products\":{},\"purchases\":{},\"log_likelihood\":{:.3},\"null_log_likelihood\":{:.3},\"iterations\":{},\"converged\":{},\"price_coefficient\":{:.6},\"price_se\":{:.6},\"unidentified\":{},\"ms\":{ms:.1}}}",
                    subclass.name,
                    subclass.item_ids.len(),
                    subclass.choices,
                    fitted.log_likelihood,
                    fitted.null_log_likelihood,
                    fitted.iterations,
                    fitted.converged,
                    fitted.price_coefficient,
                    fitted.price_standard_error,
                    fitted.unidentified_items.len()
                ));
            }
            Err(error) => {
                println!(
                    "| {} | {} | {} | {} | – | – | – | – | – | – | {ms:.0} |",
                    subclass.name,
                    subclass.item_ids.len(),
                    subclass.choices,
                    subclass.observations.len()
                );
                eprintln!("  subclass {}: {error}", subclass.name);
                rows.push(format!(
                    "{{\"subclass\":{},\"error\":{:?}}}",
                    subclass.name,
                    error.to_string()
                ));
            }
        }
    }
    eprintln!(
        "fitting the whole catalog: {} subclasses, intercepts per product, one shared β",
        subclasses.len()
    );
    let started = Instant::now();
    let groups: Vec<(usize, &[Observation])> = subclasses
        .iter()
        .map(|s| (s.item_ids.len(), s.observations.as_slice()))
        .collect();
    let whole = fit_shared_price(&groups, &FitOptions::default())?;
    let whole_ms = started.elapsed().as_secs_f64() * 1e3;
    let products: usize = subclasses.iter().map(|s| s.item_ids.len()).sum();
    let identified: usize = whole
        .groups
        .iter()
        .map(|g| g.intercepts.iter().filter(|a| a.is_some()).count())
        .sum();
    println!(
        "| all ({} subclasses) | {products} | {} | – | {:.1} | {:.1} | {:.3} | {} | {:.4} | {:.4} | {whole_ms:.0} |",
        subclasses.len(),
        data.purchases.len(),
        whole.log_likelihood,
        whole.null_log_likelihood,
        1.0 - whole.log_likelihood / whole.null_log_likelihood,
        whole.iterations,
        whole.price_coefficient,
        whole.price_standard_error
    );
    println!();
    println!(
        "{{\"benchmark\":\"fit_ta_feng\",\"lines\":{},\"purchases\":{},\"read_ms\":{read_ms:.0},\"whole_catalog\":{{\"subclasses\":{},\"products\":{products},\"identified_intercepts\":{identified},\"log_likelihood\":{:.3},\"null_log_likelihood\":{:.3},\"iterations\":{},\"converged\":{},\"price_coefficient\":{:.6},\"price_se\":{:.6},\"ms\":{whole_ms:.0}}},\"subclasses\":[{}]}}",
        data.lines,
        data.purchases.len(),
        subclasses.len(),
        whole.log_likelihood,
        whole.null_log_likelihood,
        whole.iterations,
        whole.converged,
        whole.price_coefficient,
        whole.price_standard_error,
        rows.join(",")
    );
    Ok(())
}
