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
