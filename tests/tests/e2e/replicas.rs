//! Replicas on one PostgreSQL database (`just test-postgres` starts one; without it these
//! tests are ignored, never passed): what one server registers, imports, fits or logs, another
//! sees; a client streams to one replica and watches on another; a replica killed with SIGKILL
//! in the middle of a batch leaves it to another, with no acknowledged frame lost and no batch
//! summarised twice.

use interarec_client::{Client, ConnectOptions};
use interarec_server::config::ServerConfig;
use interarec_tests::replicas::{Kill, ReplicaPlan, run};
use std::time::Duration;

/// Two in-process servers on one fresh database.
async fn two_servers() -> (Vec<interarec_server::RunningServer>, Vec<tempfile::TempDir>) {
    let url = interarec_tests::fresh_postgres_database();
    let mut servers = Vec::new();
    let mut dirs = Vec::new();
    for _ in 0..2 {
        let dir = tempfile::tempdir().unwrap();
        let mut config = ServerConfig::local(dir.path());
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.store = url.clone();
        config.replicas.poll_ms = 50;
        servers.push(interarec_server::start(config).await.expect("a replica starts"));
        dirs.push(dir);
    }
    (servers, dirs)
}

async fn client(server: &interarec_server::RunningServer) -> Client {
    Client::connect(&server.url(), ConnectOptions::default()).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: `just test-postgres` runs it"]
async fn tools_catalogs_models_and_events_made_on_one_replica_reach_the_other() {
    let (servers, _dirs) = two_servers().await;
    let (mut a, mut b) = (client(&servers[0]).await, client(&servers[1]).await);
    // A tool registered on A runs on B at once.
    let echo = interarec_tests::plugin("echo");
    a.register_tool(
        echo,
        vec![interarec_tests::grant("kv")],
        interarec_tests::limits(2_000, 32),
        false,
    )
    .await
    .unwrap();
    let answer = b.invoke_tool("echo", r#"{"message":"hi"}"#, "").await.unwrap();
    assert!(answer.result_json.contains("hi"), "{answer:?}");
    // A catalog imported and a model fitted on A serve B.
    let domain = interarec_demo_shop::catalog::Domain::ALL[0];
    interarec_tests::pipeline::import_demo_shop(&mut a, domain, true)
        .await
        .unwrap();
    let catalogs = b.list_catalogs().await.unwrap();
    assert!(catalogs.iter().any(|c| c.catalog_id == domain.slug()), "{catalogs:?}");
    let model = interarec_tests::pipeline::demo_model_id(domain);
    let optimized = b
        .optimize(interarec_client::OptimizeRequest {
            model_id: model,
            catalog_id: domain.slug().into(),
            constraints_json: r#"{"capacity": 3}"#.into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(optimized.items.len(), 3, "{optimized:?}");
    // A session created on B, ended on A: B's watch sees A's event.
    b.create_session("shared", "", interarec_client::SessionOptions::default())
        .await
        .unwrap();
    let mut watch = b.watch_session("shared", 1).await.unwrap();
    a.end_session("shared").await.unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(10), watch.message())
        .await
        .expect("the event made on A reaches B's watch")
        .unwrap()
        .expect("an event");
    assert_eq!(ended.kind_name(), "session-ended");
    // A tool removed on A is gone from B after B's next look at the store.
    a.remove_tool("echo").await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        match b.invoke_tool("echo", r#"{"message":"hi"}"#, "").await {
            Err(error) if error.to_string().contains("no tool named `echo`") => break,
            other if std::time::Instant::now() > deadline => panic!("still there on B: {other:?}"),
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    for server in servers {
        server.stop().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: `just test-postgres` runs it"]
async fn a_replica_killed_mid_batch_leaves_it_to_another_with_nothing_lost_or_done_twice() {
    let url = interarec_tests::fresh_postgres_database();
    let figures = run(
        ReplicaPlan {
            replicas: 2,
            clients: 2,
            frames_per_client: 12,
            batch_size: 4,
            frame_gap: Duration::from_millis(40),
            kill: Some(Kill::MidBatch),
            lease_ms: 1500,
        },
        &url,
    )
    .await
    .unwrap();
    eprintln!("{figures:?}");
    assert_eq!(figures.killed, 1);
    assert_eq!(
        figures.acknowledged, 24,
        "every frame was acknowledged somewhere: {figures:?}"
    );
    assert!(figures.batches >= 6, "{figures:?}");
    assert_eq!(
        (figures.lost, figures.summarised_twice, figures.unfinished),
        (0, 0, 0),
        "{figures:?}"
    );
    assert!(
        figures.watched_elsewhere > 0,
        "a watcher on the other replica saw a recommendation: {figures:?}"
    );
}
