//! Issue 13: text (`--text`, PP-OCRv4 det) and people (`--people`, YOLOX-Nano) on images and
//! video. Fixtures: `testdata/good/plate_badge.png` (the astronaut with a rendered plate and name
//! badge) and `testdata/good/moving_plate.mp4` (a plate and a person moving); their boxes are in
//! the JSON files beside them (see testdata/README.md).

use std::path::Path;

use image::{Rgb, RgbImage};
use serde_json::Value;
use sha2::{Digest, Sha256};
use unseen::detect::{people, text, Kind};
use unseen::regions::ManualRegions;
use unseen::report::Status;
use unseen::{Mode, Options, People, Pipeline, Shape};

use crate::common::{read, testdata};
use crate::video::{decode, pipeline_with, run};

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn solid(text: bool, people: Option<People>) -> Pipeline {
    pipeline_with(Options { mode: Mode::Solid, shape: Shape::Box, text, people, ..Options::default() })
}

fn boxes(rel: &str) -> Value {
    serde_json::from_slice(&read(rel)).expect("fixture JSON")
}

fn corners(v: &Value) -> [u32; 4] {
    let a: Vec<u32> = v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect();
    [a[0], a[1], a[2], a[3]]
}

fn is_bright(p: &Rgb<u8>) -> bool {
    p.0.iter().all(|&c| c > 150)
}

/// The pixels of `[x1, y1, x2, y2]` shrunk by `inset` that are bright in `img`.
fn bright_in(img: &RgbImage, [x1, y1, x2, y2]: [u32; 4], inset: u32) -> usize {
    let mut n = 0;
    for y in y1 + inset..y2.saturating_sub(inset) {
        for x in x1 + inset..x2.saturating_sub(inset) {
            n += usize::from(is_bright(img.get_pixel(x, y)));
        }
    }
    n
}

/// The extent of the letters inside `[x1, y1, x2, y2]` shrunk by 3 px (skipping a border): the
/// bounding box of its dark grey pixels.
fn letters(img: &RgbImage, [x1, y1, x2, y2]: [u32; 4]) -> [u32; 4] {
    let (mut a, mut b, mut c, mut d) = (u32::MAX, u32::MAX, 0, 0);
    for y in y1 + 3..y2 - 3 {
        for x in x1 + 3..x2 - 3 {
            let p = img.get_pixel(x, y).0;
            let grey = p.iter().max().unwrap() - p.iter().min().unwrap() < 40;
            if grey && p[0] < 110 {
                (a, b, c, d) = (a.min(x), b.min(y), c.max(x + 1), d.max(y + 1));
            }
        }
    }
    assert!(a < c && b < d, "no letters in {x1},{y1},{x2},{y2}");
    [a, b, c, d]
}

fn process(p: &Pipeline, rel: &str) -> (RgbImage, Vec<unseen::detect::Detection>) {
    let path = testdata(rel);
    let prepared = p.process_bytes(&path, &read(rel), &ManualRegions::default()).expect("processed");
    let img = image::load_from_memory(&prepared.bytes).unwrap().to_rgb8();
    (img, prepared.faces)
}

#[test]
fn issue13_models_are_the_committed_files() {
    for (bytes, sha, file, len) in [
        (text::MODEL_BYTES, text::MODEL_SHA256, "ppocrv4_det.onnx", 4_745_517),
        (people::MODEL_BYTES, people::MODEL_SHA256, "yolox_nano.onnx", 3_660_092),
    ] {
        assert_eq!(sha256_hex(bytes), sha, "embedded {file}");
        let committed = std::fs::read(testdata(&format!("../models/{file}"))).expect(file);
        assert_eq!(sha256_hex(&committed), sha, "models/{file}");
        assert_eq!(committed.len(), len);
    }
    let p = solid(true, Some(People::Head));
    let files: Vec<_> = p.models().iter().map(|m| m.file).collect();
    assert_eq!(files, ["centerface.onnx", "yunet_n.onnx", "ppocrv4_det.onnx", "yolox_nano.onnx"]);
    assert_eq!(solid(false, None).models().len(), 2);
}

/// The white background of the plate and the badge is where the letters are read against: with
/// `--text` none of it is left inside the text area; without, the pixels are the input's.
#[test]
fn issue13_text_obscures_a_plate_and_a_badge_only_with_text() {
    let b = boxes("good/plate_badge.json");
    let input = image::load_from_memory(&read("good/plate_badge.png")).unwrap().to_rgb8();
    // the letters of the plate and of the badge, with the white they are read against
    let plate_text = letters(&input, corners(&b["plate"]));
    let badge = letters(&input, corners(&b["badge"]));
    assert!(bright_in(&input, plate_text, 0) > 800 && bright_in(&input, badge, 0) > 300, "{plate_text:?} {badge:?}");

    let (with, found) = process(&solid(true, None), "good/plate_badge.png");
    let texts: Vec<_> = found.iter().filter(|d| d.kind == Kind::Text).collect();
    assert!(texts.len() >= 2, "plate and badge lines found: {found:?}");
    assert_eq!(bright_in(&with, plate_text, 0), 0, "plate letters left readable");
    assert_eq!(bright_in(&with, badge, 0), 0, "badge letters left readable");
    // the face is obscured as always, and the sky above the plate is not text
    assert!(found.iter().any(|d| d.kind == Kind::Face));
    assert_eq!(with.get_pixel(480, 40), input.get_pixel(480, 40), "untouched background");

    let (without, found) = process(&solid(false, None), "good/plate_badge.png");
    assert!(found.iter().all(|d| d.kind == Kind::Face));
    for [x1, y1, x2, y2] in [plate_text, badge] {
        for y in y1..y2 {
            for x in x1..x2 {
                assert_eq!(without.get_pixel(x, y), input.get_pixel(x, y), "({x}, {y}) changed without --text");
            }
        }
    }
}

/// The astronaut is one person, (11, 20)–(369, 507): `--people` covers all of her, `--people
/// head` only her top part, no flag none of it (besides the face).
#[test]
fn issue13_people_cover_the_whole_person_or_the_head_area() {
    let input = image::load_from_memory(&read("astronaut.png")).unwrap().to_rgb8();
    let black = |img: &RgbImage, x, y| img.get_pixel(x, y).0 == [0, 0, 0];
    let suit = (100, 420); // the orange suit, far below the face
    let hair_side = (40, 120); // beside the head, outside the face region

    let (body, found) = process(&solid(false, Some(People::Body)), "astronaut.png");
    let person: Vec<_> = found.iter().filter(|d| d.kind == Kind::Person).collect();
    assert_eq!(person.len(), 1, "{found:?}");
    let r = person[0].rect;
    assert!((r.x - 11.0).abs() < 8.0 && (r.y - 20.0).abs() < 8.0 && (r.x2() - 369.0).abs() < 8.0, "{r:?}");
    assert!(black(&body, suit.0, suit.1) && black(&body, hair_side.0, hair_side.1));
    assert!(black(&body, 300, 480), "the whole body");

    let (head, _) = process(&solid(false, Some(People::Head)), "astronaut.png");
    assert!(black(&head, hair_side.0, hair_side.1), "head area covered");
    assert_eq!(head.get_pixel(suit.0, suit.1), input.get_pixel(suit.0, suit.1), "the body is left");

    let (none, _) = process(&solid(false, None), "astronaut.png");
    for (x, y) in [suit, hair_side] {
        assert_eq!(none.get_pixel(x, y), input.get_pixel(x, y), "({x}, {y}) changed without --people");
    }
}

/// A plate and a person move across a clip: with `--text --people` every frame has them covered
/// (no bright plate pixel, no suit pixel), through the keyframe schedule (extras run on every
/// 4th frame) and the tracking between; without, they are visible.
#[test]
fn issue13_moving_plate_and_person_never_leak_in_video() {
    let b = boxes("good/moving_plate.json");
    let plates: Vec<[u32; 4]> = b["plate"].as_array().unwrap().iter().map(corners).collect();
    let persons: Vec<[u32; 4]> = b["person"].as_array().unwrap().iter().map(corners).collect();
    let tmp = tempfile::tempdir().unwrap();
    let input = testdata("good/moving_plate.mp4");
    let report = run(&solid(true, Some(People::Body)), &input, tmp.path());
    assert_eq!(report.status, Status::Ok, "{:?}", report.error);
    let v = report.video.as_ref().unwrap();
    assert!(v.text_tracks.unwrap() >= 1 && v.person_tracks.unwrap() >= 1, "{v:?}");
    let out = decode(&tmp.path().join("moving_plate.mp4"));
    assert_eq!(out.len(), plates.len());
    let original = decode(&input);
    let orange = |p: &Rgb<u8>| p[0] > 150 && p[1] < 140 && p[2] < 110;
    let suit_pixels = |img: &RgbImage, [x1, y1, x2, y2]: [u32; 4]| {
        let mut n = 0;
        for y in y1..y2.min(img.height()) {
            for x in x1..x2.min(img.width()) {
                n += usize::from(orange(img.get_pixel(x, y)));
            }
        }
        n
    };
    for (i, (frame, orig)) in out.iter().zip(&original).enumerate() {
        let plate = letters(orig, plates[i]);
        assert!(bright_in(orig, plate, 0) > 100, "frame {i}: the input shows the plate");
        assert_eq!(bright_in(frame, plate, 0), 0, "frame {i}: plate letters visible");
        assert!(suit_pixels(orig, persons[i]) > 100, "frame {i}: the input shows the person");
        assert_eq!(suit_pixels(frame, persons[i]), 0, "frame {i}: person visible");
    }
    // without the options, the plate is left as it was
    let tmp2 = tempfile::tempdir().unwrap();
    let plain = run(&solid(false, None), &input, tmp2.path());
    assert_eq!(plain.status, Status::Ok, "{:?}", plain.error);
    let out = decode(&tmp2.path().join("moving_plate.mp4"));
    assert!(bright_in(&out[10], letters(&original[10], plates[10]), 0) > 100);
}

#[test]
fn issue13_report_lists_text_and_people_apart_from_faces() {
    let tmp = tempfile::tempdir().unwrap();
    let p = solid(true, Some(People::Body));
    let report = run(&p, &testdata("good/plate_badge.png"), tmp.path());
    assert_eq!(report.status, Status::Ok, "{:?}", report.error);
    assert_eq!(report.faces.len(), 1);
    assert!(report.text.len() >= 2 && report.people.len() == 1, "{report:?}");
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["text"][0]["kind"], "text");
    assert_eq!(json["people"][0]["kind"], "person");
    assert!(json["faces"][0].get("kind").is_none(), "faces read as before");
    assert!(Path::new(&report.output.unwrap()).exists());
}
