//! The Aftercare contracts: prost messages and tonic clients and servers for every package
//! under `proto/`, nested like the packages (`aftercare::tickets::v1`), and the encoded
//! descriptor set of all of them for reflection and JSON transcoding.

#![allow(clippy::all, clippy::pedantic, missing_docs, rustdoc::all)]

include!(concat!(env!("OUT_DIR"), "/packages.rs"));

/// The encoded `FileDescriptorSet` of every contract and its imports, with source info
/// (comments), for gRPC reflection and REST transcoding.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/aftercare_descriptor.bin"));
