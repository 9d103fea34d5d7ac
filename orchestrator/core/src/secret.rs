//! Secrets the server hands out or accepts (session credentials, API keys, generated ids):
//! drawn from the operating system's random source, stored only as SHA-256 fingerprints, and
//! compared in constant time.

use sha2::{Digest, Sha256};

/// Shortest admin token the server accepts: shorter ones are guessable by brute force.
pub const MIN_TOKEN_CHARS: usize = 16;

/// Random bytes behind a generated secret (256 bits).
const SECRET_BYTES: usize = 32;

/// Lowercase letters and digits, the alphabet of generated ids (a session id must fit the
/// tool-name rule: lowercase letters, digits and `-`).
const ID_ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// Why no random bytes could be drawn (the operating system refused).
#[derive(Debug, thiserror::Error)]
#[error("the operating system's random source failed ({0}); the server cannot make secrets without it")]
pub struct RandomError(String);

fn random_bytes<const N: usize>() -> Result<[u8; N], RandomError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| RandomError(e.to_string()))?;
    Ok(bytes)
}

/// A new secret: `prefix` then 64 hex digits (256 random bits). The prefix tells a reader what
/// the secret opens (`isc-` a session, `irk-` an API key) without revealing anything.
pub fn generate(prefix: &str) -> Result<String, RandomError> {
    Ok(format!("{prefix}{}", hex::encode(random_bytes::<SECRET_BYTES>()?)))
}

/// An unguessable id: `prefix` then 26 characters of `a-z2-7` (130 random bits).
pub fn random_id(prefix: &str) -> Result<String, RandomError> {
    let bytes = random_bytes::<17>()?;
    // 5 bits per character from a 136-bit stream; the last 6 bits are left unused.
    let mut id = String::with_capacity(prefix.len() + 26);
    id.push_str(prefix);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 && id.len() < prefix.len() + 26 {
            bits -= 5;
            id.push(ID_ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    Ok(id)
}

/// The stored form of a secret: its SHA-256 in lowercase hex. A leaked record reveals no secret.
pub fn fingerprint(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Whether `presented` is the secret behind `stored_fingerprint`. Both sides are compared as
/// fixed-length digests without an early exit, so the time taken reveals nothing; an empty
/// fingerprint (a record from before secrets) matches nothing.
pub fn matches(presented: &str, stored_fingerprint: &str) -> bool {
    if stored_fingerprint.is_empty() {
        return false;
    }
    let presented = Sha256::digest(presented.as_bytes());
    let Ok(stored) = hex::decode(stored_fingerprint) else {
        return false;
    };
    constant_time_eq(&presented, &stored)
}

/// Compares without an early exit so the time taken does not reveal the matching prefix.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |difference, (x, y)| difference | (x ^ y)) == 0
}

/// Whether `text` is a SHA-256 fingerprint as [`fingerprint`] writes it.
pub fn is_fingerprint(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_matches_only_its_own_fingerprint() {
        let secret = generate("isc-").unwrap();
        let other = generate("isc-").unwrap();
        assert!(secret.starts_with("isc-") && secret.len() == 4 + 64);
        assert_ne!(secret, other, "two draws must differ");
        let stored = fingerprint(&secret);
        assert!(is_fingerprint(&stored));
        let cases = [
            (secret.as_str(), stored.as_str(), true),
            (other.as_str(), stored.as_str(), false),
            (&secret[..secret.len() - 1], stored.as_str(), false),
            ("", stored.as_str(), false),
            (secret.as_str(), "", false),
            (secret.as_str(), "not hex", false),
            (stored.as_str(), stored.as_str(), false),
        ];
        for (presented, fingerprint, expected) in cases {
            assert_eq!(
                matches(presented, fingerprint),
                expected,
                "{presented:?} against {fingerprint:?}"
            );
        }
    }

    #[test]
    fn generated_ids_fit_the_naming_rule_and_do_not_repeat() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let id = random_id("s-").unwrap();
            assert_eq!(id.len(), 28, "{id}");
            crate::tool::validate_tool_name(&id).unwrap_or_else(|e| panic!("{id}: {e}"));
            assert!(seen.insert(id));
        }
    }

    #[test]
    fn unequal_lengths_never_compare_equal() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"a"));
    }
}
