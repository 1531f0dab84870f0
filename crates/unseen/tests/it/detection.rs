//! The detector (default preset and threshold) finds the face in every fixture, in upright
//! source coordinates, and nothing in pictures without faces.

use std::path::Path;

use unseen::regions::ManualRegions;

use crate::common::{decode, pipeline, rect, shifted, ASTRONAUT_FACE, CAMERA_FACE};

fn finds_face(name: &str, want: [f32; 4]) {
    let img = decode(name).rgb;
    let faces = pipeline().detect(Path::new(name), &img, &ManualRegions::default()).expect("detect");
    let want = rect(want);
    let best = faces.iter().map(|d| (d.rect.iou(&want), d)).max_by(|a, b| a.0.total_cmp(&b.0));
    match best {
        Some((iou, d)) if iou >= 0.5 => {
            assert!(d.score >= pipeline().options().threshold, "{name}: {d:?}");
        }
        _ => panic!("{name}: no detection with IoU >= 0.5 against {want:?}; got {faces:?}"),
    }
}

fn finds_nothing(name: &str) {
    let img = decode(name).rgb;
    let faces = pipeline().detect(Path::new(name), &img, &ManualRegions::default()).expect("detect");
    assert!(faces.is_empty(), "{name}: expected no face, got {faces:?}");
}

/// The rotated fixtures show this crop of the astronaut photo.
const UPRIGHT_CROP: (f32, f32) = (56.0, 0.0);
/// The RGBA and 16-bit fixtures are this crop of the astronaut photo.
const FACE_CROP: (f32, f32) = (100.0, 0.0);

macro_rules! face_tests {
    ($($test:ident: $file:expr => $face:expr;)*) => {$(
        #[test]
        fn $test() {
            finds_face($file, $face);
        }
    )*};
}

face_tests! {
    astronaut_png: "astronaut.png" => ASTRONAUT_FACE;
    camera_png_three_quarter_profile_gray: "camera.png" => CAMERA_FACE;
    astronaut_jpeg: "good/astronaut.jpg" => ASTRONAUT_FACE;
    exif_orient_3: "good/exif_orient_3.jpg" => shifted(ASTRONAUT_FACE, UPRIGHT_CROP.0, UPRIGHT_CROP.1);
    exif_orient_6: "good/exif_orient_6.jpg" => shifted(ASTRONAUT_FACE, UPRIGHT_CROP.0, UPRIGHT_CROP.1);
    exif_orient_8: "good/exif_orient_8.jpg" => shifted(ASTRONAUT_FACE, UPRIGHT_CROP.0, UPRIGHT_CROP.1);
    grayscale_jpeg: "good/gray.jpg" => ASTRONAUT_FACE;
    cmyk_jpeg: "good/cmyk.jpg" => ASTRONAUT_FACE;
    rgba_png: "good/rgba.png" => shifted(ASTRONAUT_FACE, FACE_CROP.0, FACE_CROP.1);
    rgb16_png: "good/rgb16.png" => shifted(ASTRONAUT_FACE, FACE_CROP.0, FACE_CROP.1);
}

#[test]
fn no_face_in_a_gradient() {
    finds_nothing("good/no_faces.png");
}

#[test]
fn no_face_in_one_pixel() {
    finds_nothing("good/1x1.png");
}

#[test]
fn issue6_window_detection_finds_what_the_full_detection_finds() {
    use unseen::geom::Rect;
    use unseen::track::keyframe::windows;
    // two fixtures side by side in one frame, each face tracked: the windows (the large face
    // scaled down, packed with the other into one tensor) give the same boxes as the full pass
    let a = decode("astronaut.png").rgb;
    let c = decode("camera.png").rgb;
    let mut frame = image::RgbImage::new(a.width() + c.width(), a.height().max(c.height()));
    image::imageops::replace(&mut frame, &a, 0, 0);
    image::imageops::replace(&mut frame, &c, i64::from(a.width()), 0);
    let path = Path::new("frame");
    let none = ManualRegions::default();
    let full = pipeline().detect_frame(path, &frame, &none).unwrap();
    let cam = rect(CAMERA_FACE);
    let truth = [rect(ASTRONAUT_FACE), Rect { x: cam.x + a.width() as f32, ..cam }];
    let wins = windows(&truth, frame.dimensions(), 1.0);
    assert!(wins.iter().any(|w| w.scale < 1.0), "the large face is scaled down: {wins:?}");
    let found = pipeline().detect_windows(path, &frame, &wins, &none).unwrap();
    for t in truth {
        let best = |v: &[unseen::detect::Detection]| v.iter().map(|d| d.rect.iou(&t)).fold(0.0f32, f32::max);
        assert!(best(&full) >= 0.6, "full pass finds {t:?}: {full:?}");
        assert!(best(&found) >= 0.6, "windows find {t:?}: {found:?}");
    }
    // and nothing outside the windows
    for d in &found {
        let (x, y) = d.rect.center();
        assert!(wins.iter().any(|w| w.rect.contains(x, y)), "{d:?} outside {wins:?}");
    }
}

/// Issue 12: the cascade's proposer is the committed YuNet-n and finds the astronaut's face
/// where its publisher's pipeline does; with the cascade the upscaled passes run only in windows,
/// and the face found is the one the full passes find.
#[test]
fn issue12_yunet_proposes_and_the_cascade_finds_what_the_full_passes_find() {
    use sha2::{Digest, Sha256};
    use unseen::detect::yunet::{YuNet, MODEL_BYTES, MODEL_SHA256};
    use unseen::detect::{DetectOptions, Detector};
    use unseen::Preset;
    let hex = |b: &[u8]| Sha256::digest(b).iter().map(|x| format!("{x:02x}")).collect::<String>();
    assert_eq!(hex(MODEL_BYTES), MODEL_SHA256);
    let file = std::fs::read(crate::common::testdata("../models/yunet_n.onnx")).unwrap();
    assert_eq!(hex(&file), MODEL_SHA256);

    let img = decode("astronaut.png").rgb;
    let y = YuNet::new(2).unwrap();
    let found = y.detect(&img, 1.0, 0.5).unwrap();
    let best = found.iter().max_by(|a, b| a.score.total_cmp(&b.score)).expect("a proposal");
    // the publisher's figures (onnxruntime): (178, 65)–(270, 176), score 0.936
    assert!(best.rect.iou(&rect([178.0, 65.0, 270.0, 176.0])) > 0.9 && (best.score - 0.936).abs() < 0.01, "{best:?}");

    let d = Detector::new(2).unwrap();
    // one large face: windows (at a reduced scale), far from the whole image
    let windows =
        d.cascade_windows(&img, 2.0, 1.0, &[], Vec::new()).unwrap().expect("one face: windows, not the full pass");
    let area: f32 = windows.iter().map(|w| w.rect.area() * w.scale * w.scale).sum();
    assert!(!windows.is_empty() && area < 0.25 * 1024.0 * 1024.0, "{windows:?}");
    let opts = |cascade| DetectOptions { preset: Preset::Balanced, threshold: 0.2, video: false, cascade };
    let with = d.detect(&img, &opts(true)).unwrap();
    let without = d.detect(&img, &opts(false)).unwrap();
    let face = rect(ASTRONAUT_FACE);
    for dets in [&with, &without] {
        assert!(dets.iter().any(|x| x.rect.iou(&face) > 0.5), "{dets:?}");
    }
    let (a, b) = (
        with.iter().find(|x| x.rect.iou(&face) > 0.5).unwrap(),
        without.iter().find(|x| x.rect.iou(&face) > 0.5).unwrap(),
    );
    assert!(a.rect.iou(&b.rect) > 0.8, "{a:?} vs {b:?}");

    // a small face (about 17×22 px) on a plain 400×300 picture: proposed, windowed, found
    let small = image::imageops::resize(&img, 96, 96, image::imageops::FilterType::Triangle);
    let mut canvas = image::RgbImage::from_pixel(400, 300, image::Rgb([128, 128, 128]));
    image::imageops::replace(&mut canvas, &small, 150, 100);
    let want = rect([150.0 + 181.0 * 0.1875, 100.0 + 58.0 * 0.1875, 150.0 + 270.0 * 0.1875, 100.0 + 178.0 * 0.1875]);
    let windows = d.cascade_windows(&canvas, 2.0, 1.0, &[], Vec::new()).unwrap().expect("windows");
    assert!(!windows.is_empty() && windows.iter().all(|w| w.rect.area() < 0.25 * 400.0 * 300.0), "{windows:?}");
    let c = want.center();
    assert!(windows.iter().any(|w| w.rect.contains(c.0, c.1)), "{windows:?}");
    let with = d.detect(&canvas, &opts(true)).unwrap();
    let without = d.detect(&canvas, &opts(false)).unwrap();
    for dets in [&with, &without] {
        assert!(dets.iter().any(|x| x.rect.iou(&want) > 0.4), "{want:?}: {dets:?}");
    }

    // the coarse pass's weak boxes open windows too, where YuNet proposes nothing (a plain image)
    let plain = image::RgbImage::from_pixel(400, 300, image::Rgb([128, 128, 128]));
    let weak = |x: f32, y: f32| unseen::detect::Detection::face(rect([x, y, x + 12.0, y + 14.0]), 0.07);
    let windows = d.cascade_windows(&plain, 2.0, 1.0, &[], Vec::new()).unwrap().expect("nothing proposed: no windows");
    assert!(windows.is_empty(), "{windows:?}");
    let windows = d.cascade_windows(&plain, 2.0, 1.0, &[], vec![weak(300.0, 40.0)]).unwrap().expect("windows");
    assert!(windows.len() == 1 && windows[0].rect.contains(306.0, 47.0), "{windows:?}");
    // ... and when they are everywhere (a crowd), the full passes run
    let crowd: Vec<_> = (0..10).flat_map(|i| (0..8).map(move |j| weak(i as f32 * 40.0, j as f32 * 37.0))).collect();
    assert!(d.cascade_windows(&plain, 2.0, 1.0, &crowd, Vec::new()).unwrap().is_none(), "faces the coarse pass kept");
    assert!(d.cascade_windows(&plain, 2.0, 1.0, &[], crowd).unwrap().is_none(), "weak boxes");
}

#[test]
fn issue12_video_keyframes_of_1080p_use_the_cascade_and_find_the_same_faces() {
    use unseen::detect::{cascade_applies, DetectOptions, Detector};
    use unseen::Preset;
    let opts = |video, cascade| DetectOptions { preset: Preset::Balanced, threshold: 0.2, video, cascade };
    // where the cascade runs: every image; video frames only above the fit pass's size
    assert!(cascade_applies(1920, 1080, &opts(true, true)));
    assert!(!cascade_applies(1280, 720, &opts(true, true)), "720p: one pass at source size, nothing to save");
    assert!(!cascade_applies(1920, 1080, &opts(true, false)));
    assert!(cascade_applies(400, 300, &opts(false, true)));
    assert!(!cascade_applies(1920, 1080, &DetectOptions { preset: Preset::Fast, ..opts(true, true) }));

    // a 1080p frame with a small and a mid-sized face: the cascade finds what the full passes find
    let img = decode("astronaut.png").rgb;
    let mut frame = image::RgbImage::from_pixel(1920, 1080, image::Rgb([90, 110, 100]));
    let mut want = Vec::new();
    for (side, x, y) in [(160u32, 300u32, 200u32), (400, 1300, 500)] {
        let s = side as f32 / 512.0;
        let small = image::imageops::resize(&img, side, side, image::imageops::FilterType::Triangle);
        image::imageops::replace(&mut frame, &small, i64::from(x), i64::from(y));
        let (x, y) = (x as f32, y as f32);
        want.push(rect([x + 181.0 * s, y + 58.0 * s, x + 270.0 * s, y + 178.0 * s]));
    }
    let d = Detector::new(2).unwrap();
    let with = d.detect(&frame, &opts(true, true)).unwrap();
    let without = d.detect(&frame, &opts(true, false)).unwrap();
    for face in &want {
        let a = with.iter().find(|x| x.rect.iou(face) > 0.4);
        let b = without.iter().find(|x| x.rect.iou(face) > 0.4);
        let (Some(a), Some(b)) = (a, b) else { panic!("{face:?}: {with:?} / {without:?}") };
        assert!(a.rect.iou(&b.rect) > 0.8, "{a:?} vs {b:?}");
    }
}

#[test]
fn issue12_a_window_that_cuts_a_face_does_not_shrink_its_box() {
    use unseen::detect::{DetectOptions, Detector};
    use unseen::track::keyframe::Window;
    use unseen::Preset;
    // found on the 1080p benchmark clip: between keyframes the window of a spurious track below a
    // face cut its lower half, and the part, voted with the whole box, left the forehead bare
    let img = decode("astronaut.png").rgb;
    let d = Detector::new(2).unwrap();
    let opts = DetectOptions { preset: Preset::Balanced, threshold: 0.2, video: true, cascade: true };
    let own = Window { rect: rect([120.0, 0.0, 340.0, 240.0]), scale: 1.0 };
    let cutting = Window { rect: rect([150.0, 82.0, 300.0, 232.0]), scale: 1.0 };
    let face = rect(ASTRONAUT_FACE);
    let find = |windows: &[Window]| {
        let found = d.detect_windows(&img, windows, &opts).unwrap();
        found.into_iter().find(|x| x.rect.intersection(&face) > 0.3 * face.area()).map(|x| x.rect)
    };
    let whole = find(&[own]).expect("the face in its own window");
    let part = find(&[cutting]).expect("a part of the face in the cutting window: kept alone");
    assert!(part.y > whole.y + 10.0, "the cutting window sees only the lower part: {part:?} vs {whole:?}");
    let both = find(&[own, cutting]).unwrap();
    assert!((both.y - whole.y).abs() < 3.0 && both.iou(&whole) > 0.9, "{both:?} vs {whole:?}");
}

#[test]
fn issue12_faces_on_tile_seams_are_found_once() {
    use unseen::detect::{Detector, Pass};
    // 2600×1400 is tiled at source size: two tiles of 1440 px, the second starting at x = 1160
    // (see letterbox::tiles); one face crosses each inner edge, inside the overlap
    let face = image::imageops::resize(&decode("astronaut.png").rgb, 256, 256, image::imageops::FilterType::Triangle);
    let mut img = image::RgbImage::from_pixel(2600, 1400, image::Rgb([90, 110, 100]));
    let mut want = Vec::new();
    for x in [1050u32, 1330] {
        image::imageops::replace(&mut img, &face, i64::from(x), 600);
        let s = 0.5;
        let x = x as f32;
        want.push(rect([x + 181.0 * s, 600.0 + 58.0 * s, x + 270.0 * s, 600.0 + 178.0 * s]));
    }
    assert!(want[0].x < 1160.0 && want[0].x2() > 1160.0 && want[1].x < 1440.0 && want[1].x2() > 1440.0);
    let d = Detector::new(2).unwrap();
    let found = d.run_pass(&img, Pass { scale: 1.0, flip: false }, 0.2).unwrap();
    for w in &want {
        let on: Vec<_> = found.iter().filter(|x| x.rect.intersection(w) > 0.3 * w.area()).collect();
        assert!(on.len() == 1 && on[0].rect.iou(w) > 0.6, "{w:?}: {on:?}");
    }
}

/// Many windows run as several sheets (tensors of bounded size, not one that grows with their
/// number): a face in a window that lands on the last sheet is found, at its place in the image.
#[test]
fn windows_on_later_sheets_find_their_faces_where_they_are() {
    use unseen::detect::{pack, DetectOptions, Detector};
    use unseen::track::keyframe::Window;
    use unseen::Preset;
    let img = decode("astronaut.png").rgb;
    let mut canvas = image::RgbImage::from_pixel(2000, 2000, image::Rgb([120, 120, 120]));
    let small = image::imageops::resize(&img, 48, 48, image::imageops::FilterType::Triangle);
    // the face's window is the grid's last: same size as the others, so it is packed last
    let (fx, fy) = (1910u32, 1912u32);
    image::imageops::replace(&mut canvas, &small, i64::from(fx), i64::from(fy));
    let s = 48.0 / 512.0;
    let want = rect([
        fx as f32 + ASTRONAUT_FACE[0] * s,
        fy as f32 + ASTRONAUT_FACE[1] * s,
        fx as f32 + ASTRONAUT_FACE[2] * s,
        fy as f32 + ASTRONAUT_FACE[3] * s,
    ]);
    let windows: Vec<Window> = (0..20)
        .flat_map(|j| (0..20).map(move |i| (i, j)))
        .map(|(i, j)| Window {
            rect: rect([
                i as f32 * 100.0 + 4.0,
                j as f32 * 100.0 + 4.0,
                i as f32 * 100.0 + 100.0,
                j as f32 * 100.0 + 100.0,
            ]),
            scale: 1.0,
        })
        .collect();
    let at = pack(&windows.iter().map(|w| (w.rect.w as u32, w.rect.h as u32)).collect::<Vec<_>>());
    assert!(at.last().unwrap().0 >= 1, "the face's window is not on the first sheet: {:?}", at.last());
    let d = Detector::new(2).unwrap();
    let opts = DetectOptions { preset: Preset::Balanced, threshold: 0.2, video: true, cascade: true };
    let found = d.detect_windows(&canvas, &windows, &opts).unwrap();
    assert!(found.iter().any(|x| x.rect.iou(&want) > 0.4), "{want:?}: {found:?}");
    assert!(found.iter().all(|x| x.rect.iou(&want) > 0.1), "only the face: {found:?}");
}
