//! `just bench-assortment`: the exact optimizer natively on one thread, n = 1e3 … 1e7 items,
//! C = 10 and 100, plain, with a filter (half the items) and with per-brand caps (2 per brand
//! over 1,000 brands). Prints a table, then one JSON object as the last line.

use interarec_choice::optimize;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Counts live heap bytes and their peak, to report the optimizer's memory beside its input.
struct CountingAllocator;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged to the system allocator.
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(pointer, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

use interarec_choice::simulation::BenchmarkInstance;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let sizes: Vec<usize> = match std::env::var("BENCH_MAX_N").ok().and_then(|v| v.parse().ok()) {
        Some(max) => [1_000, 10_000, 100_000, 1_000_000, 10_000_000]
            .into_iter()
            .filter(|&n| n <= max)
            .collect(),
        None => vec![1_000, 10_000, 100_000, 1_000_000, 10_000_000],
    };
    let mut rows = Vec::new();
    println!("| n | C | variant | median ms | iterations | extra memory / input | revenue |");
    println!("|---:|---:|---|---:|---:|---:|---:|");
    for &n in &sizes {
        eprintln!("generating {n} items");
        let instance = BenchmarkInstance::new(n);
        for c in [10usize, 100] {
            for variant in ["plain", "filtered", "capped"] {
                let problem = instance.problem(variant, c);
                let runs = if n >= 10_000_000 {
                    3
                } else if n >= 1_000_000 {
                    7
                } else {
                    21
                };
                let mut samples = Vec::with_capacity(runs);
                let mut answer = None;
                let before = LIVE.load(Ordering::Relaxed);
                PEAK.store(before, Ordering::Relaxed);
                for _ in 0..runs {
                    let started = Instant::now();
                    let result = optimize(&problem).expect("the benchmark problems are valid");
                    samples.push(started.elapsed());
                    answer = Some(result);
                }
                let answer = answer.expect("at least one run");
                let input_bytes =
                    16 * n + if variant == "filtered" { n } else { 0 } + if variant == "capped" { 4 * n } else { 0 };
                let extra_bytes = PEAK.load(Ordering::Relaxed).saturating_sub(before);
                let memory_ratio = extra_bytes as f64 / input_bytes as f64;
                assert!(answer.certificate.holds);
                let ms = median(samples).as_secs_f64() * 1e3;
                println!(
                    "| {n} | {c} | {variant} | {ms:.3} | {} | {memory_ratio:.3} | {:.4} |",
                    answer.iterations, answer.expected_revenue
                );
                rows.push(format!(
                    "{{\"n\":{n},\"c\":{c},\"variant\":\"{variant}\",\"median_ms\":{ms:.4},\"iterations\":{},\"extra_memory_ratio\":{memory_ratio:.4}}}",
                    answer.iterations
                ));
            }
        }
    }
    println!();
    println!(
        "{{\"benchmark\":\"assortment\",\"threads\":1,\"goal\":\"n=1e6,C=100 <= 10 ms\",\"runs\":[{}]}}",
        rows.join(",")
    );
}
