//! Catalogs as columns, for catalogs of up to millions of items: ids, titles and prices as
//! arrays, each attribute as numbers (NaN where an item has no number) and codes into a
//! vocabulary of the text values as written (several per item for list attributes).
//!
//! The host decodes a catalog into [`CatalogColumns`] once per version and answers a tool's
//! selection ([`CatalogColumns::columns`], [`CatalogColumns::count`]) over it, so a tool copies
//! only the rows it asked for. Filters compile to a table per vocabulary code and give exactly
//! the answers of [`AttributeFilter::accepts`] on the items (the property tests compare them).

use crate::hash::FxHasher;
use crate::item::{AttributeValue, Item};
use crate::model::{ChoiceModel, ModelError};
use crate::recommend::{AttributeFilter, Constraints, RecommendError, ValueCap, check_against, describe, plain, show};
use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasherDefault;

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// One attribute of every item.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AttributeColumn {
    /// Per row, the number; NaN where the item's value is text, a list or absent. Empty when no
    /// item has a number here.
    pub numbers: Vec<f64>,
    /// The text values as first written, indexed by code.
    pub vocabulary: Vec<String>,
    /// Row `k`'s codes are `codes[starts[k]..starts[k + 1]]` (one for text, any number for a
    /// list). Empty when no item has text here.
    pub starts: Vec<u32>,
    /// Codes into `vocabulary`.
    pub codes: Vec<u32>,
    /// Whether some item holds a list of values here (lists cannot be capped per value).
    pub has_lists: bool,
}

impl AttributeColumn {
    fn number(&self, row: usize) -> f64 {
        self.numbers.get(row).copied().unwrap_or(f64::NAN)
    }

    fn codes_of(&self, row: usize) -> &[u32] {
        match (self.starts.get(row), self.starts.get(row + 1)) {
            (Some(&start), Some(&end)) => &self.codes[start as usize..end as usize],
            _ => &[],
        }
    }

    fn holds_value(&self, row: usize) -> bool {
        !self.number(row).is_nan() || !self.codes_of(row).is_empty()
    }
}

/// A catalog decoded into columns.
#[derive(Debug, Clone, Default)]
pub struct CatalogColumns {
    /// Item ids by row.
    pub ids: Vec<String>,
    /// Titles by row.
    pub titles: Vec<String>,
    /// Images by row.
    pub images: Vec<Option<String>>,
    /// Prices by row.
    pub prices: Vec<f64>,
    /// Attributes by name.
    pub attributes: BTreeMap<String, AttributeColumn>,
    positions: FxMap<String, u32>,
}

/// A model's weights over a catalog's rows for one segment.
#[derive(Debug, Clone, PartialEq)]
pub struct Weights {
    /// The segment resolved.
    pub segment: String,
    /// `exp(α + β·price)` per row; NaN where the model has no estimate for the item.
    pub values: Vec<f64>,
    /// Rows without an estimate.
    pub without_estimate: usize,
}

/// What a tool asks for: the rows a selection admits, with the columns it names.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ColumnsRequest {
    /// The selection: its price range, filters and exclusions (other fields are ignored).
    pub selection: Constraints,
    /// Each admitted row's weight under this model and segment.
    pub weights: Option<WeightsRequest>,
    /// Group ids per admitted row for a cap per value of this attribute.
    pub cap: Option<ValueCap>,
    /// Number attributes to return.
    pub numbers: Vec<String>,
    /// Text or list attributes to return as codes.
    pub categories: Vec<String>,
}

/// A model and segment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WeightsRequest {
    /// The model's id.
    pub model_id: String,
    /// Its segment (`None`: the first).
    pub segment: Option<String>,
}

/// A number attribute over the admitted rows.
#[derive(Debug, Clone, PartialEq)]
pub struct NumberColumn {
    /// Attribute name.
    pub attribute: String,
    /// Per admitted row; NaN where the item has no number.
    pub values: Vec<f64>,
}

/// A text or list attribute over the admitted rows.
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryColumn {
    /// Attribute name.
    pub attribute: String,
    /// The catalog's values for it, by code.
    pub vocabulary: Vec<String>,
    /// Admitted row `k`'s codes are `codes[starts[k]..starts[k + 1]]`.
    pub starts: Vec<u32>,
    /// Codes into `vocabulary`.
    pub codes: Vec<u32>,
}

/// The answer to a [`ColumnsRequest`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Columns {
    /// Items in the catalog.
    pub catalog_items: u32,
    /// The admitted rows, ascending.
    pub rows: Vec<u32>,
    /// Their prices.
    pub prices: Vec<f64>,
    /// Their weights (empty unless asked); NaN where the model has no estimate.
    pub weights: Vec<f64>,
    /// The segment the weights are for.
    pub segment: Option<String>,
    /// Catalog items (all of them, admitted or not) the model has no estimate for.
    pub without_estimate: u32,
    /// When no admitted row has an estimate: which constraint removed the last ones.
    pub empty_reason: Option<String>,
    /// Group per admitted row for the cap (0: the item has no value; uncapped).
    pub groups: Vec<u32>,
    /// Groups in the catalog, group 0 included.
    pub group_count: u32,
    /// Why the cap cannot group this attribute (a list attribute), when it cannot: the optimizer
    /// reports it after the checks that come first.
    pub cap_refused: Option<String>,
    /// The number columns asked for.
    pub numbers: Vec<NumberColumn>,
    /// The category columns asked for.
    pub categories: Vec<CategoryColumn>,
}

/// One item fetched by row.
#[derive(Debug, Clone, PartialEq)]
pub struct RowItem {
    /// Its row.
    pub row: u32,
    /// Catalog id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Price.
    pub price: f64,
    /// Image reference.
    pub image: Option<String>,
    /// Its weight, when weights were asked for and the model has an estimate.
    pub weight: Option<f64>,
}

/// Builds [`CatalogColumns`] item by item (from an import or the store), so a catalog is never
/// held as items and as columns at once. Gives exactly the columns of
/// [`CatalogColumns::from_items`] over the same items.
#[derive(Debug, Default)]
pub struct ColumnsBuilder {
    columns: CatalogColumns,
    spellings: BTreeMap<String, FxMap<String, u32>>,
}

impl ColumnsBuilder {
    /// An empty builder.
    pub fn new() -> ColumnsBuilder {
        ColumnsBuilder::default()
    }

    /// Adds the next row.
    pub fn push(&mut self, item: &Item) {
        let row = self.columns.ids.len();
        for name in item.attributes.keys() {
            if !self.columns.attributes.contains_key(name) {
                self.columns.attributes.insert(name.clone(), AttributeColumn::default());
            }
        }
        for (name, column) in self.columns.attributes.iter_mut() {
            let value = item.attributes.get(name);
            // A column's storage starts with its first value of that kind, the rows before
            // filled in as absent.
            if let Some(AttributeValue::Number(number)) = value {
                column.numbers.resize(row, f64::NAN);
                column.numbers.push(*number);
            } else if !column.numbers.is_empty() {
                column.numbers.push(f64::NAN);
            }
            let texts: &[String] = match value {
                Some(AttributeValue::Text(text)) => std::slice::from_ref(text),
                Some(AttributeValue::List(values)) => {
                    column.has_lists = true;
                    values
                }
                _ => &[],
            };
            if column.starts.is_empty() {
                if !matches!(value, Some(AttributeValue::Text(_) | AttributeValue::List(_))) {
                    continue;
                }
                column.starts.resize(row + 1, 0);
            }
            let codes = self.spellings.entry(name.clone()).or_default();
            for text in texts {
                let next = column.vocabulary.len() as u32;
                let code = *codes.entry(text.clone()).or_insert(next);
                if code == next {
                    column.vocabulary.push(text.clone());
                }
                column.codes.push(code);
            }
            column.starts.push(column.codes.len() as u32);
        }
        self.columns.positions.insert(item.id.clone(), row as u32);
        self.columns.ids.push(item.id.clone());
        self.columns.titles.push(item.title.clone());
        self.columns.images.push(item.image.clone());
        self.columns.prices.push(item.price);
    }

    /// Rows added so far.
    pub fn len(&self) -> usize {
        self.columns.ids.len()
    }

    /// Whether no row was added.
    pub fn is_empty(&self) -> bool {
        self.columns.ids.is_empty()
    }

    /// The columns.
    pub fn finish(mut self) -> CatalogColumns {
        let rows = self.columns.ids.len();
        for column in self.columns.attributes.values_mut() {
            // Columns that gained no value after some row end as absent.
            if !column.numbers.is_empty() {
                column.numbers.resize(rows, f64::NAN);
            }
            if !column.starts.is_empty() {
                column.starts.resize(rows + 1, column.codes.len() as u32);
            }
            column.numbers.shrink_to_fit();
            column.starts.shrink_to_fit();
            column.codes.shrink_to_fit();
        }
        self.columns.ids.shrink_to_fit();
        self.columns.titles.shrink_to_fit();
        self.columns.images.shrink_to_fit();
        self.columns.prices.shrink_to_fit();
        self.columns
    }
}

impl CatalogColumns {
    /// Decodes items into columns.
    pub fn from_items(items: &[Item]) -> CatalogColumns {
        let mut builder = ColumnsBuilder::new();
        for item in items {
            builder.push(item);
        }
        builder.finish()
    }

    /// Items in the catalog.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the catalog has no items.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The row of an item id.
    pub fn position(&self, id: &str) -> Option<u32> {
        self.positions.get(id).copied()
    }

    /// Memory held, roughly, in bytes (for the host's cache accounting and the benchmark).
    pub fn approximate_bytes(&self) -> usize {
        let strings = |values: &[String]| values.iter().map(|v| v.len() + 24).sum::<usize>();
        let columns: usize = self
            .attributes
            .values()
            .map(|c| c.numbers.len() * 8 + c.starts.len() * 4 + c.codes.len() * 4 + strings(&c.vocabulary))
            .sum();
        strings(&self.ids) * 2 + strings(&self.titles) + self.images.len() * 24 + self.prices.len() * 8 + columns
    }

    /// How many items the selection's price range, filters and exclusions admit: what
    /// [`Constraints::admitted_count`] answers on the items, without copying any.
    pub fn count(&self, selection: &Constraints) -> usize {
        let filters = self.compile(selection);
        let excluded = self.excluded_mask(selection);
        (0..self.len())
            .filter(|&row| self.admits(row, selection, &filters) && !excluded.as_ref().is_some_and(|mask| mask[row]))
            .count()
    }

    /// The rows a request's selection admits (exclusions too) and the columns it asks for.
    /// The selection is checked as the optimizer checks constraints (known attributes, sane
    /// bounds), so a tool gets the optimizer's message for a bad one.
    pub fn columns(&self, request: &ColumnsRequest, weights: Option<&Weights>) -> Result<Columns, RecommendError> {
        let selection = &request.selection;
        let checked = Constraints {
            max_per_value: request.cap.clone(),
            ..selection.clone()
        };
        let attribute_names = || {
            self.attributes
                .keys()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        };
        check_against(
            &checked,
            &|name| self.is_empty() || self.attributes.contains_key(name),
            &attribute_names,
        )?;
        let filters = self.compile(selection);
        let excluded = self.excluded_mask(selection);
        let rows: Vec<u32> = (0..self.len())
            .filter(|&row| self.admits(row, selection, &filters) && !excluded.as_ref().is_some_and(|mask| mask[row]))
            .map(|row| row as u32)
            .collect();
        let mut answer = Columns {
            catalog_items: self.len() as u32,
            prices: rows.iter().map(|&row| self.prices[row as usize]).collect(),
            ..Columns::default()
        };
        if let Some(weights) = weights {
            answer.weights = rows.iter().map(|&row| weights.values[row as usize]).collect();
            answer.segment = Some(weights.segment.clone());
            answer.without_estimate = weights.without_estimate as u32;
            if answer.weights.iter().all(|w| w.is_nan()) {
                answer.empty_reason = self.empty_reason(selection, weights);
            }
        }
        if let Some(cap) = &request.cap {
            match self.value_groups(cap) {
                Ok((groups, count)) => {
                    answer.groups = rows.iter().map(|&row| groups[row as usize]).collect();
                    answer.group_count = count;
                }
                Err(refused) => answer.cap_refused = Some(refused.to_string()),
            }
        }
        for name in &request.numbers {
            let column = self.attributes.get(name);
            answer.numbers.push(NumberColumn {
                attribute: name.clone(),
                values: rows
                    .iter()
                    .map(|&row| column.map_or(f64::NAN, |c| c.number(row as usize)))
                    .collect(),
            });
        }
        for name in &request.categories {
            let mut category = CategoryColumn {
                attribute: name.clone(),
                vocabulary: Vec::new(),
                starts: vec![0],
                codes: Vec::new(),
            };
            if let Some(column) = self.attributes.get(name) {
                category.vocabulary = column.vocabulary.clone();
                for &row in &rows {
                    category.codes.extend_from_slice(column.codes_of(row as usize));
                    category.starts.push(category.codes.len() as u32);
                }
            } else {
                category.starts.resize(rows.len() + 1, 0);
            }
            answer.categories.push(category);
        }
        answer.rows = rows;
        Ok(answer)
    }

    /// Which step removed the last rows with an estimate, as the optimizer words it.
    fn empty_reason(&self, selection: &Constraints, weights: &Weights) -> Option<String> {
        if self.is_empty() {
            return Some("the catalog has no items".to_owned());
        }
        if weights.without_estimate == self.len() {
            return Some(format!(
                "the model has no estimate for any of the catalog's {} items; fit it on this catalog's item ids",
                self.len()
            ));
        }
        let mut alive: Vec<bool> = weights.values.iter().map(|w| !w.is_nan()).collect();
        let mut steps: Vec<(String, Box<dyn Fn(usize) -> bool + '_>)> = Vec::new();
        let (low, high) = (selection.lowest_price, selection.highest_price);
        if low.is_some() || high.is_some() {
            steps.push((
                format!("the price range {}–{}", show(low), show(high)),
                Box::new(move |row| {
                    let price = self.prices[row];
                    low.is_none_or(|l| price >= l) && high.is_none_or(|h| price <= h)
                }),
            ));
        }
        for filter in &selection.filters {
            let compiled = CompiledFilter::new(filter, self.attributes.get(&filter.attribute));
            steps.push((describe(filter), Box::new(move |row| compiled.accepts(row))));
        }
        for (description, keep) in steps {
            let before = alive.iter().filter(|a| **a).count();
            for (row, flag) in alive.iter_mut().enumerate() {
                *flag = *flag && keep(row);
            }
            if before > 0 && alive.iter().all(|a| !a) {
                return Some(format!(
                    "no item left after {description} ({before} items qualified before it)"
                ));
            }
        }
        None
    }

    /// One group per distinct value of the capped attribute (text without case and spaces
    /// around, numbers as written); items without it share group 0. The same grouping as the
    /// optimizer's over items, group ids included.
    pub fn value_groups(&self, cap: &ValueCap) -> Result<(Vec<u32>, u32), RecommendError> {
        let Some(column) = self.attributes.get(&cap.attribute) else {
            return Ok((vec![0; self.len()], 1));
        };
        if column.has_lists {
            return Err(RecommendError::InvalidConstraint(format!(
                "`{}` is a list attribute; caps work per value of a text or number attribute",
                cap.attribute
            )));
        }
        let mut ids: HashMap<String, u32> = HashMap::new();
        let mut group_of_code: Vec<Option<u32>> = vec![None; column.vocabulary.len()];
        let mut groups = Vec::with_capacity(self.len());
        for row in 0..self.len() {
            let number = column.number(row);
            let key = if !number.is_nan() {
                number.to_string()
            } else if let Some(&code) = column.codes_of(row).first() {
                if let Some(group) = group_of_code[code as usize] {
                    groups.push(group);
                    continue;
                }
                column.vocabulary[code as usize].trim().to_lowercase()
            } else {
                groups.push(0);
                continue;
            };
            let next = ids.len() as u32 + 1;
            let group = *ids.entry(key).or_insert(next);
            if number.is_nan()
                && let Some(&code) = column.codes_of(row).first()
            {
                group_of_code[code as usize] = Some(group);
            }
            groups.push(group);
        }
        Ok((groups, ids.len() as u32 + 1))
    }

    fn compile<'a>(&'a self, selection: &'a Constraints) -> Vec<CompiledFilter<'a>> {
        selection
            .filters
            .iter()
            .map(|filter| CompiledFilter::new(filter, self.attributes.get(&filter.attribute)))
            .collect()
    }

    fn admits(&self, row: usize, selection: &Constraints, filters: &[CompiledFilter]) -> bool {
        let price = self.prices[row];
        selection.lowest_price.is_none_or(|low| price >= low)
            && selection.highest_price.is_none_or(|high| price <= high)
            && filters.iter().all(|filter| filter.accepts(row))
    }

    /// A mask of the excluded rows (`None` when nothing is excluded); unknown ids exclude nothing.
    fn excluded_mask(&self, selection: &Constraints) -> Option<Vec<bool>> {
        if selection.exclude.is_empty() {
            return None;
        }
        let mut mask = vec![false; self.len()];
        for id in &selection.exclude {
            if let Some(row) = self.position(id) {
                mask[row as usize] = true;
            }
        }
        Some(mask)
    }
}

impl Weights {
    /// The model's weights for `segment` over the catalog's rows.
    pub fn new(catalog: &CatalogColumns, model: &ChoiceModel, segment: Option<&str>) -> Result<Weights, ModelError> {
        let segment = model.segment(segment)?;
        let mut values = vec![f64::NAN; catalog.len()];
        let mut without_estimate = catalog.len();
        for (id, utility) in &segment.items {
            if let Some(row) = catalog.position(id) {
                let row = row as usize;
                values[row] = (utility.intercept + segment.price_coefficient * catalog.prices[row]).exp();
                without_estimate -= 1;
            }
        }
        Ok(Weights {
            segment: segment.name.clone(),
            values,
            without_estimate,
        })
    }
}

/// Wanted values of one condition: which codes match, and the numbers they parse to.
struct Wanted {
    codes: Vec<bool>,
    numbers: Vec<f64>,
}

impl Wanted {
    fn new<'w>(column: Option<&AttributeColumn>, wanted: impl Iterator<Item = &'w str> + Clone) -> Wanted {
        let codes = column.map_or_else(Vec::new, |column| {
            column
                .vocabulary
                .iter()
                .map(|value| wanted.clone().any(|w| value.trim().eq_ignore_ascii_case(w.trim())))
                .collect()
        });
        let numbers = wanted.filter_map(|w| w.trim().parse::<f64>().ok()).collect();
        Wanted { codes, numbers }
    }

    fn matches(&self, number: f64, codes: &[u32]) -> bool {
        (!number.is_nan() && self.numbers.contains(&number)) || codes.iter().any(|&code| self.codes[code as usize])
    }
}

/// An [`AttributeFilter`] compiled against one column.
struct CompiledFilter<'a> {
    column: Option<&'a AttributeColumn>,
    needs_value: bool,
    equals: Option<Wanted>,
    one_of: Option<Wanted>,
    none_of: Option<Wanted>,
    min: Option<f64>,
    max: Option<f64>,
}

impl<'a> CompiledFilter<'a> {
    fn new(filter: &AttributeFilter, column: Option<&'a AttributeColumn>) -> CompiledFilter<'a> {
        let equals = filter.equals.as_ref().map(plain);
        CompiledFilter {
            column,
            needs_value: filter.equals.is_some()
                || filter.one_of.is_some()
                || filter.min.is_some()
                || filter.max.is_some(),
            equals: equals
                .as_ref()
                .map(|value| Wanted::new(column, std::iter::once(value.as_str()))),
            one_of: filter
                .one_of
                .as_ref()
                .map(|values| Wanted::new(column, values.iter().map(String::as_str))),
            none_of: filter
                .none_of
                .as_ref()
                .map(|values| Wanted::new(column, values.iter().map(String::as_str))),
            min: filter.min,
            max: filter.max,
        }
    }

    /// [`AttributeFilter::accepts`] for the item at `row`.
    fn accepts(&self, row: usize) -> bool {
        let Some(column) = self.column.filter(|column| column.holds_value(row)) else {
            return !self.needs_value;
        };
        let (number, codes) = (column.number(row), column.codes_of(row));
        if self.none_of.as_ref().is_some_and(|none| none.matches(number, codes)) {
            return false;
        }
        if self
            .equals
            .as_ref()
            .is_some_and(|wanted| !wanted.matches(number, codes))
            || self
                .one_of
                .as_ref()
                .is_some_and(|wanted| !wanted.matches(number, codes))
        {
            return false;
        }
        if self.min.is_some() || self.max.is_some() {
            if number.is_nan() {
                return false;
            }
            if self.min.is_some_and(|m| number < m) || self.max.is_some_and(|m| number > m) {
                return false;
            }
        }
        true
    }
}

impl CatalogColumns {
    /// Items by row (rows past the end are left out), with their weights when given.
    pub fn rows(&self, rows: &[u32], weights: Option<&Weights>) -> Vec<RowItem> {
        rows.iter()
            .map(|&row| row as usize)
            .filter(|&row| row < self.len())
            .map(|row| RowItem {
                row: row as u32,
                id: self.ids[row].clone(),
                title: self.titles[row].clone(),
                price: self.prices[row],
                image: self.images[row].clone(),
                weight: weights.map(|w| w.values[row]).filter(|w| !w.is_nan()),
            })
            .collect()
    }
}
