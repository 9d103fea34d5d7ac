//! Data-driven cases: the generated function, validation and repair, filling from summaries,
//! refinement.

use super::*;
use interarec_summary::parse_summary;
use std::collections::BTreeSet;

fn catalog(text: &str) -> CatalogFacts {
    CatalogFacts::from_json(text).expect("a catalog record")
}

fn fashion() -> CatalogFacts {
    catalog(
        r#"{"id": "fashion", "name": "Atelier Lane", "item_count": 180, "price_min": 13.99, "price_max": 171.99,
            "attributes": [
              {"name": "brand", "type": "text", "vocabulary": ["Mango", "Nobody's Child", "Zara"], "present": 180},
              {"name": "category", "type": "text", "vocabulary": ["dress", "skirt", "top"], "present": 180},
              {"name": "colour", "type": "text", "vocabulary": ["black", "green", "grey", "red"], "present": 180},
              {"name": "image", "type": "text", "vocabulary": ["/a.svg", "/b.svg"], "present": 180},
              {"name": "rating", "type": "number", "min": 3.0, "max": 5.0, "present": 180}
            ], "imported_at_unix_ms": 0, "rejected_rows": 0}"#,
    )
}

fn homes() -> CatalogFacts {
    catalog(
        r#"{"id": "homes", "price_min": 549988, "price_max": 3005000,
            "attributes": [
              {"name": "city", "type": "text", "vocabulary": ["Oakland", "Pacifica", "San Jose"], "present": 180},
              {"name": "property_type", "type": "text", "vocabulary": ["condo", "house", "townhouse"], "present": 180},
              {"name": "bedrooms", "type": "number", "min": 1, "max": 6, "present": 180},
              {"name": "sqft", "type": "number", "min": 600, "max": 4200, "present": 180}
            ]}"#,
    )
}

#[test]
fn the_function_is_generated_from_the_schema() {
    let function = function_definition(&homes());
    assert_eq!(function["name"], FUNCTION_NAME);
    let properties = function["parameters"]["properties"].as_object().unwrap();
    let mut names: Vec<&str> = properties.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "bedrooms_max",
            "bedrooms_min",
            "capacity",
            "city",
            "highest_price",
            "lowest_price",
            "property_type",
            "sqft_max",
            "sqft_min"
        ]
    );
    assert_eq!(
        properties["city"]["items"]["enum"],
        json!(["Oakland", "Pacifica", "San Jose"])
    );
    assert_eq!(properties["bedrooms_min"]["maximum"], 6.0);
    assert_eq!(properties["capacity"]["default"], 8);
    // Picture URLs are not something to filter by.
    assert!(
        function_definition(&fashion())["parameters"]["properties"]
            .get("image")
            .is_none()
    );
}

#[test]
fn validation_repairs_what_it_can_and_says_what_it_did() {
    // (catalog, arguments, expected repaired arguments, expected (field, repair) pairs)
    let cases: Vec<(CatalogFacts, Value, Value, Vec<(&str, &str)>)> = vec![
        (
            fashion(),
            json!({"lowest_price": 18, "highest_price": 144, "colour": ["green"]}),
            json!({"lowest_price": 18.0, "highest_price": 144.0, "colour": ["green"]}),
            vec![],
        ),
        (
            fashion(),
            json!({"lowest_price": 144, "highest_price": 18}),
            json!({"lowest_price": 18.0, "highest_price": 144.0}),
            vec![("lowest_price", "swapped")],
        ),
        (
            fashion(),
            json!({"colour": ["teal green", "Crimson", "gray", "purple"]}),
            json!({"colour": ["green", "red", "grey"]}),
            vec![
                ("colour", "mapped to `green` (named inside `teal green`)"),
                ("colour", "mapped to `red` (synonym)"),
                ("colour", "mapped to `grey` (synonym)"),
                ("colour", "dropped"),
            ],
        ),
        (
            fashion(),
            json!({"category": "Dresses", "brand": ["zara", "Nobodys Child", "Mnago"]}),
            json!({"category": ["dress"], "brand": ["Zara", "Nobody's Child", "Mango"]}),
            vec![
                ("brand", "mapped to `Zara` (case)"),
                ("brand", "mapped to `Nobody's Child` (near spelling)"),
                ("brand", "mapped to `Mango` (near spelling)"),
                ("category", "mapped to `dress` (plural)"),
            ],
        ),
        (
            fashion(),
            json!({"highest_price": "under $100", "capacity": 100, "size": ["M"]}),
            json!({"highest_price": 100.0, "capacity": 50}),
            vec![
                ("capacity", "set to 50"),
                ("highest_price", "read as 100"),
                ("size", "dropped"),
            ],
        ),
        (
            fashion(),
            json!({"lowest_price": 500, "highest_price": 900}),
            json!({"highest_price": 900.0}),
            vec![("lowest_price", "dropped")],
        ),
        (
            fashion(),
            json!({"highest_price": 5}),
            json!({}),
            vec![("highest_price", "dropped")],
        ),
        (
            fashion(),
            json!({"rating_min": 4.5, "rating_max": 9, "colour": "not available"}),
            json!({"rating_min": 4.5}),
            vec![("rating_max", "dropped")],
        ),
        (
            homes(),
            json!({"highest_price": "$1.35M", "bedrooms_min": "3+", "city": ["san jose", "Fremont"], "property_type": ["apartment"]}),
            json!({"highest_price": 1_350_000.0, "bedrooms_min": 3.0, "city": ["San Jose"], "property_type": ["condo"]}),
            vec![
                ("bedrooms_min", "read as 3"),
                ("city", "mapped to `San Jose` (case)"),
                ("city", "dropped"),
                ("highest_price", "read as 1350000"),
                ("property_type", "mapped to `condo` (synonym)"),
            ],
        ),
        (
            homes(),
            json!({"bedrooms_min": 1, "sqft_min": "2,000 sqft", "sqft_max": 1500}),
            json!({"sqft_min": 1500.0, "sqft_max": 2000.0}),
            vec![
                ("bedrooms_min", "dropped"),
                ("sqft_min", "read as 2000"),
                ("sqft_min", "swapped"),
            ],
        ),
        (
            homes(),
            json!("cheap"),
            json!({}),
            vec![("", "ignored; no constraint applied")],
        ),
    ];
    for (catalog, arguments, expected, repairs) in cases {
        let validation = validate(&catalog, &arguments);
        assert_eq!(validation.arguments, expected, "{arguments}");
        let got: Vec<(&str, &str)> = validation
            .violations
            .iter()
            .map(|v| (v.field.as_str(), v.repair.as_str()))
            .collect();
        assert_eq!(got, repairs, "{arguments}: {:#?}", validation.violations);
        assert_eq!(validation.valid, repairs.is_empty());
    }
}

#[test]
fn repaired_arguments_become_the_optimizer_constraints() {
    let validation = validate(
        &homes(),
        &json!({"lowest_price": 900000, "highest_price": 1400000, "city": ["Pacifica", "San Jose"], "bedrooms_min": 3, "capacity": 4}),
    );
    let constraints = serde_json::to_value(&validation.constraints).unwrap();
    assert_eq!(constraints["lowest_price"], 900000.0);
    assert_eq!(constraints["capacity"], 4);
    assert_eq!(
        constraints["filters"],
        json!([
            {"attribute": "city", "one_of": ["Pacifica", "San Jose"]},
            {"attribute": "bedrooms", "min": 3.0}
        ])
    );
}

#[test]
fn summaries_fill_the_function() {
    // (catalog, model answer, expected arguments)
    let cases: Vec<(CatalogFacts, &str, Value)> = vec![
        (
            fashion(),
            r#"{"Product Characteristics": "red dress", "Lowest Price": "$53.99", "Highest Price": "$99.99", "Brand Preference": ["Mango", "Zara"], "Product Specifications": {"colour": "red", "category": "dress"}, "Promotions": "not available"}"#,
            json!({"lowest_price": 53.99, "highest_price": 99.99, "brand": ["Mango", "Zara"], "category": ["dress"], "colour": ["red"], "capacity": 8}),
        ),
        (
            // A network model's prose: values named in the characteristics, no specifications.
            fashion(),
            r#"json {"Product Characteristics": "The shopper likes green dresses", "Lowest Price": "18.00$", "Highest Price": "not available", "Brand Preference": "not available"}"#,
            json!({"lowest_price": 18.0, "category": ["dress"], "colour": ["green"], "capacity": 8}),
        ),
        (
            homes(),
            r#"{"Lowest Price": "not available", "Highest Price": "$1.4M", "Product Specifications": {"city": ["Pacifica", "San Jose"], "bedrooms": {"min": 3, "max": 5}, "sqft": {"min": 1500, "max": 2600}}}"#,
            json!({"highest_price": 1_400_000.0, "city": ["Pacifica", "San Jose"], "bedrooms_min": 3.0, "sqft_min": 1500.0, "capacity": 8}),
        ),
    ];
    for (catalog, answer, expected) in cases {
        let summary = parse_summary(answer).expect("parses").summary;
        assert_eq!(from_summary(&summary, &catalog, 8), expected, "{answer}");
    }
}

#[test]
fn refinement_keeps_unstated_fields_and_names_each_change() {
    let current = json!({"lowest_price": 20.0, "highest_price": 100.0, "colour": ["green"], "capacity": 8});
    let new =
        json!({"lowest_price": 30.0, "highest_price": 150.0, "colour": ["red"], "brand": ["Zara"], "capacity": 8});
    let (merged, changes) = merge(&current, &new, &BTreeSet::new());
    assert_eq!(
        merged,
        json!({"lowest_price": 30.0, "highest_price": 150.0, "colour": ["red"], "brand": ["Zara"], "capacity": 8})
    );
    let kinds: Vec<(&str, &str)> = changes.iter().map(|c| (c.field.as_str(), c.kind.as_str())).collect();
    assert_eq!(
        kinds,
        [
            ("brand", "added"),
            ("colour", "replaced"),
            ("highest_price", "widened"),
            ("lowest_price", "narrowed")
        ]
    );
    let (kept, none) = merge(&merged, &json!({"capacity": 8}), &BTreeSet::new());
    assert_eq!((kept, none.len()), (merged.clone(), 0));
    // One product looked at, priced inside the range: the range stands.
    let (kept, none) = merge(
        &merged,
        &json!({"lowest_price": 99.0, "highest_price": 99.0}),
        &BTreeSet::new(),
    );
    assert_eq!((kept, none.len()), (merged.clone(), 0));
    // Outside it, it is new evidence.
    let (moved, changes) = merge(
        &merged,
        &json!({"lowest_price": 199.0, "highest_price": 199.0}),
        &BTreeSet::new(),
    );
    assert_eq!((moved["lowest_price"].as_f64(), changes.len()), (Some(199.0), 2));
}

#[test]
fn bounds_resting_only_on_what_was_viewed_never_move_an_earlier_bound() {
    let current =
        json!({"lowest_price": 900000.0, "highest_price": 1400000.0, "bedrooms_min": 3.0, "city": ["Pacifica"]});
    // (new batch, facts resting only on views, merged)
    let cases = [
        // A related row or an unfiltered page reaching past the range does not widen it.
        (
            json!({"lowest_price": 65.0, "highest_price": 1245000.0}),
            vec!["lowest_price", "highest_price"],
            json!({"lowest_price": 900000.0, "highest_price": 1400000.0}),
        ),
        // The same range from a refined listing is the shopper's new range.
        (
            json!({"lowest_price": 65.0, "highest_price": 1245000.0}),
            vec![],
            json!({"lowest_price": 65.0, "highest_price": 1245000.0}),
        ),
        // Homes opened outside the range: the shopper moved on.
        (
            json!({"lowest_price": 2000000.0, "highest_price": 2100000.0}),
            vec!["lowest_price", "highest_price"],
            json!({"lowest_price": 2000000.0, "highest_price": 2100000.0}),
        ),
        // A 4-bedroom home opened does not narrow "3+ bedrooms", nor widen it; a bound not set
        // before is added; a categorical value is recent evidence as always.
        (
            json!({"bedrooms_min": 4.0, "bathrooms_min": 2.0, "city": ["San Jose"]}),
            vec!["bedrooms", "bathrooms", "city"],
            json!({"bedrooms_min": 3.0, "bathrooms_min": 2.0, "city": ["San Jose"]}),
        ),
        (
            json!({"bedrooms_min": 2.0}),
            vec!["bedrooms"],
            json!({"bedrooms_min": 3.0}),
        ),
        (json!({"bedrooms_min": 4.0}), vec![], json!({"bedrooms_min": 4.0})),
    ];
    for (new, viewed, expected) in cases {
        let viewed: BTreeSet<String> = viewed.into_iter().map(str::to_owned).collect();
        let (merged, _) = merge(&current, &new, &viewed);
        for (field, value) in expected.as_object().unwrap() {
            assert_eq!(&merged[field], value, "{field} after {new} (viewed only: {viewed:?})");
        }
    }
}

#[test]
fn changes_name_every_field_that_differs() {
    let before = json!({"colour": ["green"], "lowest_price": 80.0, "highest_price": 130.0, "brand": ["Zara"]});
    let after = json!({"colour": ["red"], "lowest_price": 70.0, "highest_price": 120.0, "category": ["dress"]});
    let got: Vec<(String, String)> = crate::changes(&before, &after)
        .into_iter()
        .map(|c| (c.field, c.kind))
        .collect();
    let expected = [
        ("brand", "removed"),
        ("category", "added"),
        ("colour", "replaced"),
        ("highest_price", "narrowed"),
        ("lowest_price", "widened"),
    ];
    assert_eq!(got, expected.map(|(f, k)| (f.to_owned(), k.to_owned())).to_vec());
}

#[test]
fn relaxation_gives_up_preferences_in_order_until_something_matches() {
    use crate::feasible::{GENERIC_ORDER, relax};
    use interarec_choice::item::{AttributeValue, Item};
    // (id, brand, category, colour, rating, price)
    let rows = [
        ("d1", "Zara", "dress", "green", 4.5, 90.0),
        ("d2", "Mango", "dress", "red", 4.0, 60.0),
        ("t1", "Zara", "top", "black", 3.5, 30.0),
        ("s1", "Mango", "skirt", "green", 4.0, 45.0),
    ];
    let items: Vec<Item> = rows
        .iter()
        .map(|(id, brand, category, colour, rating, price)| Item {
            id: (*id).into(),
            title: format!("{brand} {colour} {category}"),
            price: *price,
            image: None,
            attributes: [
                ("brand", AttributeValue::Text((*brand).into())),
                ("category", AttributeValue::Text((*category).into())),
                ("colour", AttributeValue::Text((*colour).into())),
                ("rating", AttributeValue::Number(*rating)),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        })
        .collect();
    // (validated arguments, relaxations as (field, start of the repair), items matching after)
    let cases: Vec<(Value, Vec<(&str, &str)>, usize)> = vec![
        (json!({"colour": ["green"]}), vec![], 2),
        (
            json!({"brand": ["Mango"], "colour": ["green"], "category": ["dress"]}),
            vec![("brand", "dropped (1 item(s)")],
            1,
        ),
        (
            json!({"colour": ["red"], "category": ["dress"], "lowest_price": 80.0, "highest_price": 100.0}),
            // The price was widened twice before the colour went; neither widening was needed.
            vec![("colour", "dropped (1")],
            1,
        ),
        (
            json!({"category": ["skirt"], "rating_min": 4.9}),
            vec![("rating_min", "dropped (1")],
            1,
        ),
        // The category is never given up: the only skirt is a green Mango one, so both the
        // brand and the colour go.
        (
            json!({"category": ["skirt"], "colour": ["black"], "brand": ["Zara"]}),
            vec![("brand", "dropped (1"), ("colour", "dropped (1")],
            1,
        ),
        (
            json!({"category": ["top"], "colour": ["green"]}),
            vec![("colour", "dropped (1")],
            1,
        ),
        // The brand goes first, but the Zara top is black: the brand comes back, the colour goes.
        (
            json!({"category": ["top"], "colour": ["green"], "brand": ["Zara"]}),
            vec![("colour", "dropped (1")],
            1,
        ),
    ];
    for (arguments, expected, matching) in cases {
        let relaxed = relax(&fashion(), &items[..], &arguments, 1, &GENERIC_ORDER, &BTreeSet::new()).unwrap();
        let got: Vec<(String, String)> = relaxed
            .violations
            .iter()
            .map(|v| (v.field.clone(), v.repair.clone()))
            .collect();
        assert_eq!(got.len(), expected.len(), "{arguments}: {got:?}");
        for ((field, repair), (want_field, want_repair)) in got.iter().zip(&expected) {
            assert!(
                field == want_field && repair.starts_with(want_repair),
                "{arguments}: {got:?}"
            );
        }
        assert_eq!(relaxed.matching, matching, "{arguments}");
    }

    // What the shopper stated is a requirement: to have more to choose from, only what was
    // inferred goes; a stated fact goes only when nothing matches at all.
    // (arguments, stated facts, items wanted, fields relaxed, items matching after)
    let stated_cases: Vec<(Value, Vec<&str>, usize, Vec<&str>, usize)> = vec![
        // Two items wanted, but Zara and green were both stated: the one green Zara item it is.
        (
            json!({"brand": ["Zara"], "colour": ["green"]}),
            vec!["brand", "colour"],
            2,
            vec![],
            1,
        ),
        // Not stated: the brand goes to reach two.
        (
            json!({"brand": ["Zara"], "colour": ["green"]}),
            vec![],
            2,
            vec!["brand"],
            2,
        ),
        // Only the colour stated: the brand goes.
        (
            json!({"brand": ["Zara"], "colour": ["green"]}),
            vec!["colour"],
            2,
            vec!["brand"],
            2,
        ),
        // Nothing matches with everything stated: then stated facts go too.
        (
            json!({"category": ["top"], "colour": ["green"], "brand": ["Zara"]}),
            vec!["colour", "brand"],
            1,
            vec!["colour"],
            1,
        ),
        // A stated upper price stays while the inferred lower one widens.
        (
            json!({"category": ["dress"], "lowest_price": 95.0, "highest_price": 100.0}),
            vec!["highest_price"],
            1,
            vec!["price"],
            1,
        ),
    ];
    for (arguments, stated, wanted, expected, matching) in stated_cases {
        let stated: BTreeSet<String> = stated.into_iter().map(str::to_owned).collect();
        let relaxed = relax(&fashion(), &items[..], &arguments, wanted, &GENERIC_ORDER, &stated).unwrap();
        let fields: Vec<&str> = relaxed.violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields, expected,
            "{arguments} stated {stated:?}: {:?}",
            relaxed.violations
        );
        assert_eq!(relaxed.matching, matching, "{arguments} stated {stated:?}");
        if arguments.get("highest_price").is_some() && stated.contains("highest_price") {
            assert_eq!(
                relaxed.arguments["highest_price"], arguments["highest_price"],
                "{}",
                relaxed.arguments
            );
        }
    }
}
