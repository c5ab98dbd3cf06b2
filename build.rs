//! Build script. The gRPC service issue adds proto compilation here (with
//! protox, so no system `protoc` is needed); until then it only declares
//! what should trigger a rebuild.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=proto");
}
