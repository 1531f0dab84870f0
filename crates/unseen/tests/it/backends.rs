//! tract and onnxruntime (cargo feature `ort`) give the same boxes. Runs only when the feature
//! is on and the onnxruntime library is found (see `unseen::detect::onnxruntime`); otherwise it
//! prints a note and passes, unless `UNSEEN_REQUIRE_ORT=1` (set by .ci/run when it installed
//! onnxruntime) makes a missing library a failure.

use unseen::detect::{DetectOptions, Detection, Detector, Pass};
use unseen::{Backend, Preset};

use crate::common::decode;

/// Both engines agree to ~1e-5 px (see model.rs); boxes must match to this.
const TOL: f32 = 1e-3;

fn ort_detector() -> Option<Detector> {
    let required = std::env::var("UNSEEN_REQUIRE_ORT").is_ok_and(|v| v == "1");
    if !cfg!(feature = "ort") {
        assert!(!required, "UNSEEN_REQUIRE_ORT=1 but the `ort` feature is off");
        eprintln!("note: built without the `ort` feature: onnxruntime not compared with tract");
        return None;
    }
    match Detector::with_backend(Backend::Ort, 2) {
        Ok(d) => Some(d),
        Err(e) if !required => {
            eprintln!("note: onnxruntime not compared with tract: {e}");
            None
        }
        Err(e) => panic!("UNSEEN_REQUIRE_ORT=1: {e}"),
    }
}

#[cfg(feature = "ort")]
fn ort_yunet() -> unseen::detect::yunet::YuNet {
    unseen::detect::yunet::YuNet::on_onnxruntime(2).expect("onnxruntime YuNet")
}

#[cfg(not(feature = "ort"))]
fn ort_yunet() -> unseen::detect::yunet::YuNet {
    unreachable!("ort_detector() is None without the `ort` feature")
}

fn same(what: &str, a: &[Detection], b: &[Detection]) {
    assert_eq!(a.len(), b.len(), "{what}: tract {a:?}\nonnxruntime {b:?}");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let (p, q) = (x.rect, y.rect);
        for (k, (u, v)) in [p.x, p.y, p.w, p.h, x.score].into_iter().zip([q.x, q.y, q.w, q.h, y.score]).enumerate() {
            assert!((u - v).abs() <= TOL, "{what}: box {i} value {k}: tract {u} vs onnxruntime {v}");
        }
    }
}

#[test]
fn tract_and_onnxruntime_give_the_same_boxes() {
    let Some(ort) = ort_detector() else { return };
    assert_eq!(ort.backend(), "onnxruntime");
    let tract = Detector::with_backend(Backend::Tract, 2).expect("tract");
    assert_eq!(tract.backend(), "tract");
    for name in ["astronaut.png", "camera.png"] {
        let img = decode(name).rgb;
        // one pass at source size (no padding), one scaled and padded, one mirrored ×2
        for pass in
            [Pass { scale: 1.0, flip: false }, Pass { scale: 0.77, flip: false }, Pass { scale: 2.0, flip: true }]
        {
            let a = tract.run_pass(&img, pass, 0.1).expect("tract pass");
            let b = ort.run_pass(&img, pass, 0.1).expect("onnxruntime pass");
            assert!(!a.is_empty(), "{name} {pass:?}: no face");
            same(&format!("{name} {pass:?}"), &a, &b);
        }
        let opts = DetectOptions { preset: Preset::Balanced, threshold: 0.2, video: false, cascade: false };
        let a = tract.detect(&img, &opts).expect("tract detect");
        let b = ort.detect(&img, &opts).expect("onnxruntime detect");
        same(&format!("{name} balanced"), &a, &b);
    }
}

#[test]
fn issue12_the_proposer_runs_on_onnxruntime_too_and_proposes_the_same_faces() {
    use unseen::detect::yunet::YuNet;
    let Some(ort) = ort_detector() else { return };
    assert_eq!(ort.proposer_backend(), "onnxruntime");
    let tract = Detector::with_backend(Backend::Tract, 2).expect("tract");
    assert_eq!(tract.proposer_backend(), "tract");
    let (ty, oy) = (YuNet::new(2).expect("tract YuNet"), ort_yunet());
    for name in ["astronaut.png", "camera.png"] {
        let img = decode(name).rgb;
        for scale in [1.0, 2.0] {
            // both in the decoder's order: stride, row, column
            let a = ty.detect(&img, scale, 0.3).expect("tract proposals");
            let b = oy.detect(&img, scale, 0.3).expect("onnxruntime proposals");
            assert!(!a.is_empty(), "{name} ×{scale}: no proposal");
            same(&format!("{name} YuNet ×{scale}"), &a, &b);
        }
        // the default (cascade) detection, alone and with several files in flight (then each
        // caller runs a single-threaded session of its own)
        let opts = DetectOptions { preset: Preset::Balanced, threshold: 0.2, video: false, cascade: true };
        let a = tract.detect(&img, &opts).expect("tract detect");
        assert!(!a.is_empty(), "{name}: no face");
        same(&format!("{name} cascade"), &a, &ort.detect(&img, &opts).expect("onnxruntime detect"));
        let _files = (unseen::detect::model::FileInFlight::enter(), unseen::detect::model::FileInFlight::enter());
        let b: Vec<Vec<Detection>> = std::thread::scope(|s| {
            let runs: Vec<_> =
                (0..2).map(|_| s.spawn(|| ort.detect(&img, &opts).expect("onnxruntime detect"))).collect();
            runs.into_iter().map(|r| r.join().unwrap()).collect()
        });
        for b in b {
            same(&format!("{name} cascade, two files in flight"), &a, &b);
        }
    }
}

#[test]
fn auto_names_the_engine_it_picked() {
    let d = Detector::with_backend(Backend::Auto, 1).expect("auto always loads (tract at worst)");
    match d.backend() {
        "tract" => assert!(cfg!(not(feature = "ort")) || d.fallback_reason().is_some()),
        "onnxruntime" => assert!(d.fallback_reason().is_none()),
        other => panic!("unknown engine {other}"),
    }
}

#[test]
fn ort_without_the_feature_is_a_clear_options_error() {
    let o = unseen::Options { backend: Backend::Ort, ..unseen::Options::default() };
    if cfg!(feature = "ort") {
        assert!(o.validate().is_ok());
    } else {
        let e = o.validate().expect_err("no ort in this build").to_string();
        assert!(e.contains("backend") && e.contains("--features ort"), "{e}");
    }
}
