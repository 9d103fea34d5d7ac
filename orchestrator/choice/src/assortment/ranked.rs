//! A candidate ranked by its weight, for the bounded heap of the best candidates (ties broken by
//! index, so the order is total and the result deterministic).

/// A candidate with its inner weight; greater is better (higher weight, then lower index).
#[derive(Debug, Clone, Copy)]
pub(super) struct Ranked {
    pub(super) weight: f64,
    pub(super) index: usize,
}

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}

impl Eq for Ranked {}

impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.weight.total_cmp(&other.weight).then(other.index.cmp(&self.index))
    }
}
