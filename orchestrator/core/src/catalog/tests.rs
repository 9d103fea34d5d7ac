//! Catalog import cases: good rows, every kind of bad row with its line, types, vocabularies,
//! overrides and strict mode.

use super::*;

fn csv(text: &str) -> Result<ParsedCatalog, CatalogError> {
    parse_catalog(CatalogFormat::Csv, text.as_bytes(), &BTreeMap::new(), false)
}

fn jsonl(text: &str) -> Result<ParsedCatalog, CatalogError> {
    parse_catalog(CatalogFormat::Jsonl, text.as_bytes(), &BTreeMap::new(), false)
}

const DRESSES: &str = "\u{feff}id,title,price,image,colour,brand,rating,sizes
d1,Green wrap dress,18.00,/img/d1.svg,green,Asos,4.5,S|M
d2,\"Teal midi, pleated\",144,,teal,Mango,,M|L|XL
d3,Red dress,,,red,Asos,4.0,S
,No id,10,,blue,Asos,3.0,S
d4,Free dress,-1,,blue,Asos,3.0,S
d5,Bad rating,20,,blue,Asos,great,S
d1,Duplicate,20,,blue,Asos,3.0,S
d6,Short row,20
d7,NaN price,NaN,,blue,Asos,3.0,S
";

#[test]
fn csv_rows_are_imported_or_reported_with_their_line() {
    let parsed = csv(DRESSES).unwrap();
    let ids: Vec<&str> = parsed.items.iter().map(|item| item.id.as_str()).collect();
    // d5's rating makes the column text, so d5 imports; every other bad row is refused.
    assert_eq!(ids, ["d1", "d2", "d5"]);
    let errors: Vec<(u64, &str)> = parsed.errors.iter().map(|e| (e.line, e.message.as_str())).collect();
    assert_eq!(
        errors,
        [
            (4, "item `d3`: missing price"),
            (5, "missing id"),
            (6, "item `d4`: price -1 is negative"),
            (8, "id `d1` appears on an earlier line; ids must be unique"),
            (9, "3 fields, but the header has 8"),
            (10, "item `d7`: price `NaN` is not a finite number"),
        ]
    );
    assert_eq!(parsed.error_count, 6);
    let d2 = &parsed.items[1];
    assert_eq!(d2.title, "Teal midi, pleated");
    assert_eq!(d2.image, None);
    assert_eq!(
        d2.attributes["sizes"],
        AttributeValue::List(vec!["M".into(), "L".into(), "XL".into()])
    );
    assert_eq!(parsed.items[0].image.as_deref(), Some("/img/d1.svg"));
}

#[test]
fn number_columns_refuse_text_values() {
    let text = "id,title,price,bedrooms\nh1,House,100,3\nh2,Flat,90,2\nh3,Loft,80,two\n";
    let overrides = BTreeMap::from([(
        "bedrooms".to_owned(),
        AttributeOverride {
            kind: Some(AttributeType::Number),
            unit: Some("rooms".into()),
            vocabulary: None,
        },
    )]);
    let parsed = parse_catalog(CatalogFormat::Csv, text.as_bytes(), &overrides, false).unwrap();
    assert_eq!(parsed.items.len(), 2);
    assert_eq!(parsed.errors[0].line, 4);
    assert_eq!(
        parsed.errors[0].message,
        "item `h3`: `bedrooms` is `two`, but the column holds numbers"
    );
    let bedrooms = &parsed.attributes[0];
    assert_eq!(
        (bedrooms.kind, bedrooms.min, bedrooms.max),
        (AttributeType::Number, Some(2.0), Some(3.0))
    );
    assert_eq!(bedrooms.unit.as_deref(), Some("rooms"));
    // Strict mode refuses the whole file and names the first bad row.
    let error = parse_catalog(CatalogFormat::Csv, text.as_bytes(), &overrides, true).unwrap_err();
    assert_eq!(
        error.to_string(),
        "strict import refused: 1 bad row(s), the first at line 4: item `h3`: `bedrooms` is `two`, but the column holds numbers"
    );
}

#[test]
fn the_schema_is_derived_from_the_data() {
    let parsed = csv(DRESSES).unwrap();
    let by_name: BTreeMap<&str, &AttributeSchema> = parsed.attributes.iter().map(|a| (a.name.as_str(), a)).collect();
    assert_eq!(by_name["colour"].kind, AttributeType::Text);
    assert_eq!(
        by_name["colour"].vocabulary.as_deref(),
        Some(&["blue".to_owned(), "green".into(), "teal".into()][..])
    );
    assert_eq!(
        by_name["brand"].vocabulary.as_deref(),
        Some(&["Asos".to_owned(), "Mango".into()][..])
    );
    assert_eq!(by_name["sizes"].kind, AttributeType::List);
    assert_eq!(by_name["rating"].kind, AttributeType::Text, "`great` makes rating text");
    assert_eq!(by_name["rating"].present, 2);
}

#[test]
fn json_lines_rows_are_imported_or_reported() {
    let text = r#"{"id":"h1","title":"3 bd house","price":1350000,"city":"Pacifica","bedrooms":3,"attributes":{"tags":["garden","garage"]}}
{"id":"h2","title":"Flat","price":799888,"city":"San Jose","bedrooms":2}
not json
{"id":"h3","title":"No price"}
{"id":"h4","title":"Odd","price":1,"bedrooms":"three"}
{"id":"h5","title":"Nested","price":1,"extra":{"a":1}}
["an","array"]
{"title":"no id","price":3}
{"id":"h6","title":"Text price","price":"12"}
"#;
    let parsed = jsonl(text).unwrap();
    assert_eq!(
        parsed.items.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(),
        ["h1", "h2"]
    );
    assert_eq!(
        parsed.items[0].attributes["tags"],
        AttributeValue::List(vec!["garden".into(), "garage".into()])
    );
    let errors: Vec<(u64, &str)> = parsed.errors.iter().map(|e| (e.line, e.message.as_str())).collect();
    assert_eq!(errors[0].0, 3);
    assert!(errors[0].1.starts_with("not valid JSON"));
    assert_eq!(
        &errors[1..],
        [
            (4, "item `h3`: missing price"),
            (
                5,
                "item `h4`: `bedrooms` is \"three\", but earlier items (or the override) make it a number attribute"
            ),
            (
                6,
                "item `h5`: `extra` is {\"a\":1}, but attributes are strings, numbers or lists of strings"
            ),
            (7, "not a JSON object"),
            (8, "missing id"),
            (9, "item `h6`: price `\"12\"` is not a number"),
        ]
    );
}

#[test]
fn unusable_inputs_are_refused_whole() {
    let cases: Vec<(CatalogFormat, &str, &str)> = vec![
        (
            CatalogFormat::Csv,
            "name,price\nx,1\n",
            "the CSV header has no `id` column",
        ),
        (
            CatalogFormat::Csv,
            "id,title,price\n,,\n",
            "no valid item in the input (1 bad row(s))",
        ),
        (CatalogFormat::Jsonl, "", "no valid item in the input (0 bad row(s))"),
    ];
    for (format, text, message) in cases {
        let error = parse_catalog(format, text.as_bytes(), &BTreeMap::new(), false)
            .unwrap_err()
            .to_string();
        assert!(error.starts_with(message), "{error}");
    }
    let error = parse_catalog(CatalogFormat::Jsonl, &[0xff, 0xfe], &BTreeMap::new(), false).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("the JSON Lines input cannot be read: not UTF-8")
    );
}

#[test]
fn a_streamed_import_hands_rows_on_in_order_with_progress() {
    let rows = 2 * PROGRESS_EVERY_ROWS as usize + 7;
    let mut text = String::from("id,title,price,colour\n");
    for row in 0..rows {
        text.push_str(&format!(
            "i{row},Item {row},{}.5,{}\n",
            row % 100,
            ["red", "blue"][row % 2]
        ));
    }
    let mut opened = 0;
    let mut progress = Vec::new();
    let mut kept = Vec::new();
    let summary = import_catalog(
        CatalogFormat::Csv,
        &mut || {
            opened += 1;
            Ok::<_, std::io::Error>(text.as_bytes())
        },
        &BTreeMap::new(),
        false,
        &mut |phase, rows| progress.push((phase, rows)),
        &mut |item| {
            kept.push(item.id);
            Ok(())
        },
    )
    .unwrap()
    .unwrap();
    assert_eq!(opened, 2, "CSV is read once to type the columns, once to import");
    let every = PROGRESS_EVERY_ROWS;
    assert_eq!(
        progress,
        [
            (ImportPhase::Typing, every),
            (ImportPhase::Typing, 2 * every),
            (ImportPhase::Importing, every),
            (ImportPhase::Importing, 2 * every)
        ]
    );
    assert_eq!(kept.len(), rows);
    assert!(kept.iter().enumerate().all(|(row, id)| *id == format!("i{row}")));
    assert_eq!(
        (summary.item_count, summary.price_min, summary.price_max),
        (rows as u64, 0.5, 99.5)
    );
    assert_eq!(
        summary.attributes[0].vocabulary,
        Some(vec!["blue".into(), "red".into()])
    );
}

#[test]
fn a_strict_import_keeps_nothing_after_its_first_bad_row_and_sink_failures_end_it() {
    let text = "id,title,price\na,A,1\nb,B,x\nc,C,3\n";
    let lines = r#"{"id":"a","price":1}
{"id":"b","price":"x"}
{"id":"c","price":3}"#;
    for (format, text) in [(CatalogFormat::Csv, text), (CatalogFormat::Jsonl, lines)] {
        let mut kept = Vec::new();
        let answer = import_catalog(
            format,
            &mut || Ok::<_, std::io::Error>(text.as_bytes()),
            &BTreeMap::new(),
            true,
            &mut |_, _| {},
            &mut |item| {
                kept.push(item.id);
                Ok(())
            },
        )
        .unwrap();
        assert!(
            matches!(answer, Err(CatalogError::Strict { count: 1, .. })),
            "{answer:?}"
        );
        assert_eq!(kept, ["a"], "{format:?}");

        let failure = import_catalog(
            format,
            &mut || Ok::<_, std::io::Error>(text.as_bytes()),
            &BTreeMap::new(),
            false,
            &mut |_, _| {},
            &mut |_| Err(std::io::Error::other("disk full")),
        );
        assert_eq!(failure.unwrap_err().to_string(), "disk full");
    }
}
