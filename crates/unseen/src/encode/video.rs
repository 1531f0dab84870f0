//! Video encoding through ffmpeg: obscured rgb24 frames go in over stdin (the decoder's NUT
//! stream with the pixels replaced, so every timestamp is kept), an H.264 MP4 comes out.
//!
//! This is the only place that decides what a video output contains: one H.264 stream
//! (`libx264`, CRF [`CRF`], preset [`PRESET`], yuv420p, tagged BT.709) and, when audio is kept,
//! one AAC stream re-encoded from the input's audio. Nothing else is mapped: no subtitles,
//! data or telemetry tracks, attachments, chapters or cover art, no global or stream metadata
//! (`-map_metadata -1 -map_chapters -1`), no encoder strings (bitexact flags, the x264 SEI
//! removed, the sample entry's compressor name blanked by [`scrub_mp4`]), and the index in
//! front (`+faststart`).

use std::ffi::OsString;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};

use crate::decode::video::{file_url, input_guard, Proc, Tools};

/// x264 constant rate factor: visually close to the source.
pub const CRF: u8 = 18;
/// x264 preset: veryfast costs about half of medium's CPU time (which a 2-core laptop needs for
/// detection) for files a little larger at the same quality.
pub const PRESET: &str = "veryfast";
/// AAC bit rate when audio is kept.
pub const AUDIO_BITRATE: &str = "192k";

/// The audio to keep: one stream of the original input, re-encoded.
#[derive(Debug, Clone)]
pub struct AudioSource {
    /// The input file.
    pub path: PathBuf,
    /// The stream index in it.
    pub stream: usize,
    /// The input's container start time (seconds), so audio lines up with the decoded video.
    pub start_time: f64,
}

/// The ffmpeg arguments that encode a NUT stream on stdin (plus optional audio) into `out`.
#[must_use]
pub fn encoder_args(out: &Path, audio: Option<&AudioSource>, width: u32, height: u32) -> Vec<OsString> {
    let mut a: Vec<OsString> = Vec::new();
    let mut push = |xs: &[&str]| a.extend(xs.iter().map(OsString::from));
    push(&["-hide_banner", "-nostdin", "-v", "error", "-y", "-f", "nut", "-i", "pipe:0"]);
    if let Some(au) = audio {
        // The decoder shifted video by -start_time; -copyts keeps that and shifts audio the same.
        push(&["-copyts", "-itsoffset", &format!("{:.6}", -au.start_time)]);
        push(&input_guard());
        a.push("-i".into());
        a.push(file_url(&au.path));
    }
    let mut push = |xs: &[&str]| a.extend(xs.iter().map(OsString::from));
    push(&["-map", "0:v:0"]);
    let pad = if width % 2 == 1 || height % 2 == 1 { "pad=ceil(iw/2)*2:ceil(ih/2)*2," } else { "" };
    let vf = format!("{pad}scale=out_color_matrix=bt709:out_range=tv,format=yuv420p");
    push(&["-vf", &vf, "-c:v", "libx264", "-preset", PRESET, "-crf", &CRF.to_string()]);
    push(&["-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709", "-color_range", "tv"]);
    push(&["-fps_mode:v", "passthrough", "-enc_time_base:v", "-1", "-flags:v", "+bitexact"]);
    push(&["-bsf:v", "filter_units=remove_types=6"]); // SEI: x264 writes its version and options there
    if let Some(au) = audio {
        push(&["-map", &format!("1:{}", au.stream), "-c:a", "aac", "-b:a", AUDIO_BITRATE, "-flags:a", "+bitexact"]);
    }
    push(&["-map_metadata", "-1", "-map_chapters", "-1", "-sn", "-dn", "-fflags", "+bitexact"]);
    push(&["-movflags", "+faststart", "-f", "mp4"]);
    a.push(out.as_os_str().to_owned());
    a
}

/// A running ffmpeg encoder.
pub struct Encoder {
    proc: Proc,
    stdin: Option<ChildStdin>,
}

impl Encoder {
    /// Starts ffmpeg writing `out` (normally a temp file in the output folder).
    ///
    /// # Errors
    /// The spawn error (`NotFound` when ffmpeg is missing).
    pub fn start(
        tools: &Tools,
        out: &Path,
        audio: Option<&AudioSource>,
        width: u32,
        height: u32,
    ) -> std::io::Result<Encoder> {
        let mut cmd = Command::new(&tools.ffmpeg);
        cmd.args(encoder_args(out, audio, width, height)).stdin(Stdio::piped()).stdout(Stdio::null());
        let mut proc = Proc::spawn(&mut cmd)?;
        let stdin = proc.child().stdin.take();
        Ok(Encoder { proc, stdin })
    }

    /// Feeds bytes of the NUT stream.
    ///
    /// # Errors
    /// A write error (the encoder died; [`Encoder::finish`] says why).
    pub fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match &mut self.stdin {
            Some(s) => s.write_all(bytes),
            None => Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe)),
        }
    }

    /// Closes the input and waits for ffmpeg to finish the file.
    ///
    /// # Errors
    /// ffmpeg's exit status and last error lines.
    pub fn finish(mut self) -> Result<(), String> {
        drop(self.stdin.take());
        self.proc.wait()
    }
}

const CONTAINERS: &[&[u8; 4]] = &[b"moov", b"trak", b"mdia", b"minf", b"stbl"];

/// Blanks the 32-byte compressor name of every visual sample entry (ffmpeg writes its encoder
/// name there) in the MP4 at `path`, in place.
///
/// # Errors
/// An I/O error or an MP4 structure this function does not expect.
pub fn scrub_mp4(path: &Path) -> Result<(), String> {
    let mut f = std::fs::OpenOptions::new().read(true).write(true).open(path).map_err(|e| e.to_string())?;
    let len = f.metadata().map_err(|e| e.to_string())?.len();
    // find moov at the top level, read it whole (it is small: sample tables only)
    let mut pos = 0u64;
    while pos + 8 <= len {
        let (size, kind, hdr) = read_box_header(&mut f, pos, len)?;
        if &kind == b"moov" {
            let n = usize::try_from(size).map_err(|_| "moov too large")?;
            let mut moov = Vec::new();
            moov.try_reserve_exact(n).map_err(|e| e.to_string())?;
            f.seek(SeekFrom::Start(pos)).map_err(|e| e.to_string())?;
            (&mut f).take(size).read_to_end(&mut moov).map_err(|e| e.to_string())?;
            let mut patches = Vec::new();
            find_compressor_names(&moov, hdr as usize, moov.len(), 0, &mut patches)?;
            for off in patches {
                f.seek(SeekFrom::Start(pos + off as u64)).map_err(|e| e.to_string())?;
                f.write_all(&[0u8; 32]).map_err(|e| e.to_string())?;
            }
            f.sync_all().map_err(|e| e.to_string())?;
            return Ok(());
        }
        pos += size;
    }
    Err("no moov box".into())
}

fn read_box_header(f: &mut std::fs::File, pos: u64, len: u64) -> Result<(u64, [u8; 4], u64), String> {
    let mut h = [0u8; 16];
    f.seek(SeekFrom::Start(pos)).map_err(|e| e.to_string())?;
    let avail = usize::try_from((len - pos).min(16)).unwrap_or(16);
    f.read_exact(&mut h[..avail]).map_err(|e| e.to_string())?;
    let size32 = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
    let kind = [h[4], h[5], h[6], h[7]];
    let (size, hdr) = match size32 {
        0 => (len - pos, 8),
        1 if avail >= 16 => (u64::from_be_bytes(h[8..16].try_into().unwrap_or_default()), 16),
        s => (u64::from(s), 8),
    };
    if size < hdr || pos + size > len {
        return Err(format!("bad box size at offset {pos}"));
    }
    Ok((size, kind, hdr))
}

/// Offsets (within `b`) of the compressor names of visual sample entries below `b[start..end]`.
fn find_compressor_names(b: &[u8], mut p: usize, end: usize, depth: u32, out: &mut Vec<usize>) -> Result<(), String> {
    if depth > 8 {
        return Err("boxes nested too deep".into());
    }
    while p + 8 <= end {
        let size = u32::from_be_bytes([b[p], b[p + 1], b[p + 2], b[p + 3]]) as usize;
        let kind: [u8; 4] = [b[p + 4], b[p + 5], b[p + 6], b[p + 7]];
        if size < 8 || p + size > end {
            return Err(format!("bad box size in moov at {p}"));
        }
        if CONTAINERS.contains(&&kind) {
            find_compressor_names(b, p + 8, p + size, depth + 1, out)?;
        } else if &kind == b"stsd" {
            // full box header (4) + entry count (4), then sample entries
            let mut e = p + 16;
            while e + 8 <= p + size {
                let esize = u32::from_be_bytes([b[e], b[e + 1], b[e + 2], b[e + 3]]) as usize;
                if esize < 8 || e + esize > p + size {
                    return Err("bad sample entry size".into());
                }
                let ekind = &b[e + 4..e + 8];
                if matches!(ekind, b"avc1" | b"avc3" | b"hvc1" | b"hev1") {
                    // VisualSampleEntry: compressorname at byte 50, 32 bytes
                    if esize < 82 {
                        return Err("short visual sample entry".into());
                    }
                    out.push(e + 50);
                }
                e += esize;
            }
        }
        p += size;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_drop_everything_but_one_video_and_the_chosen_audio() {
        let s = |v: Vec<OsString>| v.iter().map(|a| a.to_string_lossy().into_owned()).collect::<Vec<_>>().join(" ");
        let no_audio = s(encoder_args(Path::new("o.tmp"), None, 320, 240));
        for must in ["-map_metadata -1", "-map_chapters -1", "-sn -dn", "+faststart", "-map 0:v:0", "+bitexact"] {
            assert!(no_audio.contains(must), "{must} missing in {no_audio}");
        }
        assert!(!no_audio.contains("-map 1:") && !no_audio.contains("pad="));
        let au = AudioSource { path: "in.mov".into(), stream: 3, start_time: 0.25 };
        let with = s(encoder_args(Path::new("o.tmp"), Some(&au), 321, 240));
        assert!(with.contains("-map 1:3 -c:a aac"), "{with}");
        assert!(with.contains("-itsoffset -0.250000"), "{with}");
        assert!(with.contains("pad=ceil(iw/2)*2"), "odd width is padded: {with}");
    }
}
