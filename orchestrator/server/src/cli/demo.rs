//! `interarec demo`: the foundation's main job end to end on a throw-away server: start it on a
//! free loopback port with a temporary data dir, register the echo tool through the real client,
//! list it, invoke it twice (counting calls in kv state), and stop.

use anyhow::Context;
use interarec_client::{Client, ConnectOptions, Grant, ToolLimits};
use interarec_server::config::ServerConfig;
use std::path::Path;

pub async fn run(plugin: &Path) -> anyhow::Result<()> {
    let component = std::fs::read(plugin)
        .with_context(|| format!("cannot read the echo component {} (build it with `just plugins`)", plugin.display()))?;
    let data_dir = tempfile::tempdir().context("cannot create a temporary data dir")?;
    let mut config = ServerConfig::local(data_dir.path());
    config.listen = "127.0.0.1:0".parse()?;
    println!("[1/4] starting a server with data in {}", data_dir.path().display());
    let server = interarec_server::start(config).await?;
    println!("      listening on {}", server.url());

    let outcome = async {
        let mut client = Client::connect(&server.url(), ConnectOptions::default()).await?;
        println!("[2/4] registering {} ({} bytes) with grant kv", plugin.display(), component.len());
        let kv = Grant { capability: "kv".into(), hosts: vec![] };
        let registered = client.register_tool(component, vec![kv], ToolLimits::default(), false).await?;
        let tool = registered.tool.context("the server sent no tool")?;
        println!("      registered {} {} (sha256 {}…)", tool.name, tool.version, &tool.sha256[..12]);

        println!("[3/4] listing tools");
        for tool in client.list_tools().await? {
            println!("      {} {}: {}", tool.name, tool.version, tool.description);
        }

        println!("[4/4] invoking echo");
        for message in ["hello from InteraRec", "and again"] {
            let arguments = serde_json::json!({ "message": message, "count": true }).to_string();
            let response = client.invoke_tool("echo", &arguments, "demo-session").await?;
            println!("      echo({arguments}) -> {} in {} µs", response.result_json, response.duration_us);
        }
        anyhow::Ok(())
    }
    .await;
    server.stop().await?;
    outcome?;
    println!("done: server stopped");
    Ok(())
}
