//! `interarec mcp`: the server's tools, session tools, catalogs and models for an MCP client
//! (Claude Desktop, an agent framework), served over stdin and stdout. Nothing but MCP goes to
//! stdout; logs go to stderr.

use anyhow::Context;

/// Arguments of `interarec mcp`.
#[derive(Debug, clap::Args)]
pub struct McpArgs {
    #[command(flatten)]
    server: super::ServerArgs,
}

/// Connects to the server, then answers MCP on stdio until the client closes it.
pub async fn run(args: McpArgs) -> anyhow::Result<()> {
    let client = args.server.connect().await?;
    interarec_mcp::Bridge::new(client)
        .serve_stdio()
        .await
        .context("serving MCP on stdio")
}
