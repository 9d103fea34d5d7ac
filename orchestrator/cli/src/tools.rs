//! `interarec tools …`: the registry through the Rust client.

use anyhow::Context;
use clap::{Args, Subcommand};
use interarec_client::{ToolInfo, ToolLimits};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ToolsArgs {
    #[command(flatten)]
    server: super::ServerArgs,
    #[command(subcommand)]
    command: ToolsCommand,
}

#[derive(Debug, Subcommand)]
enum ToolsCommand {
    /// Registers a component (.wasm); the admin token comes from INTERAREC_ADMIN_TOKEN.
    Register {
        /// The component file.
        file: PathBuf,
        /// A capability to grant: kv, frames, models, catalog, or http:HOST[,HOST] (repeatable).
        #[arg(long = "grant", value_name = "CAP")]
        grants: Vec<String>,
        /// Deadline of one call in milliseconds (server default when omitted).
        #[arg(long)]
        timeout_ms: Option<u64>,
        /// Memory limit of one call in MiB (server default when omitted).
        #[arg(long)]
        memory_mib: Option<u64>,
        /// Fuel per call (only when the server has fuel metering on).
        #[arg(long)]
        fuel: Option<u64>,
        /// Replace a registered tool of the same name (different bytes need a greater version).
        #[arg(long)]
        replace: bool,
    },
    /// Lists the registered tools.
    List {
        /// Print JSON (an array of tools) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Shows one tool: schema, grants, limits.
    Describe {
        /// Tool name.
        name: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Invokes a tool with JSON arguments and prints its JSON result.
    Invoke {
        /// Tool name.
        name: String,
        /// Arguments as JSON (`{}` when omitted), `@FILE` to read them from a file, `-` from stdin.
        #[arg(default_value = "{}")]
        arguments: String,
        /// Session whose frames and kv state the tool sees (it must exist; its credential comes
        /// from INTERAREC_SESSION_CREDENTIAL unless the admin token is set).
        #[arg(long, default_value = "")]
        session: String,
    },
    /// Removes a tool and its state; needs the admin token when one is set.
    Remove {
        /// Tool name.
        name: String,
    },
}

pub async fn run(args: ToolsArgs) -> anyhow::Result<()> {
    let mut client = args.server.connect().await?;
    match args.command {
        ToolsCommand::Register {
            file,
            grants,
            timeout_ms,
            memory_mib,
            fuel,
            replace,
        } => {
            let component =
                std::fs::read(&file).with_context(|| format!("cannot read component {}", file.display()))?;
            let grants = grants
                .iter()
                .map(|text| super::wire_grant(text))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let limits = ToolLimits {
                timeout: timeout_ms.map(|ms| interarec_client::convert::duration(std::time::Duration::from_millis(ms))),
                memory_bytes: memory_mib.map(|mib| mib * 1024 * 1024).unwrap_or(0),
                fuel: fuel.unwrap_or(0),
            };
            let response = client.register_tool(component, grants, limits, replace).await?;
            let tool = response.tool.context("the server sent no tool")?;
            let what = if response.unchanged {
                "already registered, unchanged"
            } else if response.replaced {
                "replaced"
            } else {
                "registered"
            };
            println!("{} {} {what} (sha256 {})", tool.name, tool.version, &tool.sha256[..12]);
        }
        ToolsCommand::List { json: true } => {
            let tools = client.list_tools().await?;
            super::print_json(
                &tools
                    .iter()
                    .map(interarec_client::convert::json::tool)
                    .collect::<Vec<_>>(),
            )?;
        }
        ToolsCommand::List { json: false } => {
            let tools = client.list_tools().await?;
            if tools.is_empty() {
                println!("no tools registered; add one with `interarec tools register FILE`");
            }
            println!("{:<24} {:<10} {:<24} DESCRIPTION", "NAME", "VERSION", "GRANTS");
            for tool in tools {
                println!(
                    "{:<24} {:<10} {:<24} {}",
                    tool.name,
                    tool.version,
                    grants_text(&tool),
                    tool.description
                );
            }
        }
        ToolsCommand::Describe { name, json: true } => {
            super::print_json(&interarec_client::convert::json::tool(
                &client.describe_tool(&name).await?,
            ))?;
        }
        ToolsCommand::Describe { name, json: false } => {
            let tool = client.describe_tool(&name).await?;
            let limits = tool.limits.unwrap_or_default();
            println!("name:         {}", tool.name);
            println!("version:      {}", tool.version);
            println!("description:  {}", tool.description);
            let requested: Vec<&str> = tool.requested_capabilities().map(|c| c.name()).collect();
            println!("requests:     {}", requested.join(", "));
            println!("grants:       {}", grants_text(&tool));
            println!(
                "limits:       timeout {} ms, memory {} MiB{}",
                interarec_client::convert::std_duration(limits.timeout.as_ref()).as_millis(),
                limits.memory_bytes / (1024 * 1024),
                if limits.fuel > 0 {
                    format!(", fuel {}", limits.fuel)
                } else {
                    String::new()
                }
            );
            println!(
                "component:    {} bytes, sha256 {}, interarec:tool@{}",
                tool.component_size, tool.sha256, tool.wit_version
            );
            let schema: serde_json::Value = serde_json::from_str(&tool.arguments_schema_json).unwrap_or_default();
            println!("arguments:    {}", serde_json::to_string_pretty(&schema)?);
        }
        ToolsCommand::Invoke {
            name,
            arguments,
            session,
        } => {
            if !session.is_empty() {
                crate::session::use_credential(&client, &session);
            }
            let arguments = super::argument_text(&arguments, "the arguments")?;
            let response = client.invoke_tool(&name, &arguments, &session).await?;
            let value: serde_json::Value = serde_json::from_str(&response.result_json)?;
            println!("{}", serde_json::to_string_pretty(&value)?);
        }
        ToolsCommand::Remove { name } => {
            let tool = client.remove_tool(&name).await?;
            println!("{} {} removed", tool.name, tool.version);
        }
    }
    Ok(())
}

fn grants_text(tool: &ToolInfo) -> String {
    if tool.grants.is_empty() {
        return "-".to_owned();
    }
    tool.grants
        .iter()
        .map(|g| {
            let capability = g.capability().name();
            if g.hosts.is_empty() {
                capability.to_owned()
            } else {
                format!("{capability}:{}", g.hosts.join(","))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
