//! `interarec new-plugin DIR`: scaffolds a tool crate. By default a standalone crate (its own
//! `[workspace]` and release profile, the SDK by path or git URL) that builds anywhere with
//! `cargo build --target wasm32-wasip2 --release`; with `--workspace-member`, a member of this
//! repository's workspace (`just new-plugin` uses that for `plugins/NAME`). The templates live
//! in `sdk/plugin/template/` and are compiled into the binary, so the command works without the
//! repository at hand.

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use std::path::{Path, PathBuf};

const STANDALONE_MANIFEST: &str = include_str!("../../../sdk/plugin/template/standalone.Cargo.toml.tmpl");
const MEMBER_MANIFEST: &str = include_str!("../../../sdk/plugin/template/member.Cargo.toml.tmpl");
const TOOL_SOURCE: &str = include_str!("../../../sdk/plugin/template/tool.lib.rs.tmpl");
const VALIDATING_SOURCE: &str = include_str!("../../../sdk/plugin/template/validating.lib.rs.tmpl");
const README: &str = include_str!("../../../sdk/plugin/template/README.md.tmpl");
const GITIGNORE: &str = include_str!("../../../sdk/plugin/template/gitignore.tmpl");

/// Where the SDK's sources are published (the workspace's `repository`), for `--sdk-git`'s
/// default and for scaffolds made by a binary built away from its sources.
const REPOSITORY: &str = env!("CARGO_PKG_REPOSITORY");

#[derive(Debug, Args)]
pub struct NewPluginArgs {
    /// Directory to create (it must not exist, or be empty).
    dir: PathBuf,
    /// Tool name: lowercase letters, digits and `-`, starting with a letter (default: the
    /// directory's name).
    #[arg(long)]
    name: Option<String>,
    /// What to start from.
    #[arg(long, value_enum, default_value_t = Kind::Tool)]
    kind: Kind,
    /// The SDK (`sdk/plugin` of an InteraRec checkout) by path. Default: the sources this binary
    /// was built from, when they are still there; else the git repository.
    #[arg(long, value_name = "PATH", conflicts_with = "sdk_git")]
    sdk_path: Option<PathBuf>,
    /// The SDK by git URL (`URL` or `URL#TAG`; default tag `v<this version>`).
    #[arg(long, value_name = "URL", num_args = 0..=1, default_missing_value = REPOSITORY)]
    sdk_git: Option<String>,
    /// Make a member of the InteraRec workspace (inherits its version, lints and plugin
    /// profile) instead of a standalone crate.
    #[arg(long, conflicts_with_all = ["sdk_path", "sdk_git"])]
    workspace_member: bool,
}

/// The starting point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Kind {
    /// A tool with typed arguments and answer (greets by name).
    Tool,
    /// A session's validating tool (takes `ValidatingInput`, answers `ValidatingAnswer`).
    Validating,
}

pub fn run(args: NewPluginArgs) -> anyhow::Result<()> {
    let name = match &args.name {
        Some(name) => name.clone(),
        None => args
            .dir
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_owned)
            .context("cannot take a tool name from the directory; give one with --name")?,
    };
    check_name(&name)?;
    let sdk = if args.workspace_member {
        None
    } else {
        Some(sdk_dependency(&args)?)
    };
    let files = scaffold(&name, args.kind, sdk.as_deref());
    write_new_dir(&args.dir, &files)?;
    let crate_file = name.replace('-', "_");
    println!("created {} ({} files)", args.dir.display(), files.len());
    if args.workspace_member {
        println!("build it: cargo build --target wasm32-wasip2 --profile plugin -p {name}");
        println!("component: target/wasm32-wasip2/plugin/{crate_file}.wasm");
    } else {
        println!("next:");
        println!("  cd {}", args.dir.display());
        println!("  cargo test");
        println!("  cargo build --target wasm32-wasip2 --release");
        println!(
            "  interarec tools register target/wasm32-wasip2/release/{crate_file}.wasm {}",
            grants(args.kind)
        );
    }
    Ok(())
}

fn check_name(name: &str) -> anyhow::Result<()> {
    let mut chars = name.chars();
    let valid = name.len() <= 64
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        bail!(
            "tool name `{name}` is invalid: use at most 64 lowercase letters, digits and `-`, starting with a letter (set it with --name)"
        );
    }
    Ok(())
}

/// The `interarec-plugin = …` value of a standalone manifest.
fn sdk_dependency(args: &NewPluginArgs) -> anyhow::Result<String> {
    if let Some(path) = &args.sdk_path {
        let path =
            std::fs::canonicalize(path).with_context(|| format!("the SDK path {} does not exist", path.display()))?;
        if !path.join("Cargo.toml").is_file() || !path.join("src/lib.rs").is_file() {
            bail!(
                "{} is not the SDK: give the `sdk/plugin` directory of an InteraRec checkout",
                path.display()
            );
        }
        return Ok(path_dependency(&path));
    }
    if let Some(git) = &args.sdk_git {
        return Ok(git_dependency(git));
    }
    // The sources this binary was built from, when it runs where it was built.
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sdk/plugin");
    match std::fs::canonicalize(&built_from) {
        Ok(path) if path.join("Cargo.toml").is_file() => Ok(path_dependency(&path)),
        _ => Ok(git_dependency(REPOSITORY)),
    }
}

fn path_dependency(path: &Path) -> String {
    format!("{{ path = {} }}", toml_string(&path.to_string_lossy()))
}

fn git_dependency(spec: &str) -> String {
    let default_tag = format!("v{}", env!("CARGO_PKG_VERSION"));
    let (url, tag) = spec.split_once('#').unwrap_or((spec, &default_tag));
    format!("{{ git = {}, tag = {} }}", toml_string(url), toml_string(tag))
}

/// A TOML basic string.
fn toml_string(text: &str) -> String {
    let mut quoted = String::from('"');
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            c if c.is_control() => quoted.push_str(&format!("\\u{:04X}", c as u32)),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

fn grants(kind: Kind) -> &'static str {
    match kind {
        Kind::Tool => "",
        Kind::Validating => "--grant catalog",
    }
}

/// The files of a new tool, by path inside its directory. `sdk` is the standalone manifest's
/// SDK dependency; `None` makes a workspace member.
fn scaffold(name: &str, kind: Kind, sdk: Option<&str>) -> Vec<(&'static str, String)> {
    let type_name: String = name
        .split('-')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase())
                .into_iter()
                .chain(chars)
                .collect::<String>()
        })
        .collect();
    let example = match kind {
        Kind::Tool => r#"{"name": "Ada"}"#,
        Kind::Validating => r#"{"catalog_id": "fashion", "arguments": {"highest_price": "$80"}}"#,
    };
    let fill = |template: &str| {
        template
            .replace("{{NAME}}", name)
            .replace("{{TYPE}}", &type_name)
            .replace("{{CRATE}}", &name.replace('-', "_"))
            .replace("{{SDK_DEPENDENCY}}", sdk.unwrap_or_default())
            .replace("{{GRANTS}}", grants(kind))
            .replace("{{EXAMPLE}}", example)
    };
    let source = match kind {
        Kind::Tool => TOOL_SOURCE,
        Kind::Validating => VALIDATING_SOURCE,
    };
    let mut files = vec![("src/lib.rs", fill(source))];
    match sdk {
        Some(_) => {
            files.push(("Cargo.toml", fill(STANDALONE_MANIFEST)));
            files.push(("README.md", fill(README)));
            files.push((".gitignore", GITIGNORE.to_owned()));
        }
        None => files.push(("Cargo.toml", fill(MEMBER_MANIFEST))),
    }
    files
}

/// Writes the files into `dir`, which must not exist or be empty; nothing is left half-written
/// in a directory that had something in it.
fn write_new_dir(dir: &Path, files: &[(&str, String)]) -> anyhow::Result<()> {
    if dir.exists() {
        let mut entries =
            std::fs::read_dir(dir).with_context(|| format!("{} exists and cannot be read", dir.display()))?;
        if entries.next().is_some() {
            bail!(
                "{} already exists and is not empty; give a new directory",
                dir.display()
            );
        }
    }
    for (path, text) in files {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_placeholders() {
        for (name, valid) in [
            ("my-filter", true),
            ("a", true),
            ("My", false),
            ("1x", false),
            ("a_b", false),
            ("", false),
        ] {
            assert_eq!(check_name(name).is_ok(), valid, "{name}");
        }
        for kind in [Kind::Tool, Kind::Validating] {
            for sdk in [Some(r#"{ path = "/sdk" }"#), None] {
                let files = scaffold("price-guard", kind, sdk);
                for (path, text) in &files {
                    assert!(!text.contains("{{"), "{kind:?} {path}: a placeholder is left:\n{text}");
                }
                let source = &files.iter().find(|(p, _)| *p == "src/lib.rs").unwrap().1;
                assert!(source.contains("impl Tool for PriceGuard"), "{kind:?}");
                let manifest = &files.iter().find(|(p, _)| *p == "Cargo.toml").unwrap().1;
                assert_eq!(manifest.contains("[workspace]\n"), sdk.is_some(), "{kind:?}");
            }
        }
        assert_eq!(
            git_dependency("https://example.com/r.git#v9"),
            r#"{ git = "https://example.com/r.git", tag = "v9" }"#
        );
        assert_eq!(toml_string(r#"C:\a "b""#), r#""C:\\a \"b\"""#);
    }
}
