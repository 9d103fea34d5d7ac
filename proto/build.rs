//! Compiles `interarec/v1/*.proto` with protox (no system protoc) and generates the tonic
//! client and server code plus the encoded descriptor set used by server reflection.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = [
        "interarec/v1/tools.proto",
        "interarec/v1/catalogs.proto",
        "interarec/v1/choice_models.proto",
        "interarec/v1/sessions.proto",
    ];
    for proto in protos {
        println!("cargo:rerun-if-changed={proto}");
    }
    let descriptors = protox::compile(protos, ["."])?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("interarec_descriptor.bin"),
        prost::Message::encode_to_vec(&descriptors),
    )?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptors)?;
    Ok(())
}
