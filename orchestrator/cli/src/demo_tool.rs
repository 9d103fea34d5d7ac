//! `interarec demo-tool`: the foundation's job end to end on a throw-away server: start it on a
//! free loopback port with a temporary data dir, register a tool through the real client (echo
//! by default), list it, invoke it, and stop.

use anyhow::Context;
use clap::Args;
use interarec_client::{Client, ConnectOptions, ToolLimits};
use interarec_server::config::ServerConfig;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct DemoToolArgs {
    /// The component to register (built by `just plugins`).
    #[arg(long, default_value = "target/wasm32-wasip2/plugin/echo.wasm")]
    plugin: PathBuf,
    /// Name of the tool the component describes.
    #[arg(long, default_value = "echo")]
    tool: String,
    /// Capabilities to grant (default for echo: kv).
    #[arg(long = "grant", value_name = "CAP")]
    grants: Vec<String>,
    /// Arguments of a single invocation (default for echo: two counted calls).
    #[arg(long)]
    arguments: Option<String>,
}

pub async fn run(args: DemoToolArgs) -> anyhow::Result<()> {
    let component = std::fs::read(&args.plugin).with_context(|| {
        format!(
            "cannot read the component {} (build it with `just plugins`)",
            args.plugin.display()
        )
    })?;
    let grant_texts = if args.grants.is_empty() && args.tool == "echo" {
        vec!["kv".to_owned()]
    } else {
        args.grants.clone()
    };
    let grants = grant_texts
        .iter()
        .map(|text| super::wire_grant(text))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let invocations = match &args.arguments {
        Some(arguments) => vec![arguments.clone()],
        None if args.tool == "echo" => ["hello from InteraRec", "and again"]
            .iter()
            .map(|message| serde_json::json!({ "message": message, "count": true }).to_string())
            .collect(),
        None => vec!["{}".to_owned()],
    };

    let data_dir = tempfile::tempdir().context("cannot create a temporary data dir")?;
    let mut config = ServerConfig::local(data_dir.path());
    config.listen = "127.0.0.1:0".parse()?;
    println!("[1/4] starting a server with data in {}", data_dir.path().display());
    let server = interarec_server::start(config).await?;
    println!("      listening on {}", server.url());

    let outcome = async {
        let mut client = Client::connect(&server.url(), ConnectOptions::default()).await?;
        println!(
            "[2/4] registering {} ({} bytes) with grants [{}]",
            args.plugin.display(),
            component.len(),
            grant_texts.join(", ")
        );
        let registered = client
            .register_tool(component, grants, ToolLimits::default(), false)
            .await?;
        let tool = registered.tool.context("the server sent no tool")?;
        println!(
            "      registered {} {} (sha256 {}…)",
            tool.name,
            tool.version,
            &tool.sha256[..12]
        );

        println!("[3/4] listing tools");
        for tool in client.list_tools().await? {
            println!("      {} {}: {}", tool.name, tool.version, tool.description);
        }

        println!(
            "[4/4] invoking {} in session `demo-session` (its kv state lives there)",
            args.tool
        );
        client
            .create_session("demo-session", "", interarec_client::SessionOptions::default())
            .await?;
        for arguments in &invocations {
            let response = client.invoke_tool(&args.tool, arguments, "demo-session").await?;
            println!(
                "      {}({arguments}) -> {} in {} µs",
                args.tool,
                response.result_json,
                interarec_client::convert::std_duration(response.duration.as_ref()).as_micros()
            );
        }
        anyhow::Ok(())
    }
    .await;
    server.stop().await?;
    outcome?;
    println!("done: server stopped");
    Ok(())
}
