//! `interarec api-key new`: makes a client API key and prints it with the `[[api_keys]]` entry
//! for the server's config, which holds only the key's SHA-256.

use clap::{Args, Subcommand};
use interarec_server::access::{API_KEY_PREFIX, Scope};

#[derive(Debug, Args)]
pub struct ApiKeyArgs {
    #[command(subcommand)]
    command: ApiKeyCommand,
}

#[derive(Debug, Subcommand)]
enum ApiKeyCommand {
    /// Makes a new key: prints it once (give it to the service) and the config entry (give that
    /// to the server).
    New {
        /// The key's name, shown in refusals and logs.
        name: String,
        /// What the key may do: sessions, tools:invoke, optimize, read (repeat the flag).
        #[arg(long = "scope", required = true, value_parser = Scope::parse)]
        scopes: Vec<Scope>,
    },
}

pub fn run(args: ApiKeyArgs) -> anyhow::Result<()> {
    match args.command {
        ApiKeyCommand::New { name, mut scopes } => {
            if name.trim().is_empty() || name.contains(['"', '\\', '\n']) {
                anyhow::bail!("name the key with plain text (no quotes, backslashes or line breaks)");
            }
            scopes.dedup();
            let key = interarec_core::secret::generate(API_KEY_PREFIX)?;
            let scopes: Vec<String> = scopes.iter().map(|s| format!("\"{s}\"")).collect();
            eprintln!(
                "the key (shown once; the service sends it as `authorization: Bearer <key>`, the CLI reads INTERAREC_API_KEY):"
            );
            println!("{key}");
            eprintln!(
                "\nadd this to the server's config file (it needs an admin_token too), then restart the server:\n"
            );
            eprintln!("[[api_keys]]");
            eprintln!("name = \"{name}\"");
            eprintln!("sha256 = \"{}\"", interarec_core::secret::fingerprint(&key));
            eprintln!("scopes = [{}]", scopes.join(", "));
            Ok(())
        }
    }
}
