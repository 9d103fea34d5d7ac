//! Preferences stated in words, read with their negations: "Variety of brands shown, such as
//! A, B, C, suggesting no clear preference for a single brand" states no preference at all,
//! and "Adidas, not Nike" prefers Adidas only. Name-dropping inside a negation is not a
//! preference.

/// Phrases that say the shopper has no preference in a category.
const NO_PREFERENCE: [&str; 19] = [
    "no clear preference",
    "no preference",
    "no particular",
    "no specific",
    "no single",
    "no strong",
    "no obvious",
    "not a single",
    "not any particular",
    "not tied to",
    "variety of brands",
    "various brands",
    "mix of brands",
    "multiple brands",
    "several brands",
    "range of brands",
    "different brands",
    "not specified",
    "not clear",
];

/// Words that negate the clause they are in (with spaces around: " not ", " no ").
const NEGATIONS: [&str; 5] = [" not ", "n't ", " no ", " avoid", " without "];

/// Words after which a clause names what is not wanted ("Mango rather than Zara").
const CONTRASTS: [&str; 4] = [" rather than ", " instead of ", " other than ", " except "];

/// Whether the text says there is no preference (so nothing it names is one).
pub fn states_no_preference(text: &str) -> bool {
    let lower = text.to_lowercase();
    NO_PREFERENCE.iter().any(|phrase| lower.contains(phrase))
}

/// The text without its negated clauses (split at `,`, `;`, `.` and " but "), so names inside a
/// negation are not read as wanted. Empty when the text states no preference.
pub fn affirmed_text(text: &str) -> String {
    if states_no_preference(text) {
        return String::new();
    }
    text.replace(" but ", ", ")
        .replace(" But ", ", ")
        .split([',', ';', '.'])
        .filter_map(|clause| {
            let padded = format!(" {} ", clause.trim());
            let lower = padded.to_lowercase();
            // Cut at a contrast word (what follows it is not wanted); byte offsets carry over
            // only when lowercasing kept the length.
            let cut = CONTRASTS.iter().filter_map(|word| lower.find(word)).min();
            let kept = match cut {
                Some(at) if lower.len() == padded.len() => &padded[..at],
                Some(_) => "",
                None => padded.as_str(),
            };
            let kept_lower = format!("{} ", kept.to_lowercase());
            (!NEGATIONS.iter().any(|negation| kept_lower.contains(negation))).then(|| kept.trim().to_owned())
        })
        .filter(|clause| !clause.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negations_and_no_preference_are_not_preferences() {
        // (brand preference as a model wrote it, what is affirmed)
        let cases = [
            (
                "Variety of brands shown, such as Mango, Zara, Topshop, suggesting no clear preference for a single brand",
                "",
            ),
            ("No particular brand; the shopper browsed Nike and Adidas alike", ""),
            ("Adidas, not Nike", "Adidas"),
            ("Prefers Mango but not Zara", "Prefers Mango"),
            ("Looked at Reformation rather than Asos Design", "Looked at Reformation"),
            ("Mango and Zara", "Mango and Zara"),
            ("Nike", "Nike"),
            ("The shopper doesn't like Converse; Vans seen twice", "Vans seen twice"),
            ("Brand preference is not specified", ""),
        ];
        for (text, affirmed) in cases {
            assert_eq!(affirmed_text(text), affirmed, "{text}");
        }
    }
}
