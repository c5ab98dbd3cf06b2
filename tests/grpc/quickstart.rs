//! Runs the commands of docs/QUICKSTART.md, exactly as written there, in a
//! temporary directory holding a small CSV of the kind the guide describes,
//! with the built binaries on PATH and DOCCLASS_ADDR set to a free port
//! (the server and the client both read it), then checks what they did.
use crate::common::process::{free_port, CONFLICT_TEXT, DISASTER_TEXT, OTHER_TEXT};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The shell block between the quickstart markers.
fn quickstart_commands() -> String {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/QUICKSTART.md"))
            .expect("docs/QUICKSTART.md");
    let block = doc
        .split("<!-- quickstart:begin -->")
        .nth(1)
        .and_then(|rest| rest.split("<!-- quickstart:end -->").next())
        .expect("quickstart markers");
    block
        .trim()
        .strip_prefix("```sh")
        .and_then(|b| b.strip_suffix("```"))
        .expect("one sh block between the markers")
        .trim()
        .to_string()
}

/// `n` rows per topic, each a known text with a varying tail.
fn csv_rows(n: usize, with_labels: bool) -> String {
    let mut out = if with_labels {
        "text,label\n"
    } else {
        "text\n"
    }
    .to_string();
    for i in 0..n {
        for (label, text) in [
            ("conflict", CONFLICT_TEXT),
            ("disaster", DISASTER_TEXT),
            ("other", OTHER_TEXT),
        ] {
            if with_labels {
                out.push_str(&format!("\"{text} report {i}\",{label}\n"));
            } else {
                out.push_str(&format!("\"{text} update {i}\"\n"));
            }
        }
    }
    out
}

#[test]
fn the_quickstart_runs_as_written() {
    let commands = quickstart_commands();
    assert!(
        commands.lines().count() < 10,
        "the quickstart must stay under 10 commands:\n{commands}"
    );
    let dir = tempfile::TempDir::new().unwrap();
    std::fs::write(dir.path().join("news.csv"), csv_rows(8, true)).unwrap();
    std::fs::write(dir.path().join("more.csv"), csv_rows(4, true)).unwrap();
    std::fs::write(dir.path().join("incoming.csv"), csv_rows(2, false)).unwrap();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_docclass"))
        .parent()
        .expect("the binaries' directory");
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let addr = format!("127.0.0.1:{}", free_port());
    // The server runs in the background: stop it however the script ends.
    let script = format!("trap 'kill $(jobs -p) 2>/dev/null; wait' EXIT\n{commands}\n");
    let mut child = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(dir.path())
        .env("PATH", path)
        .env("DOCCLASS_ADDR", &addr)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("bash runs");
    let deadline = Instant::now() + Duration::from_secs(180);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            panic!("the quickstart did not finish in 180 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().expect("output");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status.code()
    );
    // What each step should have left behind.
    assert!(stdout.starts_with("text,label\n"), "{stdout}");
    assert!(stdout.contains("labels         conflict"), "{stdout}");
    assert!(dir.path().join("errors.txt").exists());
    let labels = std::fs::read_to_string(dir.path().join("labels.jsonl")).unwrap();
    assert_eq!(labels.lines().count(), 6, "{labels}");
    // The last `info` shows the retrained model: 24 + 12 documents.
    assert!(
        stdout.contains("corpus documents  36\n"),
        "the server did not swap in the retrained model:\n{stdout}"
    );
}
