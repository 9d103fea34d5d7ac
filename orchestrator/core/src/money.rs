//! Prices as people read them, in one place: the offline vision engine's summaries and the
//! offline planner's answers write dollars the same way, and the demo shops group digits with
//! the same code in their own notations.

/// `1349000` as `1,349,000` (or `1.349.000` with `.`).
pub fn group_thousands(whole: u64, separator: char) -> String {
    let digits = whole.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(separator);
        }
        grouped.push(c);
    }
    grouped
}

/// A dollar price: `$48.99`; whole dollars with separators for round prices from $1,000 and for
/// every price from $10,000 (`$1,299`, `$1,350,000`), where cents say nothing.
pub fn dollars(value: f64) -> String {
    if value >= 10_000.0 || (value >= 1_000.0 && value.fract() == 0.0) {
        format!("${}", group_thousands(value.round() as u64, ','))
    } else {
        format!("${value:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_read_as_people_write_them() {
        let cases = [
            (48.99, "$48.99"),
            (0.5, "$0.50"),
            (1_299.0, "$1,299"),
            (1_299.5, "$1299.50"),
            (12_345.67, "$12,346"),
            (1_350_000.0, "$1,350,000"),
        ];
        for (value, written) in cases {
            assert_eq!(dollars(value), written, "{value}");
        }
        assert_eq!(group_thousands(1_349_000, '.'), "1.349.000");
        assert_eq!(group_thousands(999, ','), "999");
    }
}
