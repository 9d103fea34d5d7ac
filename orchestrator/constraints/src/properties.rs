//! Property tests: whatever JSON a planner sends, validation, merging and relaxation answer
//! without panicking, and merging keeps only fields that one of its inputs had.

use crate::CatalogFacts;
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
        let _ = crate::feasible::relax(&catalog, &[], &checked.arguments, 1, &crate::feasible::GENERIC_ORDER, &stated);
    }
}
