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
    // Servers decode requests with our codec, which refuses a message that
    // does not decode as the sender's fault (INVALID_ARGUMENT); clients keep
    // prost's, under which a response that does not decode is INTERNAL. Two
    // passes, since the codec is set per build: the client pass reuses the
    // message types of the first (`extern_path`).
    tonic_prost_build::configure()
        .build_client(false)
        .build_server(true)
        .codec_path("crate::service::codec::RequestCodec")
        .compile_fds(descriptors.clone())?;
    let client_dir = out_dir.join("client");
    std::fs::create_dir_all(&client_dir)?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(false)
        .out_dir(&client_dir)
        .extern_path(".docclass.v1", "crate::service::pb")
        .compile_fds(descriptors)?;
    Ok(())
}
