//! SplitMix64, a small deterministic generator for simulations: random test cases, simulated
//! purchases and benchmark inputs are the same on every run and on every machine. Shared by the
//! tests, the fixtures of the end-to-end tests and the benchmarks.

/// The generator state.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let (u, v) = (self.unit().max(1e-300), self.unit());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// The optimizer benchmark's random instance, generated the same way natively and inside the
/// sandbox: prices 1–200, weights `exp(U(−6, 2))`, a filter keeping every other item, 1,000
/// brands capped at 2 each, `v₀ = 0.01·n`.
#[derive(Debug, Clone)]
pub struct BenchmarkInstance {
    /// Prices.
    pub prices: Vec<f64>,
    /// MNL weights.
    pub weights: Vec<f64>,
    /// The filter.
    pub eligible: Vec<bool>,
    /// Brand of each item.
    pub group_of: Vec<u32>,
    /// Cap per brand.
    pub caps: Vec<usize>,
    /// No-purchase weight.
    pub no_purchase_weight: f64,
}

impl BenchmarkInstance {
    /// The instance of size `n` (seeded by `n`).
    pub fn new(n: usize) -> BenchmarkInstance {
        let mut rng = Rng(n as u64);
        let prices = (0..n).map(|_| 1.0 + (rng.unit() * 199.0).round()).collect();
        let weights = (0..n).map(|_| (rng.unit() * 8.0 - 6.0).exp()).collect();
        let brands = 1_000u32;
        BenchmarkInstance {
            prices,
            weights,
            eligible: (0..n).map(|i| i % 2 == 0).collect(),
            group_of: (0..n)
                .map(|i| (i as u32).wrapping_mul(2_654_435_761) % brands)
                .collect(),
            caps: vec![2; brands as usize],
            no_purchase_weight: n as f64 * 0.01,
        }
    }

    /// The problem of one benchmark row: `plain`, `filtered` or `capped`, at most `c` items.
    pub fn problem(&self, variant: &str, c: usize) -> crate::AssortmentProblem<'_> {
        crate::AssortmentProblem {
            eligible: (variant == "filtered").then_some(self.eligible.as_slice()),
            groups: (variant == "capped").then_some(crate::GroupCaps {
                group_of: &self.group_of,
                caps: &self.caps,
            }),
            ..crate::AssortmentProblem::new(
                &self.prices,
                &self.weights,
                self.no_purchase_weight,
                crate::Capacity::AtMost(c),
            )
        }
    }
}
