//! What each fuzz target checks, one function per target, shared by the cargo-fuzz binaries
//! (`fuzz_targets/*.rs`, one line each) and by the corpus replay test of the main workspace
//! (`crates/unseen/tests/it/fuzz_corpus.rs` includes this file), so `cargo test --workspace`
//! compiles every target's code and replays the committed corpora (`fuzz/corpus/<target>/`) and
//! every crash reproducer, without libFuzzer.
//!
//! Each function takes any bytes and panics only when a property is broken (or when the code
//! under test panics, which is the bug being looked for).

use std::io::Cursor;
use std::path::Path;
use std::sync::OnceLock;

use unseen::decode::video::{parse_probe, NutReader};
use unseen::regions::{ManualRegions, RegionMap};
use unseen::verify::video::{check_boxes_in, check_probe, Expected, ExpectedAudio};
use unseen::{Limits, Mode, Options, Pipeline, Preset, Shape};

/// Small limits keep each execution fast; the limit checks themselves are exercised too.
pub const LIMITS: Limits = Limits { max_pixels: 1 << 18, max_file_bytes: 1 << 20, max_alloc: 64 << 20 };

/// `decode_image`'s limits: 128×128 pixels. Decoding costs about its pixel count (a 512×512
/// JPEG took 4.4 ms under AddressSanitizer, so 10 M executions would take 12 h); the decoders'
/// code paths are the same for small images, and larger ones exercise the limit checks.
pub const DECODE_LIMITS: Limits = Limits { max_pixels: 1 << 14, ..LIMITS };

/// A target: any bytes in; panics only on a bug.
pub type Target = fn(&[u8]);

/// Every target, by name (the corpus folder's name).
pub const TARGETS: &[(&str, Target)] = &[
    ("process_bytes", process_bytes),
    ("image_path", image_path),
    ("check_container", check_container),
    ("decode_image", decode_image),
    ("nut_reader", nut_reader),
    ("video_probe", video_probe),
    ("mp4_boxes", mp4_boxes),
    ("regions", regions),
];

fn pipeline() -> &'static Pipeline {
    static P: OnceLock<Pipeline> = OnceLock::new();
    P.get_or_init(|| {
        let options = Options {
            preset: Preset::Fast,
            detector_threads: 1,
            noise_seed: Some(1),
            limits: LIMITS,
            ..Options::default()
        };
        Pipeline::new(options).expect("pipeline")
    })
}

/// `Pipeline::process_bytes`, the whole image path (sniff, decode, detect, obscure, encode,
/// verify): an error or verified bytes, never a panic; accepted bytes pass the container
/// allow-list of their format once more.
pub fn process_bytes(data: &[u8]) {
    if let Ok(prepared) = pipeline().process_bytes(Path::new("fuzz"), data, &ManualRegions::default()) {
        assert!(unseen::verify::check_container(prepared.kind, &prepared.bytes).is_ok());
    }
}

/// The pipelines of `image_path`: the default mode and shape, mosaic boxes, solid ellipses.
fn stand_in_pipelines() -> &'static [Pipeline; 3] {
    static P: OnceLock<[Pipeline; 3]> = OnceLock::new();
    P.get_or_init(|| {
        let with = |mode, shape| {
            let options = Options {
                mode,
                shape,
                detector_threads: 1,
                noise_seed: Some(1),
                limits: DECODE_LIMITS,
                ..Options::default()
            };
            Pipeline::new(options).expect("pipeline")
        };
        [with(Mode::Blur, Shape::Ellipse), with(Mode::Mosaic, Shape::Box), with(Mode::Solid, Shape::Ellipse)]
    })
}

/// FNV-1a: the stand-in detector's choices follow the input, so a crash replays.
fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

/// `Pipeline::prepare_found_by` and `Prepared::verify`: the image path of `process_bytes`
/// (limits, sniffing, decoding at 128×128, the obscuring rule, encoding, verification) with a
/// stand-in for the detectors (0–3 boxes, in or across the image's edges, and the mode, shape
/// and output format, all chosen from a hash of the input), so it runs a hundred times faster.
/// Properties: never a panic; our own encoder and obscuring never fail on pixels that decoded;
/// a lossless output always verifies, and whatever verifies passes the container allow-list.
pub fn image_path(data: &[u8]) {
    use unseen::decode::ImageKind;
    use unseen::detect::Detection;
    use unseen::geom::Rect;
    let h = fnv(data);
    let pipeline = &stand_in_pipelines()[(h % 3) as usize];
    let kinds = [
        None,
        Some(ImageKind::Jpeg),
        Some(ImageKind::Png),
        Some(ImageKind::WebP),
        Some(ImageKind::Tiff),
        Some(ImageKind::Bmp),
    ];
    let out_kind = kinds[((h >> 2) % 6) as usize];
    let path = Path::new("fuzz");
    // the stand-in detector: boxes from the hash, in or across the image's edges
    let found = pipeline.prepare_found_by(path, data, out_kind, &ManualRegions::default(), |rgb| {
        let (w, hgt) = (rgb.width() as f32, rgb.height() as f32);
        let boxes = (0..((h >> 5) % 4)).map(|i| {
            let b = h.rotate_left(16 * i as u32);
            let f = |k: u32| ((b >> (8 * k)) & 0xff) as f32 / 255.0;
            let rect = Rect {
                x: f(0) * w * 1.2 - 0.1 * w,
                y: f(1) * hgt * 1.2 - 0.1 * hgt,
                w: f(2) * w + 1.0,
                h: f(3) * hgt + 1.0,
            };
            Detection::face(rect, 0.9)
        });
        Ok(boxes.collect())
    });
    match found {
        Ok(prepared) => {
            let verified = prepared.verify(path, &prepared.bytes);
            if prepared.kind != ImageKind::Jpeg {
                assert!(verified.is_ok(), "lossless {:?} output failed verification: {verified:?}", prepared.kind);
            }
            if verified.is_ok() {
                assert!(unseen::verify::check_container(prepared.kind, &prepared.bytes).is_ok());
            }
        }
        Err(e @ (unseen::Error::Encode { .. } | unseen::Error::Verify { .. } | unseen::Error::Detect { .. })) => {
            panic!("a decoded image failed in our own stages: {e}")
        }
        Err(_) => {}
    }
}

/// `verify::check_container` (the output allow-list) for every output format: never a panic.
pub fn check_container(data: &[u8]) {
    use unseen::decode::ImageKind;
    for kind in [ImageKind::Jpeg, ImageKind::Png, ImageKind::WebP, ImageKind::Tiff, ImageKind::Bmp] {
        let _ = unseen::verify::check_container(kind, data);
    }
}

/// `decode::decode_image` alone (faster than `process_bytes`, so deeper into each decoder):
/// JPEG, PNG, WebP, TIFF, BMP and GIF through the image crates, HEIC and AVIF through libheif
/// (the format is chosen by content). An accepted image respects the pixel limit, and its alpha
/// plane, if any, has the image's size.
pub fn decode_image(data: &[u8]) {
    let path = Path::new("fuzz");
    let Ok(format) = unseen::decode::sniff_source(path, data) else { return };
    let _ = unseen::decode::is_animated(format, data);
    if let Ok(img) = unseen::decode::decode_image(path, data, &DECODE_LIMITS) {
        let (w, h) = img.rgb.dimensions();
        assert!(u64::from(w) * u64::from(h) <= DECODE_LIMITS.max_pixels, "{w}x{h} passed the pixel limit");
        if let Some(a) = &img.alpha {
            assert_eq!(a.dimensions(), (w, h));
        }
    }
}

/// `NutReader`, the parser of ffmpeg's raw-frame output (the pipe from a decoder that may be
/// compromised): frames of the announced size or an error, never a panic, never a frame larger
/// than the input.
pub fn nut_reader(data: &[u8]) {
    let Ok(mut reader) = NutReader::new(Cursor::new(data)) else { return };
    let mut total = 0usize;
    while let Ok(Some(frame)) = reader.next_frame() {
        total += frame.head.len() + frame.data.len();
        assert!(total <= data.len(), "frames hold more bytes than the stream");
        if let Some((w, h)) = reader.size() {
            assert_eq!(frame.data.len() as u64, u64::from(w) * u64::from(h) * 3);
        }
    }
    let _ = reader.tail();
}

/// ffprobe's JSON as read for an input (`parse_probe` and what is derived from it) and for an
/// output (`check_probe`): an error or a value, never a panic. ffprobe parses hostile files,
/// so its JSON carries attacker-chosen numbers and strings.
pub fn video_probe(data: &[u8]) {
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    if let Ok(info) = parse_probe(Path::new("fuzz.mp4"), &json) {
        let _ = info.upright_size();
        let _ = info.video_duration();
        let _ = info.frames_estimate();
        if let Some(hdr) = info.hdr() {
            let _ = unseen::decode::video::tone_map_filter(&info, hdr);
        }
    }
    let expected = Expected {
        width: 64,
        height: 48,
        frames: 10,
        duration: Some(1.0),
        max_duration: Some(1.0),
        fps: Some(10.0),
        picture: (63, 48),
        audio: Some(ExpectedAudio { offset: 0.0, duration: Some(1.0) }),
        forbidden: Vec::new(),
    };
    let _ = check_probe(&json, &expected);
    let _ = check_probe(&json, &Expected { audio: None, fps: None, duration: None, max_duration: None, ..expected });
}

/// The MP4 box allow-list of a written video (`check_boxes_in`): an error or Ok, never a panic.
pub fn mp4_boxes(data: &[u8]) {
    let _ = check_boxes_in(Cursor::new(data), data.len() as u64);
}

/// The regions file and the review page's decisions file (`RegionMap::from_json`): a parsed
/// map survives writing and reading back unchanged.
pub fn regions(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(map) = RegionMap::from_json(Path::new("fuzz.json"), text) {
        let again = RegionMap::from_json(Path::new("fuzz.json"), &map.to_json()).expect("written map reads back");
        assert_eq!(again, map);
    }
}
