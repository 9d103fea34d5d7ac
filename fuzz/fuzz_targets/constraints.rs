//! Any constraints JSON over a small catalog: refused or answered, and an answer respects the
//! capacity and the exclusions.
#![no_main]
use interarec_choice::item::{AttributeValue, Item};
use interarec_choice::model::ChoiceModel;
use interarec_choice::recommend::{Constraints, recommend};
use std::collections::BTreeMap;

fn catalog() -> (Vec<Item>, ChoiceModel) {
    let colours = ["green", "red", "blue"];
    let items: Vec<Item> = (0..12)
        .map(|i| Item {
            id: format!("i{i}"),
            title: format!("Item {i}"),
            price: 10.0 + 7.0 * i as f64,
            image: None,
            attributes: BTreeMap::from([(
                "colour".to_owned(),
                AttributeValue::Text(colours[i % 3].to_owned()),
            )]),
        })
        .collect();
    let model = (0..12)
        .fold(ChoiceModel::builder("m").price_coefficient(-0.01, 0.0), |model, i| {
            model.item(&format!("i{i}"), (i as f64 - 6.0) / 3.0, 0.0, "all")
        })
        .build();
    (items, model)
}

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
    let Ok(constraints) = serde_json::from_slice::<Constraints>(bytes) else { return };
    if constraints.check_sizes().is_err() {
        return;
    }
    let (items, model) = catalog();
    if let Ok(answer) = recommend(&items, &model, None, &constraints) {
        assert!(answer.items.len() <= constraints.capacity.unwrap_or(8));
        assert!(answer.items.iter().all(|item| !constraints.exclude.contains(&item.id)));
    }
});
