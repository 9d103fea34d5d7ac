//! Property tests: whatever JSON a planner sends, validation, merging and relaxation answer
//! without panicking, and merging keeps only fields that one of its inputs had; relaxing over a
//! real list of items never loses matches, gives up a stated fact only when nothing matched, and
//! says how many items its answer admits.

use crate::CatalogFacts;
use interarec_choice::item::{AttributeValue, Item};
use proptest::prelude::*;
use serde_json::{Value, json};
use std::collections::BTreeSet;

fn catalog() -> CatalogFacts {
    CatalogFacts::from_json(
        r#"{"id": "fashion", "price_min": 10, "price_max": 200, "attributes": [
            {"name": "colour", "type": "text", "vocabulary": ["green", "red"], "present": 10},
            {"name": "brand", "type": "text", "vocabulary": ["Nike", "Zara"], "present": 10},
            {"name": "rating", "type": "number", "min": 1, "max": 5, "present": 10}]}"#,
    )
    .unwrap()
}

/// JSON values a model might send: the function's field names and others, any shapes.
fn arguments() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-1e7f64..1e7).prop_map(|n| json!(n)),
        "[a-zA-Z0-9 $.,+-]{0,12}".prop_map(Value::from),
    ];
    let value = leaf.prop_recursive(2, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map("[a-z]{1,6}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    let field = prop_oneof![
        Just("colour".to_owned()),
        Just("brand".to_owned()),
        Just("lowest_price".to_owned()),
        Just("highest_price".to_owned()),
        Just("rating_min".to_owned()),
        Just("rating_max".to_owned()),
        Just("capacity".to_owned()),
        "[a-z_]{1,10}",
    ];
    proptest::collection::btree_map(field, value, 0..6).prop_map(|m| Value::Object(m.into_iter().collect()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn validation_and_merging_answer_any_arguments(current in arguments(), new in arguments(), viewed in proptest::collection::btree_set("[a-z_]{1,12}", 0..3)) {
        let catalog = catalog();
        let checked = crate::validate(&catalog, &new);
        let _ = crate::validate(&catalog, &checked.arguments);
        let (merged, _) = crate::merge(&current, &new, &viewed);
        if let Some(fields) = merged.as_object() {
            for field in fields.keys() {
                prop_assert!(current.get(field).is_some() || new.get(field).is_some(), "{} came from nowhere", field);
            }
        }
        let _ = crate::changes(&current, &merged);
        let stated: BTreeSet<String> = viewed.clone();
        let _ = crate::feasible::relax(&catalog, &[][..], &checked.arguments, 1, &crate::feasible::GENERIC_ORDER, &stated);
    }
}

/// Items of the catalog above: colour, brand, a price and a rating each.
fn items() -> impl Strategy<Value = Vec<Item>> {
    let item = (
        prop_oneof![Just("green"), Just("red")],
        prop_oneof![Just("Nike"), Just("Zara")],
        10.0f64..200.0,
        1.0f64..5.0,
    );
    proptest::collection::vec(item, 0..24).prop_map(|items| {
        items
            .into_iter()
            .enumerate()
            .map(|(index, (colour, brand, price, rating))| Item {
                id: format!("item-{index}"),
                title: format!("{colour} {brand}"),
                price: (price * 100.0).round() / 100.0,
                image: None,
                attributes: [
                    ("colour".to_owned(), AttributeValue::Text(colour.to_owned())),
                    ("brand".to_owned(), AttributeValue::Text(brand.to_owned())),
                    (
                        "rating".to_owned(),
                        AttributeValue::Number((rating * 10.0).round() / 10.0),
                    ),
                ]
                .into_iter()
                .collect(),
            })
            .collect()
    })
}

/// Constraints the function can express over that catalog.
fn wanted_constraints() -> impl Strategy<Value = (Value, BTreeSet<String>)> {
    (
        proptest::option::of(prop_oneof![Just("green"), Just("red")]),
        proptest::option::of(prop_oneof![Just("Nike"), Just("Zara")]),
        proptest::option::of(10u32..200),
        proptest::option::of(10u32..200),
        proptest::option::of(1u32..5),
        any::<(bool, bool)>(),
    )
        .prop_map(|(colour, brand, low, high, rating, (colour_stated, brand_stated))| {
            let mut arguments = serde_json::Map::new();
            let mut stated = BTreeSet::new();
            if let Some(colour) = colour {
                arguments.insert("colour".into(), json!(colour));
                if colour_stated {
                    stated.insert("colour".to_owned());
                }
            }
            if let Some(brand) = brand {
                arguments.insert("brand".into(), json!(brand));
                if brand_stated {
                    stated.insert("brand".to_owned());
                }
            }
            if let Some(low) = low {
                arguments.insert("lowest_price".into(), json!(low));
            }
            if let Some(high) = high {
                arguments.insert("highest_price".into(), json!(high));
            }
            if let Some(rating) = rating {
                arguments.insert("rating_min".into(), json!(rating));
            }
            (Value::Object(arguments), stated)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn relaxing_never_loses_matches_and_keeps_stated_facts_while_anything_matches(
        items in items(),
        (arguments, stated) in wanted_constraints(),
        wanted in 1usize..8,
    ) {
        let catalog = catalog();
        let checked = crate::validate(&catalog, &arguments).arguments;
        let before = crate::feasible::matching(&catalog, &items[..], &checked).unwrap();
        let relaxed = crate::feasible::relax(&catalog, &items[..], &checked, wanted, &crate::feasible::GENERIC_ORDER, &stated).unwrap();
        let after = crate::feasible::matching(&catalog, &items[..], &relaxed.arguments).unwrap();
        prop_assert_eq!(relaxed.matching, after, "the count it reports is the count its arguments admit");
        prop_assert!(after >= before, "relaxing lost matches: {} before, {} after", before, after);
        if before >= wanted {
            prop_assert_eq!(&relaxed.arguments, &checked, "nothing needed relaxing");
            prop_assert!(relaxed.violations.is_empty());
        }
        // A stated fact goes only when nothing matched with it.
        if before > 0 {
            for fact in &stated {
                prop_assert_eq!(
                    relaxed.arguments.get(fact.as_str()),
                    checked.get(fact.as_str()),
                    "stated `{}` was relaxed though {} items matched", fact, before
                );
            }
        }
    }
}
