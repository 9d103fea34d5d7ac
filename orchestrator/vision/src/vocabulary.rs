//! The catalog's words: the values of its categorical attributes (brand, colour, category,
//! gender, city, property type, ...), matched in screen text as whole words, case-insensitively,
//! plurals included (`dresses` names `dress`).

use std::collections::BTreeMap;

/// Attribute values to look for, longest first so `Nobody's Child` wins over shorter values.
#[derive(Debug, Clone, Default)]
pub struct Vocabulary {
    entries: Vec<Entry>,
}

#[derive(Debug, Clone)]
struct Entry {
    attribute: String,
    value: String,
    tokens: Vec<String>,
}

/// Lowercase alphanumeric runs: `green·Zara` is `green`, `zara`; `Men's` is `men`, `s`.
pub fn tokens(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

impl Vocabulary {
    /// From attribute → values. Values of one character or all digits are left out: they would
    /// match stray letters and numbers everywhere (sizes `S`, `M`).
    pub fn new(attributes: &BTreeMap<String, Vec<String>>) -> Vocabulary {
        let mut entries: Vec<Entry> = attributes
            .iter()
            .flat_map(|(attribute, values)| {
                values.iter().filter_map(move |value| {
                    let tokens = tokens(value);
                    let meaningful = tokens.iter().map(String::len).sum::<usize>() >= 2
                        && !tokens.iter().all(|t| t.chars().all(|c| c.is_ascii_digit()));
                    meaningful.then(|| Entry {
                        attribute: attribute.clone(),
                        value: value.clone(),
                        tokens,
                    })
                })
            })
            .collect();
        entries.sort_by(|a, b| b.tokens.len().cmp(&a.tokens.len()).then(a.value.cmp(&b.value)));
        Vocabulary { entries }
    }

    /// From a catalog's attribute schema: the text and list attributes with a vocabulary that
    /// names categories rather than items (at most 64 values, or a quarter of the items that
    /// have the attribute), so titles, addresses and picture URLs are left out.
    pub fn from_schema(attributes: &[interarec_core::catalog::AttributeSchema]) -> Vocabulary {
        let categorical: BTreeMap<String, Vec<String>> = attributes
            .iter()
            .filter_map(|attribute| {
                let values = attribute.vocabulary.as_ref()?;
                let limit = 64usize.max((attribute.present / 4) as usize);
                (values.len() <= limit && attribute.name != "image").then(|| (attribute.name.clone(), values.clone()))
            })
            .collect();
        Vocabulary::new(&categorical)
    }

    /// The attributes this vocabulary knows.
    pub fn attributes(&self) -> Vec<String> {
        let mut names: Vec<String> = self.entries.iter().map(|e| e.attribute.clone()).collect();
        names.sort();
        names.dedup();
        names
    }

    /// The values of `attribute`.
    pub fn values_of(&self, attribute: &str) -> Vec<&str> {
        self.entries
            .iter()
            .filter(|e| e.attribute == attribute)
            .map(|e| e.value.as_str())
            .collect()
    }

    /// The attribute a page's label names (`Colour`, `Color`, `Property type`), if this
    /// vocabulary knows it.
    pub fn attribute_named(&self, label: &str) -> Option<String> {
        let key = label.trim().to_lowercase().replace([' ', '-'], "_");
        let key = match key.as_str() {
            "color" => "colour".to_owned(),
            "type" => "category".to_owned(),
            _ => key,
        };
        let known = self.attributes();
        known
            .iter()
            .find(|a| **a == key || a.trim_end_matches('s') == key.trim_end_matches('s'))
            .cloned()
            .or_else(|| {
                (key == "colour")
                    .then(|| known.iter().find(|a| *a == "color").cloned())
                    .flatten()
            })
    }

    /// The first value per attribute named in `text` (longest values first; each word used once).
    pub fn values_in(&self, text: &str) -> BTreeMap<String, String> {
        let words = tokens(text);
        let mut used = vec![false; words.len()];
        let mut found = BTreeMap::new();
        for entry in &self.entries {
            if found.contains_key(&entry.attribute) {
                continue;
            }
            let n = entry.tokens.len();
            let position = (0..words.len().saturating_sub(n - 1)).find(|&start| {
                (0..n).all(|k| !used[start + k] && word_matches(&words[start + k], &entry.tokens[k], k == n - 1))
            });
            if let Some(start) = position {
                for k in 0..n {
                    used[start + k] = true;
                }
                found.insert(entry.attribute.clone(), entry.value.clone());
            }
        }
        found
    }
}

/// Equal, or the plural of the value's last word.
fn word_matches(word: &str, value: &str, last: bool) -> bool {
    word == value || (last && (word.strip_suffix('s') == Some(value) || word.strip_suffix("es") == Some(value)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fashion() -> Vocabulary {
        let mut attributes = BTreeMap::new();
        attributes.insert(
            "brand".to_owned(),
            vec!["Zara".into(), "Nobody's Child".into(), "Mango".into()],
        );
        attributes.insert("colour".to_owned(), vec!["green".into(), "red".into()]);
        attributes.insert("category".to_owned(), vec!["dress".into(), "top".into()]);
        attributes.insert("gender".to_owned(), vec!["men".into(), "women".into()]);
        attributes.insert("size".to_owned(), vec!["S".into(), "M".into(), "42".into()]);
        attributes.insert("city".to_owned(), vec!["San Jose".into()]);
        Vocabulary::new(&attributes)
    }

    #[test]
    fn whole_words_plurals_and_longest_values() {
        let vocabulary = fashion();
        let cases: [(&str, &[(&str, &str)]); 6] = [
            ("green·Zara", &[("brand", "Zara"), ("colour", "green")]),
            (
                "Nobody's Child Green Midi Dress",
                &[("brand", "Nobody's Child"), ("category", "dress"), ("colour", "green")],
            ),
            ("SPRING SALE: extra 15% off dresses", &[("category", "dress")]),
            ("Women's running shoe · red", &[("colour", "red"), ("gender", "women")]),
            ("Stop redeeming 42 tops", &[("category", "top")]),
            ("Skyline Blvd, San Jose", &[("city", "San Jose")]),
        ];
        for (text, expected) in cases {
            let found = vocabulary.values_in(text);
            let expected: BTreeMap<String, String> =
                expected.iter().map(|(a, v)| (a.to_string(), v.to_string())).collect();
            assert_eq!(found, expected, "{text}");
        }
    }
}
