//! Generated gRPC types and services of the `interarec.v1` API, shared by the server and the
//! Rust client. The `.proto` files under `proto/interarec/v1/` are the contract.

/// Package `interarec.v1`.
pub mod v1 {
    #![allow(missing_docs, clippy::all)]
    tonic::include_proto!("interarec.v1");
}

pub mod convert;

/// Encoded `FileDescriptorSet` of every `interarec.v1` file, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/interarec_descriptor.bin"));
