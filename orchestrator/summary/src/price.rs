//! Prices written as text: currency symbols or codes on either side, thousands separators,
//! `k`/`M` suffixes, and ranges.

/// A price in text form as a number: `$799,888` → 799888, `18.00$` → 18, `$1.35M` → 1350000,
/// `USD 120` → 120, `€ 63,97` is read as 63.97 only when the comma is followed by exactly two
/// digits at the end. `None` for "not available" and anything without a number.
pub fn parse_price(text: &str) -> Option<f64> {
    let lowered = text.trim().to_lowercase();
    if lowered.is_empty() || lowered.contains("not available") || lowered == "n/a" {
        return None;
    }
    // The first number with its separators, then an optional magnitude suffix.
    let bytes: Vec<char> = lowered.chars().collect();
    let start = bytes.iter().position(|c| c.is_ascii_digit())?;
    let mut end = start;
    while end < bytes.len() && (bytes[end].is_ascii_digit() || bytes[end] == ',' || bytes[end] == '.') {
        end += 1;
    }
    let number: String = bytes[start..end].iter().collect();
    let number = number.trim_end_matches(['.', ',']);
    let decimal_comma = {
        let parts: Vec<&str> = number.split(',').collect();
        parts.len() == 2 && parts[1].len() == 2 && !number.contains('.')
    };
    let cleaned = if decimal_comma {
        number.replace(',', ".")
    } else {
        number.replace(',', "")
    };
    let mut value: f64 = cleaned.parse().ok()?;
    let rest: String = bytes[end..].iter().collect::<String>();
    let suffix = rest.trim_start();
    if suffix.starts_with('m') && !suffix.starts_with("mo") {
        value *= 1_000_000.0;
    } else if suffix.starts_with('k') {
        value *= 1_000.0;
    } else if suffix.starts_with("million") {
        value *= 1_000_000.0;
    }
    value.is_finite().then_some(value)
}

/// A range written as text (`$18 - $144`, `$63.97 to $180`, `between $1.2M and $1.4M`): the
/// lowest and highest prices in it (one number gives the same value twice).
pub fn parse_price_range(text: &str) -> Option<(f64, f64)> {
    let separators = [" to ", " - ", "–", "—", " and "];
    let lowered = text.to_lowercase();
    for separator in separators {
        if let Some((low, high)) = lowered.split_once(separator)
            && let (Some(low), Some(high)) = (parse_price(low), parse_price(high))
        {
            return Some((low.min(high), low.max(high)));
        }
    }
    if let Some((low, high)) = lowered.split_once('-')
        && let (Some(low), Some(high)) = (parse_price(low), parse_price(high))
    {
        return Some((low.min(high), low.max(high)));
    }
    parse_price(text).map(|p| (p, p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_as_real_models_write_them() {
        let cases: [(&str, Option<f64>); 16] = [
            ("$799,888", Some(799_888.0)),
            ("18.00$", Some(18.0)),
            ("$1.35M", Some(1_350_000.0)),
            ("$1,350,000", Some(1_350_000.0)),
            ("$63.97", Some(63.97)),
            ("USD 120", Some(120.0)),
            ("€63,97", Some(63.97)),
            ("$950k", Some(950_000.0)),
            ("1.2 million", Some(1_200_000.0)),
            ("$144.", Some(144.0)),
            ("around $18 per item", Some(18.0)),
            ("not available", None),
            ("Not Available", None),
            ("N/A", None),
            ("", None),
            ("cheap", None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_price(text), expected, "{text:?}");
        }
    }

    #[test]
    fn ranges_in_words_and_symbols() {
        let cases: [(&str, Option<(f64, f64)>); 6] = [
            ("$18 - $144", Some((18.0, 144.0))),
            ("$63.97 to $180", Some((63.97, 180.0))),
            ("between $1.2M and $1.4M", Some((1_200_000.0, 1_400_000.0))),
            ("$144–$18", Some((18.0, 144.0))),
            ("$99", Some((99.0, 99.0))),
            ("not available", None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_price_range(text), expected, "{text:?}");
        }
    }
}
