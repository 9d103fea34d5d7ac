//! `real-estate`: a domain plugin that takes the place of `validate` for home listings (a
//! session names it as its validating tool; the server knows nothing of real estate). It is an
//! example of how an experimenter adds a domain at run time.
//!
//! On top of the generic validation (units such as `$1.35M`, `3+` and `2,000 sqft`, ranges,
//! values that exist, synonyms such as apartment → condo), it applies what home shoppers mean:
//! - words planners use for the function's fields (`bedrooms`, `beds`, `baths`, `square_feet`,
//!   `max_price`, `budget`, `location`, `home_type`, ...) are read as the catalog's arguments;
//! - bedroom and bathroom counts are minimums: an upper bound on them is dropped (someone
//!   looking at 3-bedroom homes does not refuse a fourth bedroom);
//! - filtering: the listings that satisfy everything are counted; while fewer than
//!   [`MIN_LISTINGS`] (or the capacity, if smaller) remain, constraints are relaxed one at a
//!   time (`interarec_constraints::feasible`) in the order home shoppers give them up: square footage, then bathrooms and bedrooms
//!   one at a time, then the price range by 10% (twice), then the property type. The location is
//!   never relaxed, and what the shopper stated outright (the input's `stated` facts: the
//!   filters the pages showed in force) is given up only when no listing matches at all. Every
//!   change is a violation that says why.
//!
//! Reads the whole catalog through the `catalog` capability in pages of 1,000 listings: meant for
//! catalogs up to about 100,000 listings (the call's time limit bounds it).

use interarec_choice::access::CountAdmitted;
use interarec_constraints::feasible::{Relaxation, relax};
use interarec_constraints::{CatalogFacts, Violation, validate};
use interarec_plugin::catalog::HostCatalog;
use interarec_plugin::validating::{ValidatingAnswer, ValidatingInput};
use interarec_plugin::{Capability, Description, HostError, Tool, ToolError, Value, catalog, export_tool, json};
use serde_json::Map;
use std::collections::BTreeSet;

/// Fewest listings a recommendation should be able to choose from before constraints relax.
pub const MIN_LISTINGS: usize = 3;
/// The order home shoppers give constraints up in; the location is never relaxed.
const HOME_SHOPPERS_ORDER: [Relaxation; 6] = [
    Relaxation::Drop("sqft_min"),
    Relaxation::Drop("sqft_max"),
    Relaxation::LowerMinimum("bathrooms_min"),
    Relaxation::LowerMinimum("bedrooms_min"),
    Relaxation::WidenPrice(2),
    Relaxation::Drop("property_type"),
];
/// Attributes a real-estate catalog has.
const REQUIRED_ATTRIBUTES: [&str; 2] = ["city", "bedrooms"];

/// Field names planners use, and the function's argument each means.
const FIELD_WORDS: [(&str, &str); 16] = [
    ("bedrooms", "bedrooms_min"),
    ("beds", "bedrooms_min"),
    ("min_bedrooms", "bedrooms_min"),
    ("bathrooms", "bathrooms_min"),
    ("baths", "bathrooms_min"),
    ("min_bathrooms", "bathrooms_min"),
    ("square_feet", "sqft_min"),
    ("min_sqft", "sqft_min"),
    ("max_sqft", "sqft_max"),
    ("max_price", "highest_price"),
    ("budget", "highest_price"),
    ("min_price", "lowest_price"),
    ("location", "city"),
    ("cities", "city"),
    ("home_type", "property_type"),
    ("type", "property_type"),
];

/// The tool.
pub struct RealEstate;

impl Tool for RealEstate {
    type Arguments = ValidatingInput;
    type Output = ValidatingAnswer;

    fn describe() -> Description {
        Description::new(
            "real-estate",
            "0.1.0",
            "Validates and filters the arguments of get_user_recommendations for a real-estate catalog: cities, property type, minimum bedrooms and bathrooms, square footage and price ranges (units such as $1.35M, 3+, 2,000 sqft). Counts are minimums; constraints that leave fewer than 3 listings are relaxed (square footage, bathrooms, bedrooms, price, property type; never the location). Returns the violations, the repaired arguments, the optimizer constraints and how many listings match.",
        )
        .capability(Capability::Catalog)
    }

    fn invoke(input: ValidatingInput) -> Result<ValidatingAnswer, ToolError> {
        let catalog_id = input.catalog_id.as_str();
        let description = catalog::describe(catalog_id).map_err(HostError::named_by_caller)?;
        let facts = CatalogFacts::from_json(&description.to_string()).map_err(ToolError::Failed)?;
        for attribute in REQUIRED_ATTRIBUTES {
            if !facts.attributes.iter().any(|a| a.name == attribute) {
                return Err(ToolError::InvalidArguments(format!(
                    "catalog `{catalog_id}` has no `{attribute}` attribute, so it is not a real-estate catalog; validate its constraints with the `validate` tool"
                )));
            }
        }
        review(
            &facts,
            &HostCatalog { catalog_id },
            &input.arguments,
            &input.stated.iter().cloned().collect(),
        )
    }
}

export_tool!(RealEstate);

fn violation(field: &str, value: &Value, problem: String, repair: String) -> Violation {
    Violation {
        field: field.to_owned(),
        value: value.clone(),
        problem,
        repair,
    }
}

/// The review of one set of arguments: the generic validation, the domain's readings, and the
/// relaxations filtering needed, counting over `items` (the host's columns, or items in a test).
pub fn review<C: CountAdmitted + ?Sized>(
    facts: &CatalogFacts,
    items: &C,
    arguments: &Value,
    stated: &BTreeSet<String>,
) -> Result<ValidatingAnswer, C::Error> {
    let mut violations = Vec::new();
    // Field names planners use, read as the function's arguments (the generic validation
    // would drop them as unknown).
    let mut named = Map::new();
    for (field, value) in arguments.as_object().cloned().unwrap_or_default() {
        let meant = FIELD_WORDS
            .iter()
            .find(|(word, _)| field.eq_ignore_ascii_case(word))
            .map(|(_, meant)| *meant);
        match meant {
            Some(meant) if arguments.get(meant).is_none_or(|v| v.is_null()) => {
                violations.push(violation(
                    &field,
                    &value,
                    format!("`{field}` is not an argument of the function"),
                    format!("read as {meant}"),
                ));
                named.insert(meant.to_owned(), value);
            }
            _ => {
                named.insert(field, value);
            }
        }
    }
    let first = validate(facts, &Value::Object(named));
    violations.extend(first.violations);
    let mut arguments = first.arguments.as_object().cloned().unwrap_or_default();
    for field in ["bedrooms_max", "bathrooms_max"] {
        if let Some(value) = arguments.remove(field) {
            violations.push(violation(
                field,
                &value,
                "bedroom and bathroom counts are minimums: a shopper looking at homes of this size does not refuse a bigger one".into(),
                "dropped".into(),
            ));
        }
    }
    let capacity = arguments
        .get("capacity")
        .and_then(Value::as_u64)
        .map_or(interarec_choice::recommend::DEFAULT_CAPACITY, |c| c as usize);
    let wanted = MIN_LISTINGS.min(capacity.max(1));
    let relaxed = relax(
        facts,
        items,
        &Value::Object(arguments),
        wanted,
        &HOME_SHOPPERS_ORDER,
        stated,
    )?;
    violations.extend(relaxed.violations);
    let valid = violations.is_empty();
    let mut answer = validate(facts, &relaxed.arguments).into_answer();
    answer.valid = valid;
    answer.violations = violations;
    answer.extra.insert("matching_items".into(), json!(relaxed.matching));
    answer.extra.insert("domain".into(), json!("real-estate"));
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use interarec_choice::item::AttributeValue;
    use interarec_choice::item::Item;

    fn facts() -> CatalogFacts {
        CatalogFacts::from_json(
            r#"{"id": "homes", "price_min": 400000, "price_max": 3000000, "attributes": [
              {"name": "city", "type": "text", "vocabulary": ["Oakland", "Fremont", "San Jose"], "present": 6},
              {"name": "property_type", "type": "text", "vocabulary": ["condo", "house"], "present": 6},
              {"name": "bedrooms", "type": "number", "min": 1, "max": 5, "present": 6},
              {"name": "bathrooms", "type": "number", "min": 1, "max": 4, "present": 6},
              {"name": "sqft", "type": "number", "min": 600, "max": 4000, "present": 6}
            ]}"#,
        )
        .unwrap()
    }

    /// (id, city, type, bedrooms, bathrooms, sqft, price)
    fn listings() -> Vec<Item> {
        let rows: [(&str, &str, &str, f64, f64, f64, f64); 6] = [
            ("o1", "Oakland", "condo", 2.0, 1.0, 900.0, 650_000.0),
            ("o2", "Oakland", "condo", 3.0, 2.0, 1_400.0, 890_000.0),
            ("o3", "Oakland", "house", 3.0, 2.0, 1_800.0, 1_250_000.0),
            ("o4", "Oakland", "condo", 2.0, 2.0, 1_100.0, 720_000.0),
            ("f1", "Fremont", "house", 4.0, 3.0, 2_400.0, 1_600_000.0),
            ("s1", "San Jose", "condo", 1.0, 1.0, 700.0, 480_000.0),
        ];
        rows.iter()
            .map(|(id, city, kind, beds, baths, sqft, price)| Item {
                id: (*id).into(),
                title: format!("{kind} in {city}"),
                price: *price,
                image: None,
                attributes: [
                    ("city", AttributeValue::Text((*city).into())),
                    ("property_type", AttributeValue::Text((*kind).into())),
                    ("bedrooms", AttributeValue::Number(*beds)),
                    ("bathrooms", AttributeValue::Number(*baths)),
                    ("sqft", AttributeValue::Number(*sqft)),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
            })
            .collect()
    }

    #[test]
    fn domain_words_counts_as_minimums_and_relaxation_in_the_shoppers_order() {
        // (arguments, repaired arguments, (field, repair fragment) of each violation, listings)
        let cases: Vec<(Value, Value, Vec<(&str, &str)>, u64)> = vec![
            (
                json!({"city": ["Oakland"], "property_type": ["condo"], "highest_price": "$1.35M", "capacity": 4}),
                json!({"city": ["Oakland"], "property_type": ["condo"], "highest_price": 1_350_000.0, "capacity": 4}),
                vec![("highest_price", "read as")],
                3,
            ),
            (
                json!({"location": "oakland", "beds": "2+", "bedrooms_max": 3, "home_type": "apartment"}),
                json!({"city": ["Oakland"], "bedrooms_min": 2.0, "property_type": ["condo"]}),
                vec![
                    ("location", "read as city"),
                    ("beds", "read as bedrooms_min"),
                    ("home_type", "read as property_type"),
                ],
                3,
            ),
            (
                // Only o2 has 3 bedrooms in an Oakland condo of 1,200+ sqft: square footage
                // goes first, then a bedroom.
                json!({"city": ["Oakland"], "property_type": ["condo"], "bedrooms_min": 3, "sqft_min": 1200}),
                json!({"city": ["Oakland"], "property_type": ["condo"], "bedrooms_min": 2.0}),
                vec![
                    ("sqft_min", "dropped (3 item(s)"),
                    ("bedrooms_min", "lowered to 2 (3 item(s)"),
                ],
                3,
            ),
            (
                // The location is never given up: Fremont's one listing is a $1.6M house, out of
                // reach of what relaxing may do, so nothing is relaxed for nothing.
                json!({"city": ["Fremont"], "property_type": ["condo"], "highest_price": 900000}),
                json!({"city": ["Fremont"], "property_type": ["condo"], "highest_price": 900000.0}),
                vec![],
                0,
            ),
        ];
        for (arguments, repaired, expected, matching) in cases {
            let review =
                serde_json::to_value(review(&facts(), &listings()[..], &arguments, &BTreeSet::new()).unwrap()).unwrap();
            let found: Vec<(String, String)> = review["violations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| {
                    (
                        v["field"].as_str().unwrap().to_owned(),
                        v["repair"].as_str().unwrap().to_owned(),
                    )
                })
                .collect();
            let mut matched = 0;
            for (field, fragment) in &expected {
                assert!(
                    found.iter().any(|(f, r)| f == field && r.contains(fragment)),
                    "{arguments}: no violation ({field}, {fragment}) in {found:?}"
                );
                matched += 1;
            }
            assert_eq!(review["matching_items"], matching, "{arguments}: {review:#}");
            assert_eq!(review["valid"], found.is_empty(), "{arguments}");
            if arguments.get("bedrooms_max").is_some() {
                assert!(
                    found.iter().any(|(f, r)| f == "bedrooms_max" && r == "dropped"),
                    "{found:?}"
                );
                matched += 1;
            }
            assert!(matched <= found.len());
            assert_eq!(review["arguments"], repaired, "{arguments}: {review:#}");
        }
    }

    #[test]
    fn what_the_shopper_stated_is_kept_while_inferred_facts_make_room() {
        let arguments = json!({"city": ["Oakland"], "property_type": ["condo"], "bedrooms_min": 3, "sqft_min": 1200});
        // (stated facts, repaired arguments, listings matching)
        let cases: [(&[&str], Value, u64); 2] = [
            // Nothing stated: a bedroom goes to reach three listings.
            (
                &[],
                json!({"city": ["Oakland"], "property_type": ["condo"], "bedrooms_min": 2.0}),
                3,
            ),
            // Three bedrooms and a condo were filters: the one listing that is all of it (its
            // 1,400 sqft meet the inferred minimum too, so that stays).
            (
                &["bedrooms", "property_type"],
                json!({"city": ["Oakland"], "property_type": ["condo"], "bedrooms_min": 3.0, "sqft_min": 1200.0}),
                1,
            ),
        ];
        for (stated, repaired, matching) in cases {
            let stated: BTreeSet<String> = stated.iter().map(|s| (*s).to_owned()).collect();
            let review = serde_json::to_value(review(&facts(), &listings()[..], &arguments, &stated).unwrap()).unwrap();
            assert_eq!(review["arguments"], repaired, "stated {stated:?}: {review:#}");
            assert_eq!(review["matching_items"], matching, "stated {stated:?}");
        }
        // Stated, but no Oakland condo has four bedrooms: the count goes down only until one
        // listing matches.
        let stated: BTreeSet<String> = ["bedrooms", "property_type"].map(str::to_owned).into();
        let review = serde_json::to_value(
            review(
                &facts(),
                &listings()[..],
                &json!({"city": ["Oakland"], "property_type": ["condo"], "bedrooms_min": 4}),
                &stated,
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(
            review["arguments"],
            json!({"city": ["Oakland"], "property_type": ["condo"], "bedrooms_min": 3.0}),
            "{review:#}"
        );
        assert_eq!(review["matching_items"], 1);
    }
}
