//! The README's "A first hour", run as printed: the shell blocks after each
//! `<!-- first-hour -->` marker, in order, with `bash -euo pipefail`, against a fresh
//! `aftercare up` started the way `make run` starts it. Two things differ from a user's
//! terminal, and only these: the platform listens on free ports (so the gateway address
//! `127.0.0.1:50051` in the text is replaced by the one it got), and `aftercare` on the path is
//! this build's binary rather than the release one `make run` builds.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const README: &str = include_str!("../../../README.md");
const MARKER: &str = "<!-- first-hour -->";
const DEFAULT_GATEWAY: &str = "127.0.0.1:50051";

/// The shell blocks that follow the markers, joined in order.
fn first_hour_script() -> String {
    let mut script = String::new();
    for part in README.split(MARKER).skip(1) {
        let body = part
            .trim_start()
            .strip_prefix("```sh\n")
            .expect("a ```sh block right after the marker");
        let end = body.find("\n```").expect("the block's closing fence");
        script.push_str(&body[..end]);
        script.push('\n');
    }
    assert!(!script.is_empty(), "README.md has no first-hour blocks");
    script
}

fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
}

fn tool_missing(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .map_or(true, |s| !s.success())
}

/// `aftercare up` in `dir` on free ports; returns the process and the gateway's address.
fn start_platform(dir: &Path) -> (Child, SocketAddr, Vec<(String, String)>) {
    let gateway = free_addr();
    let mut env = vec![
        ("AFTERCARE_GATEWAY__LISTEN".to_owned(), gateway.to_string()),
        (
            "AFTERCARE_TELEMETRY__METRICS_LISTEN".to_owned(),
            free_addr().to_string(),
        ),
    ];
    for service in ["tickets", "customers", "workforce", "feedback", "knowledge"] {
        env.push((
            format!("AFTERCARE_SERVICES__{}__LISTEN", service.to_uppercase()),
            free_addr().to_string(),
        ));
    }
    let child = Command::new(env!("CARGO_BIN_EXE_aftercare"))
        .arg("up")
        .current_dir(dir)
        .envs(env.iter().cloned())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("aftercare up starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(gateway).is_err() {
        assert!(Instant::now() < deadline, "the gateway never listened");
        std::thread::sleep(Duration::from_millis(100));
    }
    (child, gateway, env)
}

#[test]
fn the_first_hour_in_the_readme_runs_as_printed() {
    let required = std::env::var("AFTERCARE_REQUIRE_SERVICES").is_ok_and(|v| v == "1");
    for tool in ["bash", "curl", "jq"] {
        if tool_missing(tool) {
            assert!(!required, "the README's first hour needs {tool}");
            eprintln!("skipping: {tool} is not installed");
            return;
        }
    }
    let script = first_hour_script();
    assert!(script.contains(DEFAULT_GATEWAY), "{script}");
    let dir = tempfile::tempdir().expect("a temporary folder");
    let (mut platform, gateway, env) = start_platform(dir.path());
    let bin = Path::new(env!("CARGO_BIN_EXE_aftercare"))
        .parent()
        .expect("the binary's folder");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = Command::new("bash")
        .args(["-euo", "pipefail", "-c"])
        .arg(script.replace(DEFAULT_GATEWAY, &gateway.to_string()))
        .current_dir(dir.path())
        .env("PATH", path)
        .envs(env)
        .output()
        .expect("bash runs");
    let _ = Command::new("kill").arg(platform.id().to_string()).status();
    let _ = platform.wait();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the first hour failed:\n{stdout}\n{stderr}"
    );
    // What a reader is told they will see.
    for expected in [
        "demo data in place",
        "\"customerCreated\": true",
        "SLA_STATE_ON_TRACK",
        "How to fix a leak under the washing machine",
        "\"subject\": \"Washing machine leaking\"",
        "\"TICKET_STATUS_RESOLVED\"",
        "\"csatScore\": 5",
        "SENTIMENT_POSITIVE",
    ] {
        assert!(stdout.contains(expected), "no {expected} in:\n{stdout}");
    }
}
