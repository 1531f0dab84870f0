//! A JPEG carrying identifying metadata everywhere (EXIF incl. GPS, serial number and an EXIF
//! thumbnail of the face, XMP, IPTC, ICC text, a COM comment, bytes after EOI; see
//! testdata/make_fixtures.sh) comes out with none of it.

use std::process::Command;

use serde_json::Value;

use crate::env::{read, testdata, Env};

const CANARY: &str = "CANARY-7f3a";

/// The byte forms the canary is looked for in: ASCII/UTF-8, UTF-16LE (EXIF XP* tags), UTF-16BE
/// (ICC `mluc`), each also upper- and lower-cased.
fn canary_forms() -> Vec<Vec<u8>> {
    let mut forms = Vec::new();
    for s in [CANARY.to_owned(), CANARY.to_ascii_uppercase(), CANARY.to_ascii_lowercase()] {
        forms.push(s.as_bytes().to_vec());
        forms.push(s.encode_utf16().flat_map(u16::to_le_bytes).collect());
        forms.push(s.encode_utf16().flat_map(u16::to_be_bytes).collect());
    }
    forms
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Every tag exiftool may report for unseen's JPEG output: file-system facts, the JPEG frame,
/// the bare JFIF header and values exiftool derives from those. Nothing that can identify a
/// person, place, device, time or software.
const ALLOWED: &[&str] = &[
    "SourceFile",
    "ExifTool:ExifToolVersion",
    "System:FileName",
    "System:Directory",
    "System:FileSize",
    "System:FileModifyDate",
    "System:FileAccessDate",
    "System:FileInodeChangeDate",
    "System:FilePermissions",
    "File:FileType",
    "File:FileTypeExtension",
    "File:MIMEType",
    "File:ImageWidth",
    "File:ImageHeight",
    "File:EncodingProcess",
    "File:BitsPerSample",
    "File:ColorComponents",
    "File:YCbCrSubSampling",
    "JFIF:JFIFVersion",
    "JFIF:ResolutionUnit",
    "JFIF:XResolution",
    "JFIF:YResolution",
    "Composite:ImageSize",
    "Composite:Megapixels",
];

/// `exiftool -a -u -G1 -j <path>` as one JSON object.
fn exiftool(path: &std::path::Path) -> serde_json::Map<String, Value> {
    let out = Command::new("exiftool").args(["-a", "-u", "-G1", "-j"]).arg(path).output().unwrap_or_else(|e| {
        panic!("cannot run exiftool ({e}); this test needs it (Debian/Ubuntu: apt install libimage-exiftool-perl)")
    });
    assert!(out.status.success(), "exiftool failed: {}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("exiftool JSON");
    v.as_array().and_then(|a| a.first()).and_then(Value::as_object).cloned().expect("one object")
}

fn disallowed(tags: &serde_json::Map<String, Value>) -> Vec<String> {
    tags.iter().filter(|(k, _)| !ALLOWED.contains(&k.as_str())).map(|(k, v)| format!("{k} = {v}")).collect()
}

#[test]
fn the_fixture_really_is_dirty() {
    // guards the tests below against a fixture that lost its metadata
    let bytes = read(&testdata("good/metadata_canary.jpg"));
    for form in &canary_forms()[..3] {
        assert!(find(&bytes, form).is_some(), "fixture lacks canary form {form:?}");
    }
    let tags = exiftool(&testdata("good/metadata_canary.jpg"));
    let bad = disallowed(&tags);
    for want in ["GPS:GPSLatitude", "IFD1:ThumbnailImage", "XMP-dc:Creator", "IPTC:By-line", "File:Comment"] {
        assert!(bad.iter().any(|b| b.starts_with(want)), "fixture lacks {want}: {bad:#?}");
    }
}

#[test]
fn no_metadata_survives() {
    let mut env = Env::new();
    let input = env.input("good/metadata_canary.jpg", "metadata_canary.jpg");
    env.unseen().args(["--report", "report.json"]).arg(&input).assert().code(0);
    let output = env.out().join("metadata_canary.jpg");
    let bytes = read(&output);

    for form in canary_forms() {
        if let Some(at) = find(&bytes, &form) {
            panic!("canary {:?} found in the output at byte {at}", String::from_utf8_lossy(&form));
        }
    }
    assert!(bytes.ends_with(&[0xFF, 0xD9]), "output ends at its EOI marker");

    let tags = exiftool(&output);
    let bad = disallowed(&tags);
    assert!(bad.is_empty(), "exiftool lists tags outside the allow-list:\n{}", bad.join("\n"));
    for (k, v) in &tags {
        assert!(!v.to_string().contains(CANARY), "{k} = {v}");
    }
    assert_eq!(tags["File:ImageWidth"], 512);
    assert_eq!(tags["File:ImageHeight"], 512);

    // and the face in it was obscured
    let report: Value = serde_json::from_slice(&read(&env.path("report.json"))).unwrap();
    assert_eq!(report["files"][0]["faces"].as_array().map(Vec::len), Some(1), "{report}");
}
