//! Least privilege (issue 15): with the sandbox on (the default), code in the pipeline that
//! tries to read a file outside the inputs, open a TCP connection, send a UDP datagram, connect
//! to a named Unix socket, or start a child that reads such a file is refused by the kernel
//! (Landlock and a seccomp filter); with --no-sandbox the same probe succeeds, which shows the
//! probe can tell the difference. The probe is the `sandbox-probe` test fault.

use std::net::{TcpListener, UdpSocket};
use std::os::unix::net::UnixListener;

use crate::env::{error_lines, stderr, Env};

/// What reached the test's listeners.
struct Reached {
    tcp: bool,
    udp: bool,
    unix: bool,
}

/// What the probe goes for: a file of the user's outside the inputs and the output folder, a
/// TCP listener and a UDP socket on the same port, and a named Unix socket beside the file.
struct Bait {
    secret: std::path::PathBuf,
    sock: std::path::PathBuf,
    tcp: TcpListener,
    udp: UdpSocket,
    unix: UnixListener,
}

impl Bait {
    fn new(env: &Env) -> Bait {
        let secret = env.path("private/diary.txt");
        std::fs::create_dir_all(secret.parent().unwrap()).unwrap();
        std::fs::write(&secret, "the names of my sources").unwrap();
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        let udp = UdpSocket::bind(tcp.local_addr().unwrap()).unwrap();
        let sock = env.path("private/agent.sock");
        let unix = UnixListener::bind(&sock).unwrap();
        tcp.set_nonblocking(true).unwrap();
        udp.set_nonblocking(true).unwrap();
        unix.set_nonblocking(true).unwrap();
        Bait { secret, sock, tcp, udp, unix }
    }

    /// The environment of a process that runs the `sandbox-probe` fault against this bait.
    fn vars(&self) -> Vec<(&'static str, std::ffi::OsString)> {
        vec![
            ("UNSEEN_TEST_FAULT", "sandbox-probe".into()),
            ("UNSEEN_TEST_PROBE_PATH", self.secret.clone().into()),
            ("UNSEEN_TEST_PROBE_ADDR", self.tcp.local_addr().unwrap().to_string().into()),
            ("UNSEEN_TEST_PROBE_UNIX", self.sock.clone().into()),
        ]
    }

    fn reached(&self) -> Reached {
        Reached {
            tcp: self.tcp.accept().is_ok(),
            udp: self.udp.recv_from(&mut [0u8; 16]).is_ok(),
            unix: self.unix.accept().is_ok(),
        }
    }
}

/// Runs the probe on one image; returns its error line and what reached the listeners.
fn probe(env: &mut Env, extra: &[&str]) -> (String, Reached) {
    let input = env.input("good/astronaut.jpg", "astronaut.jpg");
    let bait = Bait::new(env);
    let out = env.unseen().envs(bait.vars()).args(extra).arg(&input).assert().code(1).get_output().clone();
    let errors = error_lines(&out);
    assert_eq!(errors.len(), 1, "{}", stderr(&out));
    (errors[0].clone(), bait.reached())
}

#[test]
fn issue15_a_compromised_decoder_can_read_no_other_file_and_open_no_connection() {
    let mut env = Env::new();
    let (line, reached) = probe(&mut env, &["--require-sandbox"]);
    assert!(line.contains("sandbox probe: read denied"), "{line}");
    assert!(line.contains("connect denied"), "{line}");
    assert!(line.contains("udp denied"), "{line}");
    assert!(line.contains("unix socket denied"), "{line}");
    assert!(line.contains("child read denied"), "ffmpeg-like children inherit the sandbox: {line}");
    assert!(!reached.tcp, "the TCP listener got a connection");
    assert!(!reached.udp, "the UDP socket got a datagram");
    assert!(!reached.unix, "the Unix socket got a connection");
    assert_eq!(env.outputs(), Vec::<String>::new());
}

#[test]
fn issue15_without_the_sandbox_the_same_probe_succeeds() {
    let mut env = Env::new();
    let (line, reached) = probe(&mut env, &["--no-sandbox"]);
    assert!(
        line.contains(
            "sandbox probe: read allowed; connect allowed; udp allowed; unix socket allowed; child read allowed"
        ),
        "{line}"
    );
    assert!(reached.tcp, "the probe's connection did not arrive");
    assert!(reached.udp, "the probe's datagram did not arrive");
    assert!(reached.unix, "the probe's Unix connection did not arrive");
}

#[test]
fn issue15_the_sandbox_lets_images_and_the_report_through() {
    let mut env = Env::new();
    let photo = env.input("good/metadata_canary.jpg", "photos/a.jpg");
    let report = env.path("report.json");
    let out = env
        .unseen()
        .arg("--require-sandbox")
        .arg("--report")
        .arg(&report)
        .arg(photo.parent().unwrap())
        .assert()
        .code(0)
        .get_output()
        .clone();
    assert!(!stderr(&out).contains("sandbox"), "{}", stderr(&out));
    let outputs = env.outputs();
    assert!(outputs.len() == 1 && outputs[0].ends_with("a.jpg"), "{outputs:?}");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(json["files"][0]["status"], "ok");
}

/// ffmpeg and ffprobe named by `$UNSEEN_FFMPEG` / `$UNSEEN_FFPROBE` outside the system folders
/// (a static build in ~/tools, an instrumented build) run inside the sandbox: the named files,
/// and only they, are readable and executable. Before, every video failed with "Permission
/// denied" when the sandbox was on.
#[test]
fn issue15_ffmpeg_named_by_the_environment_runs_inside_the_sandbox() {
    use std::os::unix::fs::PermissionsExt;
    let mut env = Env::new();
    let clip = env.input("good/moving_plate.mp4", "clips/a.mp4");
    let tools = env.path("my tools");
    std::fs::create_dir_all(&tools).unwrap();
    for tool in ["ffmpeg", "ffprobe"] {
        let wrapper = tools.join(format!("{tool}-wrapper"));
        std::fs::write(&wrapper, format!("#!/bin/sh\nexec {tool} \"$@\"\n")).unwrap();
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let out = env
        .unseen()
        .arg("--require-sandbox")
        .env("UNSEEN_FFMPEG", tools.join("ffmpeg-wrapper"))
        .env("UNSEEN_FFPROBE", tools.join("ffprobe-wrapper"))
        .arg(&clip)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(env.outputs(), vec!["a.mp4".to_string()]);
    // the same wrappers with the sandbox on show that nothing else in their folder is open
    let secret = tools.join("notes.txt");
    std::fs::write(&secret, "private").unwrap();
    let peek = tools.join("ffprobe-peek");
    std::fs::write(&peek, format!("#!/bin/sh\ncat '{}' >&2 || exit 1\nexec ffprobe \"$@\"\n", secret.display()))
        .unwrap();
    std::fs::set_permissions(&peek, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::remove_dir_all(env.out()).unwrap();
    let out = env.unseen().arg("--require-sandbox").env("UNSEEN_FFPROBE", &peek).arg(&clip).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(!stderr(&out).contains("private"), "{}", stderr(&out));
}

/// One HTTP/1.1 request to the review server; returns the body.
fn http(port: u16, token: &str, method: &str, path: &str, body: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: unseen_review_{port}={token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default()
}

#[test]
fn issue15_the_review_server_is_confined_too() {
    use std::io::BufRead;
    let mut env = Env::new();
    let input = env.input("good/astronaut.jpg", "astronaut.jpg");
    let bait = Bait::new(&env);
    // the decisions file's folder stays writable (and readable): keep it apart from the secret
    let sidecar = env.path("review/decisions.json");
    std::fs::create_dir_all(sidecar.parent().unwrap()).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_unseen"))
        .arg("review")
        .args(["--no-open", "--port", "0", "--require-sandbox", "--regions"])
        .arg(&sidecar)
        .arg("--out")
        .arg(env.out())
        .arg(&input)
        .envs(bait.vars())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim().strip_prefix("unseen review: open http://127.0.0.1:").expect(&line).to_string();
    let (port, token) = url.split_once("/?token=").unwrap();
    let port: u16 = port.parse().unwrap();
    // publish (once detection is done) runs the pipeline, where the probe fault sits
    let mut state = String::new();
    for _ in 0..600 {
        state = http(port, token, "GET", "/api/state", "");
        if state.contains(r#""progress":{"done":1,"total":1}"#) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let answer = http(port, token, "POST", "/api/publish", r#"{"all":true}"#);
    for _ in 0..600 {
        state = http(port, token, "GET", "/api/state", "");
        if state.contains("sandbox probe") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(state.contains("sandbox probe: read denied"), "publish answered {answer}; state {state}");
    for what in ["; connect denied", "; udp denied", "; unix socket denied", "; child read denied"] {
        assert!(state.contains(what), "{what}: {state}");
    }
    let reached = bait.reached();
    assert!(!reached.tcp && !reached.udp && !reached.unix, "a listener was reached");
}
