//! The transactions CSV and the choice-set builder, as data.

use super::*;

fn table(csv: &str, segment_by: Option<&str>) -> Table {
    Table::from_csv(csv.as_bytes(), "sample.csv", segment_by).unwrap()
}

/// (item ids, [(alternative prices by item id, chosen counts)]) of one group, order-independent.
fn sets(group: &GroupChoices) -> Vec<Vec<(String, f64, f64)>> {
    let mut sets: Vec<Vec<(String, f64, f64)>> = group
        .observations
        .iter()
        .map(|o| {
            let mut set: Vec<(String, f64, f64)> = o
                .alternatives
                .iter()
                .zip(&o.chosen_counts)
                .map(|(a, c)| (group.item_ids[a.item as usize].clone(), a.price, *c))
                .collect();
            set.sort_by(|a, b| a.0.cmp(&b.0));
            set
        })
        .collect();
    sets.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    sets
}

#[test]
fn explicit_choice_sets_keep_what_was_offered() {
    let data = table(
        "choice_set,item_id,price,quantity,group,age\n\
         s1,a,10,1,dresses,young\n\
         s1,b,12,0,dresses,young\n\
         s2,a,11,0,dresses,old\n\
         s2,b,12,2,dresses,old\n\
         s3,x,5,1,shoes,old\n",
        Some("age"),
    );
    assert!(data.explicit_choice_sets);
    assert_eq!(data.segments(), vec![("old".to_owned(), 3), ("young".to_owned(), 2)]);
    let groups = data.choice_sets(None);
    assert_eq!(
        groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(),
        ["dresses", "shoes"]
    );
    assert_eq!(groups[0].choices, 3.0);
    assert_eq!(
        sets(&groups[0]),
        vec![
            vec![("a".into(), 10.0, 1.0), ("b".into(), 12.0, 0.0)],
            vec![("a".into(), 11.0, 0.0), ("b".into(), 12.0, 2.0)],
        ]
    );
    let young = data.choice_sets(Some("young"));
    assert_eq!(young.len(), 1);
    assert_eq!(
        sets(&young[0]),
        vec![vec![("a".into(), 10.0, 1.0), ("b".into(), 12.0, 0.0)]]
    );
    assert!(data.choice_sets(Some("nobody")).is_empty());
}

#[test]
fn purchases_only_become_group_and_period_sets() {
    let data = table(
        "item_id,price,quantity,group,period\n\
         a,10,2,g,w1\n\
         a,13,1,g,w1\n\
         b,20,1,g,w1\n\
         b,21,1,g,w2\n",
        None,
    );
    assert!(!data.explicit_choice_sets);
    let groups = data.choice_sets(None);
    // Week 1: a twice (quantity-weighted price (2·10 + 13)/3), b once; week 2: b alone.
    assert_eq!(
        sets(&groups[0]),
        vec![
            vec![("a".into(), 11.0, 2.0), ("b".into(), 20.0, 1.0)],
            vec![("b".into(), 21.0, 1.0)],
        ]
    );
}

#[test]
fn bad_rows_are_counted_with_line_numbers() {
    let data = table(
        "item_id,price,quantity\n\
         a,10,1\n\
         ,10,1\n\
         b,-1,1\n\
         c,NaN,1\n\
         d,3,-2\n\
         e,3,0\n\
         f,4\n",
        None,
    );
    assert_eq!(data.lines, 7);
    assert_eq!(data.rows.len(), 2, "a and f (quantity defaults to 1)");
    let reasons: Vec<(&str, u64, Vec<u64>)> = data
        .skipped
        .reasons
        .iter()
        .map(|(r, (n, lines))| (r.as_str(), *n, lines.clone()))
        .collect();
    assert_eq!(
        reasons,
        vec![
            ("empty item_id", 1, vec![3]),
            ("price missing, not a number or negative", 2, vec![4, 5]),
            ("quantity 0 without a choice_set column (nothing bought)", 1, vec![7]),
            ("quantity not a non-negative number", 1, vec![6]),
        ]
    );
}

#[test]
fn unusable_files_and_options_are_explained() {
    let cases: Vec<(&str, Option<&str>, &str)> = vec![
        ("id,cost\n1,2\n", None, "lacks `item_id` or `price`"),
        ("item_id,price\n,1\n", None, "no usable rows among 1 lines (1 skipped)"),
        (
            "item_id,price\na,1\n",
            Some("age"),
            "there is no column `age` to segment by",
        ),
    ];
    for (csv, segment_by, expected) in cases {
        let error = Table::from_csv(csv.as_bytes(), "t.csv", segment_by)
            .unwrap_err()
            .to_string();
        assert!(error.contains(expected), "{csv:?}: `{error}` lacks `{expected}`");
    }
}
