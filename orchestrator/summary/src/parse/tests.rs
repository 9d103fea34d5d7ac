//! Answers in every shape real models give, written as data: what the parser must read from
//! each, and the answers it must refuse with a reason.

use super::*;
use serde_json::json;

struct Case {
    name: &'static str,
    raw: &'static str,
    lowest: Option<f64>,
    highest: Option<f64>,
    brand: Option<Value>,
    /// A JSON pointer into product_specifications and the value expected there.
    specification: Option<(&'static str, Value)>,
    promotions_available: bool,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "JSON wrapped in prose (the paper's fashion session)",
            raw: "Based on the screenshots, here is the summary of the user's behaviour:\n{\"Product Characteristics\": \"Dresses in shades of green (mini, midi, maxi)\", \"Lowest Price\": \"$18.00\", \"Highest Price\": \"$144.00\", \"Brand Preference\": \"not available\", \"Product Specifications\": \"not available\", \"User Reviews and Testimonials\": \"not available\", \"Comparisons\": \"not available\", \"Promotions\": \"Discounts visible on several items\"}\nLet me know if you need more.",
            lowest: Some(18.0),
            highest: Some(144.0),
            brand: None,
            specification: None,
            promotions_available: true,
        },
        Case {
            name: "bare json prefix, no fences",
            raw: "json\n{\"Lowest Price\": \"18.00$\", \"Highest Price\": \"144.00$\", \"Brand Preference\": [\"Asos Design\", \"Mango\"], \"Promotions\": \"not available\"}",
            lowest: Some(18.0),
            highest: Some(144.0),
            brand: Some(json!(["Asos Design", "Mango"])),
            specification: None,
            promotions_available: false,
        },
        Case {
            name: "code fences with nested specifications (the paper's footwear session)",
            raw: "```json\n{\n  \"Product Characteristics\": \"Casual and sports shoes\",\n  \"Lowest Price\": 63.97,\n  \"Highest Price\": \"$180\",\n  \"Brand Preference\": \"Nike\",\n  \"Product Specifications\": {\"Gender\": \"Men\", \"Color\": [\"black\", \"white\"], \"Best For\": \"Wet weather conditions\"},\n  \"Promotions\": \"Winter sale: up to 50% off\"\n}\n```",
            lowest: Some(63.97),
            highest: Some(180.0),
            brand: Some(json!("Nike")),
            specification: Some(("/Best For", json!("Wet weather conditions"))),
            promotions_available: true,
        },
        Case {
            name: "real estate, snake_case keys, trailing commas, prices with separators",
            raw: "{\"product_characteristics\": \"Houses in Millbrae, South San Francisco, Pacifica, San Jose\", \"lowest_price\": \"$799,888\", \"highest_price\": \"$1,350,000\", \"product_specifications\": {\"Bedrooms\": \"3+\", \"Bathrooms\": \"2+\", \"Square Footage\": \"1,054 - 3,040 sqft\",}, \"user_reviews_and_testimonials\": \"not available\", \"promotions\": \"Price cut on one listing\",}",
            lowest: Some(799_888.0),
            highest: Some(1_350_000.0),
            brand: None,
            specification: Some(("/Bedrooms", json!("3+"))),
            promotions_available: true,
        },
        Case {
            name: "smart quotes and a million suffix",
            raw: "Summary: {\u{201C}Lowest Price\u{201D}: \u{201C}$1.2M\u{201D}, \u{201C}Highest Price\u{201D}: \u{201C}$1.35M\u{201D}, \u{201C}Brand Preference\u{201D}: \u{201C}Not available.\u{201D}}",
            lowest: Some(1_200_000.0),
            highest: Some(1_350_000.0),
            brand: None,
            specification: None,
            promotions_available: false,
        },
        Case {
            name: "wrapped in an outer key, a price range instead of two prices",
            raw: "{\"user_behavior_summary\": {\"Price Range\": \"$18 - $144\", \"Comparisons\": \"Compared two midi dresses\", \"Brand\": \"Zara\"}}",
            lowest: Some(18.0),
            highest: Some(144.0),
            brand: Some(json!("Zara")),
            specification: None,
            promotions_available: false,
        },
        Case {
            name: "braces inside strings and swapped prices",
            raw: "{\"Product Characteristics\": \"Sets like {dress, belt}\", \"Lowest Price\": \"$144\", \"Highest Price\": \"$18\"}",
            lowest: Some(18.0),
            highest: Some(144.0),
            brand: None,
            specification: None,
            promotions_available: false,
        },
        Case {
            name: "escapes JSON does not have, prices inside sentences",
            raw: "{\"Product Characteristics\": \"Green wrap dresses, 20\\% off\", \"Lowest Price\": \"18.00\\$ for the cheapest\", \"Highest Price\": \"$63.97, as seen on the third card\", \"Brand Preference\": \"Nobody\\'s Child\", \"Promotions\": \"code SPRING\\_20\"}",
            lowest: Some(18.0),
            highest: Some(63.97),
            brand: Some(json!("Nobody's Child")),
            specification: None,
            promotions_available: true,
        },
        Case {
            name: "braces lost, a leading quote and a bare json word",
            raw: "\"json \"Product Characteristics\": \"Trail running shoes for women\", \"Lowest Price\": \"$84\", \"Highest Price\": \"$123\", \"Brand Preference\": \"Salomon\", \"Promotions\": \"not available\"",
            lowest: Some(84.0),
            highest: Some(123.0),
            brand: Some(json!("Salomon")),
            specification: None,
            promotions_available: false,
        },
        Case {
            name: "braces lost with nested keys without braces",
            raw: "Here is the summary: \"Product Characteristics\": \"Location\": \"Oakland\", \"Bedrooms\": \"3+\", \"Lowest Price\": \"$1.2M\", \"Highest Price\": \"$1.5M\", \"Product Specifications\": \"Property Type\": \"condo\", \"Bathrooms\": \"2+\", \"Promotions\": \"Price cut on one listing\" Let me know!",
            lowest: Some(1_200_000.0),
            highest: Some(1_500_000.0),
            brand: None,
            specification: Some(("/Property Type", json!("condo"))),
            promotions_available: true,
        },
    ]
}

#[test]
fn nested_keys_without_braces_stay_with_their_category() {
    let raw = cases()
        .into_iter()
        .find(|c| c.name == "braces lost with nested keys without braces")
        .unwrap()
        .raw;
    let parsed = parse_summary(raw).unwrap();
    assert_eq!(
        parsed.summary.product_characteristics,
        Some(json!({"Location": "Oakland", "Bedrooms": "3+"}))
    );
    assert_eq!(
        parsed.summary.product_specifications,
        Some(json!({"Property Type": "condo", "Bathrooms": "2+"}))
    );
    assert!(
        parsed
            .repairs
            .contains(&"key-value sequence without braces read as an object".to_owned()),
        "{:?}",
        parsed.repairs
    );
    let escaped = cases().into_iter().find(|c| c.name.starts_with("escapes")).unwrap().raw;
    assert!(
        parse_summary(escaped)
            .unwrap()
            .repairs
            .contains(&"4 escape(s) JSON does not have read as the character".to_owned())
    );
}

#[test]
fn every_shape_reads_into_the_eight_categories() {
    for case in cases() {
        let parsed = parse_summary(case.raw).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let summary = &parsed.summary;
        assert_eq!(parsed.raw, case.raw, "{}: the raw text is kept", case.name);
        assert_eq!(summary.lowest_price, case.lowest, "{}", case.name);
        assert_eq!(summary.highest_price, case.highest, "{}", case.name);
        assert_eq!(summary.brand_preference, case.brand, "{}", case.name);
        if let Some((pointer, expected)) = &case.specification {
            let specifications = summary.product_specifications.as_ref().unwrap();
            assert_eq!(specifications.pointer(pointer), Some(expected), "{}", case.name);
        }
        assert_eq!(summary.promotions.is_some(), case.promotions_available, "{}", case.name);
    }
}

#[test]
fn repairs_are_recorded() {
    let parsed = parse_summary(cases()[3].raw).unwrap();
    assert_eq!(parsed.repairs, ["2 trailing comma(s) removed"]);
    let parsed = parse_summary(cases()[4].raw).unwrap();
    assert!(
        parsed.repairs.contains(&"smart quotes straightened".to_owned()),
        "{:?}",
        parsed.repairs
    );
    assert!(
        parsed
            .repairs
            .contains(&"text around the JSON object ignored".to_owned())
    );
    let parsed = parse_summary(cases()[6].raw).unwrap();
    assert_eq!(parsed.repairs, ["lowest and highest price swapped"]);
}

#[test]
fn unreadable_answers_say_why() {
    let cases = [
        ("I could not see any products.", "holds no JSON object"),
        ("{\"Lowest Price\": \"$18\", \"Highest", "cut off"),
        ("{\"Lowest Price\": $18}", "does not parse even after repairs"),
        (
            "{\"weather\": \"sunny\"}",
            "names none of the eight categories (its keys: weather)",
        ),
    ];
    for (raw, expected) in cases {
        let error = parse_summary(raw).unwrap_err().to_string();
        assert!(error.contains(expected), "{raw}: {error}");
    }
}

#[test]
fn the_offline_engines_evidence_is_kept_and_only_evidence_does_not_make_a_summary() {
    let raw = r#"{"Lowest Price": "$40", "Highest Price": "$90", "Product Specifications": {"bedrooms": {"min": 4, "max": 4}},
        "Evidence": {"lowest_price": {"support": "listing", "confidence": 0.75}, "bedrooms": {"support": "viewed", "confidence": 0.4},
                     "colour": {"support": "stated", "confidence": 0.95}, "odd": {"support": "guessed"}}}"#;
    let summary = parse_summary(raw).unwrap().summary;
    assert_eq!(summary.evidence.as_ref().unwrap()["colour"]["confidence"], 0.95);
    // Only a fact said to rest on what was viewed; an unknown support is not weak.
    assert_eq!(
        summary.viewed_only_facts().into_iter().collect::<Vec<_>>(),
        ["bedrooms"]
    );
    // A model's answer has none.
    assert!(
        parse_summary(cases()[0].raw)
            .unwrap()
            .summary
            .viewed_only_facts()
            .is_empty()
    );
    let error = parse_summary(r#"{"Evidence": {"colour": {"support": "stated"}}}"#).unwrap_err();
    assert!(
        error.to_string().contains("names none of the eight categories"),
        "{error}"
    );
}
