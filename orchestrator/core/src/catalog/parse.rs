//! The import itself, streamed: rows are read from the input, checked and handed one by one to
//! a sink (the store), so an import of millions of rows never holds its items. CSV is read
//! twice (the first pass decides each column's type, which needs every value); JSON Lines once.
//! What is kept is bounded by the catalog's shape, not its size: 16 bytes per accepted id (to
//! refuse repeats), the first [`MAX_REPORTED_ROW_ERRORS`] errors, and per attribute at most
//! [`MAX_VOCABULARY`] + 1 distinct values.

use super::{
    AttributeOverride, AttributeSchema, AttributeType, AttributeValue, CatalogError, CatalogFormat, Item,
    MAX_REPORTED_ROW_ERRORS, MAX_VOCABULARY, RowError,
};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::hash::{BuildHasher, RandomState};
use std::io::{BufRead, BufReader, Read};

/// Rows between two progress reports.
pub const PROGRESS_EVERY_ROWS: u64 = 100_000;

/// Which pass an import is in, for progress reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportPhase {
    /// Reading a CSV once to type its columns.
    Typing,
    /// Checking rows and handing the valid ones to the sink.
    Importing,
}

/// What an import found, without its items (they went to the sink).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportSummary {
    /// Items accepted.
    pub item_count: u64,
    /// Lowest accepted price.
    pub price_min: f64,
    /// Highest accepted price.
    pub price_max: f64,
    /// Derived (and overridden) schema, by attribute name.
    pub attributes: Vec<AttributeSchema>,
    /// The first [`MAX_REPORTED_ROW_ERRORS`] refused rows.
    pub errors: Vec<RowError>,
    /// All refused rows.
    pub error_count: u64,
}

/// Imports a catalog from `open`, which is called once per pass and must give the same bytes
/// each time. Accepted items go to `sink` in input order; under `strict`, none go after the
/// first bad row (the caller discards what the sink kept when the answer is an error).
/// `progress` hears the rows read every [`PROGRESS_EVERY_ROWS`].
///
/// The outer error is the sink's or `open`'s failure; the inner one is the input's.
pub fn import_catalog<R: Read, E: From<std::io::Error>>(
    format: CatalogFormat,
    open: &mut dyn FnMut() -> Result<R, E>,
    overrides: &BTreeMap<String, AttributeOverride>,
    strict: bool,
    progress: &mut dyn FnMut(ImportPhase, u64),
    sink: &mut dyn FnMut(Item) -> Result<(), E>,
) -> Result<Result<ImportSummary, CatalogError>, E> {
    let mut intake = Intake {
        strict,
        sink,
        seen: SeenIds::default(),
        schema: SchemaTally::default(),
        item_count: 0,
        price_min: f64::INFINITY,
        price_max: f64::NEG_INFINITY,
        errors: Vec::new(),
        error_count: 0,
    };
    let read = match format {
        CatalogFormat::Csv => import_csv(open, overrides, progress, &mut intake)?,
        CatalogFormat::Jsonl => import_jsonl(open()?, overrides, progress, &mut intake)?,
    };
    if let Err(error) = read {
        return Ok(Err(error));
    }
    if strict && let Some(first) = intake.errors.first() {
        return Ok(Err(CatalogError::Strict {
            count: intake.error_count,
            first_line: first.line,
            first_message: first.message.clone(),
        }));
    }
    if intake.item_count == 0 {
        return Ok(Err(CatalogError::Empty(intake.error_count)));
    }
    Ok(Ok(ImportSummary {
        item_count: intake.item_count,
        price_min: intake.price_min,
        price_max: intake.price_max,
        attributes: intake.schema.finish(overrides),
        errors: intake.errors,
        error_count: intake.error_count,
    }))
}

/// Accepted ids as 128-bit keyed hashes: 16 bytes per item instead of the id, and a false
/// repeat would need a collision of two independent 64-bit SipHashes (about 2^-128 per pair).
struct SeenIds {
    hashers: (RandomState, RandomState),
    seen: HashSet<u128>,
}

impl Default for SeenIds {
    fn default() -> Self {
        SeenIds {
            hashers: (RandomState::new(), RandomState::new()),
            seen: HashSet::new(),
        }
    }
}

impl SeenIds {
    /// Whether `id` is new (and remembers it).
    fn insert(&mut self, id: &str) -> bool {
        let key = (u128::from(self.hashers.0.hash_one(id)) << 64) | u128::from(self.hashers.1.hash_one(id));
        self.seen.insert(key)
    }
}

/// The rows of one import: what is accepted goes to the sink, what is refused is counted.
struct Intake<'s, E> {
    strict: bool,
    sink: &'s mut dyn FnMut(Item) -> Result<(), E>,
    seen: SeenIds,
    schema: SchemaTally,
    item_count: u64,
    price_min: f64,
    price_max: f64,
    errors: Vec<RowError>,
    error_count: u64,
}

impl<E> Intake<'_, E> {
    fn refuse(&mut self, line: u64, message: String) {
        self.error_count += 1;
        if self.errors.len() < MAX_REPORTED_ROW_ERRORS {
            self.errors.push(RowError { line, message });
        }
    }

    fn accept(&mut self, line: u64, item: Item) -> Result<(), E> {
        if !self.seen.insert(&item.id) {
            self.refuse(
                line,
                format!("id `{}` appears on an earlier line; ids must be unique", item.id),
            );
            return Ok(());
        }
        self.item_count += 1;
        self.price_min = self.price_min.min(item.price);
        self.price_max = self.price_max.max(item.price);
        self.schema.add(&item);
        // A strict import is refused at the end; what follows its first bad row is not kept.
        if self.strict && self.error_count > 0 {
            return Ok(());
        }
        (self.sink)(item)
    }
}

fn check_price(raw: Option<f64>, text: &str) -> Result<f64, String> {
    match raw {
        None => Err(format!("price `{text}` is not a number")),
        Some(price) if !price.is_finite() => Err(format!("price `{text}` is not a finite number")),
        Some(price) if price < 0.0 => Err(format!("price {price} is negative")),
        Some(price) => Ok(price),
    }
}

fn csv_unreadable(error: impl std::fmt::Display) -> CatalogError {
    CatalogError::Unreadable {
        format: "CSV",
        detail: error.to_string(),
    }
}

/// A CSV reader over `input`, past a UTF-8 byte order mark.
fn csv_reader<R: Read>(input: R) -> std::io::Result<csv::Reader<BufReader<R>>> {
    let mut input = BufReader::with_capacity(1 << 16, input);
    if input.fill_buf()?.starts_with("\u{feff}".as_bytes()) {
        input.consume(3);
    }
    Ok(csv::ReaderBuilder::new().flexible(true).from_reader(input))
}

/// The header's columns: where id, title, price and image are; every other one is an attribute.
struct CsvColumns {
    header: Vec<String>,
    id: usize,
    title: usize,
    price: usize,
    image: Option<usize>,
    attributes: Vec<usize>,
}

fn csv_columns<R: Read>(reader: &mut csv::Reader<R>) -> Result<CsvColumns, CatalogError> {
    let header: Vec<String> = reader
        .headers()
        .map_err(csv_unreadable)?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    let column = |name: &str| header.iter().position(|h| h.eq_ignore_ascii_case(name));
    let id = column("id").ok_or_else(|| CatalogError::MissingColumn("id".into()))?;
    let title = column("title").ok_or_else(|| CatalogError::MissingColumn("title".into()))?;
    let price = column("price").ok_or_else(|| CatalogError::MissingColumn("price".into()))?;
    let image = column("image");
    let attributes = (0..header.len())
        .filter(|&c| c != id && c != title && c != price && Some(c) != image)
        .collect();
    Ok(CsvColumns {
        header,
        id,
        title,
        price,
        image,
        attributes,
    })
}

/// What the first pass saw of one column.
#[derive(Clone, Copy)]
struct ColumnEvidence {
    any_value: bool,
    all_numbers: bool,
    any_bar: bool,
}

fn import_csv<R: Read, E: From<std::io::Error>>(
    open: &mut dyn FnMut() -> Result<R, E>,
    overrides: &BTreeMap<String, AttributeOverride>,
    progress: &mut dyn FnMut(ImportPhase, u64),
    intake: &mut Intake<'_, E>,
) -> Result<Result<(), CatalogError>, E> {
    // First pass: the column types (overrides first, then numbers when every non-empty value
    // parses), and whether the file reads as CSV at all, before anything is kept.
    let mut reader = csv_reader(open()?)?;
    let columns = match csv_columns(&mut reader) {
        Ok(columns) => columns,
        Err(error) => return Ok(Err(error)),
    };
    let mut evidence = vec![
        ColumnEvidence {
            any_value: false,
            all_numbers: true,
            any_bar: false,
        };
        columns.header.len()
    ];
    let typed = each_record(&mut reader, ImportPhase::Typing, progress, |record| {
        for &c in &columns.attributes {
            let Some(value) = record.get(c).map(str::trim).filter(|v| !v.is_empty()) else {
                continue;
            };
            let seen = &mut evidence[c];
            seen.any_value = true;
            if seen.all_numbers {
                seen.all_numbers = value.parse::<f64>().is_ok_and(f64::is_finite);
            }
            seen.any_bar |= value.contains('|');
        }
        Ok::<_, E>(())
    })?;
    if let Err(error) = typed {
        return Ok(Err(error));
    }
    let kinds: Vec<(usize, AttributeType)> = columns
        .attributes
        .iter()
        .map(|&c| {
            let seen = evidence[c];
            let kind = overrides.get(&columns.header[c]).and_then(|o| o.kind).unwrap_or({
                if seen.any_value && seen.all_numbers {
                    AttributeType::Number
                } else if seen.any_bar {
                    AttributeType::List
                } else {
                    AttributeType::Text
                }
            });
            (c, kind)
        })
        .collect();

    // Second pass: check each row and hand the valid ones on.
    let mut reader = csv_reader(open()?)?;
    if let Err(error) = reader.headers() {
        return Ok(Err(csv_unreadable(error)));
    }
    // The first pass read the same bytes, so a read error here means the input changed.
    each_record(&mut reader, ImportPhase::Importing, progress, |record| {
        let line = record.position().map_or(0, |p| p.line());
        match csv_item(&columns, &kinds, record) {
            Ok(item) => intake.accept(line, item),
            Err(message) => {
                intake.refuse(line, message);
                Ok(())
            }
        }
    })
}

/// Calls `each` with every record after the header, reporting progress as `phase`; stops at
/// the first record that does not read (the inner error) or that `each` fails on (the outer).
fn each_record<R: Read, E>(
    reader: &mut csv::Reader<R>,
    phase: ImportPhase,
    progress: &mut dyn FnMut(ImportPhase, u64),
    mut each: impl FnMut(&csv::StringRecord) -> Result<(), E>,
) -> Result<Result<(), CatalogError>, E> {
    let mut record = csv::StringRecord::new();
    let mut rows = 0u64;
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => return Ok(Ok(())),
            Ok(true) => {}
            Err(error) => return Ok(Err(csv_unreadable(error))),
        }
        rows += 1;
        if rows.is_multiple_of(PROGRESS_EVERY_ROWS) {
            progress(phase, rows);
        }
        each(&record)?;
    }
}

/// One CSV record as an item, or what is wrong with it.
fn csv_item(
    columns: &CsvColumns,
    kinds: &[(usize, AttributeType)],
    record: &csv::StringRecord,
) -> Result<Item, String> {
    let header = &columns.header;
    if record.len() != header.len() {
        return Err(format!("{} fields, but the header has {}", record.len(), header.len()));
    }
    let id = record.get(columns.id).unwrap_or_default().trim();
    if id.is_empty() {
        return Err("missing id".into());
    }
    let price_text = record.get(columns.price).unwrap_or_default().trim();
    if price_text.is_empty() {
        return Err(format!("item `{id}`: missing price"));
    }
    let price =
        check_price(price_text.parse().ok(), price_text).map_err(|message| format!("item `{id}`: {message}"))?;
    let mut attributes = BTreeMap::new();
    for &(c, kind) in kinds {
        let text = record.get(c).unwrap_or_default().trim();
        if text.is_empty() {
            continue;
        }
        let value = match kind {
            AttributeType::Text => AttributeValue::Text(text.to_owned()),
            AttributeType::List => AttributeValue::List(
                text.split('|')
                    .map(|v| v.trim().to_owned())
                    .filter(|v| !v.is_empty())
                    .collect(),
            ),
            AttributeType::Number => match text.parse::<f64>() {
                Ok(number) if number.is_finite() => AttributeValue::Number(number),
                _ => {
                    return Err(format!(
                        "item `{id}`: `{}` is `{text}`, but the column holds numbers",
                        header[c]
                    ));
                }
            },
        };
        attributes.insert(header[c].clone(), value);
    }
    let image = columns
        .image
        .and_then(|c| record.get(c))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned);
    Ok(Item {
        id: id.to_owned(),
        title: record.get(columns.title).unwrap_or_default().trim().to_owned(),
        price,
        image,
        attributes,
    })
}

fn import_jsonl<R: Read, E: From<std::io::Error>>(
    input: R,
    overrides: &BTreeMap<String, AttributeOverride>,
    progress: &mut dyn FnMut(ImportPhase, u64),
    intake: &mut Intake<'_, E>,
) -> Result<Result<(), CatalogError>, E> {
    let mut input = BufReader::with_capacity(1 << 16, input);
    // A value's type is fixed by the override or else by the first item that has the attribute.
    let mut seen_types: BTreeMap<String, AttributeType> = overrides
        .iter()
        .filter_map(|(name, o)| o.kind.map(|kind| (name.clone(), kind)))
        .collect();
    let mut bytes = Vec::new();
    let mut line = 0u64;
    loop {
        bytes.clear();
        if input.read_until(b'\n', &mut bytes)? == 0 {
            break;
        }
        line += 1;
        if line.is_multiple_of(PROGRESS_EVERY_ROWS) {
            progress(ImportPhase::Importing, line);
        }
        let raw = match std::str::from_utf8(&bytes) {
            Ok(raw) => raw.trim(),
            Err(e) => {
                return Ok(Err(CatalogError::Unreadable {
                    format: "JSON Lines",
                    detail: format!("not UTF-8 (line {line}): {e}"),
                }));
            }
        };
        if raw.is_empty() {
            continue;
        }
        match jsonl_item(raw, &mut seen_types) {
            Ok(item) => intake.accept(line, item)?,
            Err(message) => intake.refuse(line, message),
        }
    }
    Ok(Ok(()))
}

/// One JSON Lines object as an item, or what is wrong with it.
fn jsonl_item(raw: &str, seen_types: &mut BTreeMap<String, AttributeType>) -> Result<Item, String> {
    let object = match serde_json::from_str::<Value>(raw) {
        Ok(Value::Object(object)) => object,
        Ok(_) => return Err("not a JSON object".into()),
        Err(e) => return Err(format!("not valid JSON: {e}")),
    };
    let id = match object.get("id") {
        Some(Value::String(id)) if !id.trim().is_empty() => id.trim().to_owned(),
        Some(Value::Number(id)) => id.to_string(),
        _ => return Err("missing id".into()),
    };
    let price = match object.get("price") {
        None | Some(Value::Null) => Err("missing price".to_owned()),
        Some(Value::Number(n)) => check_price(n.as_f64(), &n.to_string()),
        Some(other) => Err(format!("price `{other}` is not a number")),
    }
    .map_err(|message| format!("item `{id}`: {message}"))?;
    let title = object
        .get("title")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let image = object.get("image").and_then(Value::as_str).map(str::to_owned);
    let mut fields: Vec<(&String, &Value)> = object
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "id" | "title" | "price" | "image" | "attributes"))
        .collect();
    if let Some(Value::Object(nested)) = object.get("attributes") {
        fields.extend(nested.iter());
    }
    let mut attributes = BTreeMap::new();
    // Types first seen on this row are kept only if the row is accepted.
    let mut new_types = Vec::new();
    for (name, value) in fields {
        let converted = match value {
            Value::Null => continue,
            Value::Number(n) => n.as_f64().map(AttributeValue::Number),
            Value::String(s) => Some(AttributeValue::Text(s.clone())),
            Value::Array(values) => values
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .map(AttributeValue::List),
            Value::Bool(b) => Some(AttributeValue::Text(b.to_string())),
            Value::Object(_) => None,
        };
        let Some(converted) = converted else {
            return Err(format!(
                "item `{id}`: `{name}` is {value}, but attributes are strings, numbers or lists of strings"
            ));
        };
        let kind = match &converted {
            AttributeValue::Number(_) => AttributeType::Number,
            AttributeValue::Text(_) => AttributeType::Text,
            AttributeValue::List(_) => AttributeType::List,
        };
        let known = seen_types
            .get(name.as_str())
            .or_else(|| new_types.iter().find(|(seen, _)| seen == name).map(|(_, kind)| kind));
        match known {
            // A declared list accepts a single string as a one-element list.
            Some(AttributeType::List) if kind == AttributeType::Text => {
                if let AttributeValue::Text(text) = converted {
                    attributes.insert(name.clone(), AttributeValue::List(vec![text]));
                }
                continue;
            }
            Some(expected) if *expected != kind => {
                return Err(format!(
                    "item `{id}`: `{name}` is {value}, but earlier items (or the override) make it a {}",
                    type_name(*expected)
                ));
            }
            Some(_) => {}
            None => new_types.push((name.clone(), kind)),
        }
        attributes.insert(name.clone(), converted);
    }
    seen_types.extend(new_types);
    Ok(Item {
        id,
        title,
        price,
        image,
        attributes,
    })
}

fn type_name(kind: AttributeType) -> &'static str {
    match kind {
        AttributeType::Text => "text attribute",
        AttributeType::Number => "number attribute",
        AttributeType::List => "list attribute",
    }
}

/// One attribute's schema so far.
struct Tally {
    kind: AttributeType,
    values: BTreeSet<String>,
    min: f64,
    max: f64,
    present: u64,
}

/// The schema, derived item by item.
#[derive(Default)]
struct SchemaTally {
    attributes: BTreeMap<String, Tally>,
}

impl SchemaTally {
    fn add(&mut self, item: &Item) {
        for (name, value) in &item.attributes {
            let kind = match value {
                AttributeValue::Number(_) => AttributeType::Number,
                AttributeValue::Text(_) => AttributeType::Text,
                AttributeValue::List(_) => AttributeType::List,
            };
            let tally = self.attributes.entry(name.clone()).or_insert_with(|| Tally {
                kind,
                values: BTreeSet::new(),
                min: f64::INFINITY,
                max: f64::NEG_INFINITY,
                present: 0,
            });
            tally.present += 1;
            // One value past the limit is enough to know there is no vocabulary.
            match value {
                AttributeValue::Number(n) => {
                    tally.min = tally.min.min(*n);
                    tally.max = tally.max.max(*n);
                }
                // Checked before cloning: a million rows repeat a few values.
                AttributeValue::Text(text) if tally.values.len() <= MAX_VOCABULARY && !tally.values.contains(text) => {
                    tally.values.insert(text.clone());
                }
                AttributeValue::List(values) => {
                    for text in values {
                        if tally.values.len() > MAX_VOCABULARY {
                            break;
                        }
                        if !tally.values.contains(text) {
                            tally.values.insert(text.clone());
                        }
                    }
                }
                _ => {}
            }
        }
    }

    fn finish(self, overrides: &BTreeMap<String, AttributeOverride>) -> Vec<AttributeSchema> {
        self.attributes
            .into_iter()
            .map(|(name, tally)| {
                let override_ = overrides.get(&name).cloned().unwrap_or_default();
                let numeric = tally.kind == AttributeType::Number;
                let vocabulary = override_.vocabulary.or_else(|| {
                    (!numeric && tally.values.len() <= MAX_VOCABULARY).then(|| tally.values.into_iter().collect())
                });
                AttributeSchema {
                    name,
                    kind: tally.kind,
                    unit: override_.unit,
                    vocabulary,
                    min: numeric.then_some(tally.min),
                    max: numeric.then_some(tally.max),
                    present: tally.present,
                }
            })
            .collect()
    }
}
