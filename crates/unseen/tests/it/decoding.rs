//! Every fixture decodes to the upright 8-bit pixels it shows: EXIF orientation applied, CMYK,
//! grayscale and 16-bit converted correctly, alpha kept. Broken files are errors, not panics.

use unseen::decode::{decode_image, ImageKind};
use unseen::{Error, Limits};

use crate::common::{crop, decode, mean_abs_diff, read, testdata};

/// The upright picture the EXIF-rotated fixtures were made from (see testdata/make_fixtures.sh).
fn upright() -> image::RgbImage {
    crop(&decode("astronaut.png").rgb, 56, 0, 400, 300)
}

fn orientation_is_applied(name: &str) {
    let d = decode(name);
    assert_eq!(d.kind, ImageKind::Jpeg);
    assert_eq!(d.rgb.dimensions(), (400, 300), "{name}: displayed size (stored size is rotated)");
    let diff = mean_abs_diff(&d.rgb, &upright(), |_| true);
    assert!(diff < 3.0, "{name}: differs from the upright picture by {diff:.2} levels on average");
}

#[test]
fn exif_orientation_3_is_applied() {
    orientation_is_applied("good/exif_orient_3.jpg");
}

#[test]
fn exif_orientation_6_is_applied() {
    orientation_is_applied("good/exif_orient_6.jpg");
}

#[test]
fn exif_orientation_8_is_applied() {
    orientation_is_applied("good/exif_orient_8.jpg");
}

#[test]
fn cmyk_jpeg_decodes_to_the_right_colours() {
    let d = decode("good/cmyk.jpg");
    let diff = mean_abs_diff(&d.rgb, &decode("astronaut.png").rgb, |_| true);
    assert!(diff < 4.0, "CMYK JPEG differs from the RGB original by {diff:.2} levels on average");
}

#[test]
fn grayscale_jpeg_decodes_to_gray_rgb() {
    let d = decode("good/gray.jpg");
    assert_eq!(d.rgb.dimensions(), (512, 512));
    assert!(d.alpha.is_none());
    assert!(d.rgb.pixels().all(|p| p[0] == p[1] && p[1] == p[2]), "gray input must give R = G = B");
}

#[test]
fn sixteen_bit_png_is_scaled_not_truncated() {
    let d = decode("good/rgb16.png");
    let want = crop(&decode("astronaut.png").rgb, 100, 0, 256, 256);
    let worst = d.rgb.pixels().zip(want.pixels()).flat_map(|(p, q)| (0..3).map(move |k| p[k].abs_diff(q[k]))).max();
    assert!(worst <= Some(1), "16-bit samples must map to their high byte (±1), worst difference {worst:?}");
}

#[test]
fn rgba_png_keeps_colour_and_alpha() {
    let d = decode("good/rgba.png");
    assert_eq!(d.rgb, crop(&decode("astronaut.png").rgb, 100, 0, 256, 256));
    let alpha = d.alpha.expect("alpha plane");
    for (x, _, a) in alpha.enumerate_pixels() {
        assert_eq!(u32::from(a[0]), 96 + x * 159 / 255, "alpha at column {x}");
    }
}

#[test]
fn one_pixel_png() {
    let d = decode("good/1x1.png");
    assert_eq!(d.rgb.dimensions(), (1, 1));
    assert_eq!(d.rgb.get_pixel(0, 0).0, [200, 100, 50]);
}

#[test]
fn truncated_jpeg_is_a_decode_error() {
    let p = testdata("bad/truncated.jpg");
    // (lenient JPEG decoders fill the missing part with grey and report success)
    let Err(e) = decode_image(&p, &read("bad/truncated.jpg"), &Limits::default()) else {
        panic!("truncated JPEG must not decode");
    };
    assert!(matches!(e, Error::Decode { .. }), "{e}");
    assert!(e.to_string().contains("truncated.jpg"), "error names the file: {e}");
}
