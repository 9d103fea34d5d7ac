//! Transaction logs in one table, whatever their source: the generic transactions CSV and the
//! Ta-Feng log both become rows of (choice set, product group, period, segment, item, quantity,
//! unit price), and one builder turns the rows into the estimator's choice sets.
//!
//! The transactions CSV: a header row; `item_id` and `price` (unit price, finite, not negative)
//! are required; `quantity` (default 1, not negative), `choice_set`, `group` and `period` are
//! optional; any other column can name customer segments (`segment_by`).
//!
//! Choice sets. With a `choice_set` column, the rows of one set id are what was on offer
//! together, and each row's quantity is how often it was chosen (0: offered, not chosen). A log
//! of purchases only (no `choice_set` column, and Ta-Feng) cannot say what was on offer, so the
//! choice set of a purchase is every item of the same group sold in the same period, each at its
//! quantity-weighted mean unit price in that period; each row counts as one choice. Rows that
//! cannot be used are counted per reason with their first line numbers, never dropped silently.

use crate::DatasetError;
use crate::ta_feng::{Skipped, TaFeng};
use interarec_choice::estimation::{Alternative, Observation};
use std::collections::{BTreeMap, HashMap};

/// Marks "no explicit choice set" in [`Row::choice_set`].
const NO_SET: u32 = u32::MAX;

/// One usable row; strings are interned in [`Table::names`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row {
    /// Explicit choice set (interned), or none.
    pub choice_set: u32,
    /// Product group (interned).
    pub group: u32,
    /// Period (interned).
    pub period: u32,
    /// Segment value (interned).
    pub segment: u32,
    /// Item id (interned).
    pub item: u32,
    /// Quantity bought (0: offered only).
    pub quantity: f64,
    /// Unit price.
    pub price: f64,
}

/// Interned strings.
#[derive(Debug, Clone, Default)]
pub struct Names {
    index: HashMap<String, u32>,
    names: Vec<String>,
}

impl Names {
    fn intern(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.index.get(name) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(name.to_owned());
        self.index.insert(name.to_owned(), id);
        id
    }

    /// The string of an id.
    pub fn name(&self, id: u32) -> &str {
        &self.names[id as usize]
    }
}

/// A transaction log as rows.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// Usable rows in file order.
    pub rows: Vec<Row>,
    /// Interned strings of the rows.
    pub names: Names,
    /// Data lines read.
    pub lines: u64,
    /// Lines left out, by reason.
    pub skipped: Skipped,
    /// Whether the log names its choice sets.
    pub explicit_choice_sets: bool,
    /// The column segments come from (`None`: every row in segment `all`).
    pub segment_by: Option<String>,
}

/// The choice data of one product group.
#[derive(Debug, Clone)]
pub struct GroupChoices {
    /// Group name.
    pub name: String,
    /// Item ids; `Alternative::item` indexes this list.
    pub item_ids: Vec<String>,
    /// The group's choice sets.
    pub observations: Vec<Observation>,
    /// Choices in the group.
    pub choices: f64,
}

/// How Ta-Feng rows are segmented.
pub const TA_FENG_SEGMENTS: [&str; 2] = ["AGE_GROUP", "PIN_CODE"];

impl Table {
    /// Ta-Feng as rows: group = PRODUCT_SUBCLASS, period = week (from 2000-01-01), quantity =
    /// AMOUNT, price = SALES_PRICE / AMOUNT, segments from AGE_GROUP or PIN_CODE.
    pub fn from_ta_feng(data: &TaFeng, segment_by: Option<&str>) -> Result<Table, DatasetError> {
        let column = segment_by
            .map(|wanted| {
                TA_FENG_SEGMENTS
                    .iter()
                    .find(|c| c.eq_ignore_ascii_case(wanted))
                    .copied()
                    .ok_or_else(|| {
                        DatasetError::Options(format!(
                            "Ta-Feng segments come from AGE_GROUP or PIN_CODE, not `{wanted}`"
                        ))
                    })
            })
            .transpose()?;
        let mut table = Table {
            lines: data.lines,
            skipped: data.skipped.clone(),
            segment_by: column.map(str::to_owned),
            ..Table::default()
        };
        table.rows.reserve(data.purchases.len());
        for purchase in &data.purchases {
            let segment = match column {
                Some("AGE_GROUP") if purchase.age_group.is_empty() => "unknown",
                Some("AGE_GROUP") => purchase.age_group.as_str(),
                Some(_) => purchase.pin_code.as_str(),
                None => interarec_choice::model::ALL_CUSTOMERS,
            };
            let row = Row {
                choice_set: NO_SET,
                group: table.names.intern(&purchase.subclass.to_string()),
                period: table.names.intern(&(purchase.day / 7).to_string()),
                segment: table.names.intern(segment),
                item: table.names.intern(&purchase.product),
                quantity: purchase.amount,
                price: purchase.unit_price,
            };
            table.rows.push(row);
        }
        Ok(table)
    }

    /// Parses the transactions CSV (see the module docs).
    pub fn from_csv(bytes: &[u8], name: &str, segment_by: Option<&str>) -> Result<Table, DatasetError> {
        let format = |detail: String| DatasetError::Format {
            path: name.to_owned(),
            detail,
        };
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| format(format!("cannot read the header: {e}")))?
            .iter()
            .map(|h| h.trim().trim_start_matches('\u{feff}').to_owned())
            .collect();
        let column = |wanted: &str| header.iter().position(|h| h.eq_ignore_ascii_case(wanted));
        let (Some(item_column), Some(price_column)) = (column("item_id"), column("price")) else {
            return Err(format(format!(
                "the header {header:?} lacks `item_id` or `price`; the transactions CSV needs item_id and price, and may have quantity, choice_set, group, period and segment columns"
            )));
        };
        let quantity_column = column("quantity");
        let set_column = column("choice_set");
        let group_column = column("group");
        let period_column = column("period");
        let segment_column = match segment_by {
            None => None,
            Some(wanted) => Some(column(wanted).ok_or_else(|| {
                DatasetError::Options(format!(
                    "there is no column `{wanted}` to segment by; the columns are {header:?}"
                ))
            })?),
        };
        let mut table = Table {
            explicit_choice_sets: set_column.is_some(),
            segment_by: segment_column.map(|c| header[c].clone()),
            ..Table::default()
        };
        let mut record = csv::StringRecord::new();
        loop {
            let line = reader.position().line();
            match reader.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(error) => {
                    table.lines += 1;
                    table.skipped.add(&format!("unreadable CSV ({error})"), line);
                    continue;
                }
            }
            table.lines += 1;
            let field = |c: Option<usize>| c.and_then(|c| record.get(c)).map(str::trim).unwrap_or("");
            let item = field(Some(item_column));
            if item.is_empty() {
                table.skipped.add("empty item_id", line);
                continue;
            }
            let Some(price) = field(Some(price_column))
                .parse::<f64>()
                .ok()
                .filter(|p| p.is_finite() && *p >= 0.0)
            else {
                table.skipped.add("price missing, not a number or negative", line);
                continue;
            };
            let quantity = match field(quantity_column) {
                "" => 1.0,
                text => match text.parse::<f64>().ok().filter(|q| q.is_finite() && *q >= 0.0) {
                    Some(quantity) => quantity,
                    None => {
                        table.skipped.add("quantity not a non-negative number", line);
                        continue;
                    }
                },
            };
            if quantity == 0.0 && set_column.is_none() {
                table
                    .skipped
                    .add("quantity 0 without a choice_set column (nothing bought)", line);
                continue;
            }
            let choice_set = match set_column {
                Some(_) if field(set_column).is_empty() => {
                    table.skipped.add("empty choice_set", line);
                    continue;
                }
                Some(_) => table.names.intern(field(set_column)),
                None => NO_SET,
            };
            let segment = match segment_column {
                Some(_) if field(segment_column).is_empty() => "unknown",
                Some(_) => field(segment_column),
                None => interarec_choice::model::ALL_CUSTOMERS,
            };
            let group = match field(group_column) {
                "" => "all",
                group => group,
            };
            let row = Row {
                choice_set,
                group: table.names.intern(group),
                period: table.names.intern(field(period_column)),
                segment: table.names.intern(segment),
                item: table.names.intern(item),
                quantity,
                price,
            };
            table.rows.push(row);
        }
        if table.rows.is_empty() {
            return Err(format(format!(
                "no usable rows among {} lines ({} skipped)",
                table.lines,
                table.skipped.total()
            )));
        }
        Ok(table)
    }

    /// Segment values with their row counts, most rows first.
    pub fn segments(&self) -> Vec<(String, u64)> {
        let mut counts: HashMap<u32, u64> = HashMap::new();
        for row in &self.rows {
            *counts.entry(row.segment).or_default() += 1;
        }
        let mut segments: Vec<(String, u64)> = counts
            .into_iter()
            .map(|(id, count)| (self.names.name(id).to_owned(), count))
            .collect();
        segments.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        segments
    }

    /// Choice sets per product group over the rows of one segment (`None`: every row), groups by
    /// descending number of choices.
    pub fn choice_sets(&self, segment: Option<&str>) -> Vec<GroupChoices> {
        let segment = segment.map(|s| self.names.index.get(s).copied().unwrap_or(NO_SET));
        let rows = self.rows.iter().filter(|row| segment.is_none_or(|s| row.segment == s));
        // group → set key → item → (choices, quantity, quantity × price, price sum, rows)
        type Cell = (f64, f64, f64, f64, f64);
        let mut grouped: HashMap<u32, BTreeMap<(u32, u32), BTreeMap<u32, Cell>>> = HashMap::new();
        for row in rows {
            let key = if self.explicit_choice_sets {
                (row.choice_set, 0)
            } else {
                (row.period, 0)
            };
            let cell = grouped
                .entry(row.group)
                .or_default()
                .entry(key)
                .or_default()
                .entry(row.item)
                .or_default();
            if self.explicit_choice_sets {
                cell.0 += row.quantity;
            } else {
                cell.0 += 1.0;
            }
            cell.1 += row.quantity;
            cell.2 += row.quantity * row.price;
            cell.3 += row.price;
            cell.4 += 1.0;
        }
        let mut groups: Vec<GroupChoices> = grouped
            .into_iter()
            .map(|(group, sets)| {
                let mut index: BTreeMap<u32, u32> = BTreeMap::new();
                for items in sets.values() {
                    for item in items.keys() {
                        let next = index.len() as u32;
                        index.entry(*item).or_insert(next);
                    }
                }
                let mut item_ids = vec![String::new(); index.len()];
                for (item, &i) in &index {
                    item_ids[i as usize] = self.names.name(*item).to_owned();
                }
                let observations: Vec<Observation> = sets
                    .values()
                    .map(|cells| Observation {
                        alternatives: cells
                            .iter()
                            .map(|(item, cell)| Alternative {
                                item: index[item],
                                // Weighted by quantity where something was bought, else the plain mean.
                                price: if cell.1 > 0.0 { cell.2 / cell.1 } else { cell.3 / cell.4 },
                            })
                            .collect(),
                        chosen_counts: cells.values().map(|cell| cell.0).collect(),
                    })
                    .collect();
                let choices = observations.iter().flat_map(|o| &o.chosen_counts).sum();
                GroupChoices {
                    name: self.names.name(group).to_owned(),
                    item_ids,
                    observations,
                    choices,
                }
            })
            .collect();
        groups.sort_by(|a, b| b.choices.total_cmp(&a.choices).then(a.name.cmp(&b.name)));
        groups
    }
}

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;
