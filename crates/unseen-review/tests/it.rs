//! Issue 10, the review server without a browser: a real server on loopback, spoken to over raw
//! TCP (so paths go out exactly as written, encoded or not).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use unseen::regions::RegionMap;
use unseen::{Fault, Options, Pipeline};
use unseen_review::{App, Config, Server};

const SEED: u64 = 0x5eed_0010;
const SECRET: &[u8] = b"SECRET-CANARY-not-an-input-0010";

fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata").join(rel)
}

fn pipeline(fault: Option<Fault>) -> Pipeline {
    let mut p =
        Pipeline::new(Options { noise_seed: Some(SEED), detector_threads: 2, ..Options::default() }).expect("pipeline");
    p.inject_fault(fault);
    p
}

struct Session {
    _dir: tempfile::TempDir,
    root: PathBuf,
    addr: SocketAddr,
    cookie: String,
    app: Arc<App>,
    config: Config,
}

/// A folder with the astronaut (one face) and a picture without faces, a secret file beside it
/// (not an input), and a server on it.
fn fixture() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    std::fs::create_dir_all(root.join("in")).unwrap();
    std::fs::copy(testdata("astronaut.png"), root.join("in/astronaut.png")).unwrap();
    std::fs::copy(testdata("good/no_faces.png"), root.join("in/no_faces.png")).unwrap();
    std::fs::write(root.join("secret.txt"), SECRET).unwrap();
    (dir, root)
}

fn config(root: &Path) -> Config {
    Config {
        inputs: vec![root.join("in")],
        out: root.join("out"),
        sidecar: root.join("unseen-review.json"),
        port: 0,
        cli_flags: Vec::new(),
    }
}

fn start(dir: tempfile::TempDir, root: PathBuf, config: Config, fault: Option<Fault>) -> Session {
    start_with(dir, root, config, pipeline(fault))
}

fn start_with(dir: tempfile::TempDir, root: PathBuf, config: Config, pipeline: Pipeline) -> Session {
    let server = Server::bind(config.clone(), pipeline).expect("bind");
    let addr = server.local_addrs()[0];
    let app = server.app();
    let url = server.url();
    std::thread::spawn(move || server.run());
    let token = url.split("token=").nth(1).unwrap().to_string();
    let (code, headers, _) = http(addr, "GET", &format!("/?token={token}"), None, None, None);
    assert_eq!(code, 303, "the token in the URL sets the cookie");
    let set = &headers["set-cookie"];
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");
    let cookie = set.split(';').next().unwrap().to_string();
    Session { _dir: dir, root, addr, cookie, app, config }
}

fn session() -> Session {
    let (dir, root) = fixture();
    let c = config(&root);
    start(dir, root, c, None)
}

fn wait(what: &str, f: impl Fn() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < Duration::from_secs(300), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One HTTP/1.1 request over a fresh connection: status, lower-case headers, body.
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    host: Option<&str>,
    cookie: Option<&str>,
    body: Option<(&str, &[(&str, &str)])>,
) -> (u16, HashMap<String, String>, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let host = host.map_or_else(|| format!("127.0.0.1:{}", addr.port()), str::to_string);
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    if let Some(c) = cookie {
        req.push_str(&format!("Cookie: {c}\r\n"));
    }
    let (text, extra) = body.unwrap_or(("", &[]));
    for (k, v) in extra {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{text}", text.len()));
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a response head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let code: u16 = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers.get("transfer-encoding").is_some_and(|t| t == "chunked") {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let nl = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let n = usize::from_str_radix(std::str::from_utf8(&rest[..nl]).unwrap().trim(), 16).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&rest[nl + 2..nl + 2 + n]);
            rest = &rest[nl + 4 + n..];
        }
        body = out;
    }
    (code, headers, body)
}

fn json(s: &Session, method: &str, path: &str, body: Option<&str>) -> (u16, serde_json::Value) {
    let (code, _, b) = http(s.addr, method, path, None, Some(&s.cookie), body.map(|b| (b, &[][..])));
    (code, serde_json::from_slice(&b).unwrap_or(serde_json::Value::Null))
}

fn id_of(s: &Session, name: &str) -> usize {
    let (_, st) = json(s, "GET", "/api/state", None);
    st["items"].as_array().unwrap().iter().find(|i| i["name"] == name).unwrap()["id"].as_u64().unwrap() as usize
}

#[test]
fn listens_on_loopback_only_and_guards_every_request() {
    let s = session();
    let server_addrs = {
        let srv = Server::bind(config(&s.root), pipeline(None)).unwrap();
        srv.local_addrs()
    };
    assert!(!server_addrs.is_empty());
    assert!(server_addrs.iter().all(|a| a.ip().is_loopback()), "{server_addrs:?}");
    assert!(s.addr.ip().is_loopback());

    // no token: 403 and no data, on every kind of route
    for path in ["/", "/api/state", "/api/inputs/0", "/api/inputs/0/image", "/assets/app.js", "/nothing"] {
        let (code, _, body) = http(s.addr, "GET", path, None, None, None);
        assert_eq!(code, 403, "{path}");
        assert!(body.is_empty(), "{path}: {body:?}");
    }
    let (code, _, _) = http(s.addr, "GET", "/?token=0000", None, None, None);
    assert_eq!(code, 403, "a wrong token");
    let (code, _, _) = http(s.addr, "GET", "/api/state", None, Some("unseen_review_1=x"), None);
    assert_eq!(code, 403, "a wrong cookie");

    // a foreign Host (DNS rebinding) is refused even with the right cookie
    for host in ["evil.example", "evil.example:80", "127.0.0.1:1", "localhost.evil.example"] {
        let host = if host.contains(':') { host.to_string() } else { format!("{host}:{}", s.addr.port()) };
        let (code, _, body) = http(s.addr, "GET", "/api/state", Some(&host), Some(&s.cookie), None);
        assert!(code == 421 || code == 403, "{host}: {code}");
        assert!(body.is_empty());
    }
    let (code, _, _) =
        http(s.addr, "GET", "/api/state", Some(&format!("localhost:{}", s.addr.port())), Some(&s.cookie), None);
    assert_eq!(code, 200, "localhost is a loopback name");

    // with the cookie: the page, hardened
    let (code, h, body) = http(s.addr, "GET", "/", None, Some(&s.cookie), None);
    assert_eq!(code, 200);
    assert!(String::from_utf8_lossy(&body).contains("unseen review"));
    assert!(h["content-security-policy"].starts_with("default-src 'self'"), "{h:?}");
    assert_eq!(h["cache-control"], "no-store");
    assert!(!h.contains_key("access-control-allow-origin"));
    let (code, h, _) = http(s.addr, "GET", "/assets/app.js", None, Some(&s.cookie), None);
    assert_eq!(code, 200);
    assert!(h["content-type"].starts_with("text/javascript"));

    // state changes: never by GET, never from another origin
    let (code, _, _) = http(s.addr, "GET", "/api/publish", None, Some(&s.cookie), None);
    assert_eq!(code, 405);
    let (code, _, _) = http(
        s.addr,
        "PUT",
        "/api/inputs/0/decisions",
        None,
        Some(&s.cookie),
        Some(("{}", &[("Origin", "http://evil.example")])),
    );
    assert_eq!(code, 403);
    assert!(!s.config.sidecar.exists(), "nothing was saved");
}

#[test]
fn traversal_and_unknown_ids_get_404_and_no_bytes() {
    let s = session();
    wait("detection", || s.app.detection_done());
    let secret = s.root.join("secret.txt");
    #[cfg(unix)]
    std::os::unix::fs::symlink(&secret, s.root.join("in/link.png")).unwrap();
    let abs = secret.to_string_lossy().into_owned();
    let paths = [
        "/api/inputs/2".to_string(),
        "/api/inputs/99/image".into(),
        "/api/inputs/-1".into(),
        "/api/inputs/01/image".into(),
        "/api/inputs/+1/image".into(),
        "/api/inputs/0x0/image".into(),
        "/api/inputs/..%2f..%2fsecret.txt/image".into(),
        "/api/inputs/%2e%2e/%2e%2e/secret.txt".into(),
        "/api/inputs/../../secret.txt".into(),
        "/api/inputs/..%252f..%252fsecret.txt/image".into(),
        format!("/api/inputs/{abs}/image"),
        format!("/api/inputs/{}/image", abs.replace('/', "%2f")),
        "/api/inputs/in%2flink.png/image".into(),
        "/api/inputs/link.png/image".into(),
        "/assets/../secret.txt".into(),
        "/assets/%2e%2e%2fsecret.txt".into(),
        "/assets/..%5c..%5csecret.txt".into(),
        format!("/assets/{}", abs.replace('/', "%2f")),
        "/assets/".into(),
        "/../../secret.txt".into(),
        "/secret.txt".into(),
        "/api/inputs/0/frames/0".into(), // an image has no frames
        "/api/inputs/0/image?view=../../secret.txt".into(),
    ];
    for p in &paths {
        let (code, _, body) = http(s.addr, "GET", p, None, Some(&s.cookie), None);
        assert_eq!(code, 404, "{p}");
        assert!(body.is_empty(), "{p}: {}", String::from_utf8_lossy(&body));
        assert!(!body.windows(SECRET.len()).any(|w| w == SECRET), "{p}");
    }
    // the known ids answer
    let (code, h, body) = http(s.addr, "GET", "/api/inputs/0/image", None, Some(&s.cookie), None);
    assert_eq!(code, 200);
    assert_eq!(h["content-type"], "image/png");
    assert_eq!(h["cache-control"], "no-store", "originals are never cached");
    assert!(body.starts_with(b"\x89PNG"));
}

#[test]
fn decisions_are_saved_atomically_after_each_change_and_resumed_after_a_restart() {
    let s = session();
    wait("detection", || s.app.detection_done());
    let astro = id_of(&s, "astronaut.png");
    let (_, d) = json(&s, "GET", &format!("/api/inputs/{astro}"), None);
    let det = &d["detections"][0];
    assert!(det["score"].as_f64().unwrap() > 0.5, "{d}");
    assert_eq!(det["excluded"], false);
    // a first decision, then keep a hard link to the file to see how the next one is written
    let entry = serde_json::json!({"obscure": [{"x": 10, "y": 300, "w": 60, "h": 50}]});
    let (code, _) = json(&s, "PUT", &format!("/api/inputs/{astro}/decisions"), Some(&entry.to_string()));
    assert_eq!(code, 200);
    let old = s.root.join("old-link.json");
    std::fs::hard_link(&s.config.sidecar, &old).unwrap();
    let before = std::fs::read(&old).unwrap();
    let ignore = serde_json::json!({"x": det["x"], "y": det["y"], "w": det["w"], "h": det["h"]});
    let entry =
        serde_json::json!({"obscure": [{"x": 10, "y": 300, "w": 60, "h": 50}], "ignore": [ignore], "reviewed": true});
    let (code, d) = json(&s, "PUT", &format!("/api/inputs/{astro}/decisions"), Some(&entry.to_string()));
    assert_eq!(code, 200);
    assert_eq!(d["detections"][0]["excluded"], true);
    assert_eq!(d["summary"]["status"], "reviewed");
    assert_eq!(std::fs::read(&old).unwrap(), before, "the old file was replaced by a rename, not rewritten in place");
    let saved = RegionMap::load(&s.config.sidecar).unwrap();
    let key = s.root.join("in/astronaut.png").to_string_lossy().into_owned();
    let e = saved.entry(&key).expect("entry under the input's path");
    assert!(e.reviewed && e.ignore.len() == 1 && e.obscure.len() == 1, "{e:?}");
    let leftovers: Vec<_> = std::fs::read_dir(&s.root)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|f| f.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // a bad entry is refused and changes nothing
    let saved_bytes = std::fs::read(&s.config.sidecar).unwrap();
    for bad in [r#"{"obscure": [{"x": 1, "y": 1, "w": 0, "h": 5}]}"#, r#"{"blur": []}"#, "not json"] {
        let (code, _) = json(&s, "PUT", &format!("/api/inputs/{astro}/decisions"), Some(bad));
        assert_eq!(code, 400, "{bad}");
    }
    assert_eq!(std::fs::read(&s.config.sidecar).unwrap(), saved_bytes);

    // a new server on the same inputs and file resumes
    let Session { _dir, root, config, .. } = s;
    let s2 = start(_dir, root, config, None);
    wait("detection", || s2.app.detection_done());
    let (_, d) = json(&s2, "GET", &format!("/api/inputs/{astro}"), None);
    assert_eq!(d["summary"]["status"], "reviewed");
    assert_eq!(d["detections"][0]["excluded"], true);
    assert_eq!(d["decisions"]["obscure"][0]["x"], 10.0);
}

#[test]
fn publish_writes_what_the_cli_writes_from_the_saved_decisions() {
    let s = session();
    wait("detection", || s.app.detection_done());
    let astro = id_of(&s, "astronaut.png");
    let entry = serde_json::json!({"obscure": [{"x": 10, "y": 300, "w": 60, "h": 50}], "reviewed": true});
    let (code, _) = json(&s, "PUT", &format!("/api/inputs/{astro}/decisions"), Some(&entry.to_string()));
    assert_eq!(code, 200);
    let (code, r) = json(&s, "POST", "/api/publish", Some(r#"{"all": false}"#));
    assert_eq!(code, 200, "{r}");
    assert_eq!(r["started"], 1, "only the reviewed file");
    wait("publish", || s.app.publish_done());
    let (_, st) = json(&s, "GET", "/api/state", None);
    assert_eq!(st["publish"]["counts"], serde_json::json!([1, 0, 0]), "{st}");
    let cmd = st["publish"]["command"].as_str().unwrap();
    assert!(cmd.starts_with("unseen --regions ") && cmd.contains("--overwrite"), "{cmd}");
    let published = std::fs::read(s.root.join("out/astronaut.png")).unwrap();
    assert!(!s.root.join("out/no_faces.png").exists(), "not reviewed, not published");

    // the CLI's path with the sidecar as --regions (same seed) writes the same bytes
    let regions = RegionMap::load(&s.config.sidecar).unwrap();
    let p = pipeline(None).with_regions(regions);
    let (jobs, _) = unseen::inputs::collect_jobs(&[s.root.join("in")], &s.root.join("cli-out"));
    let reports = p.run_batch(&jobs, 1, &unseen::NoReporter);
    assert!(reports.iter().all(|r| r.status == unseen::report::Status::Ok), "{reports:?}");
    assert_eq!(std::fs::read(s.root.join("cli-out/astronaut.png")).unwrap(), published);
    // and the manual region is obscured (the rule: no longer the original pixels)
    let orig = image::open(s.root.join("in/astronaut.png")).unwrap().to_rgb8();
    let out = image::load_from_memory(&published).unwrap().to_rgb8();
    let diff = (300..350)
        .flat_map(|y| (10..70).map(move |x| (x, y)))
        .filter(|&(x, y)| orig.get_pixel(x, y) != out.get_pixel(x, y))
        .count();
    assert!(diff > 2500, "region obscured: {diff} of 3000 pixels changed");
}

#[test]
fn publish_fails_closed_on_a_fault() {
    for fault in [Fault::Corrupt, Fault::Encode, Fault::SkipObscure] {
        let (dir, root) = fixture();
        let c = config(&root);
        let s = start(dir, root, c, Some(fault));
        wait("detection", || s.app.detection_done());
        let (code, _) = json(&s, "POST", "/api/publish", Some(r#"{"all": true}"#));
        assert_eq!(code, 200);
        wait("publish", || s.app.publish_done());
        let (_, st) = json(&s, "GET", "/api/state", None);
        let files = st["publish"]["files"].as_array().unwrap();
        let astro = files.iter().find(|f| f["input"].as_str().unwrap().ends_with("astronaut.png")).unwrap();
        assert_eq!(astro["status"], "error", "{fault:?}: {astro}");
        assert!(!s.root.join("out/astronaut.png").exists(), "{fault:?}: no output under the final name");
        let stray: Vec<_> = std::fs::read_dir(s.root.join("out"))
            .map(|d| d.filter_map(Result::ok).map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(stray.iter().all(|n| n == "no_faces.png"), "{fault:?}: {stray:?}");
    }
}

/// Issue 13: with `--people`, person detections come with their kind and are excluded like faces,
/// and excluding the person (whose box holds the face's centre) leaves the face obscured.
#[test]
fn issue13_people_are_shown_by_kind_and_excluded_without_the_face() {
    let (dir, root) = fixture();
    let c = config(&root);
    let p = Pipeline::new(Options {
        noise_seed: Some(SEED),
        detector_threads: 2,
        people: Some(unseen::People::Body),
        ..Options::default()
    })
    .expect("pipeline");
    let s = start_with(dir, root, c, p);
    wait("detection", || s.app.detection_done());
    let astro = id_of(&s, "astronaut.png");
    let (_, d) = json(&s, "GET", &format!("/api/inputs/{astro}"), None);
    let dets = d["detections"].as_array().unwrap();
    let kinds: Vec<&str> = dets.iter().map(|x| x["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"face") && kinds.contains(&"person"), "{d}");
    assert_eq!(d["regions"].as_array().unwrap().len(), 2, "face and person regions: {d}");
    let person = dets.iter().find(|x| x["kind"] == "person").unwrap();
    let ignore =
        serde_json::json!({"x": person["x"], "y": person["y"], "w": person["w"], "h": person["h"], "kind": "person"});
    let entry = serde_json::json!({"ignore": [ignore]});
    let (code, d) = json(&s, "PUT", &format!("/api/inputs/{astro}/decisions"), Some(&entry.to_string()));
    assert_eq!(code, 200, "{d}");
    for x in d["detections"].as_array().unwrap() {
        assert_eq!(x["excluded"], x["kind"] == "person", "{x}");
    }
    assert_eq!(d["regions"].as_array().unwrap().len(), 1, "the face is still obscured: {d}");
    // an ignore box without a kind drops every kind whose centre it holds (the regions file's rule)
    let ignore = serde_json::json!({"x": person["x"], "y": person["y"], "w": person["w"], "h": person["h"]});
    let entry = serde_json::json!({"ignore": [ignore]});
    let (_, d) = json(&s, "PUT", &format!("/api/inputs/{astro}/decisions"), Some(&entry.to_string()));
    assert_eq!(d["regions"].as_array().unwrap().len(), 0, "{d}");
}
