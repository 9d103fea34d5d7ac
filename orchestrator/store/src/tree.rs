//! One ordered key-value tree over either backend: a sled tree (the embedded default) or the
//! rows of one tree name in PostgreSQL's `interarec_kv` table. Every typed operation of
//! [`crate::Store`] is written once against this, so both backends keep the same keys, the
//! same commit points and the same answers.

use crate::failure::BackendError;
use crate::postgres::Postgres;
use std::collections::VecDeque;
use std::ops::{Bound, RangeBounds};

/// Rows a PostgreSQL scan fetches at once.
const PAGE_ROWS: i64 = 512;

/// An ordered tree of byte keys and values.
#[derive(Clone)]
pub(crate) enum Tree {
    Sled(sled::Tree),
    Postgres { db: Postgres, name: &'static str },
}

impl Tree {
    pub(crate) fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>, BackendError> {
        match self {
            Tree::Sled(tree) => Ok(tree.get(key)?.map(|value| value.to_vec())),
            Tree::Postgres { db, name } => db.get(name, key.as_ref()),
        }
    }

    pub(crate) fn insert(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<(), BackendError> {
        match self {
            Tree::Sled(tree) => tree.insert(key.as_ref(), value.as_ref()).map(drop).map_err(Into::into),
            Tree::Postgres { db, name } => db.insert(name, key.as_ref(), value.as_ref()),
        }
    }

    pub(crate) fn remove(&self, key: impl AsRef<[u8]>) -> Result<(), BackendError> {
        match self {
            Tree::Sled(tree) => tree.remove(key).map(drop).map_err(Into::into),
            Tree::Postgres { db, name } => db.remove(name, key.as_ref()),
        }
    }

    /// Sets `key` to `new` (`None`: removes it) only if its value is `old` (`None`: absent);
    /// returns whether it did. The one atomic read-modify-write both backends offer.
    pub(crate) fn compare_and_swap(
        &self,
        key: impl AsRef<[u8]>,
        old: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> Result<bool, BackendError> {
        match self {
            Tree::Sled(tree) => Ok(tree.compare_and_swap(key, old, new)?.is_ok()),
            Tree::Postgres { db, name } => db.compare_and_swap(name, key.as_ref(), old, new),
        }
    }

    pub(crate) fn is_empty(&self) -> Result<bool, BackendError> {
        match self {
            Tree::Sled(tree) => Ok(tree.is_empty()),
            Tree::Postgres { .. } => Ok(self.iter().keys().next().transpose()?.is_none()),
        }
    }

    /// Entries in the tree (counted; the tests read what is left).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.iter().keys().count()
    }

    /// Every entry, in key order.
    pub(crate) fn iter(&self) -> Entries {
        self.range::<&[u8], _>(..)
    }

    /// Entries whose key starts with `prefix`, in key order.
    pub(crate) fn scan_prefix(&self, prefix: impl AsRef<[u8]>) -> Entries {
        let prefix = prefix.as_ref().to_vec();
        match self {
            Tree::Sled(tree) => Entries::Sled(tree.scan_prefix(prefix)),
            Tree::Postgres { .. } => {
                let end = prefix_end(&prefix);
                let end = end.map_or(Bound::Unbounded, Bound::Excluded);
                self.scan(Bound::Included(prefix), end)
            }
        }
    }

    /// Entries with keys in `range`, in key order.
    pub(crate) fn range<K: AsRef<[u8]>, R: RangeBounds<K>>(&self, range: R) -> Entries {
        let owned = |bound: Bound<&K>| match bound {
            Bound::Included(key) => Bound::Included(key.as_ref().to_vec()),
            Bound::Excluded(key) => Bound::Excluded(key.as_ref().to_vec()),
            Bound::Unbounded => Bound::Unbounded,
        };
        let (start, end) = (owned(range.start_bound()), owned(range.end_bound()));
        match self {
            Tree::Sled(tree) => Entries::Sled(tree.range::<Vec<u8>, _>((start, end))),
            Tree::Postgres { .. } => self.scan(start, end),
        }
    }

    fn scan(&self, start: Bound<Vec<u8>>, end: Bound<Vec<u8>>) -> Entries {
        let Tree::Postgres { db, name } = self else {
            unreachable!("scan is the PostgreSQL range")
        };
        Entries::Postgres(Scan {
            db: db.clone(),
            tree: name,
            start,
            end,
            keys_only: false,
            page: VecDeque::new(),
            done: false,
        })
    }
}

/// The smallest key above every key starting with `prefix` (`None`: no such key).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// A tree's entries in key order, read lazily (PostgreSQL: a page of rows at a time).
pub(crate) enum Entries {
    Sled(sled::Iter),
    Postgres(Scan),
}

/// A paged PostgreSQL range scan.
pub(crate) struct Scan {
    db: Postgres,
    tree: &'static str,
    start: Bound<Vec<u8>>,
    end: Bound<Vec<u8>>,
    keys_only: bool,
    page: VecDeque<(Vec<u8>, Vec<u8>)>,
    done: bool,
}

impl Entries {
    /// Only the keys (PostgreSQL then reads no values).
    pub(crate) fn keys(self) -> impl Iterator<Item = Result<Vec<u8>, BackendError>> {
        let entries = match self {
            Entries::Postgres(mut scan) => {
                scan.keys_only = true;
                Entries::Postgres(scan)
            }
            sled => sled,
        };
        entries.map(|entry| entry.map(|(key, _)| key))
    }
}

impl Iterator for Entries {
    type Item = Result<(Vec<u8>, Vec<u8>), BackendError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Entries::Sled(iter) => iter
                .next()
                .map(|entry| entry.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(Into::into)),
            Entries::Postgres(scan) => {
                if scan.page.is_empty() && !scan.done {
                    match scan
                        .db
                        .scan(scan.tree, &scan.start, &scan.end, scan.keys_only, PAGE_ROWS)
                    {
                        Ok(rows) => {
                            scan.done = (rows.len() as i64) < PAGE_ROWS;
                            if let Some((last, _)) = rows.last() {
                                scan.start = Bound::Excluded(last.clone());
                            }
                            scan.page = rows.into();
                        }
                        Err(error) => {
                            scan.done = true;
                            return Some(Err(error));
                        }
                    }
                }
                scan.page.pop_front().map(Ok)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn prefix_end_is_the_next_key_past_the_prefix() {
        for (prefix, end) in [
            (&b"ab"[..], Some(&b"ac"[..])),
            (&[0x01, 0xff][..], Some(&[0x02][..])),
            (&[0xff, 0xff][..], None),
            (&[][..], None),
        ] {
            assert_eq!(prefix_end(prefix).as_deref(), end, "{prefix:?}");
        }
    }
}
