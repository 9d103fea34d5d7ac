//! The end-to-end suite, one test binary: a real server on 127.0.0.1:0, the real client, real
//! components, sled on a temp dir. One binary instead of one per file, because each binary of
//! this package is compiled at opt-level 3 (for the benchmarks' sake) and links the whole
//! server: nine binaries cost CI about five minutes of compiling.

mod access;
mod agent;
mod api;
mod capture;
mod catalogs;
mod console;
mod crash;
mod hosting;
mod limits;
mod llm;
mod mcp;
mod models;
mod outside;
mod registry;
mod replicas;
mod resume;
mod sandbox;
mod sessions;
mod telemetry;
mod vision;
