//! `--backend`: the engine used is named in the summary and the report; `--backend ort` without
//! onnxruntime (not compiled in, or not found) is a one-line usage error.

use crate::env::{stderr, Env};

#[test]
fn tract_is_named_in_the_summary_and_the_report() {
    let mut env = Env::new();
    let input = env.input("good/no_faces.png", "no_faces.png");
    let report = env.path("report.json");
    let out = env.unseen().args(["--backend", "tract", "--report"]).arg(&report).arg(&input).assert().code(0);
    let err = stderr(out.get_output());
    assert!(err.contains("detector: tract"), "{err}");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(json["backend"], "tract");
    assert_eq!(json["options"]["backend"], "tract");
}

#[test]
fn auto_names_the_engine_it_picked() {
    let mut env = Env::new();
    let input = env.input("good/no_faces.png", "no_faces.png");
    let report = env.path("report.json");
    let out = env.unseen().arg("--report").arg(&report).arg(&input).assert().code(0);
    let err = stderr(out.get_output());
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(json["options"]["backend"], "auto");
    let used = json["backend"].as_str().expect("backend is a string");
    assert!(["tract", "onnxruntime"].contains(&used), "{used}");
    assert!(err.contains(&format!("detector: {used}")), "{err}");
    // .ci/run's onnxruntime pass: the sandboxed CLI must still load it (its folder stays readable)
    if cfg!(feature = "ort") && std::env::var("UNSEEN_REQUIRE_ORT").is_ok_and(|v| v == "1") {
        assert_eq!(used, "onnxruntime", "{err}");
    }
}

#[test]
fn ort_that_cannot_be_loaded_is_a_usage_error() {
    let mut env = Env::new();
    let input = env.input("good/no_faces.png", "no_faces.png");
    let out = env
        .unseen()
        .env("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so")
        .args(["--backend", "ort"])
        .arg(&input)
        .assert()
        .code(2);
    let err = stderr(out.get_output());
    assert_eq!(err.lines().count(), 1, "{err}");
    // without the feature: "rebuild with `--features ort`"; with it: the missing library
    assert!(err.contains("--features ort") || err.contains("ORT_DYLIB_PATH"), "{err}");
    assert!(!env.out().exists(), "nothing written");
}

#[test]
fn eval_takes_a_backend_and_names_it() {
    // a one-image WIDER FACE-style folder: the astronaut with its hand-checked face box
    let env = Env::new();
    let root = env.path("wider");
    std::fs::create_dir_all(root.join("images/a")).unwrap();
    std::fs::copy(crate::env::testdata("astronaut.png"), root.join("images/a/astro.png")).unwrap();
    std::fs::write(root.join("wider_face_gt.txt"), "a/astro.png\n1\n181 58 89 120 0 0 0 0 0 0 \n").unwrap();
    std::fs::write(root.join("subsets.tsv"), "path\teasy\tmedium\thard\na/astro.png\t1\t1\t1\n").unwrap();
    let out = assert_cmd::Command::new(env!("CARGO_BIN_EXE_unseen"))
        .args(["eval", "--preset", "fast", "--backend", "tract", "--json", "--widerface"])
        .arg(&root)
        .assert()
        .code(0);
    assert!(stderr(out.get_output()).contains("detector on tract"), "{}", stderr(out.get_output()));
    let json: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(json["recall_hard"], 1.0, "{json}");
    assert_eq!(json["images"], 1);
}

#[test]
fn issue12_eval_frames_detects_as_video_keyframes_do() {
    // an 8×11 px face: the balanced preset finds it on an image (its ×2 pass), a video frame's
    // single pass at source size does not
    let env = Env::new();
    let root = env.path("wider");
    std::fs::create_dir_all(root.join("images/a")).unwrap();
    let astro = image::open(crate::env::testdata("astronaut.png")).unwrap().to_rgb8();
    let small = image::imageops::resize(&astro, 48, 48, image::imageops::FilterType::CatmullRom);
    let mut canvas = image::RgbImage::from_pixel(400, 300, image::Rgb([128, 128, 128]));
    image::imageops::replace(&mut canvas, &small, 150, 100);
    canvas.save(root.join("images/a/x.png")).unwrap();
    std::fs::write(root.join("wider_face_gt.txt"), "a/x.png\n1\n166 105 8 11 0 0 0 0 0 0 \n").unwrap();
    std::fs::write(root.join("subsets.tsv"), "path\teasy\tmedium\thard\na/x.png\t1\t1\t1\n").unwrap();
    let recall = |frames: bool| {
        let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_unseen"));
        cmd.args(["eval", "--backend", "tract", "--json", "--widerface"]).arg(&root);
        if frames {
            cmd.arg("--frames");
        }
        let out = cmd.assert().code(0);
        let json: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
        json["recall_hard"].as_f64().unwrap()
    };
    assert_eq!(recall(false), 1.0);
    assert_eq!(recall(true), 0.0);
}

#[test]
fn auto_finds_onnxruntime_in_a_virtualenv_inside_the_sandbox() {
    // .ci/run's onnxruntime pass only (it sets ORT_DYLIB_PATH to a library that loads): the same
    // library found the way most users have it, in a virtualenv's site-packages, with
    // ORT_DYLIB_PATH unset. The search lists folders the sandbox does not leave readable, so it
    // must not be repeated once the sandbox is on.
    if !(cfg!(feature = "ort") && std::env::var("UNSEEN_REQUIRE_ORT").is_ok_and(|v| v == "1")) {
        return;
    }
    let lib = std::path::PathBuf::from(std::env::var_os("ORT_DYLIB_PATH").expect("ORT_DYLIB_PATH is set"));
    let mut env = Env::new();
    let input = env.input("good/no_faces.png", "no_faces.png");
    let venv = env.path("venv");
    let capi = venv.join("lib/python3.11/site-packages/onnxruntime/capi");
    std::fs::create_dir_all(&capi).unwrap();
    std::os::unix::fs::symlink(std::fs::canonicalize(&lib).unwrap(), capi.join("libonnxruntime.so.1.99.0")).unwrap();
    let out = env
        .unseen()
        .env_remove("ORT_DYLIB_PATH")
        .env("VIRTUAL_ENV", &venv)
        .env("HOME", env.path("home"))
        .env("PATH", "/nonexistent")
        .arg(&input)
        .assert()
        .code(0);
    let err = stderr(out.get_output());
    assert!(err.contains("detector: onnxruntime"), "{err}");
    assert!(!err.contains("not used"), "{err}");
}
