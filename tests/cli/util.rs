//! Helpers for the binary tests: where the binaries are, files in a
//! temporary directory, and reading a finished binary's output (lossy text,
//! and exit-code assertions that show both streams when they fail).

use std::path::{Path, PathBuf};
use std::process::Output;

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[track_caller]
pub fn assert_success(o: &Output) {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        stdout(o),
        stderr(o)
    );
}

/// Asserts exit code 1 and returns stderr.
#[track_caller]
pub fn assert_failure(o: &Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(1),
        "stdout:\n{}\nstderr:\n{}",
        stdout(o),
        stderr(o)
    );
    stderr(o)
}

/// Makes `cmd`'s writes past `bytes` of any file fail (EFBIG), as on a full
/// disk, instead of the kernel's signal killing the process.
#[cfg(target_os = "linux")]
pub fn limit_file_size(cmd: &mut std::process::Command, bytes: u64) {
    use std::os::unix::process::CommandExt;
    // SAFETY: between fork and exec the closure calls only setrlimit and
    // signal, which are async-signal-safe, and allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: bytes,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
}

/// The offline binaries, as cargo built them for the tests.
pub const TRAIN: &str = env!("CARGO_BIN_EXE_docclass-train");
pub const EVAL: &str = env!("CARGO_BIN_EXE_docclass-eval");
pub const PREDICT: &str = env!("CARGO_BIN_EXE_docclass-predict");

/// Writes `contents` to `dir/name` and returns that path.
pub fn write(dir: &Path, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

/// A temporary path as an argument.
pub fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}
