//! The `docclass` client against a `docclass-server` process started with
//! `--tls-cert`/`--tls-key`/`--tls-client-ca`, `--admin-token-file` and
//! `--client-token-file`: the right credentials classify, check health and
//! reload; each wrong one gets one line on stderr and its own exit code (the
//! table in the README's "Client CLI").
use crate::common::process::*;
use crate::common::tiny_model;
use crate::common::tls::{Authority, SERVER_NAMES};
use std::process::Output;
use tempfile::TempDir;

const CLIENT_TOKEN: &str = "client-s3cret";
const ADMIN_TOKEN: &str = "admin-s3cret";

/// A mutual-TLS server with both tokens, and every credential file the
/// tests hand the client, right and wrong, in one directory.
struct Secured {
    dir: TempDir,
    server: Server,
}

impl Secured {
    fn start() -> Secured {
        let dir = TempDir::new().expect("temp dir");
        let at = dir.path();
        let ca = Authority::new("docclass server CA");
        ca.write(at, "ca");
        ca.issue(SERVER_NAMES).write(at, "server");
        let clients = Authority::new("docclass client CA");
        clients.write(at, "clients-ca");
        clients.issue(&["client"]).write(at, "client");
        // Signed by a CA the server does not take for clients.
        ca.issue(&["client"]).write(at, "other-client");
        Authority::new("a stranger").write(at, "stranger-ca");
        for (name, text) in [
            ("client.token", format!("{CLIENT_TOKEN}\n")),
            ("admin.token", format!("{ADMIN_TOKEN}\n")),
            ("wrong.token", "not-the-token\n".to_string()),
            ("empty.token", " \n".to_string()),
            ("not-a-pem.pem", "hello\n".to_string()),
        ] {
            std::fs::write(at.join(name), text).expect("write a credential file");
        }
        std::fs::create_dir(at.join("models")).expect("model dir");
        std::fs::copy(
            manifest_dir().join(FIXTURE),
            at.join("models/current.model"),
        )
        .expect("copy the fixture");
        tiny_model()
            .save(&at.join("models/next.model"))
            .expect("save a second model");

        let addr = format!("127.0.0.1:{}", free_port());
        let file = |name: &str| at.join(name).display().to_string();
        let server_args = [
            "--model".to_string(),
            file("models/current.model"),
            "--addr".to_string(),
            addr.clone(),
            "--tls-cert".to_string(),
            file("server.pem"),
            "--tls-key".to_string(),
            file("server.key"),
            "--tls-client-ca".to_string(),
            file("clients-ca.pem"),
            "--admin-token-file".to_string(),
            file("admin.token"),
            "--client-token-file".to_string(),
            file("client.token"),
        ];
        let server_args: Vec<&str> = server_args.iter().map(String::as_str).collect();
        let client_args = [
            "--ca-cert".to_string(),
            file("ca.pem"),
            "--client-cert".to_string(),
            file("client.pem"),
            "--client-key".to_string(),
            file("client.key"),
        ];
        let client_args: Vec<&str> = client_args.iter().map(String::as_str).collect();
        let mut server =
            Server::spawn_with(&addr, &server_args, &[]).with_client_args(&client_args);
        assert!(server.wait_serving(), "server exited:\n{}", server.log());
        Secured { dir, server }
    }

    /// The path of a file in the credentials directory.
    fn file(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// Runs the client with only these arguments (no default credentials).
    fn bare(&self, args: &[&str], envs: &[(&str, &str)]) -> Output {
        client_command(&self.server.addr, args)
            .envs(envs.iter().copied())
            .stdin(std::process::Stdio::null())
            .output()
            .expect("docclass runs")
    }
}

/// Asserts exit code `code`, nothing on stdout and exactly `line` (one
/// line) on stderr.
#[track_caller]
fn refused(out: &Output, code: i32, line: &str) {
    assert_eq!(
        (
            out.status.code(),
            stderr(out).as_str(),
            stdout(out).as_str()
        ),
        (Some(code), format!("{line}\n").as_str(), ""),
    );
}

fn version_of(out: &Output) -> String {
    json(out)["model_version"]
        .as_str()
        .expect("a model version")
        .to_string()
}

#[test]
fn the_right_credentials_classify_check_health_and_reload_over_mutual_tls() {
    let s = Secured::start();
    let token = s.file("client.token");
    let admin = s.file("admin.token");

    let classify = ["--token-file", &token, "classify", "--json", CONFLICT_TEXT];
    assert_eq!(version_of(&s.server.run(&classify)), FIXTURE_VERSION);
    // The token from the environment instead of a file.
    let out = s.server.run_with_env(
        &["classify", "--json", CONFLICT_TEXT],
        &[("DOCCLASS_TOKEN", CLIENT_TOKEN)],
    );
    assert_eq!(version_of(&out), FIXTURE_VERSION);
    // Health needs no token.
    assert_eq!(success(&s.server.run(&["health"])), "SERVING\n");

    // Reload the file in service, then another file of the model directory.
    let out = s
        .server
        .run(&["reload", "--admin-token-file", &admin, "--json"]);
    let reloaded = json(&out);
    assert_eq!(reloaded["model_version"], FIXTURE_VERSION);
    assert_eq!(reloaded["previous_model_version"], FIXTURE_VERSION);
    assert_eq!(reloaded["model_file"], "current.model");
    let next = tiny_model();
    let out = s.server.run_with_env(
        &["reload", "--path", "next.model"],
        &[("DOCCLASS_ADMIN_TOKEN", ADMIN_TOKEN)],
    );
    let text = success(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert_eq!(lines[0], format!("model version     {}", next.version()));
    assert_eq!(lines[1], format!("previous version  {FIXTURE_VERSION}"));
    assert_eq!(lines[2], "model file        next.model");
    assert!(
        lines[3].starts_with("load time         ") && lines[3].ends_with(" ms"),
        "{text}"
    );
    assert!(lines[4].starts_with("loaded at         "), "{text}");
    assert_eq!(version_of(&s.server.run(&classify)), next.version());
}

/// What is wrong, the client's arguments and environment, the exit code and
/// the one line expected on stderr.
type Case<'a> = (&'a str, Vec<String>, Vec<(&'a str, &'a str)>, i32, String);

#[test]
fn each_wrong_credential_gets_one_line_and_its_own_exit_code() {
    let s = Secured::start();
    let addr = s.server.addr.clone();
    let (ca, cert, key) = (s.file("ca.pem"), s.file("client.pem"), s.file("client.key"));
    let token = s.file("client.token");
    let with = |tls: [&str; 6], rest: &[&str]| -> Vec<String> {
        tls.iter().chain(rest).map(|a| a.to_string()).collect()
    };
    let tls = [
        "--ca-cert",
        &ca,
        "--client-cert",
        &cert,
        "--client-key",
        &key,
    ];
    let classify = ["--token-file", &token, "classify", CONFLICT_TEXT];
    let stranger = s.file("stranger-ca.pem");
    let other_cert = s.file("other-client.pem");
    let other_key = s.file("other-client.key");
    let missing = s.file("missing.token");
    let empty = s.file("empty.token");
    let wrong = s.file("wrong.token");
    let not_pem = s.file("not-a-pem.pem");
    let admin_wrong = format!("--admin-token-file={wrong}");

    let cases: Vec<Case> = vec![
        (
            "a server certificate from an unknown CA",
            with(["--ca-cert", &stranger, "--client-cert", &cert, "--client-key", &key], &classify),
            vec![],
            4,
            format!("error: cannot connect to https://{addr}: the server's certificate is not trusted (UnknownIssuer): --ca-cert must be the CA that signed it, and --addr a name or address it was issued for"),
        ),
        (
            "no client certificate",
            ["--ca-cert", ca.as_str()].iter().chain(&classify).map(|a| a.to_string()).collect(),
            vec![],
            5,
            format!("error: cannot connect to https://{addr}: the server refused our TLS certificate (CertificateRequired): it requires a client certificate from its CA (--client-cert, --client-key)"),
        ),
        (
            "a client certificate from another CA",
            with(["--ca-cert", &ca, "--client-cert", &other_cert, "--client-key", &other_key], &classify),
            vec![],
            5,
            format!("error: cannot connect to https://{addr}: the server refused our TLS certificate (UnknownCA): it requires a client certificate from its CA (--client-cert, --client-key)"),
        ),
        (
            "no token",
            with(tls, &["classify", CONFLICT_TEXT]),
            vec![],
            6,
            "error: the server requires a token: give --token-file FILE or set DOCCLASS_TOKEN (UNAUTHENTICATED: this RPC needs an `authorization: Bearer <token>` header)".to_string(),
        ),
        (
            "a wrong token from a file",
            with(tls, &["--token-file", &wrong, "classify", CONFLICT_TEXT]),
            vec![],
            7,
            format!("error: the server refused the token from --token-file {wrong}: UNAUTHENTICATED: the bearer token is not valid for this RPC"),
        ),
        (
            "a wrong token from the environment",
            with(tls, &["classify", CONFLICT_TEXT]),
            vec![("DOCCLASS_TOKEN", "not-the-token")],
            7,
            "error: the server refused the token from DOCCLASS_TOKEN: UNAUTHENTICATED: the bearer token is not valid for this RPC".to_string(),
        ),
        (
            "an unreadable token file",
            with(tls, &["--token-file", &missing, "classify", CONFLICT_TEXT]),
            vec![],
            3,
            format!("error: cannot read token file {missing}: No such file or directory (os error 2)"),
        ),
        (
            "an empty token file",
            with(tls, &["--token-file", &empty, "classify", CONFLICT_TEXT]),
            vec![],
            3,
            format!("error: the token from {empty} is empty"),
        ),
        (
            "an unreadable CA file",
            with(["--ca-cert", &missing, "--client-cert", &cert, "--client-key", &key], &classify),
            vec![],
            3,
            format!("error: cannot read --ca-cert {missing}: No such file or directory (os error 2)"),
        ),
        (
            "a CA file that is not PEM",
            with(["--ca-cert", &not_pem, "--client-cert", &cert, "--client-key", &key], &classify),
            vec![],
            3,
            format!("error: --ca-cert {not_pem}: not a PEM file (no -----BEGIN line)"),
        ),
        (
            "a wrong admin token",
            with(tls, &["reload", &admin_wrong]),
            vec![],
            8,
            format!("error: the server refused the admin token from --admin-token-file {wrong}: UNAUTHENTICATED: the bearer token is not valid for this RPC"),
        ),
        (
            "no admin token",
            with(tls, &["reload"]),
            vec![],
            6,
            "error: reload needs the admin token: give --admin-token-file FILE or set DOCCLASS_ADMIN_TOKEN".to_string(),
        ),
    ];
    for (what, args, envs, code, line) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = s.bare(&args, envs);
        assert_eq!(
            (out.status.code(), stderr(&out), stdout(&out)),
            (Some(*code), format!("{line}\n"), String::new()),
            "{what}"
        );
    }
}

#[test]
fn tls_and_plaintext_mismatches_are_one_line_and_exit_1() {
    let s = Secured::start();
    let addr = s.server.addr.clone();
    // No --ca-cert: a plaintext client, which the TLS server cannot serve.
    // How the HTTP/2 client sees the server drop it depends on timing
    // (connection closed, or the server's TLS alert read as a bad frame):
    // one line and exit 1 either way.
    let out = s.bare(&["health"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with("error: ") && stderr(&out).lines().count() == 1,
        "{}",
        stderr(&out)
    );
    let with_addr = |args: &[&str]| {
        std::process::Command::new(CLIENT)
            .args(args)
            .env_remove("DOCCLASS_CA_CERT")
            .output()
            .expect("docclass runs")
    };
    let out = with_addr(&["--addr", &format!("https://{addr}"), "health"]);
    refused(&out, 1, &format!("error: --addr \"https://{addr}\": TLS needs --ca-cert FILE, the CA that signed the server's certificate"));
    let ca = s.file("ca.pem");
    let out = with_addr(&[
        "--ca-cert",
        &ca,
        "--addr",
        &format!("http://{addr}"),
        "health",
    ]);
    refused(
        &out,
        1,
        &format!(
            "error: --addr \"http://{addr}\": --ca-cert means TLS; use https://{addr} or HOST:PORT"
        ),
    );
    // --client-cert without its key is a usage error.
    let cert = s.file("client.pem");
    let out = s.bare(&["--ca-cert", &ca, "--client-cert", &cert, "health"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn reload_on_a_server_without_an_admin_token_exits_9() {
    let server = Server::serving();
    let dir = TempDir::new().expect("temp dir");
    let token = dir.path().join("admin.token");
    std::fs::write(&token, "any\n").expect("write the token");
    let token = token.display().to_string();
    refused(
        &server.run(&["reload", "--admin-token-file", &token]),
        9,
        "error: PERMISSION_DENIED: admin RPCs are disabled: the server has no admin token (--admin-token-file or DOCCLASS_ADMIN_TOKEN)",
    );
}
