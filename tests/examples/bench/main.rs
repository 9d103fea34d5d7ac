//! The benchmarks behind the `just bench-*` recipes, one binary (`cargo run -p interarec-tests
//! --example bench -- NAME [ARGS]`): the package is compiled at opt-level 3 so the figures are
//! realistic, and one binary links the server once instead of five times. Each prints a table,
//! then one JSON object as its last line.

mod assortment_plugin;
mod capture;
mod chaos;
mod llm;
mod recommendation_loop;
mod recovery;
mod replicas;
mod scale;
mod summarize;
mod tools;

fn main() -> anyhow::Result<()> {
    let name = std::env::args().nth(1).unwrap_or_default();
    match name.as_str() {
        "tools" => tools::main(),
        "assortment-plugin" => assortment_plugin::main(),
        "loop" => recommendation_loop::main(),
        "summarize" => summarize::main(),
        "capture" => capture::main(),
        "llm" => llm::main(),
        "recovery" => recovery::main(),
        "chaos" => chaos::main(),
        "scale" => scale::main(),
        "replicas" => replicas::main(),
        _ => anyhow::bail!(
            "unknown benchmark `{name}`: choose tools, assortment-plugin, loop, summarize, capture, llm, recovery, chaos, scale or replicas (the `just bench-*` recipes run them)"
        ),
    }
}
