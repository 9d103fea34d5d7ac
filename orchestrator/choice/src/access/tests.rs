//! The columnar selection and `recommend_via` against the item-by-item code: on random catalogs (text with varied
//! case and spaces, numbers, lists, missing attributes, numbers written as text) and random
//! constraints, `count` equals `Constraints::admitted_count`, the admitted rows are exactly the
//! items `Constraints::admits`, and `recommend_via` over [`Local`] answers what `recommend`
//! answers, errors included.

use super::*;
use crate::columns::{CatalogColumns, Columns, ColumnsRequest, RowItem, WeightsRequest};
use crate::item::{AttributeValue, Item};
use crate::model::ChoiceModel;
use crate::recommend::{AttributeFilter, Constraints, RecommendError, ValueCap, recommend};
use proptest::prelude::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;

const COLOURS: [&str; 5] = ["green", " Green", "RED", "blue ", "Grün"];
const SIZES: [&str; 3] = ["38", "40", "large"];

fn item(
    index: usize,
    price: f64,
    colour: Option<usize>,
    size: Option<(bool, usize)>,
    tags: Option<Vec<usize>>,
) -> Item {
    let mut attributes = BTreeMap::new();
    if let Some(colour) = colour {
        attributes.insert("colour".to_owned(), AttributeValue::Text(COLOURS[colour].to_owned()));
    }
    match size {
        Some((true, size)) => {
            attributes.insert("size".to_owned(), AttributeValue::Number(36.0 + 2.0 * size as f64));
        }
        Some((false, size)) => {
            attributes.insert("size".to_owned(), AttributeValue::Text(SIZES[size].to_owned()));
        }
        None => {}
    }
    if let Some(tags) = tags {
        attributes.insert(
            "tags".to_owned(),
            AttributeValue::List(tags.into_iter().map(|t| COLOURS[t].to_owned()).collect()),
        );
    }
    Item {
        id: format!("i{index}"),
        title: format!("Item {index}"),
        price,
        image: None,
        attributes,
    }
}

type Row = (
    f64,
    Option<usize>,
    Option<(bool, usize)>,
    Option<Vec<usize>>,
    Option<f64>,
);

fn catalog(rows: &[Row]) -> (Vec<Item>, ChoiceModel) {
    let items: Vec<Item> = rows
        .iter()
        .enumerate()
        .map(|(i, (price, colour, size, tags, _))| item(i, *price, *colour, *size, tags.clone()))
        .collect();
    let model = rows
        .iter()
        .enumerate()
        .filter_map(|(i, row)| row.4.map(|intercept| (i, intercept)))
        .fold(
            ChoiceModel::builder("m").price_coefficient(-0.02, 0.0),
            |model, (i, intercept)| model.item(&format!("i{i}"), intercept, 0.0, "all"),
        )
        .build();
    (items, model)
}

fn row() -> impl Strategy<Value = Row> {
    (
        1.0f64..200.0,
        proptest::option::of(0usize..5),
        proptest::option::of((any::<bool>(), 0usize..3)),
        proptest::option::weighted(0.3, proptest::collection::vec(0usize..5, 0..3)),
        proptest::option::weighted(0.9, -2.0f64..2.0),
    )
}

fn wanted() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec(
        prop_oneof![
            (0usize..5).prop_map(|c| COLOURS[c].to_uppercase()),
            (0usize..3).prop_map(|s| SIZES[s].to_owned()),
            Just("40.0".to_owned())
        ],
        1..3,
    )
}

fn filter() -> impl Strategy<Value = AttributeFilter> {
    (
        prop_oneof![Just("colour"), Just("size"), Just("tags"), Just("missing")],
        proptest::option::weighted(0.3, wanted().prop_map(|w| Value::String(w[0].clone()))),
        proptest::option::weighted(0.3, wanted()),
        proptest::option::weighted(0.3, wanted()),
        proptest::option::weighted(0.2, 35.0f64..42.0),
        proptest::option::weighted(0.2, 37.0f64..45.0),
    )
        .prop_map(|(attribute, equals, one_of, none_of, min, max)| AttributeFilter {
            attribute: attribute.to_owned(),
            equals,
            one_of,
            none_of,
            min,
            max,
        })
}

fn constraints() -> impl Strategy<Value = Constraints> {
    (
        proptest::option::weighted(0.3, 0.0f64..120.0),
        proptest::option::weighted(0.3, 60.0f64..220.0),
        proptest::collection::vec(filter(), 0..3),
        proptest::option::of(1usize..6),
        any::<bool>(),
        proptest::option::weighted(
            0.3,
            (prop_oneof![Just("colour"), Just("size"), Just("tags")], 1usize..3),
        ),
        proptest::collection::vec(0usize..40, 0..2),
        proptest::collection::vec(0usize..40, 0..3),
    )
        .prop_map(
            |(low, high, filters, capacity, exactly, cap, include, exclude)| Constraints {
                lowest_price: low,
                highest_price: high,
                filters,
                capacity,
                exactly,
                max_per_value: cap.map(|(attribute, max)| ValueCap {
                    attribute: attribute.to_owned(),
                    max,
                }),
                must_include: include.into_iter().map(|i| format!("i{i}")).collect(),
                exclude: exclude.into_iter().map(|i| format!("i{i}")).collect(),
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn columns_select_what_items_admit(rows in proptest::collection::vec(row(), 0..30), constraints in constraints()) {
        let (items, _) = catalog(&rows);
        let columns = CatalogColumns::from_items(&items);
        prop_assert_eq!(columns.count(&constraints), constraints.admitted_count(&items));
        let request = ColumnsRequest { selection: constraints.clone(), ..ColumnsRequest::default() };
        if let Ok(answer) = columns.columns(&request, None) {
            let expected: Vec<u32> = (0..items.len() as u32).filter(|&i| constraints.admits(&items[i as usize])).collect();
            prop_assert_eq!(answer.rows, expected);
        }
    }

    #[test]
    fn recommend_via_columns_answers_as_recommend(rows in proptest::collection::vec(row(), 0..30), constraints in constraints()) {
        let (items, model) = catalog(&rows);
        let columns = CatalogColumns::from_items(&items);
        let direct = recommend(&items, &model, None, &constraints);
        let via = recommend_via(&Local { catalog: &columns, model: &model }, "m", None, &constraints);
        match (direct, via) {
            (Ok(direct), Ok(via)) => prop_assert_eq!(direct, via),
            // The optimizer's own messages name positions, which differ between the two.
            (Err(RecommendError::Optimize(_)), Err(RecommendError::Optimize(_))) => {}
            (direct, via) => prop_assert_eq!(direct, via),
        }
    }
}

#[test]
fn columns_hold_numbers_codes_and_lists() {
    let items: Vec<Item> = serde_json::from_value(json!([
        {"id": "a", "title": "A", "price": 10.0, "attributes": {"colour": "Green", "size": 38, "tags": ["x", "y"]}},
        {"id": "b", "title": "B", "price": 20.0, "attributes": {"colour": "red", "size": "large"}},
        {"id": "c", "title": "C", "price": 30.0, "attributes": {"colour": "Green"}}
    ]))
    .unwrap();
    let columns = CatalogColumns::from_items(&items);
    let size = &columns.attributes["size"];
    assert_eq!(size.numbers[0], 38.0);
    assert!(size.numbers[1].is_nan() && size.numbers[2].is_nan());
    assert_eq!(size.vocabulary, ["large"]);
    assert_eq!(
        (size.starts.as_slice(), size.codes.as_slice()),
        (&[0, 0, 1, 1][..], &[0][..])
    );
    let colour = &columns.attributes["colour"];
    assert_eq!(
        (colour.vocabulary.as_slice(), colour.codes.as_slice()),
        (&["Green".to_owned(), "red".to_owned()][..], &[0, 1, 0][..])
    );
    assert!(columns.attributes["tags"].has_lists && !colour.has_lists);
    let request = ColumnsRequest {
        selection: Constraints {
            highest_price: Some(25.0),
            ..Constraints::default()
        },
        numbers: vec!["size".into()],
        categories: vec!["colour".into(), "nothing".into()],
        cap: Some(ValueCap {
            attribute: "colour".into(),
            max: 1,
        }),
        ..ColumnsRequest::default()
    };
    let answer = columns.columns(&request, None).unwrap();
    assert_eq!(answer.rows, [0, 1]);
    assert_eq!((answer.groups.as_slice(), answer.group_count), (&[1, 2][..], 3));
    assert_eq!(answer.categories[0].codes, [0, 1]);
    assert_eq!(answer.categories[1].starts, [0, 0, 0]);
    let tags_cap = ColumnsRequest {
        cap: Some(ValueCap {
            attribute: "tags".into(),
            max: 1,
        }),
        ..ColumnsRequest::default()
    };
    let refused = columns.columns(&tags_cap, None).unwrap().cap_refused.unwrap();
    assert!(refused.contains("`tags` is a list attribute"), "{refused}");
}

/// An access that refuses lists over the host's limit per call, as the host does.
struct Limited<'a>(Local<'a>);

impl CatalogAccess for Limited<'_> {
    type Error = RecommendError;

    fn columns(&self, request: &ColumnsRequest) -> Result<Columns, RecommendError> {
        self.0.columns(request)
    }

    fn rows(&self, rows: &[u32], weights: Option<&WeightsRequest>) -> Result<Vec<RowItem>, RecommendError> {
        assert!(rows.len() <= ACCESS_CHUNK, "{} rows in one call", rows.len());
        self.0.rows(rows, weights)
    }

    fn positions(&self, ids: &[String]) -> Result<Vec<Option<u32>>, RecommendError> {
        assert!(ids.len() <= ACCESS_CHUNK, "{} ids in one call", ids.len());
        self.0.positions(ids)
    }
}

#[test]
fn long_id_lists_and_large_assortments_are_fetched_in_parts() {
    let rows: Vec<Row> = (0..40_000)
        .map(|i| {
            (
                10.0 + (i % 90) as f64,
                Some(i % 5),
                None,
                None,
                Some(((i * 7) % 13) as f64 / 13.0),
            )
        })
        .collect();
    let (items, model) = catalog(&rows);
    let columns = CatalogColumns::from_items(&items);
    let constraints = Constraints {
        capacity: Some(12_000),
        exactly: true,
        exclude: (0..15_000).map(|i| format!("i{i}")).collect(),
        ..Constraints::default()
    };
    let via = recommend_via(
        &Limited(Local {
            catalog: &columns,
            model: &model,
        }),
        "m",
        None,
        &constraints,
    )
    .unwrap();
    assert_eq!(via.items.len(), 12_000);
    assert_eq!(via, recommend(&items, &model, None, &constraints).unwrap());
}
