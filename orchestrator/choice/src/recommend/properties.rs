//! Property tests: whatever price range, colour filter and capacity a shopper's constraints
//! ask for, the recommendation obeys them and its optimality certificate holds.

use super::*;
use crate::item::AttributeValue;
use proptest::prelude::*;
use std::collections::BTreeMap;

const COLOURS: [&str; 3] = ["green", "red", "blue"];

fn catalog(items: &[(f64, usize, f64)]) -> (Vec<Item>, ChoiceModel) {
    let catalog: Vec<Item> = items
        .iter()
        .enumerate()
        .map(|(i, &(price, colour, _))| Item {
            id: format!("i{i}"),
            title: format!("Item {i}"),
            price,
            image: None,
            attributes: BTreeMap::from([("colour".to_owned(), AttributeValue::Text(COLOURS[colour].to_owned()))]),
        })
        .collect();
    let model = items
        .iter()
        .enumerate()
        .fold(
            ChoiceModel::builder("m").price_coefficient(-0.01, 0.0),
            |model, (i, &(_, _, intercept))| model.item(&format!("i{i}"), intercept, 0.0, "all"),
        )
        .build();
    (catalog, model)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn recommendations_obey_the_constraints_with_a_certificate(
        items in proptest::collection::vec((1.0f64..300.0, 0usize..3, -3.0f64..3.0), 1..30),
        bounds in (0.0f64..300.0, 0.0f64..300.0),
        colours in proptest::collection::btree_set(0usize..3, 0..3),
        capacity in 1usize..8,
    ) {
        let (catalog, model) = catalog(&items);
        let (low, high) = if bounds.0 <= bounds.1 { bounds } else { (bounds.1, bounds.0) };
        let constraints = Constraints {
            lowest_price: Some(low),
            highest_price: Some(high),
            filters: if colours.is_empty() {
                Vec::new()
            } else {
                vec![AttributeFilter {
                    attribute: "colour".into(),
                    one_of: Some(colours.iter().map(|&c| COLOURS[c].to_owned()).collect()),
                    ..AttributeFilter::default()
                }]
            },
            capacity: Some(capacity),
            ..Constraints::default()
        };
        let recommendation = recommend(&catalog, &model, None, &constraints).unwrap();
        prop_assert!(recommendation.certificate.holds, "{:?}", recommendation.certificate);
        prop_assert!(recommendation.items.len() <= capacity);
        for chosen in &recommendation.items {
            let item = catalog.iter().find(|item| item.id == chosen.id).unwrap();
            prop_assert!(item.price >= low && item.price <= high, "{} at {}", item.id, item.price);
            let colour = &item.attributes["colour"];
            prop_assert!(colours.is_empty() || colours.iter().any(|&c| *colour == AttributeValue::Text(COLOURS[c].to_owned())));
        }
    }
}
