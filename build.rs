//! Compiles `proto/` with protox (pure Rust: no system `protoc`), generates the
//! tonic/prost code, and saves the encoded descriptor set for gRPC reflection.
use std::path::PathBuf;

const PROTOS: &[&str] = &[
    "proto/docclass/v1/classifier.proto",
    "proto/docclass/v1/admin.proto",
    // Transport/Noop, served only with `docclass-server --enable-noop-rpc`.
    "proto/docclass/v1/bench.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=proto");
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let descriptors = protox::compile(PROTOS, ["proto"])?;
    std::fs::write(
        out_dir.join("docclass_descriptor.bin"),
        prost::Message::encode_to_vec(&descriptors),
    )?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptors)?;
    Ok(())
}
