//! Video decoding through ffmpeg, driven over pipes: raw frames never touch the disk.
//!
//! * [`probe`] runs `ffprobe` (JSON) to pick the video stream, the audio stream to keep, and to
//!   collect every metadata value of the input (the verifier later proves none of them survived).
//! * [`Decoder`] runs `ffmpeg`, which decodes the chosen video stream, applies the rotation
//!   (display matrix) so frames are upright, tone-maps HDR (PQ, HLG) to SDR BT.709
//!   ([`tone_map_filter`]), and writes raw `rgb24` frames in a NUT stream on its
//!   stdout. NUT carries every frame's exact timestamp in the stream's own time base, so frame
//!   rate and timestamps (variable frame rate included) survive unchanged.
//! * [`NutReader`] splits that stream into frames. The framing bytes (`head`) are kept verbatim
//!   so the encoder can be fed the same stream with only the pixels replaced.
//!
//! Inputs are opened as `file:` URLs with only the `file` protocol and a fixed list of demuxers
//! allowed, so a hostile input (a playlist, a concat script) cannot make ffmpeg read anything else.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::thread::JoinHandle;

use serde_json::Value;

use crate::error::{Error, Result};

/// Demuxers unseen lets ffmpeg use (MP4/MOV/M4V, Matroska/WebM, AVI, MPEG-TS, and animated GIF
/// and PNG, which go through the video path).
pub const DEMUXERS: &str = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,mpegts,gif,apng";

/// Where the ffmpeg and ffprobe programs are: `$UNSEEN_FFMPEG` / `$UNSEEN_FFPROBE`, else found on
/// `PATH`.
#[derive(Debug, Clone)]
pub struct Tools {
    /// The ffmpeg program.
    pub ffmpeg: OsString,
    /// The ffprobe program.
    pub ffprobe: OsString,
}

impl Tools {
    /// The programs named by the environment, or `ffmpeg` and `ffprobe` on `PATH`.
    #[must_use]
    pub fn from_env() -> Tools {
        Tools {
            ffmpeg: std::env::var_os("UNSEEN_FFMPEG").unwrap_or_else(|| "ffmpeg".into()),
            ffprobe: std::env::var_os("UNSEEN_FFPROBE").unwrap_or_else(|| "ffprobe".into()),
        }
    }
}

/// The input as an ffmpeg URL that can only mean a local file (a name like `http:x.mp4` or
/// `-y.mp4` stays a file name).
#[must_use]
pub fn file_url(path: &Path) -> OsString {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut s = OsString::from("file:");
    s.push(abs.as_os_str());
    s
}

/// Options that restrict how ffmpeg/ffprobe may open an input; they go before its `-i`.
#[must_use]
pub fn input_guard() -> [&'static str; 4] {
    ["-protocol_whitelist", "file", "-format_whitelist", DEMUXERS]
}

/// `-f apng` for an animated PNG (by its signature), nothing otherwise: ffmpeg's probe prefers
/// the single-image `png_pipe` demuxer (not on the whitelist) even for animated PNGs.
#[must_use]
pub fn forced_demuxer(path: &Path) -> &'static [&'static str] {
    use std::io::Read;
    let mut sig = [0u8; 8];
    let png = std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut sig)).is_ok()
        && sig == [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    if png {
        &["-f", "apng"]
    } else {
        &[]
    }
}

/// The error for a missing ffmpeg/ffprobe: one line naming the file.
pub(crate) fn missing_tool(path: &Path, tool: &OsString, e: &std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::NotFound {
        Error::unsupported(
            path,
            format!(
                "videos need ffmpeg and ffprobe, and {} was not found (install ffmpeg, e.g. `apt install ffmpeg`)",
                tool.to_string_lossy()
            ),
        )
    } else {
        Error::unsupported(path, format!("cannot run {}: {e}", tool.to_string_lossy()))
    }
}

/// A child process that is killed (and reaped) if dropped before [`Proc::wait`], with its
/// stderr drained on a thread so it can never block, keeping the last lines for error messages.
pub(crate) struct Proc {
    child: Option<Child>,
    stderr: Option<JoinHandle<String>>,
}

impl Proc {
    pub(crate) fn spawn(cmd: &mut Command) -> std::io::Result<Proc> {
        let mut child = cmd.stderr(Stdio::piped()).spawn()?;
        let stderr = child.stderr.take().map(|e| {
            std::thread::spawn(move || {
                let mut tail: VecDeque<String> = VecDeque::new();
                for line in BufReader::new(e).lines().map_while(std::result::Result::ok) {
                    if tail.len() == 8 {
                        tail.pop_front();
                    }
                    tail.push_back(line);
                }
                Vec::from(tail).join("; ")
            })
        });
        Ok(Proc { child: Some(child), stderr })
    }

    pub(crate) fn child(&mut self) -> &mut Child {
        self.child.as_mut().expect("process not yet waited for")
    }

    /// Waits for the process; an error carries the exit status and the last lines of stderr.
    pub(crate) fn wait(mut self) -> std::result::Result<(), String> {
        let mut child = self.child.take().expect("process waited for once");
        let status = child.wait().map_err(|e| e.to_string())?;
        let tail = self.stderr.take().and_then(|h| h.join().ok()).unwrap_or_default();
        if status.success() {
            Ok(())
        } else if tail.is_empty() {
            Err(format!("ffmpeg failed ({status})"))
        } else {
            Err(format!("ffmpeg failed ({status}): {tail}"))
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// What `ffprobe` says about an input video.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoInfo {
    /// Index of the video stream that is decoded (the first one that is not cover art).
    pub stream: usize,
    /// Its codec name.
    pub codec: String,
    /// Stored width and height (before rotation).
    pub width: u32,
    /// Stored height.
    pub height: u32,
    /// Display rotation in degrees, as ffprobe reports it (0 when none).
    pub rotation: i64,
    /// Frame count from the header, when known.
    pub frames: Option<u64>,
    /// Duration of the video stream, seconds, when the file states it.
    pub duration: Option<f64>,
    /// When the video stream starts, seconds after the container's start (the decoder's time
    /// zero; phone clips and edited files often start their video after their audio).
    pub video_start: f64,
    /// When the video stream ends, seconds after the container's start (the decoder's time
    /// zero): its start plus duration, or Matroska's per-stream `DURATION` tag (an end time).
    pub end: Option<f64>,
    /// Duration of the whole file (all streams), seconds.
    pub container_duration: Option<f64>,
    /// Average frame rate, when known.
    pub fps: Option<f64>,
    /// Start time of the container, seconds (ffmpeg shifts every stream by it).
    pub start_time: f64,
    /// The audio stream kept when audio is kept: the default one, else the first.
    pub audio: Option<usize>,
    /// When that audio stream starts, seconds after the container's start.
    pub audio_start: Option<f64>,
    /// How long that audio stream lasts, seconds, when the file states it.
    pub audio_duration: Option<f64>,
    /// The video's transfer characteristic as ffprobe names it (`bt709`, `smpte2084` (PQ),
    /// `arib-std-b67` (HLG), ...), when tagged.
    pub transfer: Option<String>,
    /// The video's colour primaries as ffprobe names it (`bt709`, `bt2020`, ...), when tagged.
    pub primaries: Option<String>,
    /// The video's colour matrix as ffprobe names it (`bt709`, `bt2020nc`, ...), when tagged.
    pub matrix: Option<String>,
    /// The video's range as ffprobe names it (`tv` or `pc`), when tagged.
    pub range: Option<String>,
    /// Number of audio streams.
    pub audio_streams: usize,
    /// Streams that are always dropped: further video, cover art, subtitles, data, attachments.
    pub dropped_streams: usize,
    /// Every metadata value of the input (container, streams, chapters), for the output scan.
    pub metadata_values: Vec<String>,
}

impl VideoInfo {
    /// Width and height as displayed (rotation applied).
    #[must_use]
    pub fn upright_size(&self) -> (u32, u32) {
        if self.rotation.rem_euclid(180) == 90 {
            (self.height, self.width)
        } else {
            (self.width, self.height)
        }
    }

    /// The HDR transfer of the video (PQ or HLG, as phones record HDR), when it has one: such
    /// frames are tone-mapped to SDR BT.709 by the decoder (see [`tone_map_filter`]).
    #[must_use]
    pub fn hdr(&self) -> Option<Hdr> {
        match self.transfer.as_deref() {
            Some("smpte2084") => Some(Hdr::Pq),
            Some("arib-std-b67") => Some(Hdr::Hlg),
            _ => None,
        }
    }

    /// How long the video stream lasts, from its start to its end, when known.
    #[must_use]
    pub fn video_duration(&self) -> Option<f64> {
        self.end.map(|e| e - self.video_start)
    }

    /// Best estimate of the number of frames (for progress only).
    #[must_use]
    pub fn frames_estimate(&self) -> Option<u64> {
        self.frames.or_else(|| Some((self.duration.or(self.container_duration)? * self.fps?).round() as u64))
    }
}

/// The HDR transfer functions phones record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hdr {
    /// SMPTE ST 2084 (perceptual quantiser), HDR10 and Dolby Vision.
    Pq,
    /// ARIB STD-B67 (hybrid log-gamma), iPhone HDR video.
    Hlg,
}

/// HDR reference white (BT.2408: diffuse white and graphics white at 203 cd/m²): it becomes
/// linear 1.0 (SDR white) before tone mapping.
pub const HDR_REFERENCE_WHITE: f64 = 203.0;
/// The brightest HDR level kept apart from the next (cd/m²): 1000, phones' mastering peak and
/// HLG's nominal display peak. Brighter levels clip.
pub const HDR_PEAK: f64 = 1000.0;
/// Linear level (of reference white) below which tones are kept exactly; above it the mobius
/// curve rolls highlights up to [`HDR_PEAK`] into the SDR range.
pub const TONE_MAP_KNEE: f64 = 0.5;

/// The ffmpeg filter that turns PQ or HLG video (BT.2020) into upright SDR BT.709 rgb24, as an
/// ordinary SDR player shows it: linear light with reference white at 1.0 (zscale, libzimg),
/// BT.2020 → BT.709 primaries, highlights rolled off (tonemap, mobius, no desaturation), the
/// BT.709 transfer. Untagged matrix/primaries/range are taken to be BT.2020 (non-constant
/// luminance) and limited range, as phones write them.
#[must_use]
pub fn tone_map_filter(info: &VideoInfo, hdr: Hdr) -> String {
    let tin = match hdr {
        Hdr::Pq => "smpte2084",
        Hdr::Hlg => "arib-std-b67",
    };
    let pin = match info.primaries.as_deref() {
        Some("bt709") => "709",
        _ => "2020",
    };
    let min = match info.matrix.as_deref() {
        Some("bt709") => "709",
        Some("bt2020c") => "2020_cl",
        _ => "2020_ncl",
    };
    let rin = if info.range.as_deref() == Some("pc") { "full" } else { "limited" };
    format!(
        "zscale=tin={tin}:pin={pin}:min={min}:rin={rin}:t=linear:npl={HDR_REFERENCE_WHITE},format=gbrpf32le,\
         zscale=p=709,tonemap=tonemap=mobius:param={TONE_MAP_KNEE}:desat=0:peak={:.4},\
         zscale=t=709:m=709:r=full,format=rgb24",
        HDR_PEAK / HDR_REFERENCE_WHITE
    )
}

/// Runs ffprobe on `path`.
///
/// # Errors
/// [`Error::Unsupported`] when ffprobe is missing or the input has no video stream,
/// [`Error::Decode`] when ffprobe cannot read it.
pub fn probe(path: &Path, tools: &Tools) -> Result<VideoInfo> {
    let json = probe_json(path, tools, &[])?;
    let info = parse_probe(path, &json)?;
    if let Some(why) = matroska_truncated(path) {
        return Err(Error::decode(path, why));
    }
    Ok(info)
}

/// Reads an EBML variable-size integer at `b[*p..]`: (value without the length marker, whether
/// every value bit is set, i.e. "unknown size"); `keep_marker` for element IDs.
fn ebml_vint(b: &[u8], p: &mut usize, keep_marker: bool) -> Option<(u64, bool)> {
    let first = *b.get(*p)?;
    let len = first.leading_zeros() as usize + 1;
    if len > 8 || b.len() < *p + len {
        return None;
    }
    let marker = if keep_marker { 0 } else { 0x80u8 >> (len - 1) };
    let mut v = u64::from(first & !marker);
    for &x in &b[*p + 1..*p + len] {
        v = v << 8 | u64::from(x);
    }
    *p += len;
    let all_ones = !keep_marker && v == (1u64 << (7 * len)) - 1;
    Some((v, all_ones))
}

/// Why a Matroska/WebM file is cut short, when its Segment states a size that runs past the end
/// of the file. ffmpeg decodes such a file to its end without an error (it only logs "File
/// ended prematurely"), so without this the loss would show only at verification, after the
/// whole encode. Files of unknown segment size (live recordings) are not judged.
fn matroska_truncated(path: &Path) -> Option<String> {
    let mut head = Vec::new();
    let mut f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    (&mut f).take(4096).read_to_end(&mut head).ok()?;
    let mut p = 0;
    if ebml_vint(&head, &mut p, true)?.0 != 0x1A45_DFA3 {
        return None;
    }
    let (header_size, _) = ebml_vint(&head, &mut p, false)?;
    p = p.checked_add(usize::try_from(header_size).ok()?)?;
    if ebml_vint(&head, &mut p, true)?.0 != 0x1853_8067 {
        return None;
    }
    let (size, unknown) = ebml_vint(&head, &mut p, false)?;
    let end = (p as u64).checked_add(size)?;
    (!unknown && end > len)
        .then(|| format!("the file is truncated: its Matroska segment ends at byte {end}, the file at {len}"))
}

/// Runs ffprobe with `-show_format -show_streams -show_chapters -show_programs` (plus `extra`)
/// and returns its JSON.
pub(crate) fn probe_json(path: &Path, tools: &Tools, extra: &[&str]) -> Result<Value> {
    let out = Command::new(&tools.ffprobe)
        .args(["-hide_banner", "-v", "error"])
        .args(input_guard())
        .args(["-print_format", "json", "-show_format", "-show_streams", "-show_chapters", "-show_programs"])
        .args(extra)
        .args(forced_demuxer(path))
        .arg(file_url(path))
        .stdin(Stdio::null())
        .output()
        .map_err(|e| missing_tool(path, &tools.ffprobe, &e))?;
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stderr);
        let msg = msg.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("unreadable file");
        return Err(Error::decode(path, format!("not a readable video: {}", msg.trim())));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| Error::decode(path, format!("ffprobe output: {e}")))
}

fn num(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn rate(v: &Value) -> Option<f64> {
    let (n, d) = v.as_str()?.split_once('/')?;
    let (n, d): (f64, f64) = (n.parse().ok()?, d.parse().ok()?);
    (n > 0.0 && d > 0.0).then_some(n / d)
}

/// Parses `HH:MM:SS.fraction` (Matroska's `DURATION` tag).
fn hms(s: &str) -> Option<f64> {
    let mut parts = s.trim().split(':');
    let (h, m, sec) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    Some(h.parse::<f64>().ok()? * 3600.0 + m.parse::<f64>().ok()? * 60.0 + sec.parse::<f64>().ok()?)
}

fn collect_tags(v: &Value, out: &mut Vec<String>) {
    if let Some(tags) = v.get("tags").and_then(Value::as_object) {
        out.extend(tags.values().filter_map(Value::as_str).map(str::to_owned));
    }
}

/// Interprets ffprobe JSON (see [`probe`]).
///
/// # Errors
/// [`Error::Unsupported`] when there is no video stream.
pub fn parse_probe(path: &Path, json: &Value) -> Result<VideoInfo> {
    let empty = Vec::new();
    let streams = json.get("streams").and_then(Value::as_array).unwrap_or(&empty);
    let is_pic = |s: &Value| s.pointer("/disposition/attached_pic").and_then(Value::as_i64) == Some(1);
    let kind = |s: &Value| s.get("codec_type").and_then(Value::as_str).unwrap_or("").to_owned();
    let video = streams
        .iter()
        .find(|s| kind(s) == "video" && !is_pic(s))
        .ok_or_else(|| Error::unsupported(path, "no video stream"))?;
    let audio: Vec<&Value> = streams.iter().filter(|s| kind(s) == "audio").collect();
    let default_audio =
        audio.iter().find(|s| s.pointer("/disposition/default").and_then(Value::as_i64) == Some(1)).or(audio.first());
    let index = |s: &Value| s.get("index").and_then(Value::as_u64).map(|i| i as usize);
    let rotation = video
        .get("side_data_list")
        .and_then(Value::as_array)
        .and_then(|l| l.iter().find_map(|d| d.get("rotation").and_then(num)))
        .or_else(|| video.pointer("/tags/rotate").and_then(num))
        .unwrap_or(0.0) as i64;
    let format = json.get("format").unwrap_or(&Value::Null);
    let mut metadata_values = Vec::new();
    collect_tags(format, &mut metadata_values);
    for s in streams {
        collect_tags(s, &mut metadata_values);
    }
    for c in json.get("chapters").and_then(Value::as_array).unwrap_or(&empty) {
        collect_tags(c, &mut metadata_values);
    }
    let start_time = format.get("start_time").and_then(num).unwrap_or(0.0);
    // when a stream starts and ends, seconds after the container's start: its start plus its
    // duration, or Matroska's per-stream `DURATION` tag (an end time)
    let start_of = |s: &Value| s.get("start_time").and_then(num).unwrap_or(start_time) - start_time;
    let end_of = |s: &Value| match s.get("duration").and_then(num) {
        Some(d) => Some(start_of(s) + d),
        None => s.pointer("/tags/DURATION").and_then(Value::as_str).and_then(hms).map(|e| e - start_time),
    };
    let video_start = start_of(video);
    let text = |k| video.get(k).and_then(Value::as_str).filter(|v| !v.is_empty() && *v != "unknown").map(str::to_owned);
    let dim = |k| video.get(k).and_then(Value::as_u64).and_then(|v| u32::try_from(v).ok()).unwrap_or(0);
    Ok(VideoInfo {
        stream: index(video).unwrap_or(0),
        codec: video.get("codec_name").and_then(Value::as_str).unwrap_or("unknown").to_owned(),
        width: dim("width"),
        height: dim("height"),
        rotation,
        frames: video.get("nb_frames").and_then(num).map(|f| f as u64).filter(|&f| f > 0),
        duration: video.get("duration").and_then(num),
        video_start,
        end: end_of(video),
        container_duration: format.get("duration").and_then(num),
        fps: rate(video.get("avg_frame_rate").unwrap_or(&Value::Null))
            .or_else(|| rate(video.get("r_frame_rate").unwrap_or(&Value::Null))),
        start_time,
        audio: default_audio.and_then(|s| index(s)),
        audio_start: default_audio.map(|s| start_of(s)),
        audio_duration: default_audio.and_then(|s| Some(end_of(s)? - start_of(s))),
        transfer: text("color_transfer"),
        primaries: text("color_primaries"),
        matrix: text("color_space"),
        range: text("color_range"),
        audio_streams: audio.len(),
        dropped_streams: streams.len() - 1 - audio.len(),
        metadata_values,
    })
}

/// A running ffmpeg that decodes one video stream into upright rgb24 frames (NUT on stdout).
pub struct Decoder {
    proc: Proc,
    /// The frames, in presentation order.
    pub frames: NutReader<BufReader<ChildStdout>>,
}

impl Decoder {
    /// Starts ffmpeg on `path`, decoding stream `info.stream`. Any decoding error stops ffmpeg
    /// (`-xerror`), so a damaged file fails instead of silently losing frames; errors the decoder
    /// could conceal count too (`-err_detect explode`: corrupt HEVC otherwise decodes "fine").
    ///
    /// # Errors
    /// [`Error::Unsupported`] when ffmpeg is missing, [`Error::Decode`] when its output is not
    /// the expected stream.
    pub fn start(path: &Path, info: &VideoInfo, tools: &Tools) -> Result<Decoder> {
        let mut cmd = Command::new(&tools.ffmpeg);
        cmd.args(["-hide_banner", "-nostdin", "-v", "error", "-xerror", "-err_detect", "explode"])
            .args(input_guard())
            .args(forced_demuxer(path))
            .arg("-i")
            .arg(file_url(path))
            .args(["-map", &format!("0:{}", info.stream)]);
        if let Some(hdr) = info.hdr() {
            cmd.args(["-vf", &tone_map_filter(info, hdr)]);
        }
        cmd.args(["-fps_mode", "passthrough", "-enc_time_base:v", "-1", "-c:v", "rawvideo", "-pix_fmt", "rgb24"])
            .args(["-map_metadata", "-1", "-map_chapters", "-1", "-fflags", "+bitexact", "-f", "nut", "pipe:1"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped());
        let mut proc = Proc::spawn(&mut cmd).map_err(|e| missing_tool(path, &tools.ffmpeg, &e))?;
        let stdout = proc.child().stdout.take().expect("stdout is piped");
        let frames = match NutReader::new(BufReader::with_capacity(1 << 20, stdout)) {
            Ok(r) => r,
            Err(e) => return Err(Error::decode(path, proc.wait().err().unwrap_or(e))),
        };
        Ok(Decoder { proc, frames })
    }

    /// Waits for ffmpeg after the last frame was read.
    ///
    /// # Errors
    /// ffmpeg's exit status and last error lines.
    pub fn finish(self) -> std::result::Result<(), String> {
        drop(self.frames);
        self.proc.wait()
    }

    /// Splits the decoder into the frame reader (for a reader thread) and the process handle.
    pub(crate) fn into_parts(self) -> (NutReader<BufReader<ChildStdout>>, Proc) {
        (self.frames, self.proc)
    }
}

// ---- NUT ---------------------------------------------------------------------------------------
// Just enough of the NUT container (https://ffmpeg.org/~michael/nut.txt) to find the frames of the
// single rawvideo stream that our own ffmpeg writes. Everything else passes through untouched.

const FILE_ID: &[u8] = b"nut/multimedia container\0";
const MAIN_STARTCODE: u64 = 0x4E4D_7A56_1F5F_04AD;
const STREAM_STARTCODE: u64 = 0x4E53_1140_5BF2_F9DB;
const FLAG_CODED_PTS: u64 = 8;
const FLAG_STREAM_ID: u64 = 16;
const FLAG_SIZE_MSB: u64 = 32;
const FLAG_CHECKSUM: u64 = 64;
const FLAG_RESERVED: u64 = 128;
const FLAG_SM_DATA: u64 = 256;
const FLAG_HEADER_IDX: u64 = 1024;
const FLAG_MATCH_TIME: u64 = 2048;
const FLAG_CODED: u64 = 4096;
const FLAG_INVALID: u64 = 8192;
/// Largest NUT header packet accepted (headers of one rawvideo stream are tiny).
const MAX_PACKET: u64 = 1 << 20;

#[derive(Debug, Clone, Copy, Default)]
struct FrameCode {
    flags: u64,
    stream: u64,
    size_mul: u64,
    size_lsb: u64,
    reserved: u64,
    header_idx: u64,
}

/// One decoded frame: the NUT bytes that precede its pixels, and the pixels.
#[derive(Debug, Clone)]
pub struct NutFrame {
    /// Framing bytes (header packets, syncpoint, frame header) to pass on verbatim.
    pub head: Vec<u8>,
    /// Packed rgb24 pixels, `width * height * 3` bytes.
    pub data: Vec<u8>,
}

/// Reads the frames of a single-stream rgb24 NUT stream.
pub struct NutReader<R> {
    r: R,
    head: Vec<u8>,
    codes: Vec<FrameCode>,
    header_lens: Vec<u64>,
    size: Option<(u32, u32)>,
}

fn vlc(b: &mut impl FnMut() -> std::result::Result<u8, String>) -> std::result::Result<u64, String> {
    let mut v: u64 = 0;
    for _ in 0..10 {
        let x = b()?;
        v = v.checked_mul(128).ok_or("NUT number too large")? | u64::from(x & 127);
        if x & 128 == 0 {
            return Ok(v);
        }
    }
    Err("NUT number too long".into())
}

fn svlc(b: &mut impl FnMut() -> std::result::Result<u8, String>) -> std::result::Result<i64, String> {
    let v = vlc(b)?.wrapping_add(1);
    Ok(if v & 1 == 1 { -((v >> 1) as i64) } else { (v >> 1) as i64 })
}

/// A cursor over one packet's bytes.
struct Slice<'a>(&'a [u8], usize);
impl Slice<'_> {
    fn byte(&mut self) -> std::result::Result<u8, String> {
        let b = *self.0.get(self.1).ok_or("NUT header ends early")?;
        self.1 += 1;
        Ok(b)
    }
    fn v(&mut self) -> std::result::Result<u64, String> {
        vlc(&mut || self.byte())
    }
    fn s(&mut self) -> std::result::Result<i64, String> {
        svlc(&mut || self.byte())
    }
    fn skip(&mut self, n: u64) -> std::result::Result<(), String> {
        let n = usize::try_from(n).map_err(|_| "NUT field too long")?;
        if self.0.len() < self.1 + n {
            return Err("NUT header ends early".into());
        }
        self.1 += n;
        Ok(())
    }
    fn remaining(&self) -> usize {
        self.0.len() - self.1
    }
}

impl<R: Read> NutReader<R> {
    /// Checks the file id and prepares to read frames.
    ///
    /// # Errors
    /// When the stream does not start like NUT.
    pub fn new(mut r: R) -> std::result::Result<NutReader<R>, String> {
        let mut id = vec![0u8; FILE_ID.len()];
        r.read_exact(&mut id).map_err(|e| format!("decoder produced no output ({e})"))?;
        if id != FILE_ID {
            return Err("decoder output is not NUT".into());
        }
        Ok(NutReader { r, head: id, codes: Vec::new(), header_lens: vec![0], size: None })
    }

    /// Frame size (width, height) from the stream header, once it was read.
    #[must_use]
    pub fn size(&self) -> Option<(u32, u32)> {
        self.size
    }

    fn byte(&mut self) -> std::result::Result<Option<u8>, String> {
        let mut b = [0u8; 1];
        loop {
            return match self.r.read(&mut b) {
                Ok(0) => Ok(None),
                Ok(_) => {
                    self.head.push(b[0]);
                    Ok(Some(b[0]))
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => Err(e.to_string()),
            };
        }
    }

    fn must(&mut self) -> std::result::Result<u8, String> {
        self.byte()?.ok_or_else(|| "decoder output ends inside a NUT header".to_owned())
    }

    fn v(&mut self) -> std::result::Result<u64, String> {
        vlc(&mut || self.must())
    }

    fn take(&mut self, n: u64) -> std::result::Result<Vec<u8>, String> {
        let mut buf = Vec::new();
        buf.try_reserve_exact(usize::try_from(n).map_err(|_| "NUT packet too large")?)
            .map_err(|e| format!("cannot allocate a {n}-byte frame: {e}"))?;
        (&mut self.r).take(n).read_to_end(&mut buf).map_err(|e| e.to_string())?;
        if buf.len() as u64 != n {
            return Err("decoder output ends inside a NUT packet".into());
        }
        Ok(buf)
    }

    /// The next frame, or `None` at the end of the stream. Bytes after the last frame (an index)
    /// are available from [`NutReader::tail`].
    ///
    /// # Errors
    /// A malformed stream, or frames other than one rgb24 stream of the announced size.
    pub fn next_frame(&mut self) -> std::result::Result<Option<NutFrame>, String> {
        loop {
            let Some(code) = self.byte()? else { return Ok(None) };
            if code == b'N' {
                self.packet()?;
                continue;
            }
            return self.frame(code).map(Some);
        }
    }

    /// Bytes read after the last frame (header packets, index): pass them on verbatim.
    pub fn tail(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.head)
    }

    fn packet(&mut self) -> std::result::Result<(), String> {
        let mut sc = u64::from(b'N');
        for _ in 0..7 {
            sc = sc << 8 | u64::from(self.must()?);
        }
        let forward = self.v()?;
        if forward > 4096 {
            for _ in 0..4 {
                self.must()?;
            }
        }
        if (sc == MAIN_STARTCODE || sc == STREAM_STARTCODE) && forward > MAX_PACKET {
            return Err("NUT header packet too large".into());
        }
        if sc != MAIN_STARTCODE && sc != STREAM_STARTCODE {
            // syncpoint, info or index: pass through unread
            let mut rest = (&mut self.r).take(forward);
            let n = std::io::copy(&mut rest, &mut self.head).map_err(|e| e.to_string())?;
            if n != forward {
                return Err("decoder output ends inside a NUT packet".into());
            }
            return Ok(());
        }
        let body = self.take(forward)?;
        self.head.extend_from_slice(&body);
        let body = &body[..body.len().saturating_sub(4)]; // drop the checksum
        if sc == MAIN_STARTCODE {
            self.main_header(body)
        } else {
            self.stream_header(body)
        }
    }

    fn main_header(&mut self, body: &[u8]) -> std::result::Result<(), String> {
        let mut p = Slice(body, 0);
        let version = p.v()?;
        if version > 3 {
            p.v()?; // minor version
        }
        if p.v()? != 1 {
            return Err("decoder output has more than one stream".into());
        }
        p.v()?; // max_distance
        let time_bases = p.v()?;
        for _ in 0..time_bases.min(1 << 16) {
            p.v()?;
            p.v()?;
        }
        let (mut mul, mut stream, mut head_idx) = (1u64, 0u64, 0u64);
        let mut codes = vec![FrameCode::default(); 256];
        let mut i = 0usize;
        while i < 256 {
            let flags = p.v()?;
            let fields = p.v()?;
            if fields > 0 {
                p.s()?; // pts delta
            }
            if fields > 1 {
                mul = p.v()?;
            }
            if fields > 2 {
                stream = p.v()?;
            }
            let size = if fields > 3 { p.v()? } else { 0 };
            let res = if fields > 4 { p.v()? } else { 0 };
            let count = if fields > 5 { p.v()? } else { mul.wrapping_sub(size) };
            if fields > 6 {
                p.s()?; // match time delta
            }
            if fields > 7 {
                head_idx = p.v()?;
            }
            for _ in 8..fields.min(64) {
                p.v()?;
            }
            let limit = (256 - i - usize::from(i <= usize::from(b'N'))) as u64;
            if count == 0 || count > limit {
                return Err("bad NUT frame code table".into());
            }
            let mut j = 0;
            while j < count && i < 256 {
                if i == usize::from(b'N') {
                    codes[i].flags = FLAG_INVALID;
                    i += 1;
                    continue;
                }
                codes[i] =
                    FrameCode { flags, stream, size_mul: mul, size_lsb: size + j, reserved: res, header_idx: head_idx };
                i += 1;
                j += 1;
            }
        }
        let mut header_lens = vec![0];
        if p.remaining() > 0 {
            let count = p.v()? + 1;
            if count > 128 {
                return Err("bad NUT elision headers".into());
            }
            for _ in 1..count {
                let len = p.v()?;
                p.skip(len)?;
                header_lens.push(len);
            }
        }
        self.codes = codes;
        self.header_lens = header_lens;
        Ok(())
    }

    fn stream_header(&mut self, body: &[u8]) -> std::result::Result<(), String> {
        let mut p = Slice(body, 0);
        if p.v()? != 0 {
            return Err("unexpected NUT stream id".into());
        }
        if p.v()? != 0 {
            return Err("decoder output is not video".into());
        }
        let len = p.v()?;
        let start = p.1;
        p.skip(len)?;
        if &body[start..p.1] != b"RGB\x18" {
            return Err("decoder output is not rgb24".into());
        }
        for _ in 0..5 {
            p.v()?; // time base id, msb pts shift, max pts distance, decode delay, flags
        }
        let extra = p.v()?;
        p.skip(extra)?;
        let w = u32::try_from(p.v()?).map_err(|_| "frame too wide")?;
        let h = u32::try_from(p.v()?).map_err(|_| "frame too high")?;
        if w == 0 || h == 0 {
            return Err("decoder output has an empty frame size".into());
        }
        self.size = Some((w, h));
        Ok(())
    }

    fn frame(&mut self, code: u8) -> std::result::Result<NutFrame, String> {
        let fc = *self.codes.get(usize::from(code)).ok_or("NUT frame before the main header")?;
        let mut flags = fc.flags;
        if flags & FLAG_INVALID != 0 {
            return Err(format!("invalid NUT frame code {code}"));
        }
        if flags & FLAG_CODED != 0 {
            flags ^= self.v()?;
        }
        let mut stream = fc.stream;
        if flags & FLAG_STREAM_ID != 0 {
            stream = self.v()?;
        }
        if stream != 0 {
            return Err("decoder output has more than one stream".into());
        }
        if flags & FLAG_CODED_PTS != 0 {
            self.v()?;
        }
        let mut size = fc.size_lsb;
        if flags & FLAG_SIZE_MSB != 0 {
            size = size.saturating_add(fc.size_mul.saturating_mul(self.v()?));
        }
        if flags & FLAG_MATCH_TIME != 0 {
            svlc(&mut || self.must())?;
        }
        let mut header_idx = fc.header_idx;
        if flags & FLAG_HEADER_IDX != 0 {
            header_idx = self.v()?;
        }
        let mut reserved = fc.reserved;
        if flags & FLAG_RESERVED != 0 {
            reserved = self.v()?;
        }
        for _ in 0..reserved.min(256) {
            self.v()?;
        }
        if size > 4096 {
            header_idx = 0;
        }
        let elided = usize::try_from(header_idx).ok().and_then(|i| self.header_lens.get(i)).copied();
        if elided != Some(0) {
            return Err("NUT elision headers are not supported".into());
        }
        if flags & FLAG_CHECKSUM != 0 {
            for _ in 0..4 {
                self.must()?;
            }
        }
        if flags & FLAG_SM_DATA != 0 {
            return Err("NUT side data is not supported".into());
        }
        let (w, h) = self.size.ok_or("NUT frame before the stream header")?;
        let expected = u64::from(w) * u64::from(h) * 3;
        if size != expected {
            return Err(format!("decoded frame has {size} bytes, expected {expected} ({w}x{h} rgb24)"));
        }
        let data = self.take(size)?;
        Ok(NutFrame { head: std::mem::take(&mut self.head), data })
    }
}

/// Runs ffmpeg to decode a whole file to upright rgb24 frames in memory (tests and tools; the
/// pipeline streams instead).
///
/// # Errors
/// Any decoding error.
pub fn decode_all(path: &Path, tools: &Tools) -> Result<(u32, u32, Vec<Vec<u8>>)> {
    let info = probe(path, tools)?;
    let dec = Decoder::start(path, &info, tools)?;
    let (mut reader, proc) = dec.into_parts();
    let mut frames = Vec::new();
    while let Some(f) = reader.next_frame().map_err(|e| Error::decode(path, e))? {
        frames.push(f.data);
    }
    let (w, h) = reader.size().unwrap_or((0, 0));
    drop(reader);
    proc.wait().map_err(|e| Error::decode(path, e))?;
    Ok((w, h, frames))
}

/// The output path's folder, for temp files (`.` when it has none).
pub(crate) fn parent_dir(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_decode_like_nut() {
        let mut b = [0x81u8, 0x00, 0x05].into_iter();
        assert_eq!(vlc(&mut || b.next().ok_or_else(String::new)).unwrap(), 128);
        assert_eq!(vlc(&mut || b.next().ok_or_else(String::new)).unwrap(), 5);
        // signed: 0 -> 0, 1 -> 1, 2 -> -1, 3 -> 2
        for (raw, want) in [(0u8, 0i64), (1, 1), (2, -1), (3, 2)] {
            let mut it = [raw].into_iter();
            assert_eq!(svlc(&mut || it.next().ok_or_else(String::new)).unwrap(), want);
        }
        let mut long = std::iter::repeat(0xFFu8);
        assert!(vlc(&mut || long.next().ok_or_else(String::new)).is_err());
    }

    #[test]
    fn probe_picks_video_default_audio_and_rotation() {
        let json: Value = serde_json::from_str(
            r#"{"streams": [
                {"index": 0, "codec_type": "audio", "disposition": {"default": 0}, "tags": {"title": "a"}},
                {"index": 1, "codec_type": "video", "disposition": {"attached_pic": 1}},
                {"index": 2, "codec_type": "video", "codec_name": "h264", "width": 1920, "height": 1080,
                 "nb_frames": "300", "duration": "10.0", "avg_frame_rate": "30/1",
                 "side_data_list": [{"side_data_type": "Display Matrix", "rotation": -90}],
                 "disposition": {"attached_pic": 0}},
                {"index": 3, "codec_type": "audio", "disposition": {"default": 1}},
                {"index": 4, "codec_type": "subtitle"}],
              "format": {"start_time": "0.5", "tags": {"location": "+1+2/"}},
              "chapters": [{"tags": {"title": "c"}}]}"#,
        )
        .unwrap();
        let info = parse_probe(Path::new("x.mp4"), &json).unwrap();
        assert_eq!(info.stream, 2);
        assert_eq!(info.audio, Some(3));
        assert_eq!(info.audio_streams, 2);
        assert_eq!(info.dropped_streams, 2);
        assert_eq!(info.upright_size(), (1080, 1920));
        assert_eq!(info.frames_estimate(), Some(300));
        assert_eq!(info.start_time, 0.5);
        assert_eq!(info.duration, Some(10.0));
        assert_eq!(info.end, Some(10.0), "no start time of its own: starts with the container");
        assert_eq!((info.video_start, info.audio_start, info.audio_duration), (0.0, Some(0.0), None));
        assert_eq!(info.hdr(), None);
        assert_eq!(hms("00:01:02.500000000"), Some(62.5));
        assert_eq!(hms("1.5"), None);
        assert_eq!(info.metadata_values, vec!["+1+2/", "a", "c"]);
        let none: Value = serde_json::from_str(r#"{"streams": [{"index": 0, "codec_type": "audio"}]}"#).unwrap();
        assert!(matches!(parse_probe(Path::new("x.m4a"), &none), Err(Error::Unsupported { .. })));
    }

    #[test]
    fn probe_reads_each_streams_timing_and_the_hdr_tags() {
        // issue 11: video from 0.866 s for 9.2 s, audio from 0 for 10.82 s; iPhone HLG tags
        let json = serde_json::json!({"format": {"start_time": "0.000000", "duration": "10.820000"}, "streams": [
            {"index": 0, "codec_type": "video", "start_time": "0.866016", "duration": "9.200000",
             "color_transfer": "arib-std-b67", "color_primaries": "bt2020", "color_space": "bt2020nc",
             "color_range": "tv"},
            {"index": 1, "codec_type": "audio", "start_time": "0.000000", "duration": "10.820000"}]});
        let info = parse_probe(Path::new("x.mov"), &json).unwrap();
        assert_eq!(info.video_start, 0.866016);
        assert!((info.video_duration().unwrap() - 9.2).abs() < 1e-9);
        assert_eq!((info.audio_start, info.audio_duration), (Some(0.0), Some(10.82)));
        assert_eq!(info.hdr(), Some(Hdr::Hlg));
        let f = tone_map_filter(&info, Hdr::Hlg);
        assert!(f.starts_with("zscale=tin=arib-std-b67:pin=2020:min=2020_ncl:rin=limited:t=linear:npl=203,"), "{f}");
        assert!(
            f.contains("tonemap=tonemap=mobius:param=0.5:desat=0:peak=4.9261,") && f.ends_with("format=rgb24"),
            "{f}"
        );
    }

    #[test]
    fn a_matroska_segment_running_past_the_file_is_truncated() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("v.mkv");
        let mut b = vec![0x1A, 0x45, 0xDF, 0xA3, 0x84, 0x42, 0x86, 0x81, 0x01];
        b.extend_from_slice(&[0x18, 0x53, 0x80, 0x67, 0x01, 0, 0, 0, 0, 0, 0, 0x10]);
        let whole = b.len() as u64 + 16;
        b.extend_from_slice(&[0xEC; 10]);
        std::fs::write(&p, &b).unwrap();
        let why = matroska_truncated(&p).expect("6 bytes missing");
        assert!(why.contains(&format!("ends at byte {whole}")), "{why}");
        b.extend_from_slice(&[0xEC; 6]);
        std::fs::write(&p, &b).unwrap();
        assert_eq!(matroska_truncated(&p), None, "complete");
        b[13..21].copy_from_slice(&[0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
        b.truncate(30);
        std::fs::write(&p, &b).unwrap();
        assert_eq!(matroska_truncated(&p), None, "unknown size: not judged");
        std::fs::write(&p, b"\0\0\0\x18ftypisom").unwrap();
        assert_eq!(matroska_truncated(&p), None, "not Matroska");
    }

    #[test]
    fn a_missing_ffprobe_is_one_clear_line_naming_the_file() {
        let tools = Tools { ffmpeg: "/nonexistent/ffmpeg".into(), ffprobe: "/nonexistent/ffprobe".into() };
        let e = probe(Path::new("clips/a.mp4"), &tools).unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, Error::Unsupported { .. }), "{msg}");
        assert!(msg.starts_with("clips/a.mp4: ") && msg.contains("install ffmpeg") && !msg.contains('\n'), "{msg}");
    }

    #[test]
    fn file_urls_cannot_be_protocols_or_options() {
        let u = file_url(Path::new("/tmp/http:evil.mp4"));
        assert_eq!(u, OsString::from("file:/tmp/http:evil.mp4"));
    }
}
