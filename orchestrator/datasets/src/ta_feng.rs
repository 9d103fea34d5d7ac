//! The Ta-Feng grocery transaction log (Nov 2000 – Feb 2001; 817,741 lines, 23,812 products),
//! as shipped in `ta_feng.csv.zip` (the file inside is `ta_feng_all_months_merged.csv`).
//!
//! Columns: TRANSACTION_DT (M/D/YYYY), CUSTOMER_ID, AGE_GROUP, PIN_CODE, PRODUCT_SUBCLASS,
//! PRODUCT_ID, AMOUNT, ASSET, SALES_PRICE. SALES_PRICE is the line total, so the unit price is
//! SALES_PRICE / AMOUNT.
//!
//! Choice sets. The log records purchases only, not what was on the shelf, so the choice set of
//! a purchase is taken to be every product of the same PRODUCT_SUBCLASS sold in the same week
//! (weeks counted from 2000-01-01), each at its amount-weighted mean unit price that week. Each
//! transaction line counts as one choice (AMOUNT is a quantity, not separate choices). Lines
//! that cannot be used (unparseable, AMOUNT or SALES_PRICE not positive, e.g. returns) are
//! counted per reason with their first line numbers, never dropped silently. The sets are built
//! by [`crate::transactions::Table`], like those of any purchase log.

use crate::DatasetError;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// The sha256 of the published `ta_feng.csv.zip`.
pub const SHA256: &str = "8a1c1dd5bb62e029e4148e326c86ab8c2c7d6d1bb51048db845d3f6157aeb5a9";

/// One usable transaction line.
#[derive(Debug, Clone, PartialEq)]
pub struct Purchase {
    /// Days since 2000-01-01.
    pub day: u32,
    /// Customer id as in the file.
    pub customer: String,
    /// AGE_GROUP (e.g. `25-29`; empty when not recorded).
    pub age_group: String,
    /// PIN_CODE (residence area).
    pub pin_code: String,
    /// PRODUCT_SUBCLASS.
    pub subclass: u32,
    /// PRODUCT_ID.
    pub product: String,
    /// Quantity.
    pub amount: f64,
    /// SALES_PRICE / AMOUNT.
    pub unit_price: f64,
}

/// Lines left out, by reason.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Skipped {
    /// Reason → (count, first few line numbers, 1-based with the header as line 1).
    pub reasons: BTreeMap<String, (u64, Vec<u64>)>,
}

impl Skipped {
    pub(crate) fn add(&mut self, reason: &str, line: u64) {
        let entry = self.reasons.entry(reason.to_owned()).or_default();
        entry.0 += 1;
        if entry.1.len() < 5 {
            entry.1.push(line);
        }
    }

    /// Lines skipped in all.
    pub fn total(&self) -> u64 {
        self.reasons.values().map(|(count, _)| count).sum()
    }
}

/// The log as read.
#[derive(Debug, Clone)]
pub struct TaFeng {
    /// Usable purchases in file order.
    pub purchases: Vec<Purchase>,
    /// Lines read (without the header).
    pub lines: u64,
    /// What was left out and why.
    pub skipped: Skipped,
}

/// Reads the log from bytes: the zip archive as published or the extracted CSV (told apart by
/// the zip signature, not by a name).
pub fn read_bytes(bytes: &[u8], name: &str) -> Result<TaFeng, DatasetError> {
    if bytes.starts_with(b"PK\x03\x04") {
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| DatasetError::Format {
            path: name.to_owned(),
            detail: format!("not a zip archive: {e}"),
        })?;
        let entry_name = (0..archive.len())
            .filter_map(|i| archive.name_for_index(i).map(str::to_owned))
            .find(|entry| entry.ends_with(".csv"))
            .ok_or_else(|| DatasetError::Format {
                path: name.to_owned(),
                detail: "the archive holds no .csv file".into(),
            })?;
        let entry = archive.by_name(&entry_name).map_err(|e| DatasetError::Format {
            path: name.to_owned(),
            detail: format!("cannot open {entry_name}: {e}"),
        })?;
        parse(entry, name)
    } else {
        parse(bytes, name)
    }
}

/// Reads `ta_feng.csv.zip` (or an extracted `.csv`).
pub fn read(path: &Path) -> Result<TaFeng, DatasetError> {
    let shown = path.display().to_string();
    let unreadable = |detail: String| DatasetError::Unreadable {
        path: shown.clone(),
        detail,
    };
    let file = std::fs::File::open(path).map_err(|e| unreadable(e.to_string()))?;
    if path.extension().is_some_and(|e| e == "zip") {
        let mut archive = zip::ZipArchive::new(file).map_err(|e| DatasetError::Format {
            path: shown.clone(),
            detail: format!("not a zip archive: {e}"),
        })?;
        let name = (0..archive.len())
            .filter_map(|i| archive.name_for_index(i).map(str::to_owned))
            .find(|name| name.ends_with(".csv"))
            .ok_or_else(|| DatasetError::Format {
                path: shown.clone(),
                detail: "the archive holds no .csv file".into(),
            })?;
        let entry = archive.by_name(&name).map_err(|e| DatasetError::Format {
            path: shown.clone(),
            detail: format!("cannot open {name}: {e}"),
        })?;
        parse(entry, &shown)
    } else {
        parse(file, &shown)
    }
}

/// Parses the CSV text.
pub fn parse(reader: impl Read, path: &str) -> Result<TaFeng, DatasetError> {
    let mut lines = BufReader::with_capacity(1 << 20, reader);
    let mut header = String::new();
    lines.read_line(&mut header).map_err(|e| DatasetError::Unreadable {
        path: path.to_owned(),
        detail: e.to_string(),
    })?;
    let header_fields = split_csv(header.trim_start_matches('\u{feff}').trim_end());
    let expected = [
        "TRANSACTION_DT",
        "CUSTOMER_ID",
        "AGE_GROUP",
        "PIN_CODE",
        "PRODUCT_SUBCLASS",
        "PRODUCT_ID",
        "AMOUNT",
        "ASSET",
        "SALES_PRICE",
    ];
    if header_fields != expected {
        return Err(DatasetError::Format {
            path: path.to_owned(),
            detail: format!("header is {header_fields:?}, expected {expected:?}"),
        });
    }
    let mut purchases = Vec::with_capacity(820_000);
    let mut skipped = Skipped::default();
    let mut line = String::new();
    let mut line_number = 1u64;
    loop {
        line.clear();
        let read = lines.read_line(&mut line).map_err(|e| DatasetError::Unreadable {
            path: path.to_owned(),
            detail: format!("line {}: {e}", line_number + 1),
        })?;
        if read == 0 {
            break;
        }
        line_number += 1;
        let text = line.trim_end();
        if text.is_empty() {
            continue;
        }
        match parse_line(text) {
            Ok(purchase) => purchases.push(purchase),
            Err(reason) => skipped.add(reason, line_number),
        }
    }
    Ok(TaFeng {
        purchases,
        lines: line_number - 1,
        skipped,
    })
}

fn parse_line(text: &str) -> Result<Purchase, &'static str> {
    let fields = split_csv(text);
    if fields.len() != 9 {
        return Err("wrong number of fields");
    }
    let day = parse_date(&fields[0]).ok_or("unparseable TRANSACTION_DT")?;
    let subclass: u32 = fields[4].parse().map_err(|_| "unparseable PRODUCT_SUBCLASS")?;
    let amount: f64 = fields[6].parse().map_err(|_| "unparseable AMOUNT")?;
    let sales_price: f64 = fields[8].parse().map_err(|_| "unparseable SALES_PRICE")?;
    if !(amount.is_finite() && amount > 0.0) {
        return Err("AMOUNT not positive");
    }
    if !(sales_price.is_finite() && sales_price > 0.0) {
        return Err("SALES_PRICE not positive");
    }
    if fields[5].is_empty() {
        return Err("empty PRODUCT_ID");
    }
    Ok(Purchase {
        day,
        customer: fields[1].clone(),
        age_group: fields[2].trim().to_owned(),
        pin_code: fields[3].trim().to_owned(),
        subclass,
        product: fields[5].clone(),
        amount,
        unit_price: sales_price / amount,
    })
}

/// Splits one CSV line with optional double quotes (no embedded newlines in this data set).
fn split_csv(text: &str) -> Vec<String> {
    let mut fields = Vec::with_capacity(9);
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    fields.push(field);
    fields
}

/// `M/D/YYYY` → days since 2000-01-01.
fn parse_date(text: &str) -> Option<u32> {
    let mut parts = text.split('/');
    let month: u32 = parts.next()?.parse().ok()?;
    let day: u32 = parts.next()?.parse().ok()?;
    let year: u32 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || !(1..=12).contains(&month) || !(1..=31).contains(&day) || year < 2000 {
        return None;
    }
    let leap = |y: u32| (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
    let month_days = [
        31,
        if leap(year) { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if day > month_days[month as usize - 1] {
        return None;
    }
    let years: u32 = (2000..year).map(|y| if leap(y) { 366 } else { 365 }).sum();
    let months: u32 = month_days[..month as usize - 1].iter().sum();
    Some(years + months + day - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\u{feff}\"TRANSACTION_DT\",\"CUSTOMER_ID\",\"AGE_GROUP\",\"PIN_CODE\",\"PRODUCT_SUBCLASS\",\"PRODUCT_ID\",\"AMOUNT\",\"ASSET\",\"SALES_PRICE\"\r\n\
\"11/1/2000\",\"01104905\",\"45-49\",\"115\",\"110411\",\"A\",\"2\",\"24\",\"30\"\r\n\
\"11/2/2000\",\"00418683\",\"45-49\",\"115\",\"110411\",\"B\",\"1\",\"48\",\"46\"\r\n\
\"11/3/2000\",\"00418684\",\"45-49\",\"115\",\"110411\",\"A\",\"1\",\"48\",\"16\"\r\n\
\"11/9/2000\",\"01057331\",\"35-39\",\"115\",\"110411\",\"B\",\"2\",\"142\",\"100\"\r\n\
\"11/9/2000\",\"01057331\",\"35-39\",\"115\",\"999\",\"C\",\"1\",\"1\",\"5\"\r\n\
\"11/9/2000\",\"01849332\",\"45-49\",\"Others\",\"110411\",\"B\",\"-1\",\"32\",\"-38\"\r\n\
\"13/45/2000\",\"01849332\",\"45-49\",\"Others\",\"110411\",\"B\",\"1\",\"32\",\"38\"\r\n\
\"11/9/2000\",\"x\"\r\n";

    #[test]
    fn lines_are_read_with_unit_prices_and_bad_lines_are_reported() {
        let data = parse(SAMPLE.as_bytes(), "sample").unwrap();
        assert_eq!(data.lines, 8);
        assert_eq!(data.purchases.len(), 5);
        assert_eq!(data.purchases[0].unit_price, 15.0, "SALES_PRICE is the line total");
        assert_eq!(
            data.purchases[0].day, 305,
            "2000-11-01 is day 305 of the leap year 2000"
        );
        let reasons: Vec<(&str, u64, Vec<u64>)> = data
            .skipped
            .reasons
            .iter()
            .map(|(r, (n, lines))| (r.as_str(), *n, lines.clone()))
            .collect();
        assert_eq!(
            reasons,
            vec![
                ("AMOUNT not positive", 1, vec![7]),
                ("unparseable TRANSACTION_DT", 1, vec![8]),
                ("wrong number of fields", 1, vec![9]),
            ]
        );
    }

    #[test]
    fn choice_sets_are_the_subclass_products_sold_that_week() {
        let data = parse(SAMPLE.as_bytes(), "sample").unwrap();
        let subclasses = crate::transactions::Table::from_ta_feng(&data, None)
            .unwrap()
            .choice_sets(None);
        assert_eq!(
            subclasses.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
            vec!["110411", "999"]
        );
        let main = &subclasses[0];
        assert_eq!(main.item_ids, vec!["A", "B"]);
        assert_eq!(main.choices, 4.0);
        // Week of Nov 1–3 (days 305..307 → week 43): A twice (unit prices 15 and 16, amount-weighted
        // mean (2·15 + 1·16)/3), B once at 46. Week of Nov 9 (week 44): only B, a single alternative.
        assert_eq!(main.observations.len(), 2);
        let first = &main.observations[0];
        assert_eq!(first.chosen_counts, vec![2.0, 1.0]);
        assert!((first.alternatives[0].price - 46.0 / 3.0).abs() < 1e-12);
        assert_eq!(first.alternatives[1].price, 46.0);
        assert_eq!(main.observations[1].alternatives.len(), 1);
    }

    #[test]
    fn a_wrong_header_is_refused() {
        let error = parse("a,b,c\n".as_bytes(), "x.csv").unwrap_err().to_string();
        assert!(
            error.starts_with("x.csv is not the expected data set: header is"),
            "{error}"
        );
    }
}
