//! Verification of a written video before it may be committed. Fails closed: anything not
//! positively expected is an error.
//!
//! 1. **Boxes.** The MP4 holds only allow-listed boxes ([`check_boxes`]): `ftyp moov mdat free`
//!    at the top, the sample tables of each track, and an empty `udta/meta/ilst`. Nothing after
//!    the last box.
//! 2. **Probe.** ffprobe sees exactly one H.264 stream of the intended size and, when audio is
//!    kept, one AAC stream; no chapters, programs, side data (rotation), or tags outside
//!    [`check_probe`]'s allow-list; tagged SDR BT.709 8-bit 4:2:0; as many frames as were
//!    encoded; the timing rules of [`Expected`] (the input's video and audio streams, not its
//!    container).
//! 3. **Bytes.** No metadata value of the input (title, location, comments, …) and no encoder
//!    string appears anywhere in the file ([`scan`]).
//! 4. **Pixels.** The output is decoded again and every frame's coarse signature (block means)
//!    matches that of the obscured frame that was encoded ([`Signature`]).

use std::io::Read;
use std::path::Path;

use serde_json::Value;

use crate::decode::video::{parse_probe, probe_json, Decoder, Tools};
use crate::error::{Error, Result};

/// Strings that must never appear in an output (encoder identification).
pub const ENCODER_STRINGS: &[&str] = &["Lavf5", "Lavf6", "Lavc5", "Lavc6", "Lavc libx264", "x264 - core", "libx264"];
/// Tag values that unseen's own MP4s contain, so they never count as leaked input metadata.
const OWN_VALUES: &[&str] = &["VideoHandler", "SoundHandler", "[0][0][0][0]", "isomiso2avc1mp41"];
/// Input metadata values shorter than this are not searched for (they occur by chance).
pub const MIN_NEEDLE: usize = 6;

/// What the verifier expects of an output.
///
/// **Timing rules.** Streams are compared with the input's streams, never with the input's
/// container (whose duration covers its longest stream: phones and editors start and end video
/// and audio apart):
/// * the video has exactly the frames that were encoded;
/// * it lasts as long as the input's video stream (start to end) within [`duration_tolerance`]
///   (three frames, at least 0.2 s: an edit list may cut into a frame, and each muxer guesses
///   the last frame's duration), and never longer than the whole input;
/// * without audio, it starts the file (at 0 within that tolerance): the time before the input's
///   first frame held no picture;
/// * with audio, the written video starts as much after (or before) the written audio as in the
///   input, within [`SYNC_TOLERANCE`], and the audio lasts as long as the input's within
///   [`AUDIO_TOLERANCE`].
#[derive(Debug, Clone)]
pub struct Expected {
    /// Frame width as encoded (even).
    pub width: u32,
    /// Frame height as encoded (even).
    pub height: u32,
    /// Number of frames encoded.
    pub frames: u64,
    /// How long the input's video stream lasts (its start to its end), seconds, when known.
    pub duration: Option<f64>,
    /// Duration of the whole input, seconds, when known: the video cannot last longer.
    pub max_duration: Option<f64>,
    /// Input frame rate, when known (sets the duration tolerance).
    pub fps: Option<f64>,
    /// The picture inside the encoded frame (width, height): smaller by one when padded to even.
    pub picture: (u32, u32),
    /// The audio stream kept, if any.
    pub audio: Option<ExpectedAudio>,
    /// Strings that must not appear in the file.
    pub forbidden: Vec<String>,
}

/// What the verifier expects of the kept audio stream.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExpectedAudio {
    /// The input's video start minus its audio start, seconds.
    pub offset: f64,
    /// How long the input's audio stream lasts, seconds, when known.
    pub duration: Option<f64>,
}

/// Largest difference (seconds) between the input's and the output's offset of video to audio:
/// 50 ms, below what viewers notice (ITU-R BT.1359: sound 45 ms early) and above the rounding
/// of AAC's priming samples.
pub const SYNC_TOLERANCE: f64 = 0.05;
/// Largest difference (seconds) between the input's and the output's audio duration: a few AAC
/// frames (1024 samples each) of padding from re-encoding.
pub const AUDIO_TOLERANCE: f64 = 0.1;

/// Largest difference (seconds) between the input's and the output's video duration, and of the
/// output's video start from 0 (without audio): three frames at the input's frame rate (10 fps
/// when unknown), at least 0.2 s.
#[must_use]
pub fn duration_tolerance(fps: Option<f64>) -> f64 {
    (3.0 / fps.filter(|f| *f > 0.0).unwrap_or(10.0)).max(0.2)
}

/// Side of the grid of block means that summarises a frame.
pub const SIGNATURE_GRID: u32 = 16;
/// Largest mean difference (8-bit levels) between the signatures of an encoded frame and the
/// frame that was meant to be encoded.
pub const SIGNATURE_MEAN_TOLERANCE: f64 = 4.0;
/// Largest difference of any single block mean.
pub const SIGNATURE_MAX_TOLERANCE: u8 = 48;

/// A frame's coarse summary: the mean colour of each cell of a [`SIGNATURE_GRID`]² grid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature(pub Vec<u8>);

impl Signature {
    /// The signature of the top-left `w`×`h` part of a packed rgb24 frame of width `stride_w`.
    #[must_use]
    pub fn of(rgb: &[u8], stride_w: u32, w: u32, h: u32) -> Signature {
        let g = SIGNATURE_GRID as usize;
        let (w, h, sw) = (w as usize, h as usize, stride_w as usize);
        // pixel x is in cell column x * g / w, so column c spans [ceil(c w / g), ceil((c + 1) w / g))
        let edges: Vec<usize> = (0..=g).map(|c| (c * w).div_ceil(g)).collect();
        let mut sums = vec![[0u64; 3]; g * g];
        let mut counts = vec![0u64; g * g];
        for y in 0..h {
            let cy = y * g / h;
            let row = &rgb[y * sw * 3..];
            for cx in 0..g {
                let (x0, x1) = (edges[cx], edges[cx + 1]);
                let mut rgb_sum = [0u64; 3];
                for p in row[x0 * 3..x1 * 3].chunks_exact(3) {
                    rgb_sum[0] += u64::from(p[0]);
                    rgb_sum[1] += u64::from(p[1]);
                    rgb_sum[2] += u64::from(p[2]);
                }
                let cell = cy * g + cx;
                for k in 0..3 {
                    sums[cell][k] += rgb_sum[k];
                }
                counts[cell] += (x1 - x0) as u64;
            }
        }
        Signature(
            sums.iter()
                .zip(&counts)
                .flat_map(|(s, &n)| (0..3).map(move |k| s[k].checked_div(n).unwrap_or(0) as u8))
                .collect(),
        )
    }

    /// (mean, max) absolute difference to `o`.
    #[must_use]
    pub fn diff(&self, o: &Signature) -> (f64, u8) {
        let d: Vec<u8> = self.0.iter().zip(&o.0).map(|(a, b)| a.abs_diff(*b)).collect();
        let mean = d.iter().map(|&x| f64::from(x)).sum::<f64>() / d.len().max(1) as f64;
        (mean, d.into_iter().max().unwrap_or(0))
    }
}

/// Runs every check on the written file `out` (the input `path` is only used in errors).
/// `signatures` are those of the frames that were encoded, in order.
///
/// # Errors
/// [`Error::Verify`] naming `path` and the first problem.
pub fn verify_video(path: &Path, out: &Path, tools: &Tools, exp: &Expected, signatures: &[Signature]) -> Result<()> {
    let fail = |what: String| Error::verify(path, what);
    let bytes_len = std::fs::metadata(out).map_err(|e| Error::io(out, "read written video", e))?.len();
    check_boxes(out, bytes_len).map_err(|e| fail(format!("mp4 structure: {e}")))?;
    let json = probe_json(out, tools, &["-count_packets"]).map_err(|e| fail(format!("output does not probe: {e}")))?;
    check_probe(&json, exp).map_err(fail)?;
    let mut needles: Vec<String> = exp
        .forbidden
        .iter()
        .filter(|v| v.trim().len() >= MIN_NEEDLE && !OWN_VALUES.contains(&v.as_str()))
        .cloned()
        .collect();
    needles.extend(ENCODER_STRINGS.iter().map(|s| (*s).to_owned()));
    if let Some(found) = scan(out, &needles).map_err(|e| Error::io(out, "scan written video", e))? {
        return Err(fail(format!("output contains {found:?} (input metadata or an encoder string)")));
    }
    let info = parse_probe(out, &json).map_err(|e| fail(format!("output: {e}")))?;
    let dec = Decoder::start(out, &info, tools).map_err(|e| fail(format!("output does not decode: {e}")))?;
    let (mut reader, proc) = dec.into_parts();
    let mut n = 0usize;
    while let Some(f) = reader.next_frame().map_err(|e| fail(format!("output does not decode: {e}")))? {
        let (fw, fh) = reader.size().unwrap_or((0, 0));
        if fw < exp.width || fh < exp.height {
            return Err(fail(format!("decoded output is {fw}x{fh}, expected {}x{}", exp.width, exp.height)));
        }
        let Some(want) = signatures.get(n) else {
            return Err(fail(format!("output has more than the {} frames encoded", signatures.len())));
        };
        let (mean, max) = Signature::of(&f.data, fw, exp.picture.0, exp.picture.1).diff(want);
        if mean > SIGNATURE_MEAN_TOLERANCE || max > SIGNATURE_MAX_TOLERANCE {
            return Err(fail(format!(
                "frame {n} differs from the obscured frame that was encoded (block means off by {mean:.1} on average, {max} at most)"
            )));
        }
        n += 1;
    }
    drop(reader);
    proc.wait().map_err(|e| fail(format!("output does not decode: {e}")))?;
    if n != signatures.len() {
        return Err(fail(format!("output decodes to {n} frames, expected {}", signatures.len())));
    }
    Ok(())
}

const TOP: &[&[u8; 4]] = &[b"ftyp", b"moov", b"mdat", b"free"];

fn allowed_children(parent: &[u8; 4]) -> &'static [&'static [u8; 4]] {
    match parent {
        b"moov" => &[b"mvhd", b"trak", b"udta"],
        b"trak" => &[b"tkhd", b"edts", b"mdia"],
        b"edts" => &[b"elst"],
        b"mdia" => &[b"mdhd", b"hdlr", b"minf"],
        b"minf" => &[b"vmhd", b"smhd", b"dinf", b"stbl"],
        b"dinf" => &[b"dref"],
        b"stbl" => &[b"stsd", b"stts", b"stss", b"ctts", b"stsc", b"stsz", b"stco", b"co64", b"sgpd", b"sbgp", b"sdtp"],
        b"udta" => &[b"meta"],
        b"meta" => &[b"hdlr", b"ilst"],
        _ => &[],
    }
}

fn is_container(kind: &[u8; 4]) -> bool {
    matches!(kind, b"moov" | b"trak" | b"edts" | b"mdia" | b"minf" | b"dinf" | b"stbl" | b"udta" | b"meta")
}

/// Checks the MP4 box structure of the file at `out` (`len` bytes) against the allow-list.
///
/// # Errors
/// The first box that is not allowed, malformed sizes, or bytes after the last box.
pub fn check_boxes(out: &Path, len: u64) -> std::result::Result<(), String> {
    let f = std::fs::File::open(out).map_err(|e| e.to_string())?;
    check_boxes_in(f, len)
}

/// [`check_boxes`] on any seekable reader of `len` bytes (a file, or bytes in memory).
///
/// # Errors
/// As [`check_boxes`].
pub fn check_boxes_in<R: Read + std::io::Seek>(mut f: R, len: u64) -> std::result::Result<(), String> {
    use std::io::SeekFrom;
    let mut pos = 0u64;
    let (mut moovs, mut mdats) = (0, 0);
    while pos < len {
        if len - pos < 8 {
            return Err(format!("{} stray bytes at the end", len - pos));
        }
        f.seek(SeekFrom::Start(pos)).map_err(|e| e.to_string())?;
        let mut h = [0u8; 16];
        let avail = usize::try_from((len - pos).min(16)).unwrap_or(16);
        f.read_exact(&mut h[..avail]).map_err(|e| e.to_string())?;
        let kind: [u8; 4] = [h[4], h[5], h[6], h[7]];
        let (size, hdr) = match u32::from_be_bytes([h[0], h[1], h[2], h[3]]) {
            1 if avail >= 16 => (u64::from_be_bytes([h[8], h[9], h[10], h[11], h[12], h[13], h[14], h[15]]), 16),
            0 | 1 => return Err("box of unbounded or unreadable size".into()),
            s => (u64::from(s), 8),
        };
        if size < hdr || size > len - pos {
            return Err(format!("box {} at {pos} has a bad size", String::from_utf8_lossy(&kind)));
        }
        if !TOP.contains(&&kind) {
            return Err(format!("top-level box {:?} is not allowed", String::from_utf8_lossy(&kind)));
        }
        if pos == 0 && &kind != b"ftyp" {
            return Err("file does not start with ftyp".into());
        }
        match &kind {
            b"moov" => {
                moovs += 1;
                if size > 1 << 30 {
                    return Err("moov too large".into());
                }
                let mut moov = Vec::new();
                moov.try_reserve_exact(size as usize).map_err(|e| e.to_string())?;
                f.seek(SeekFrom::Start(pos)).map_err(|e| e.to_string())?;
                (&mut f).take(size).read_to_end(&mut moov).map_err(|e| e.to_string())?;
                walk(&moov, hdr as usize, moov.len(), b"moov", "moov", 0)?;
            }
            b"mdat" => mdats += 1,
            _ => {}
        }
        pos += size;
    }
    if moovs != 1 || mdats != 1 {
        return Err(format!("{moovs} moov and {mdats} mdat boxes, expected one each"));
    }
    Ok(())
}

fn walk(
    b: &[u8],
    mut p: usize,
    end: usize,
    parent: &[u8; 4],
    path: &str,
    depth: u32,
) -> std::result::Result<(), String> {
    if depth > 8 {
        return Err("boxes nested too deep".into());
    }
    if parent == b"meta" {
        p += 4; // full box: version and flags
    }
    while p < end {
        if end - p < 8 {
            return Err(format!("stray bytes in {path}"));
        }
        let size = u32::from_be_bytes([b[p], b[p + 1], b[p + 2], b[p + 3]]) as usize;
        let kind: [u8; 4] = [b[p + 4], b[p + 5], b[p + 6], b[p + 7]];
        let name = String::from_utf8_lossy(&kind).into_owned();
        if size < 8 || size > end - p {
            return Err(format!("box {path}/{name} has a bad size"));
        }
        if !allowed_children(parent).contains(&&kind) {
            return Err(format!("box {path}/{name} is not allowed"));
        }
        if &kind == b"ilst" && size != 8 {
            return Err(format!("{path}/ilst holds metadata items"));
        }
        if is_container(&kind) {
            walk(b, p + 8, p + size, &kind, &format!("{path}/{name}"), depth + 1)?;
        }
        p += size;
    }
    Ok(())
}

fn tags_allowed(v: &Value, allowed: &[(&str, &str)], what: &str) -> std::result::Result<(), String> {
    if let Some(tags) = v.get("tags").and_then(Value::as_object) {
        for (k, val) in tags {
            let ok = allowed.iter().any(|(ak, av)| ak == k && (av.is_empty() || val.as_str() == Some(av)));
            if !ok {
                return Err(format!("{what} has metadata {k}={val}"));
            }
        }
    }
    Ok(())
}

fn num(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Checks ffprobe's JSON (with `-count_packets`) of the output against what was intended.
///
/// # Errors
/// The first difference.
pub fn check_probe(json: &Value, exp: &Expected) -> std::result::Result<(), String> {
    let format = json.get("format").ok_or("no format section")?;
    let fname = format.get("format_name").and_then(Value::as_str).unwrap_or("");
    if !fname.split(',').any(|n| n == "mp4") {
        return Err(format!("container is {fname}, expected mp4"));
    }
    tags_allowed(format, &[("major_brand", "isom"), ("minor_version", "512"), ("compatible_brands", "")], "container")?;
    for section in ["chapters", "programs"] {
        if json.get(section).and_then(Value::as_array).is_some_and(|a| !a.is_empty()) {
            return Err(format!("output has {section}"));
        }
    }
    let empty = Vec::new();
    let streams = json.get("streams").and_then(Value::as_array).unwrap_or(&empty);
    let want = 1 + usize::from(exp.audio.is_some());
    if streams.len() != want {
        return Err(format!("output has {} streams, expected {want}", streams.len()));
    }
    for (i, s) in streams.iter().enumerate() {
        let kind = s.get("codec_type").and_then(Value::as_str).unwrap_or("?");
        let codec = s.get("codec_name").and_then(Value::as_str).unwrap_or("?");
        let (want_kind, want_codec, handler) =
            if i == 0 { ("video", "h264", "VideoHandler") } else { ("audio", "aac", "SoundHandler") };
        if kind != want_kind || codec != want_codec {
            return Err(format!("stream {i} is {kind}/{codec}, expected {want_kind}/{want_codec}"));
        }
        tags_allowed(s, &[("language", "und"), ("handler_name", handler), ("vendor_id", "[0][0][0][0]")], "a stream")?;
        if s.get("side_data_list").and_then(Value::as_array).is_some_and(|a| !a.is_empty()) {
            return Err(format!("stream {i} has side data (e.g. a rotation)"));
        }
        if s.get("disposition").and_then(|d| d.get("attached_pic")).and_then(Value::as_i64) == Some(1) {
            return Err("output has cover art".into());
        }
    }
    let v = &streams[0];
    let (w, h) = (v.get("width").and_then(Value::as_u64), v.get("height").and_then(Value::as_u64));
    if (w, h) != (Some(u64::from(exp.width)), Some(u64::from(exp.height))) {
        return Err(format!("video is {w:?}x{h:?}, expected {}x{}", exp.width, exp.height));
    }
    for key in ["nb_read_packets", "nb_frames"] {
        let n = v.get(key).and_then(num).map(|n| n as u64);
        if n != Some(exp.frames) {
            return Err(format!("video has {key}={n:?}, expected {} frames", exp.frames));
        }
    }
    for (key, want) in [("color_space", "bt709"), ("color_primaries", "bt709"), ("color_transfer", "bt709")] {
        let got = v.get(key).and_then(Value::as_str);
        if got != Some(want) {
            return Err(format!("video has {key}={got:?}, expected {want} (SDR, as every player shows it)"));
        }
    }
    for (key, want) in [("pix_fmt", "yuv420p"), ("color_range", "tv")] {
        let got = v.get(key).and_then(Value::as_str);
        if got != Some(want) {
            return Err(format!("video has {key}={got:?}, expected {want}"));
        }
    }
    check_timing(streams, exp)
}

/// The timing rules of [`Expected`] on the output's streams (video first, then audio).
fn check_timing(streams: &[Value], exp: &Expected) -> std::result::Result<(), String> {
    let time = |s: &Value, k: &str| s.get(k).and_then(num);
    let v = &streams[0];
    let start = time(v, "start_time").ok_or("video has no start time")?;
    let duration = time(v, "duration").ok_or("video has no duration")?;
    let tol = duration_tolerance(exp.fps);
    if let Some(want) = exp.duration {
        if (duration - want).abs() > tol {
            return Err(format!("video lasts {duration:.3} s, the input's video {want:.3} s"));
        }
    }
    if let Some(max) = exp.max_duration {
        if duration > max + tol {
            return Err(format!("video lasts {duration:.3} s, longer than the whole input ({max:.3} s)"));
        }
    }
    let Some(audio) = exp.audio else {
        if start.abs() > tol {
            return Err(format!("video starts at {start:.3} s, expected at the start of the file"));
        }
        return Ok(());
    };
    let a = &streams[1];
    let a_start = time(a, "start_time").ok_or("audio has no start time")?;
    let offset = start - a_start;
    if (offset - audio.offset).abs() > SYNC_TOLERANCE {
        return Err(format!(
            "video starts {offset:.3} s after the audio, {:.3} s in the input (out of sync)",
            audio.offset
        ));
    }
    if let Some(want) = audio.duration {
        let got = time(a, "duration").ok_or("audio has no duration")?;
        if (got - want).abs() > AUDIO_TOLERANCE {
            return Err(format!("audio lasts {got:.3} s, the input's audio {want:.3} s"));
        }
    }
    Ok(())
}

/// Searches the file for any of `needles`; returns the first found.
///
/// # Errors
/// Read errors.
pub fn scan(path: &Path, needles: &[String]) -> std::io::Result<Option<String>> {
    let needles: Vec<&[u8]> = needles.iter().map(|n| n.as_bytes()).filter(|n| !n.is_empty()).collect();
    let Some(longest) = needles.iter().map(|n| n.len()).max() else { return Ok(None) };
    let mut first = [false; 256];
    for n in &needles {
        first[usize::from(n[0])] = true;
    }
    let mut f = std::fs::File::open(path)?;
    let mut buf = vec![0u8; (1 << 20) + longest];
    let mut keep = 0usize;
    loop {
        let n = f.read(&mut buf[keep..])?;
        let eof = n == 0;
        let len = keep + n;
        // positions whose needle may still be incomplete are kept for the next round
        let upto = if eof { len } else { len.saturating_sub(longest - 1) };
        for i in 0..upto {
            if first[usize::from(buf[i])] {
                if let Some(hit) = needles.iter().find(|nd| buf[i..len].starts_with(nd)) {
                    return Ok(Some(String::from_utf8_lossy(hit).into_owned()));
                }
            }
        }
        if eof {
            return Ok(None);
        }
        buf.copy_within(upto..len, 0);
        keep = len - upto;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The signature written the plain way: every pixel to its cell by `x * g / w`.
    fn signature_per_pixel(rgb: &[u8], stride_w: u32, w: u32, h: u32) -> Vec<u8> {
        let g = SIGNATURE_GRID;
        let mut sums = vec![[0u64; 4]; (g * g) as usize];
        for y in 0..h {
            for x in 0..w {
                let s = &mut sums[((y * g / h) * g + x * g / w) as usize];
                let i = ((y * stride_w + x) * 3) as usize;
                for k in 0..3 {
                    s[k] += u64::from(rgb[i + k]);
                }
                s[3] += 1;
            }
        }
        sums.iter().flat_map(|s| (0..3).map(move |k| s[k].checked_div(s[3]).unwrap_or(0) as u8)).collect()
    }

    #[test]
    fn signature_is_the_mean_colour_of_each_cell() {
        // sizes that do and do not divide by the grid, smaller than it, and a padded stride
        for (stride_w, w, h) in [(64u32, 64u32, 32u32), (40, 37, 23), (1928, 1920, 1080), (9, 7, 5), (16, 16, 16)] {
            let rgb: Vec<u8> = (0..stride_w * h * 3).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
            assert_eq!(Signature::of(&rgb, stride_w, w, h).0, signature_per_pixel(&rgb, stride_w, w, h), "{w}x{h}");
        }
        // a frame that is black on its left half and white on its right
        let (w, h) = (64u32, 32u32);
        let rgb: Vec<u8> = (0..w * h).flat_map(|i| [if i % w < w / 2 { 0 } else { 255 }; 3]).collect();
        let sig = Signature::of(&rgb, w, w, h).0;
        assert_eq!(&sig[..3], &[0, 0, 0]);
        assert_eq!(&sig[sig.len() - 3..], &[255, 255, 255]);
    }

    #[test]
    fn scan_finds_needles_across_chunk_borders() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        let mut bytes = vec![7u8; (1 << 20) - 3];
        bytes.extend_from_slice(b"CANARY-7731");
        bytes.extend(vec![9u8; 100]);
        std::fs::write(&p, &bytes).unwrap();
        assert_eq!(scan(&p, &["CANARY-7731".into()]).unwrap().as_deref(), Some("CANARY-7731"));
        assert_eq!(scan(&p, &["CANARY-7732".into()]).unwrap(), None);
        assert_eq!(scan(&p, &[]).unwrap(), None);
    }

    fn expected() -> Expected {
        Expected {
            width: 320,
            height: 240,
            frames: 50,
            duration: Some(2.0),
            max_duration: Some(2.1),
            fps: Some(25.0),
            picture: (320, 240),
            audio: None,
            forbidden: vec![],
        }
    }

    fn probe(extra_format_tags: &str, stream_extra: &str) -> Value {
        serde_json::from_str(&format!(
            r#"{{"format": {{"format_name": "mov,mp4,m4a,3gp,3g2,mj2",
                 "tags": {{"major_brand": "isom", "minor_version": "512", "compatible_brands": "isomiso2avc1mp41"{extra_format_tags}}}}},
               "chapters": [], "programs": [],
               "streams": [{{"codec_type": "video", "codec_name": "h264", "width": 320, "height": 240,
                 "nb_frames": "50", "nb_read_packets": "50", "start_time": "0.000000", "duration": "2.000000",
                 "pix_fmt": "yuv420p", "color_range": "tv", "color_space": "bt709", "color_transfer": "bt709",
                 "color_primaries": "bt709",
                 "tags": {{"language": "und", "handler_name": "VideoHandler", "vendor_id": "[0][0][0][0]"}}{stream_extra}}}]}}"#
        ))
        .unwrap()
    }

    #[test]
    fn probe_check_accepts_clean_output_and_rejects_leftovers() {
        check_probe(&probe("", ""), &expected()).unwrap();
        assert!(check_probe(&probe(r#", "location": "+1+2/""#, ""), &expected()).is_err());
        assert!(check_probe(&probe("", r#", "side_data_list": [{"rotation": 90}]"#), &expected()).is_err());
        let short = Expected { frames: 49, ..expected() };
        assert!(check_probe(&probe("", ""), &short).is_err());
        let long = Expected { duration: Some(3.0), ..expected() };
        assert!(check_probe(&probe("", ""), &long).is_err());
        let short_input = Expected { duration: None, max_duration: Some(1.0), ..expected() };
        assert!(check_probe(&probe("", ""), &short_input).is_err());
        let with_audio = Expected { audio: Some(ExpectedAudio { offset: 0.0, duration: None }), ..expected() };
        assert!(check_probe(&probe("", ""), &with_audio).is_err());
        // HDR or untagged colour would look wrong in an ordinary player
        let pq = probe("", "").to_string().replace(r#""color_transfer":"bt709""#, r#""color_transfer":"smpte2084""#);
        let e = check_probe(&serde_json::from_str(&pq).unwrap(), &expected()).unwrap_err();
        assert!(e.contains("color_transfer"), "{e}");
    }

    fn with_audio(video_start: &str, audio_start: &str, audio_duration: &str) -> Value {
        let mut v = probe("", "");
        v["streams"][0]["start_time"] = Value::from(video_start);
        v["streams"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"codec_type": "audio", "codec_name": "aac", "start_time": audio_start,
                "duration": audio_duration, "tags": {"language": "und", "handler_name": "SoundHandler"}}));
        v
    }

    #[test]
    fn timing_compares_streams_not_the_container() {
        // issue 11: video from 0.85 s, audio from 0 running 0.8 s past the video's end. Dropped
        // audio: the video alone, from 0, as long as the input's video (not the container).
        let late = Expected { duration: Some(2.0), max_duration: Some(3.65), ..expected() };
        check_probe(&probe("", ""), &late).unwrap();
        let e = check_probe(&probe("", ""), &Expected { duration: Some(2.85), ..late.clone() }).unwrap_err();
        assert!(e.contains("lasts 2.000 s, the input's video 2.850 s"), "{e}");
        let mut shifted = probe("", "");
        shifted["streams"][0]["start_time"] = Value::from("0.850000");
        let e = check_probe(&shifted, &late).unwrap_err();
        assert!(e.contains("starts at 0.850 s"), "{e}");
        // kept audio: the offset and the audio's length are the input's
        let audio = ExpectedAudio { offset: 0.85, duration: Some(3.65) };
        let keep = Expected { audio: Some(audio), ..late.clone() };
        check_probe(&with_audio("0.850000", "0.000000", "3.640000"), &keep).unwrap();
        check_probe(&with_audio("0.871000", "0.021000", "3.690000"), &keep).unwrap();
        let e = check_probe(&with_audio("0.000000", "0.000000", "3.640000"), &keep).unwrap_err();
        assert!(e.contains("out of sync"), "{e}");
        let e = check_probe(&with_audio("0.850000", "0.000000", "2.850000"), &keep).unwrap_err();
        assert!(e.contains("audio lasts 2.850 s"), "{e}");
        // tolerances: three frames, at least 0.2 s
        assert!((duration_tolerance(Some(25.0)) - 0.2).abs() < 1e-9);
        assert!((duration_tolerance(Some(10.0)) - 0.3).abs() < 1e-9);
        assert!((duration_tolerance(None) - 0.3).abs() < 1e-9);
    }

    #[test]
    fn signatures_tolerate_small_changes_only() {
        let a = vec![100u8; 64 * 48 * 3];
        let mut b = a.clone();
        b[0] = 110;
        let (sa, sb) = (Signature::of(&a, 64, 64, 48), Signature::of(&b, 64, 64, 48));
        assert!(sa.diff(&sb).0 < 0.1);
        let black = vec![0u8; 64 * 48 * 3];
        assert_eq!(sa.diff(&Signature::of(&black, 64, 64, 48)).1, 100);
    }
}
