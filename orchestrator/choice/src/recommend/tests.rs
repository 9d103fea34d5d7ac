//! Constraint semantics as data: each case names the items its constraints allow (or the error
//! it must raise), and the answer must equal the brute-force optimum over exactly those items.

use super::*;
use crate::model::Segment;
use serde_json::json;
use std::collections::BTreeMap;

fn item(id: &str, price: f64, attributes: Value) -> Item {
    Item {
        id: id.into(),
        title: format!("Item {id}"),
        price,
        image: None,
        attributes: serde_json::from_value(attributes).unwrap(),
    }
}

fn catalog() -> Vec<Item> {
    vec![
        item(
            "d1",
            18.0,
            json!({"colour": "Green", "brand": "Asos", "size": ["S", "M"], "rating": 4.5}),
        ),
        item(
            "d2",
            40.0,
            json!({"colour": "green", "brand": "Asos", "size": ["M"], "rating": 3.9}),
        ),
        item(
            "d3",
            75.0,
            json!({"colour": "green", "brand": "Mango", "size": ["L"], "rating": 4.8}),
        ),
        item(
            "d4",
            144.0,
            json!({"colour": "Red", "brand": "Mango", "size": ["S"], "rating": 4.1}),
        ),
        item("d5", 60.0, json!({"colour": "Blue", "brand": "Zara", "rating": 4.0})),
        item(
            "d6",
            95.0,
            json!({"colour": "Green", "brand": "Zara", "size": ["M", "L"]}),
        ),
        item(
            "d7",
            210.0,
            json!({"colour": "Black", "brand": "Asos", "size": ["XL"], "rating": 5.0}),
        ),
        // No estimate in the model: never offered.
        item("d8", 30.0, json!({"colour": "Green", "brand": "Asos"})),
    ]
}

fn model() -> ChoiceModel {
    let intercepts = [
        ("d1", 0.2),
        ("d2", 0.9),
        ("d3", 1.4),
        ("d4", 2.6),
        ("d5", 1.1),
        ("d6", 1.9),
        ("d7", 3.1),
    ];
    intercepts
        .iter()
        .fold(
            ChoiceModel::builder("fashion")
                .catalog("fashion")
                .price_coefficient(-0.02, 0.001),
            |model, &(id, intercept)| model.item(id, intercept, 0.1, "dresses"),
        )
        .build()
}

/// Best revenue over every subset of `allowed` obeying the cardinality rule, the per-value cap
/// on brand (when given) and the required items.
fn brute_force(items: &[Item], segment: &Segment, allowed: &[&str], constraints: &Constraints) -> f64 {
    let pool: Vec<&Item> = items.iter().filter(|i| allowed.contains(&i.id.as_str())).collect();
    let capacity = constraints.capacity.unwrap_or(DEFAULT_CAPACITY);
    let mut best = 0.0f64;
    for mask in 0u32..(1 << pool.len()) {
        let chosen: Vec<&Item> = (0..pool.len())
            .filter(|b| mask >> b & 1 == 1)
            .map(|b| pool[b])
            .collect();
        let size_ok = if constraints.exactly {
            chosen.len() == capacity
        } else {
            chosen.len() <= capacity
        };
        let required_ok = constraints
            .must_include
            .iter()
            .all(|id| chosen.iter().any(|i| &i.id == id));
        let cap_ok = constraints.max_per_value.as_ref().is_none_or(|cap| {
            let mut counts: BTreeMap<String, usize> = BTreeMap::new();
            chosen.iter().all(|i| {
                let key = match i.attributes.get(&cap.attribute) {
                    Some(AttributeValue::Text(t)) => t.to_lowercase(),
                    _ => return true,
                };
                let count = counts.entry(key).or_default();
                *count += 1;
                *count <= cap.max
            })
        });
        if !(size_ok && required_ok && cap_ok) {
            continue;
        }
        let (mut pv, mut v) = (0.0, NO_PURCHASE_WEIGHT);
        for i in &chosen {
            let w = segment.weight(&i.id, i.price).unwrap();
            pv += i.price * w;
            v += w;
        }
        best = best.max(pv / v);
    }
    best
}

enum Expect {
    /// The items the constraints allow.
    Allowed(&'static [&'static str]),
    /// Empty, with a reason containing the text.
    Empty(&'static str),
    /// An error containing the text.
    Error(&'static str),
}

#[test]
fn constraints_select_exactly_the_allowed_items_and_the_optimum_over_them() {
    use Expect::*;
    let all: &[&str] = &["d1", "d2", "d3", "d4", "d5", "d6", "d7"];
    let cases: Vec<(&str, Value, Expect)> = vec![
        ("no constraints", json!({}), Allowed(all)),
        (
            "price range",
            json!({"lowest_price": 18, "highest_price": 95}),
            Allowed(&["d1", "d2", "d3", "d5", "d6"]),
        ),
        (
            "colour without case",
            json!({"filters": [{"attribute": "colour", "equals": "GREEN"}]}),
            Allowed(&["d1", "d2", "d3", "d6"]),
        ),
        (
            "green dresses $18-$144 (the paper's example)",
            json!({"lowest_price": 18, "highest_price": 144, "filters": [{"attribute": "colour", "one_of": ["green"]}], "capacity": 3}),
            Allowed(&["d1", "d2", "d3", "d6"]),
        ),
        (
            "none_of keeps items without the attribute",
            json!({"filters": [{"attribute": "size", "none_of": ["S"]}]}),
            Allowed(&["d2", "d3", "d5", "d6", "d7"]),
        ),
        (
            "one_of on a list",
            json!({"filters": [{"attribute": "size", "one_of": ["L"]}]}),
            Allowed(&["d3", "d6"]),
        ),
        (
            "numeric range needs the attribute",
            json!({"filters": [{"attribute": "rating", "min": 4.0, "max": 4.9}]}),
            Allowed(&["d1", "d3", "d4", "d5"]),
        ),
        (
            "number equals",
            json!({"filters": [{"attribute": "rating", "equals": 5}]}),
            Allowed(&["d7"]),
        ),
        (
            "two filters",
            json!({"filters": [{"attribute": "brand", "one_of": ["asos", "zara"]}, {"attribute": "colour", "none_of": ["black"]}]}),
            Allowed(&["d1", "d2", "d5", "d6"]),
        ),
        (
            "exclude",
            json!({"exclude": ["d7", "d4"]}),
            Allowed(&["d1", "d2", "d3", "d5", "d6"]),
        ),
        (
            "must include a cheap item",
            json!({"must_include": ["d1"], "capacity": 2}),
            Allowed(all),
        ),
        (
            "at most one per brand",
            json!({"max_per_value": {"attribute": "brand", "max": 1}, "capacity": 5}),
            Allowed(all),
        ),
        ("exactly five", json!({"capacity": 5, "exactly": true}), Allowed(all)),
        ("capacity one", json!({"capacity": 1}), Allowed(all)),
        (
            "price range empties it",
            json!({"lowest_price": 300}),
            Empty("no item left after the price range 300–any (7 items qualified before it)"),
        ),
        (
            "second filter empties it",
            json!({"filters": [{"attribute": "colour", "equals": "red"}, {"attribute": "brand", "equals": "asos"}]}),
            Empty("no item left after the filter `brand` = asos (1 items qualified before it)"),
        ),
        (
            "unknown attribute",
            json!({"filters": [{"attribute": "bedrooms", "min": 3}]}),
            Error("no item has the attribute `bedrooms`; the catalog's attributes are: brand, colour, rating, size"),
        ),
        (
            "filter without condition",
            json!({"filters": [{"attribute": "colour"}]}),
            Error("has no condition"),
        ),
        (
            "swapped prices",
            json!({"lowest_price": 100, "highest_price": 20}),
            Error("lowest_price 100 is above highest_price 20; swap them"),
        ),
        (
            "negative price",
            json!({"highest_price": -1}),
            Error("highest_price must be a non-negative number"),
        ),
        (
            "zero capacity",
            json!({"capacity": 0}),
            Error("capacity must be at least 1"),
        ),
        (
            "unknown id",
            json!({"exclude": ["nope"]}),
            Error("there is no item `nope` in the catalog"),
        ),
        (
            "required item without estimate",
            json!({"must_include": ["d8"]}),
            Error("item `d8` must be included but the model has no estimate for it"),
        ),
        (
            "required item filtered out",
            json!({"must_include": ["d4"], "filters": [{"attribute": "colour", "equals": "green"}]}),
            Error("item `d4` must be included but it fails the other constraints"),
        ),
        (
            "cap on a list attribute",
            json!({"max_per_value": {"attribute": "size", "max": 1}}),
            Error("`size` is a list attribute"),
        ),
        (
            "exactly more than qualify",
            json!({"capacity": 3, "exactly": true, "filters": [{"attribute": "size", "one_of": ["L"]}]}),
            Error("infeasible"),
        ),
    ];
    let items = catalog();
    let model = model();
    let segment = model.segment(None).unwrap();
    for (name, constraints, expected) in cases {
        let constraints: Constraints = serde_json::from_value(constraints).unwrap_or_else(|e| panic!("{name}: {e}"));
        let result = recommend(&items, &model, None, &constraints);
        match expected {
            Allowed(allowed) => {
                let answer = result.unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(answer.without_estimate, 1, "{name}");
                assert!(!answer.items.is_empty(), "{name}: empty");
                for shown in &answer.items {
                    assert!(
                        allowed.contains(&shown.id.as_str()),
                        "{name}: {} is not allowed",
                        shown.id
                    );
                }
                for required in &constraints.must_include {
                    assert!(
                        answer.items.iter().any(|i| &i.id == required),
                        "{name}: {required} missing"
                    );
                }
                let best = brute_force(&items, segment, allowed, &constraints);
                assert!(
                    (answer.expected_revenue - best).abs() <= 1e-9 * best,
                    "{name}: revenue {} but brute force finds {best}",
                    answer.expected_revenue
                );
                assert!(answer.certificate.holds, "{name}");
                let total: f64 =
                    answer.items.iter().map(|i| i.probability).sum::<f64>() + answer.no_purchase_probability;
                assert!((total - 1.0).abs() < 1e-12, "{name}: probabilities sum to {total}");
            }
            Empty(reason) => {
                let answer = result.unwrap_or_else(|e| panic!("{name}: {e}"));
                assert!(answer.items.is_empty(), "{name}");
                assert_eq!(answer.empty_reason.as_deref(), Some(reason), "{name}");
                assert_eq!(answer.expected_revenue, 0.0, "{name}");
            }
            Error(text) => {
                let error = result
                    .err()
                    .unwrap_or_else(|| panic!("{name}: expected an error"))
                    .to_string();
                assert!(error.contains(text), "{name}: `{error}` lacks `{text}`");
            }
        }
    }
}

#[test]
fn unknown_fields_are_refused_by_name() {
    let error = serde_json::from_value::<Constraints>(json!({"colour": "green"}))
        .unwrap_err()
        .to_string();
    assert!(error.contains("unknown field `colour`"), "{error}");
}

#[test]
fn a_model_for_other_items_says_so() {
    let mut model = model();
    model.segments[0].items.clear();
    let answer = recommend(&catalog(), &model, None, &Constraints::default()).unwrap();
    assert!(answer.items.is_empty());
    assert!(
        answer
            .empty_reason
            .unwrap()
            .contains("the model has no estimate for any of the catalog's 8 items")
    );
    let error = recommend(&catalog(), &model, Some("teens"), &Constraints::default()).unwrap_err();
    assert!(error.to_string().contains("no segment `teens`"));
}
