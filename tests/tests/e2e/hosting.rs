//! How the server is hosted: TLS from config files, the compiled-component cache on disk, and
//! clear refusals at start-up (incompatible database, exposed listener without a token).

use interarec_client::{Client, ConnectOptions};
use interarec_core::LimitsConfig;
use interarec_plugin_host::{HostConfig, MemoryKv, PluginHost, Services};
use interarec_server::config::{ServerConfig, TlsFiles};
use interarec_tests::{TestServer, limits, plugin};
use std::sync::Arc;

#[tokio::test]
async fn tls_from_certificate_and_key_files() {
    let identity = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let files = tempfile::tempdir().unwrap();
    let cert = files.path().join("server.pem");
    let key = files.path().join("server.key");
    std::fs::write(&cert, identity.cert.pem()).unwrap();
    std::fs::write(&key, identity.key_pair.serialize_pem()).unwrap();

    let server = TestServer::start_with(|config| {
        config.tls = Some(TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        })
    })
    .await;
    let url = server.server.url();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let options = ConnectOptions {
        tls_ca_pem: Some(identity.cert.pem().into_bytes()),
        ..ConnectOptions::default()
    };
    let mut client = Client::connect(&url, options).await.unwrap();
    client
        .register_tool(plugin("echo"), vec![], limits(0, 0), false)
        .await
        .unwrap();
    let response = client
        .invoke_tool("echo", r#"{"message":"over tls"}"#, "")
        .await
        .unwrap();
    assert_eq!(response.result_json, r#"{"message":"over tls"}"#);

    // A client that does not trust the certificate cannot talk to it, and plain HTTP is refused.
    let untrusted = Client::connect(&url, ConnectOptions::default()).await;
    let refused = match untrusted {
        Err(error) => Some(error.to_string()),
        Ok(mut client) => client.list_tools().await.err().map(|e| e.to_string()),
    };
    assert!(refused.is_some(), "an untrusted certificate must not be accepted");
    let plain = url.replace("https://", "http://");
    let plain_result = match Client::connect(&plain, ConnectOptions::default()).await {
        Err(error) => Err(error.to_string()),
        Ok(mut client) => client.list_tools().await.map_err(|e| e.to_string()),
    };
    assert!(plain_result.is_err(), "plain HTTP/2 to a TLS port must fail");
    server.server.stop().await.unwrap();
}

#[tokio::test]
async fn unreadable_tls_files_stop_start_up_with_the_path() {
    let data_dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::local(data_dir.path());
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.tls = Some(TlsFiles {
        cert: "/nonexistent/cert.pem".into(),
        key: "/nonexistent/key.pem".into(),
    });
    let error = match interarec_server::start(config).await {
        Ok(_) => panic!("unreadable TLS files must stop start-up"),
        Err(error) => error,
    };
    assert!(
        format!("{error:#}").contains("cannot read TLS certificate /nonexistent/cert.pem"),
        "{error:#}"
    );
}

#[tokio::test]
async fn compiled_components_are_cached_on_disk_by_sha256() {
    let cache = tempfile::tempdir().unwrap();
    let host = || {
        PluginHost::new(
            HostConfig {
                limits: LimitsConfig::default(),
                cache_dir: Some(cache.path().to_owned()),
            },
            Services::new(Arc::new(MemoryKv::default())).unwrap(),
        )
        .unwrap()
    };
    let bytes = plugin("echo");
    let first = host().prepare(&bytes).unwrap();
    let artifact = cache.path().join(format!("{}.cwasm", first.sha256));
    assert!(artifact.exists(), "the compiled artifact is written next to its hash");
    let written = std::fs::metadata(&artifact).unwrap().modified().unwrap();

    // A new host (a restart) loads the artifact instead of compiling: the file is left as is.
    let second_host = host();
    let second = second_host.prepare(&bytes).unwrap();
    assert_eq!(second.sha256, first.sha256);
    assert_eq!(std::fs::metadata(&artifact).unwrap().modified().unwrap(), written);
    assert_eq!(second_host.describe(&second).await.unwrap().name, "echo");

    // A damaged artifact is not trusted: the component is recompiled and the file replaced.
    std::fs::write(&artifact, b"garbage").unwrap();
    let third_host = host();
    let third = third_host.prepare(&bytes).unwrap();
    assert_eq!(third_host.describe(&third).await.unwrap().name, "echo");
    assert!(std::fs::metadata(&artifact).unwrap().len() > 1000, "artifact rewritten");
}

#[tokio::test]
async fn an_incompatible_database_is_reported_at_start_up_and_left_alone() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    client
        .register_tool(plugin("echo"), vec![], limits(0, 0), false)
        .await
        .unwrap();
    let config = server.config.clone();
    server.server.stop().await.unwrap();
    {
        let db = sled_reopen(&config);
        db.open_tree("meta")
            .unwrap()
            .insert("schema_version", &7u32.to_be_bytes())
            .unwrap();
        db.flush().unwrap();
    }
    let error = match interarec_server::start(config.clone()).await {
        Ok(_) => panic!("an incompatible database must stop start-up"),
        Err(error) => format!("{error:#}"),
    };
    assert!(
        error.contains("has schema version 7 but this build reads version 1"),
        "{error}"
    );
    assert!(
        error.contains("use the matching interarec release or start with an empty --data-dir"),
        "{error}"
    );
    let db = sled_reopen(&config);
    assert!(
        db.open_tree("tools").unwrap().get("echo").unwrap().is_some(),
        "nothing was reset"
    );
}

#[tokio::test]
async fn a_corrupt_database_is_reported_at_start_up() {
    let server = TestServer::start().await;
    server
        .client()
        .await
        .register_tool(plugin("echo"), vec![], limits(0, 0), false)
        .await
        .unwrap();
    let config = server.config.clone();
    server.server.stop().await.unwrap();
    let conf = config.data_dir.join("db/conf");
    std::fs::write(&conf, [0xFFu8; 64]).unwrap();
    let error = match interarec_server::start(config.clone()).await {
        Ok(_) => panic!("a corrupt database must stop start-up"),
        Err(error) => format!("{error:#}"),
    };
    assert!(error.contains("is corrupt"), "{error}");
    assert!(error.contains("restore it from a backup or move it aside"), "{error}");
    assert_eq!(
        std::fs::read(&conf).unwrap(),
        [0xFFu8; 64],
        "the damaged file was left as it was"
    );
}

/// The raw database, to damage it as an older or newer build would have left it.
fn sled_reopen(config: &ServerConfig) -> sled::Db {
    sled::open(config.data_dir.join("db")).unwrap()
}

#[tokio::test]
async fn an_exposed_listener_needs_an_admin_token() {
    let data_dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::local(data_dir.path());
    config.listen = "0.0.0.0:0".parse().unwrap();
    let error = match interarec_server::start(config).await {
        Ok(_) => panic!("must refuse"),
        Err(error) => error.to_string(),
    };
    assert!(
        error.starts_with("refusing to listen on 0.0.0.0:0 without an admin token"),
        "{error}"
    );
}
