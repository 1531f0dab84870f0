//! --regions: `obscure` boxes are obscured even where no face is found, `ignore` boxes drop the
//! detections whose centre they contain. --mode solid makes the pixels easy to check (black).

use image::RgbImage;

use crate::env::{read, testdata, Env};

fn rgb(bytes: &[u8]) -> RgbImage {
    image::load_from_memory(bytes).expect("image").to_rgb8()
}

#[test]
fn obscure_box_on_a_faceless_image() {
    let mut env = Env::new();
    let input = env.input("good/no_faces.png", "no_faces.png");
    std::fs::write(
        env.path("regions.json"),
        r#"{"no_faces.png": {"obscure": [{"x": 40, "y": 30, "w": 50, "h": 40}]}}"#,
    )
    .unwrap();
    env.unseen().args(["--mode", "solid", "--regions", "regions.json"]).arg(&input).assert().code(0);
    let before = rgb(&read(&testdata("good/no_faces.png")));
    let after = rgb(&read(&env.out().join("no_faces.png")));
    assert_eq!(after.dimensions(), before.dimensions());
    for (x, y, p) in after.enumerate_pixels() {
        let inside = (40..90).contains(&x) && (30..70).contains(&y);
        if inside {
            assert_eq!(p.0, [0, 0, 0], "({x}, {y}) inside the obscure box");
        } else {
            assert_eq!(p, before.get_pixel(x, y), "({x}, {y}) outside the obscure box");
        }
    }
}

#[test]
fn ignore_box_over_a_face_leaves_it_unobscured() {
    let mut env = Env::new();
    let input = env.input("astronaut.png", "astronaut.png");
    let before = rgb(&read(&testdata("astronaut.png")));
    let face_centre = (225, 118);

    // control: without the ignore box the face is painted black
    let mut control_env = Env::new();
    let control_input = control_env.input("astronaut.png", "astronaut.png");
    control_env.unseen().args(["--mode", "solid"]).arg(&control_input).assert().code(0);
    let control = rgb(&read(&control_env.out().join("astronaut.png")));
    assert_eq!(control.get_pixel(face_centre.0, face_centre.1).0, [0, 0, 0], "control: face obscured");

    std::fs::write(
        env.path("regions.json"),
        r#"{"astronaut.png": {"ignore": [{"x": 150, "y": 30, "w": 150, "h": 180}]}}"#,
    )
    .unwrap();
    env.unseen()
        .args(["--mode", "solid", "--regions", "regions.json", "--report", "report.json"])
        .arg(&input)
        .assert()
        .code(0);
    let after = rgb(&read(&env.out().join("astronaut.png")));
    assert!(after == before, "with the face ignored (and no other face) the pixels are unchanged");
    let report: serde_json::Value = serde_json::from_slice(&read(&env.path("report.json"))).unwrap();
    assert_eq!(report["files"][0]["faces"], serde_json::json!([]), "ignored detections are not reported");
}
