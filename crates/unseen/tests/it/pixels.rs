//! What `process_bytes` writes: inside every region the irreversibility rule holds (checked
//! against the decoded input), outside them the pixels are the input's (exactly for lossless
//! output, within JPEG tolerance for JPEG), obscured pixels are opaque, and the output is upright.

use std::path::Path;

use unseen::decode::{decode_image, DecodedImage, ImageKind};
use unseen::obscure::{self, covered_mask, noise_rng, Params};
use unseen::regions::ManualRegions;
use unseen::{Limits, Mode, Options, Pipeline, Shape};

use crate::common::{decode, mean_abs_diff, options, pipeline, read, SEED};

fn params(o: &Options) -> Params {
    Params { mode: o.mode, grid: o.grid, noise: o.noise }
}

/// Runs `name` through `p`, checks the output pixels and returns the decoded output.
fn check_output(p: &Pipeline, name: &str) -> DecodedImage {
    let path = Path::new(name);
    let input = decode(name);
    let prepared = p.process_bytes(path, &read(name), &ManualRegions::default()).expect("process_bytes");
    assert!(!prepared.faces.is_empty(), "{name}: the fixture has a face");
    assert_eq!(prepared.regions.len(), prepared.faces.len(), "one region per face, no manual regions");
    assert_eq!(prepared.kind, input.kind, "output format follows the input");
    let out = decode_image(path, &prepared.bytes, &Limits::default()).expect("output decodes");
    assert_eq!(out.kind, input.kind);
    assert_eq!(out.rgb.dimensions(), input.rgb.dimensions(), "{name}: output is upright, same size");
    let (w, h) = input.rgb.dimensions();
    let prm = params(p.options());
    let covered = covered_mask(&prepared.regions, w, h);
    for (region, face) in prepared.regions.iter().zip(&prepared.faces) {
        assert_eq!(region.rect, face.rect.enlarged(p.options().margin), "region = face box enlarged by the margin");
    }

    // The intended image, re-derived from the decoded input: same regions, same seed.
    let mut intended = input.rgb.clone();
    obscure::obscure(&mut intended, &prepared.regions, &prm, &mut noise_rng(Some(SEED)));

    if input.kind == ImageKind::Jpeg {
        let outside = mean_abs_diff(&out.rgb, &input.rgb, |i| !covered[i]);
        assert!(outside < 2.0, "{name}: outside the regions the output differs from the input by {outside:.2}");
        let inside = mean_abs_diff(&out.rgb, &intended, |i| covered[i]);
        assert!(inside < 6.0, "{name}: inside the regions the output differs from the rule's pixels by {inside:.2}");
    } else {
        // lossless: the rule holds exactly, and nothing outside the regions changed
        obscure::check(&input.rgb, &out.rgb, &prepared.regions, &prm)
            .unwrap_or_else(|e| panic!("{name}: output breaks the obscuring rule: {e}"));
        assert!(out.rgb == intended, "{name}: lossless output is not the seeded obscured image");
    }
    // and the faces really changed
    let changed = mean_abs_diff(&out.rgb, &input.rgb, |i| covered[i]);
    assert!(changed > 10.0, "{name}: inside the regions the output is too close to the input ({changed:.2})");

    if let Some(a_in) = &input.alpha {
        let a_out = out.alpha.as_ref().expect("alpha kept in PNG output");
        for (i, (p_in, p_out)) in a_in.pixels().zip(a_out.pixels()).enumerate() {
            let want = if covered[i] { 255 } else { p_in[0] };
            assert_eq!(
                p_out[0],
                want,
                "{name}: alpha at ({}, {}), covered = {}",
                i as u32 % w,
                i as u32 / w,
                covered[i]
            );
        }
    } else {
        assert!(out.alpha.is_none(), "{name}: no alpha added");
    }
    out
}

#[test]
fn png_output_obeys_the_rule_exactly() {
    check_output(pipeline(), "astronaut.png");
}

#[test]
fn gray_png_output_obeys_the_rule_exactly() {
    check_output(pipeline(), "camera.png");
}

#[test]
fn jpeg_output_obeys_the_rule_within_jpeg_tolerance() {
    check_output(pipeline(), "good/astronaut.jpg");
}

#[test]
fn rotated_jpeg_output_is_upright_and_obscured() {
    // stored 300x400 with Orientation = 6; shown (and written) 400x300
    assert_eq!(check_output(pipeline(), "good/exif_orient_6.jpg").rgb.dimensions(), (400, 300));
}

#[test]
fn cmyk_jpeg_output_is_obscured() {
    check_output(pipeline(), "good/cmyk.jpg");
}

#[test]
fn rgba_png_output_keeps_alpha_outside_and_is_opaque_inside() {
    check_output(pipeline(), "good/rgba.png");
}

#[test]
fn mosaic_and_solid_box_modes_obey_the_rule() {
    for (mode, shape) in [(Mode::Mosaic, Shape::Ellipse), (Mode::Solid, Shape::Box)] {
        let p = Pipeline::new(Options { mode, shape, ..options() }).expect("pipeline");
        check_output(&p, "astronaut.png");
    }
}

#[test]
fn faceless_images_come_out_unchanged() {
    for name in ["good/no_faces.png", "good/1x1.png"] {
        let prepared = pipeline().process_bytes(Path::new(name), &read(name), &ManualRegions::default()).unwrap();
        assert!(prepared.faces.is_empty() && prepared.regions.is_empty(), "{name}: {:?}", prepared.faces);
        let out = decode_image(Path::new(name), &prepared.bytes, &Limits::default()).unwrap();
        assert!(out.rgb == decode(name).rgb, "{name}: pixels changed");
    }
}

#[test]
fn manual_obscure_region_is_obscured_and_ignore_region_drops_the_face() {
    let name = "astronaut.png";
    let input = decode(name);
    // an obscure box on the flag, and an ignore box around the face
    let manual = ManualRegions {
        obscure: vec![unseen::geom::Rect { x: 0.0, y: 200.0, w: 60.0, h: 100.0 }.into()],
        ignore: vec![unseen::geom::Rect { x: 150.0, y: 30.0, w: 150.0, h: 180.0 }.into()],
        reviewed: false,
    };
    let prepared = pipeline().process_bytes(Path::new(name), &read(name), &manual).unwrap();
    assert!(prepared.faces.is_empty(), "the face lies in an ignore box: {:?}", prepared.faces);
    assert_eq!(prepared.manual_regions, 1);
    let out = decode_image(Path::new(name), &prepared.bytes, &Limits::default()).unwrap();
    obscure::check(&input.rgb, &out.rgb, &prepared.regions, &params(pipeline().options())).unwrap();
    let covered = covered_mask(&prepared.regions, 512, 512);
    assert!(mean_abs_diff(&out.rgb, &input.rgb, |i| covered[i]) > 10.0, "manual region obscured");
    assert!(out.rgb.get_pixel(220, 120) == input.rgb.get_pixel(220, 120), "ignored face left alone");
}
