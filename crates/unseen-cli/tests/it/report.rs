//! The --report JSON: model hash, options, and per input its status, output path and face boxes.

use serde_json::Value;

use crate::env::{read, Env};

fn iou(f: &Value, [x1, y1, x2, y2]: [f64; 4]) -> f64 {
    let (x, y, w, h) =
        (f["x"].as_f64().unwrap(), f["y"].as_f64().unwrap(), f["w"].as_f64().unwrap(), f["h"].as_f64().unwrap());
    let iw = ((x + w).min(x2) - x.max(x1)).max(0.0);
    let ih = ((y + h).min(y2) - y.max(y1)).max(0.0);
    let inter = iw * ih;
    inter / (w * h + (x2 - x1) * (y2 - y1) - inter)
}

#[test]
fn report_lists_status_output_faces_model_and_options() {
    let mut env = Env::new();
    // (fixture, hand-checked face box x1 y1 x2 y2 in displayed coordinates)
    let cases: [(&str, Option<[f64; 4]>); 4] = [
        ("astronaut.png", Some([181.0, 58.0, 270.0, 178.0])),
        ("camera.png", Some([202.0, 119.0, 258.0, 197.0])),
        ("good/exif_orient_6.jpg", Some([125.0, 58.0, 214.0, 178.0])),
        ("good/no_faces.png", None),
    ];
    let inputs: Vec<_> = cases
        .iter()
        .map(|(f, _)| env.input(f, std::path::Path::new(f).file_name().unwrap().to_str().unwrap()))
        .collect();
    env.unseen().args(["--report", "report.json"]).args(&inputs).assert().code(0);
    let r: Value = serde_json::from_slice(&read(&env.path("report.json"))).expect("report JSON");

    assert_eq!(r["model_sha256"], unseen::MODEL_SHA256);
    assert_eq!(r["version"], env!("CARGO_PKG_VERSION"));
    let o = &r["options"];
    assert_eq!(o["mode"], "blur");
    assert_eq!(o["shape"], "ellipse");
    assert_eq!(o["preset"], "balanced");
    assert_eq!(o["grid"], 4);
    assert_eq!(o["noise"], 24);
    assert_eq!(o["allow_weak"], false);
    assert_eq!(o["overwrite"], false);
    assert_eq!(o["jpeg_quality"], 92);
    assert!((o["threshold"].as_f64().unwrap() - 0.2).abs() < 1e-6, "{o}");
    assert!((o["margin"].as_f64().unwrap() - 1.3).abs() < 1e-6, "{o}");
    assert!(o["limits"]["max_pixels"].as_u64().is_some(), "{o}");
    assert!(o.get("noise_seed").is_none(), "the test-only seed is never part of a report");

    let files = r["files"].as_array().unwrap();
    assert_eq!(files.len(), cases.len());
    for ((fixture, face), (f, input)) in cases.iter().zip(files.iter().zip(&inputs)) {
        assert_eq!(f["input"], input.to_string_lossy().as_ref(), "{f}");
        let name = input.file_name().unwrap();
        assert_eq!(f["output"], env.out().join(name).to_string_lossy().as_ref(), "{f}");
        assert!(env.out().join(name).is_file());
        assert_eq!(f["status"], "ok", "{f}");
        assert_eq!(f["error"], Value::Null);
        assert_eq!(f["stage"], Value::Null);
        assert_eq!(f["manual_regions"], 0);
        assert!(f["seconds"].as_f64().unwrap() >= 0.0);
        let faces = f["faces"].as_array().unwrap();
        for face in faces {
            for k in ["x", "y", "w", "h", "score"] {
                assert!(face[k].is_number(), "{fixture}: face lacks {k}: {face}");
            }
            eprintln!("{fixture}: face {face}");
        }
        match face {
            Some(want) => assert!(
                faces.iter().any(|d| iou(d, *want) >= 0.5 && d["score"].as_f64().unwrap() >= 0.2),
                "{fixture}: no reported face matches {want:?}: {faces:?}"
            ),
            None => assert!(faces.is_empty(), "{fixture}: {faces:?}"),
        }
    }
}

#[test]
fn report_records_failures_with_stage_and_no_output() {
    let mut env = Env::new();
    let bad = env.input("bad/truncated.jpg", "truncated.jpg");
    env.unseen().args(["--report", "report.json"]).arg(&bad).assert().code(1);
    let r: Value = serde_json::from_slice(&read(&env.path("report.json"))).unwrap();
    let f = &r["files"][0];
    assert_eq!(f["status"], "error");
    assert_eq!(f["stage"], "decode");
    assert!(f["error"].as_str().unwrap().contains("truncated.jpg"), "{f}");
    assert_eq!(f["faces"], serde_json::json!([]));
    assert!(env.outputs().is_empty());
}

/// Issue 13: `--text --people --people-cover head` are named in the summary line, the report lists text and
/// people apart from faces, names every model that ran with its sha256, and records the options;
/// without them the report names only the face model.
#[test]
fn issue13_text_and_people_are_reported_with_their_models() {
    let mut env = Env::new();
    let input = env.input("good/plate_badge.png", "plate_badge.png");
    let out = env
        .unseen()
        .args(["--text", "--people", "--people-cover", "head", "--report", "report.json"])
        .arg(&input)
        .assert()
        .code(0)
        .get_output()
        .clone();
    let summary = crate::env::stderr(&out);
    assert!(
        summary.contains("1 faces") && summary.contains("text regions") && summary.contains("1 people (head area)"),
        "{summary}"
    );
    let r: Value = serde_json::from_slice(&read(&env.path("report.json"))).unwrap();
    let files: Vec<&str> = r["models"].as_array().unwrap().iter().map(|m| m["file"].as_str().unwrap()).collect();
    assert_eq!(files, ["centerface.onnx", "yunet_n.onnx", "ppocrv4_det.onnx", "yolox_nano.onnx"]);
    assert_eq!(r["models"][2]["sha256"], unseen::detect::text::MODEL_SHA256);
    assert_eq!(r["options"]["text"], true);
    assert_eq!(r["options"]["people"], "head");
    let f = &r["files"][0];
    assert_eq!(f["faces"].as_array().unwrap().len(), 1, "{f}");
    assert!(f["text"].as_array().unwrap().len() >= 2, "{f}");
    assert_eq!(f["people"][0]["kind"], "person", "{f}");

    // `--people` right before an input takes no value from it
    std::fs::remove_dir_all(env.out()).unwrap();
    env.unseen().args(["--report", "body.json", "--people"]).arg(&input).assert().code(0);
    let r: Value = serde_json::from_slice(&read(&env.path("body.json"))).unwrap();
    assert_eq!(r["options"]["people"], "body");
    env.unseen().args(["--people-cover", "head"]).arg(&input).assert().code(2); // needs --people

    std::fs::remove_dir_all(env.out()).unwrap();
    env.unseen().args(["--report", "plain.json"]).arg(&input).assert().code(0);
    let r: Value = serde_json::from_slice(&read(&env.path("plain.json"))).unwrap();
    assert_eq!(r["models"].as_array().unwrap().len(), 2, "the face model and the cascade's proposer");
    assert_eq!(r["options"]["cascade"], true);
    assert!(r["files"][0].get("text").is_none() && r["files"][0].get("people").is_none());
}

/// Issue 12: the cascade is on by default; `--no-cascade` turns it off (the proposer is then not
/// named among the models), and the same face is found and obscured either way.
#[test]
fn issue12_no_cascade_turns_the_default_cascade_off() {
    let mut env = Env::new();
    let input = env.input("good/astronaut.jpg", "astronaut.jpg");
    let mut faces = Vec::new();
    for (flags, models, cascade) in [(&["--cascade"][..], 2, true), (&["--no-cascade"][..], 1, false)] {
        let _ = std::fs::remove_dir_all(env.out());
        env.unseen().args(flags).args(["--report", "r.json"]).arg(&input).assert().code(0);
        let r: Value = serde_json::from_slice(&read(&env.path("r.json"))).unwrap();
        assert_eq!(r["models"].as_array().unwrap().len(), models, "{flags:?}: {}", r["models"]);
        assert_eq!(r["options"]["cascade"], cascade, "{flags:?}");
        let f = r["files"][0]["faces"].as_array().unwrap().clone();
        assert_eq!(f.len(), 1, "{flags:?}: {f:?}");
        faces.push(f[0].clone());
    }
    let r = |f: &Value| ["x", "y", "w", "h"].map(|k| f[k].as_f64().unwrap());
    let ([ax, ay, aw, ah], [bx, by, bw, bh]) = (r(&faces[0]), r(&faces[1]));
    let inter = ((ax + aw).min(bx + bw) - ax.max(bx)).max(0.0) * ((ay + ah).min(by + bh) - ay.max(by)).max(0.0);
    let iou = inter / (aw * ah + bw * bh - inter);
    assert!(iou > 0.8, "{faces:?}");
    // the later flag wins
    let _ = std::fs::remove_dir_all(env.out());
    env.unseen().args(["--no-cascade", "--cascade", "--report", "r.json"]).arg(&input).assert().code(0);
    let r: Value = serde_json::from_slice(&read(&env.path("r.json"))).unwrap();
    assert_eq!(r["options"]["cascade"], true);
}
