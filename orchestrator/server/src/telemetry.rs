//! Metrics for operators: the process's Prometheus recorder (every crate records through the
//! `metrics` facade, named in `interarec_core::telemetry`) and the opt-in `/metrics` endpoint
//! (`telemetry.metrics_listen`, `--metrics-listen`).
//!
//! The recorder is process-wide, as `metrics` recorders are: servers started in one process
//! (tests) share their counters. Gauges (sessions held, plugin slots in use) are read at each
//! scrape from the server that serves it. Beyond loopback a scrape needs the admin token as a
//! bearer token (the configuration refuses such an address without one).

use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use interarec_core::telemetry::{self, METRICS, MetricKind};
use interarec_plugin_host::PluginHost;
use interarec_sessions::Sessions;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::Mutex;
use tokio::net::TcpListener;

/// Bucket bounds (seconds) of every duration histogram: from a fast unary call to a long turn
/// on a CPU-bound model server.
const SECONDS_BUCKETS: [f64; 16] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

static RECORDER: Mutex<Option<PrometheusHandle>> = Mutex::new(None);

/// The process's Prometheus recorder, installed (with every metric described) on first use.
pub fn recorder() -> anyhow::Result<PrometheusHandle> {
    let mut installed = RECORDER.lock().expect("metrics recorder");
    if let Some(handle) = installed.as_ref() {
        return Ok(handle.clone());
    }
    let recorder = PrometheusBuilder::new()
        .set_buckets(&SECONDS_BUCKETS)
        .map_err(|e| anyhow::anyhow!("the metrics buckets are invalid: {e}"))?
        .build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).map_err(|_| {
        anyhow::anyhow!(
            "another metrics recorder is installed in this process; serve metrics from one place, or leave telemetry.metrics_listen unset"
        )
    })?;
    for spec in METRICS {
        match spec.kind {
            MetricKind::Counter => metrics::describe_counter!(spec.name, spec.help),
            MetricKind::Gauge => metrics::describe_gauge!(spec.name, spec.help),
            MetricKind::Histogram => metrics::describe_histogram!(spec.name, metrics::Unit::Seconds, spec.help),
        }
    }
    *installed = Some(handle.clone());
    Ok(handle)
}

/// What a scrape reads.
#[derive(Clone)]
struct Scraped {
    handle: PrometheusHandle,
    sessions: Sessions,
    host: PluginHost,
    /// The admin token, when a scrape must present it.
    required_token: Option<String>,
}

/// Serves `GET /metrics` on `listener` with `handle`'s metrics until the task is aborted (the
/// server does so when it stops).
pub async fn serve(
    listener: TcpListener,
    handle: PrometheusHandle,
    state: &AppState,
    admin_token: Option<String>,
) -> anyhow::Result<()> {
    let beyond_loopback = !listener.local_addr()?.ip().is_loopback();
    let scraped = Scraped {
        handle,
        sessions: state.sessions.clone(),
        host: state.registry.host().clone(),
        required_token: admin_token.filter(|_| beyond_loopback),
    };
    let router = axum::Router::new()
        .route("/metrics", axum::routing::get(scrape))
        .with_state(scraped);
    axum::serve(listener, router)
        .await
        .map_err(|e| anyhow::anyhow!("the metrics endpoint failed: {e}"))
}

async fn scrape(State(scraped): State<Scraped>, headers: HeaderMap) -> Response {
    if let Some(token) = &scraped.required_token {
        let presented = crate::side::bearer(&headers).unwrap_or_default();
        if !interarec_core::secret::matches(presented, &interarec_core::secret::fingerprint(token)) {
            return (
                StatusCode::UNAUTHORIZED,
                "metrics beyond loopback need the admin token: send `Authorization: Bearer <admin token>` (Prometheus: `authorization: { credentials: … }`)\n",
            )
                .into_response();
        }
    }
    metrics::gauge!(telemetry::LIVE_SESSIONS).set(scraped.sessions.live_count() as f64);
    metrics::gauge!(telemetry::PLUGIN_SLOTS_IN_USE).set(scraped.host.slots_in_use() as f64);
    metrics::gauge!(telemetry::PLUGIN_SLOTS).set(f64::from(scraped.host.limits().max_concurrent_calls));
    let handle = scraped.handle.clone();
    // Rendering walks every series; keep it off the async threads.
    let text = tokio::task::spawn_blocking(move || {
        handle.run_upkeep();
        handle.render()
    })
    .await
    .unwrap_or_default();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        text,
    )
        .into_response()
}
