//! The real server binary killed with SIGKILL while clients stream: after a few kills and
//! restarts no acknowledged frame is missing, and every batch that kept frames got its summary
//! and its turn (`just bench-chaos` does the same 100 times).

use interarec_tests::chaos::{CrashPlan, crash_loop};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_frames_and_batches_survive_sigkill() {
    let figures = crash_loop(CrashPlan {
        cycles: 3,
        sessions: 2,
        frames_per_cycle: 12,
        kill_after_ms: 500,
        kill_jitter_ms: 700,
    })
    .await
    .unwrap();
    assert!(figures.acknowledged > 0, "{figures:?}");
    assert!(figures.batches > 0, "{figures:?}");
    assert_eq!((figures.lost, figures.unfinished), (0, 0), "{figures:?}");
}
