//! Pages of the List RPCs: `page_size` (0 means [`DEFAULT_PAGE_SIZE`], at most
//! [`MAX_PAGE_SIZE`]) and opaque page tokens. A token names the list it belongs to and the
//! last key of its page (hex, so it is ASCII and says nothing to a reader), so a page follows
//! from the key, not a position: what was added or removed meanwhile shifts nothing.

use super::status;
use tonic::Status;

/// Entries per page when the request says 0.
pub const DEFAULT_PAGE_SIZE: usize = 100;
/// Most entries per page.
pub const MAX_PAGE_SIZE: usize = 1_000;

/// The page size asked for.
pub fn page_size(requested: i32) -> Result<usize, Status> {
    match requested {
        0 => Ok(DEFAULT_PAGE_SIZE),
        1.. => Ok((requested as usize).min(MAX_PAGE_SIZE)),
        _ => Err(status::bad_field(
            "page_size",
            format!("page_size {requested} is negative; give 0 (the default, {DEFAULT_PAGE_SIZE}) to {MAX_PAGE_SIZE}"),
        )),
    }
}

/// A token for `list` that resumes after `key`.
pub fn token(list: &str, key: &str) -> String {
    hex::encode(format!("{list}\0{key}"))
}

/// The key a token of `list` resumes after (`None` for an empty token: the first page).
pub fn after(list: &str, page_token: &str) -> Result<Option<String>, Status> {
    if page_token.is_empty() {
        return Ok(None);
    }
    let refused = || {
        status::bad_field(
            "page_token",
            format!(
                "page_token is not one this server gave for {list} (tokens of a catalog's items end when it is imported again); send the next_page_token of the previous page, or none to start over"
            ),
        )
    };
    let bytes = hex::decode(page_token).map_err(|_| refused())?;
    let text = String::from_utf8(bytes).map_err(|_| refused())?;
    match text.split_once('\0') {
        Some((named, key)) if named == list => Ok(Some(key.to_owned())),
        _ => Err(refused()),
    }
}

/// One page of `entries` (any order) by `key`: the entries after the token's key in key order,
/// at most the page size, and the token of the next page (empty on the last).
pub fn page<T>(
    list: &str,
    mut entries: Vec<T>,
    key: impl Fn(&T) -> &str,
    page_size: i32,
    page_token: &str,
) -> Result<(Vec<T>, String), Status> {
    let size = self::page_size(page_size)?;
    let after = after(list, page_token)?;
    entries.sort_by(|a, b| key(a).cmp(key(b)));
    let start = after.map_or(0, |after| entries.partition_point(|entry| key(entry) <= after.as_str()));
    let mut page: Vec<T> = entries.into_iter().skip(start).take(size + 1).collect();
    let next = if page.len() > size {
        page.truncate(size);
        page.last().map_or_else(String::new, |last| token(list, key(last)))
    } else {
        String::new()
    };
    Ok((page, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_follow_keys_and_refuse_tokens_of_other_lists() {
        let names: Vec<String> = (0..7).map(|i| format!("tool-{i}")).collect();
        let mut seen = Vec::new();
        let mut page_token = String::new();
        loop {
            let (page, next) = page("tools", names.clone(), |n| n.as_str(), 3, &page_token).unwrap();
            assert!(page.len() <= 3);
            seen.extend(page);
            if next.is_empty() {
                break;
            }
            page_token = next;
        }
        assert_eq!(seen, names);
        // A key removed between pages shifts nothing.
        let first = page("tools", names.clone(), |n| n.as_str(), 3, "").unwrap().1;
        let fewer: Vec<String> = names.iter().filter(|n| *n != "tool-3").cloned().collect();
        let (second, _) = page("tools", fewer, |n| n.as_str(), 3, &first).unwrap();
        assert_eq!(second, ["tool-4", "tool-5", "tool-6"]);
        // (page size, token, refused)
        let other = token("catalogs", "tool-1");
        for (size, token, refused) in [
            (-1, "", true),
            (0, "zz", true),
            (5, other.as_str(), true),
            (2_000, "", false),
        ] {
            assert_eq!(
                page("tools", names.clone(), |n| n.as_str(), size, token).is_err(),
                refused,
                "{size} {token}"
            );
        }
    }
}
