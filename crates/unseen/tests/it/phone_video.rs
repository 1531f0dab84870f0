//! Issue 11, part 4: videos as phones and editors really write them. Every clip is generated at
//! test time with ffmpeg's lavfi sources (nothing is downloaded or shipped), processed through
//! `Pipeline::run_job`, and checked with ffmpeg/ffprobe directly: exit status, frame count,
//! timestamps, size, colour tags and pixels.

use std::path::{Path, PathBuf};

use image::RgbImage;
use serde_json::Value;
use unseen::report::Status;
use unseen::{Audio, Options};

use crate::video::{
    decode, default_pipeline, ffmpeg, ffprobe, files_in, packet_times, pipeline_with, run, run_ok, streams,
};

/// (start, duration) of the first stream of `kind` ("video", "audio"), seconds, as ffprobe says.
fn timing(path: &Path, kind: &str) -> (f64, f64) {
    let v = ffprobe(path);
    let s = streams(&v).into_iter().find(|s| s["codec_type"] == kind).unwrap_or_else(|| panic!("no {kind}")).clone();
    let f = |k: &str| s[k].as_str().and_then(|x| x.parse::<f64>().ok()).unwrap_or_else(|| panic!("{kind} {k}: {s}"));
    (f("start_time"), f("duration"))
}

/// Mean absolute difference of two same-size frames, 8-bit levels.
fn mean_diff(a: &RgbImage, b: &RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    a.as_raw().iter().zip(b.as_raw()).map(|(p, q)| f64::from(p.abs_diff(*q))).sum::<f64>() / a.as_raw().len() as f64
}

/// Asserts that `output` shows the same pictures as `input` (decoded by ffmpeg, rotation applied),
/// frame for frame (no faces in these clips: nothing is obscured).
fn assert_same_pictures(input: &Path, output: &Path) {
    let (a, b) = (decode(input), decode(output));
    assert_eq!(a.len(), b.len(), "frame count");
    for (i, (p, q)) in a.iter().zip(&b).enumerate() {
        let d = mean_diff(p, q);
        assert!(d < 6.0, "frame {i} differs by {d:.1} levels");
    }
}

/// Asserts that the frames of `output` are at the times of the frames of `input`, both counted
/// from their first frame.
fn assert_same_relative_times(input: &Path, output: &Path) {
    let (want, got) = (packet_times(input), packet_times(output));
    assert_eq!(got.len(), want.len(), "frame count: {got:?} vs {want:?}");
    for (g, w) in got.iter().zip(&want) {
        assert!(((g - got[0]) - (w - want[0])).abs() < 0.002, "frame times differ: {got:?} vs {want:?}");
    }
}

fn status_ok(r: &unseen::report::FileReport) {
    assert_eq!(r.status, Status::Ok, "{:?}", r.error);
}

/// The clip of the issue, small: audio from 0, video from 0.85 s for 1.5 s (15 frames at 10 fps),
/// and the audio running on 0.8 s after the video ends. MP4, H.264 + AAC.
fn late_video_longer_audio(d: &Path) -> PathBuf {
    let input = d.join("late_video.mp4");
    run_ok(
        ffmpeg()
            .args(["-f", "lavfi", "-i", "sine=f=440:d=3.15", "-itsoffset", "0.85"])
            .args(["-f", "lavfi", "-i", "testsrc2=s=320x180:r=10:d=1.5", "-map", "1:v", "-map", "0:a"])
            .args(["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-fps_mode", "passthrough"])
            .arg(&input),
    );
    input
}

#[test]
fn issue11_video_starting_after_longer_audio_passes_with_audio_dropped_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let input = late_video_longer_audio(d);
    let (v0, vd) = timing(&input, "video");
    let (a0, ad) = timing(&input, "audio");
    assert!(v0 - a0 > 0.8 && (a0 + ad) - (v0 + vd) > 0.7, "fixture: video {v0}+{vd}, audio {a0}+{ad}");
    assert_eq!(packet_times(&input).len(), 15);

    // --audio drop (the default): the video alone, from the start of the file
    let r = run(default_pipeline(), &input, &d.join("drop"));
    status_ok(&r);
    assert_eq!(r.video.as_ref().unwrap().frames, 15);
    assert_eq!(r.video.as_ref().unwrap().audio, "dropped");
    let output = d.join("drop/late_video.mp4");
    assert_eq!(files_in(&d.join("drop")), vec![output.clone()]);
    assert_eq!(streams(&ffprobe(&output)).len(), 1);
    let (w0, wd) = timing(&output, "video");
    assert!(w0.abs() < 0.01, "the video starts the file: {w0}");
    assert!((wd - vd).abs() < 0.01, "video lasts {wd} s, the input's {vd} s");
    assert_same_relative_times(&input, &output);
    assert_same_pictures(&input, &output);

    // --audio keep: the offset between the streams and the whole audio are kept
    let keep = pipeline_with(Options { audio: Audio::Keep, ..Options::default() });
    let r = run(&keep, &input, &d.join("keep"));
    status_ok(&r);
    assert_eq!(r.video.as_ref().unwrap().frames, 15);
    let output = d.join("keep/late_video.mp4");
    let (w0, wd) = timing(&output, "video");
    let (b0, bd) = timing(&output, "audio");
    assert!(((w0 - b0) - (v0 - a0)).abs() < 0.03, "offset {} became {}", v0 - a0, w0 - b0);
    assert!((wd - vd).abs() < 0.01, "video lasts {wd} s, the input's {vd} s");
    assert!((bd - ad).abs() < 0.05, "audio lasts {bd} s, the input's {ad} s");
    assert_same_relative_times(&input, &output);
    assert_same_pictures(&input, &output);
}

// ---- edit lists, B-frames, negative timestamps ---------------------------------------------------

/// Times of the frames ffmpeg shows (edit lists applied, discarded frames left out), sorted.
fn shown_frame_times(path: &Path) -> Vec<f64> {
    let out = run_ok(
        std::process::Command::new("ffprobe")
            .args(["-v", "error", "-select_streams", "v:0", "-show_entries", "frame=best_effort_timestamp_time"])
            .args(["-of", "csv=p=0"])
            .arg(path),
    );
    let text = String::from_utf8(out).unwrap();
    let mut t: Vec<f64> = text.lines().filter_map(|l| l.split(',').next()?.trim().parse().ok()).collect();
    t.sort_by(f64::total_cmp);
    t
}

/// Asserts that the output's frames are at the times of the frames ffmpeg shows for the input,
/// both counted from their first frame, and that the output starts at 0.
fn assert_shown_times_kept(input: &Path, output: &Path) {
    let (want, got) = (shown_frame_times(input), packet_times(output));
    assert_eq!(got.len(), want.len(), "frame count: {got:?} vs {want:?}");
    assert!(got[0].abs() < 0.002, "the output starts at 0: {got:?}");
    for (g, w) in got.iter().zip(&want) {
        assert!((g - (w - want[0])).abs() < 0.002, "frame times differ: {got:?} vs {want:?}");
    }
}

#[test]
fn issue11_edit_lists_and_b_frames_with_negative_timestamps_keep_the_shown_frames() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bframes = ["-c:v", "libx264", "-preset", "medium", "-bf", "3", "-g", "10"];
    let src = d.join("src.mp4");
    run_ok(ffmpeg().args(["-f", "lavfi", "-i", "testsrc2=s=320x180:r=10:d=3"]).args(bframes).arg(&src));
    // an edit list that starts 0.55 s into the media (a cut made without re-encoding)
    let edit = d.join("edit_list.mp4");
    run_ok(ffmpeg().args(["-ss", "0.55"]).arg("-i").arg(&src).args(["-c", "copy"]).arg(&edit));
    // B-frames whose first timestamps are negative, hidden by the edit list
    let negative = d.join("negative_pts.mp4");
    run_ok(
        ffmpeg()
            .args(["-f", "lavfi", "-i", "testsrc2=s=320x180:r=10:d=2"])
            .args(bframes)
            .args(["-avoid_negative_ts", "disabled", "-output_ts_offset", "-0.3"])
            .arg(&negative),
    );
    // MPEG-TS (B-frames, the stream starting 1.4 s in)
    let ts = d.join("b_frames.ts");
    run_ok(ffmpeg().args(["-f", "lavfi", "-i", "testsrc2=s=320x180:r=10:d=2"]).args(bframes).arg(&ts));

    let pts = |p: &Path| -> Vec<f64> {
        let out = run_ok(
            std::process::Command::new("ffprobe")
                .args(["-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time"])
                .args(["-of", "csv=p=0"])
                .arg(p),
        );
        String::from_utf8(out).unwrap().lines().filter_map(|l| l.trim().parse().ok()).collect()
    };
    // the fixtures are what they claim
    assert_eq!((pts(&edit).len(), shown_frame_times(&edit).len()), (30, 24), "edit list hides 6 frames");
    assert!(pts(&negative).iter().any(|t| *t < 0.0), "negative timestamps: {:?}", pts(&negative));
    assert_eq!(shown_frame_times(&negative).len(), 17, "the frames before 0 are not shown");
    assert!(shown_frame_times(&ts)[0] > 1.0, "TS starts late: {:?}", shown_frame_times(&ts));

    for (input, frames) in [(&edit, 24), (&negative, 17), (&ts, 20)] {
        let name = input.file_name().unwrap().to_string_lossy().into_owned();
        let out_dir = d.join(format!("out-{name}"));
        let r = run(default_pipeline(), input, &out_dir);
        status_ok(&r);
        assert_eq!(r.video.as_ref().unwrap().frames, frames, "{name}");
        let output = out_dir.join(Path::new(&name).with_extension("mp4"));
        assert_shown_times_kept(input, &output);
        assert_same_pictures(input, &output);
    }
}

#[test]
fn issue11_variable_frame_rate_hevc_mov_with_audio_keeps_every_frame_time() {
    // a low-light phone clip: HEVC in MOV, frame gaps of 1/30, then 0.1 s, then 1/60 s; audio kept
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("vfr.mov");
    run_ok(
        ffmpeg()
            .args(["-f", "lavfi", "-i", "testsrc2=s=320x180:r=30:d=1", "-f", "lavfi", "-i", "sine=f=440:d=1.5"])
            .args(["-vf", "settb=1/600,setpts='if(lt(N,10),N/30,if(lt(N,20),0.3+(N-9)*0.1,1.3+(N-19)/60))/TB'"])
            .args(["-fps_mode", "passthrough", "-enc_time_base", "1/600", "-video_track_timescale", "600"])
            .args(["-c:v", "libx265", "-x265-params", "log-level=error:bframes=3", "-tag:v", "hvc1", "-c:a", "aac"])
            .arg(&input),
    );
    let want = packet_times(&input);
    let gaps: Vec<f64> = want.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.iter().any(|g| *g > 0.09) && gaps.iter().any(|g| *g < 0.02), "input is VFR: {gaps:?}");
    let (v0, _) = timing(&input, "video");
    let (a0, ad) = timing(&input, "audio");
    let keep = pipeline_with(Options { audio: Audio::Keep, ..Options::default() });
    let r = run(&keep, &input, &dir.path().join("out"));
    status_ok(&r);
    let output = dir.path().join("out/vfr.mp4");
    assert_eq!(r.video.as_ref().unwrap().frames, want.len() as u64);
    assert_same_relative_times(&input, &output);
    let (w0, _) = timing(&output, "video");
    let (b0, bd) = timing(&output, "audio");
    assert!(((w0 - b0) - (v0 - a0)).abs() < 0.03, "offset {} became {}", v0 - a0, w0 - b0);
    assert!((bd - ad).abs() < 0.05, "audio lasts {bd} s, the input's {ad} s");
    assert_same_pictures(&input, &output);
}

// ---- rotation ------------------------------------------------------------------------------------

/// Mean colour of the `n`×`n` square at (x, y).
fn patch_mean(f: &RgbImage, x: u32, y: u32, n: u32) -> [f64; 3] {
    let mut s = [0.0; 3];
    for yy in y..y + n {
        for xx in x..x + n {
            for (k, v) in s.iter_mut().enumerate() {
                *v += f64::from(f.get_pixel(xx, yy)[k]);
            }
        }
    }
    s.map(|v| v / f64::from(n * n))
}

#[test]
fn issue11_iphone_portrait_mov_comes_out_upright_at_its_displayed_size() {
    // The upright picture has a red square in its top-left corner. iPhone portrait: stored
    // landscape (HEVC, even size), displayed turned 90° clockwise (ffprobe: rotation -90). And an
    // odd-sized clip turned the other way, whose upright size is padded to even after rotating.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let marker = "drawbox=x=0:y=0:w=30:h=30:color=red:t=fill";
    type Case<'a> = (&'a str, (u32, u32), String, &'a str, [u32; 9], i64, &'a [&'a str]);
    let cases: [Case; 2] = [
        (
            "IMG_0002.MOV",
            (180, 320),
            format!("testsrc2=s=180x320:r=10:d=1,{marker}"),
            "transpose=cclock",
            [0, 0x0001_0000, 0, 0xFFFF_0000, 0, 0, 0, 0, 0x4000_0000],
            -90,
            &["-c:v", "libx265", "-x265-params", "log-level=error", "-tag:v", "hvc1", "-pix_fmt", "yuv420p"],
        ),
        (
            "odd_rotated.mov",
            (91, 161),
            format!("testsrc2=s=92x162:r=10:d=1,format=yuv444p,crop=91:161:0:0,{marker}"),
            "transpose=clock",
            [0, 0xFFFF_0000, 0, 0x0001_0000, 0, 0, 0, 0, 0x4000_0000],
            90,
            &["-c:v", "libx264", "-preset", "fast", "-pix_fmt", "yuv444p"],
        ),
    ];
    for (name, (w, h), upright_src, store, matrix, rotation, codec) in cases {
        let input = d.join(name);
        run_ok(ffmpeg().args(["-f", "lavfi", "-i", &format!("{upright_src},{store}")]).args(codec).arg(&input));
        crate::video::set_display_matrix(&input, matrix);
        let src = ffprobe(&input);
        let v = streams(&src)[0].clone();
        assert_eq!((v["width"].as_u64(), v["height"].as_u64()), (Some(u64::from(h)), Some(u64::from(w))), "stored");
        let rot = v["side_data_list"][0]["rotation"].as_i64();
        assert_eq!(rot, Some(rotation), "fixture rotation: {v}");

        let out_dir = d.join(format!("out-{name}"));
        let r = run(default_pipeline(), &input, &out_dir);
        status_ok(&r);
        assert_eq!(r.video.as_ref().unwrap().rotation, rotation);
        let output = out_dir.join(Path::new(name).with_extension("mp4"));
        let out = ffprobe(&output);
        let s = streams(&out)[0].clone();
        let (ew, eh) = (w + w % 2, h + h % 2);
        assert_eq!((s["width"].as_u64(), s["height"].as_u64()), (Some(u64::from(ew)), Some(u64::from(eh))), "{name}");
        assert!(s.get("side_data_list").is_none(), "no display matrix left: {s}");
        let frames = decode(&output);
        assert_eq!(frames.len(), 10);
        // upright: the red square is in the top-left corner, and the picture is the upright one
        let [r_, g, b] = patch_mean(&frames[0], 5, 5, 20);
        assert!(r_ > 180.0 && g < 70.0 && b < 70.0, "{name}: top-left is {:?}, not red", [r_, g, b]);
        // compared in luma: the output's 4:2:0 chroma alone differs from a small 4:4:4 picture
        let want = decode_lavfi(&upright_src, w, h);
        let luma = |f: &RgbImage| image::DynamicImage::ImageRgb8(f.clone()).to_luma8();
        for (i, f) in frames.iter().enumerate() {
            let pic = image::imageops::crop_imm(f, 0, 0, w, h).to_image();
            let (a, b) = (luma(&pic), luma(&want[i]));
            let dd = a.as_raw().iter().zip(b.as_raw()).map(|(p, q)| f64::from(p.abs_diff(*q))).sum::<f64>()
                / a.as_raw().len() as f64;
            assert!(dd < 6.0, "{name}, frame {i}: differs from the upright picture by {dd:.1}");
        }
    }
}

/// The rgb24 frames of a lavfi source, decoded by ffmpeg.
fn decode_lavfi(src: &str, w: u32, h: u32) -> Vec<RgbImage> {
    let raw = run_ok(ffmpeg().args(["-f", "lavfi", "-i", src, "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]));
    raw.chunks((w * h * 3) as usize).map(|c| RgbImage::from_raw(w, h, c.to_vec()).unwrap()).collect()
}

// ---- HDR -----------------------------------------------------------------------------------------

#[test]
fn issue11_hlg_and_pq_hdr_video_is_tone_mapped_to_sdr_bt709() {
    // An SDR picture (mid-grey, a red square, a dark grey square) made into 10-bit HEVC HDR the way
    // BT.2408 maps SDR into HDR (SDR white at 203 cd/m²), once HLG (iPhone) and once PQ (HDR10).
    // The output must be SDR BT.709 showing the SDR picture again, as an ordinary player would.
    let (w, h) = (320u32, 180u32);
    let sdr = format!(
        "color=c=0x808080:s={w}x{h}:r=10:d=0.5,format=yuv420p,drawbox=x=0:y=0:w=160:h=90:c=0xC03020:t=fill,\
         drawbox=x=160:y=90:w=160:h=90:c=0x404040:t=fill"
    );
    let want = decode_lavfi(&sdr, w, h).swap_remove(0);
    let patches = [(70, 35), (230, 35), (230, 125)]; // red, mid-grey, dark grey
    let dir = tempfile::tempdir().unwrap();
    for trc in ["arib-std-b67", "smpte2084"] {
        let input = dir.path().join(format!("hdr_{trc}.mov"));
        run_ok(
            ffmpeg()
                .args(["-f", "lavfi", "-i", &sdr, "-vf"])
                .arg(format!(
                    "zscale=tin=bt709:pin=bt709:min=bt709:rin=tv:t={trc}:p=bt2020:m=bt2020nc:r=tv:npl=203,format=yuv420p10le"
                ))
                .args(["-c:v", "libx265", "-x265-params", "log-level=error", "-tag:v", "hvc1"])
                .args(["-color_primaries", "bt2020", "-color_trc", trc, "-colorspace", "bt2020nc", "-color_range", "tv"])
                .arg(&input),
        );
        let src = ffprobe(&input);
        let v = streams(&src)[0].clone();
        assert_eq!((v["pix_fmt"].as_str(), v["color_transfer"].as_str()), (Some("yuv420p10le"), Some(trc)));
        // what a decoder that ignores HDR shows (unseen before issue 11): visibly wrong
        let naive = decode(&input).swap_remove(0);
        let grey = patch_mean(&naive, patches[1].0, patches[1].1, 20);
        assert!((grey[1] - 128.0).abs() > 12.0, "{trc}: the fixture is not HDR-coded: grey is {grey:?}");

        let out_dir = dir.path().join(format!("out-{trc}"));
        let r = run(default_pipeline(), &input, &out_dir);
        status_ok(&r);
        let output = out_dir.join(format!("hdr_{trc}.mp4"));
        let out = ffprobe(&output);
        let s = streams(&out)[0].clone();
        for (k, want) in [
            ("codec_name", "h264"),
            ("pix_fmt", "yuv420p"),
            ("color_range", "tv"),
            ("color_space", "bt709"),
            ("color_primaries", "bt709"),
            ("color_transfer", "bt709"),
        ] {
            assert_eq!(s[k].as_str(), Some(want), "{trc}: {k}");
        }
        let frames = decode(&output);
        assert_eq!(frames.len(), 5);
        for (i, &(x, y)) in patches.iter().enumerate() {
            let got = patch_mean(&frames[2], x, y, 20);
            let exp = patch_mean(&want, x, y, 20);
            let tol = if i == 0 { 24.0 } else { 6.0 };
            for (g, e) in got.iter().zip(exp) {
                assert!((g - e).abs() <= tol, "{trc}: patch {i} is {got:?}, the SDR picture's {exp:?}");
            }
            if i > 0 {
                let spread =
                    got.iter().copied().fold(f64::MIN, f64::max) - got.iter().copied().fold(f64::MAX, f64::min);
                assert!(spread < 4.0, "{trc}: grey patch {i} is tinted: {got:?}");
            }
        }
    }
}

// ---- timed metadata ------------------------------------------------------------------------------

/// Renames the sample entry and handler of a MOV's `tmcd` track to those of an Apple timed
/// metadata track (`mebx`, handler `meta`): ffmpeg 5.1 cannot write one, but reads the result as
/// a data stream tagged `mebx`, which is what a phone's metadata track looks like to it.
fn tmcd_to_mebx(path: &Path, out: &Path) {
    let mut b = std::fs::read(path).unwrap();
    let hdlr = b.windows(8).position(|w| w == b"mhlrtmcd").expect("tmcd handler");
    b[hdlr + 4..hdlr + 8].copy_from_slice(b"meta");
    let stsd =
        (0..b.len() - 20).find(|&i| &b[i..i + 4] == b"stsd" && &b[i + 16..i + 20] == b"tmcd").expect("tmcd entry");
    b[stsd + 16..stsd + 20].copy_from_slice(b"mebx");
    std::fs::write(out, b).unwrap();
}

#[test]
fn issue11_timecode_and_timed_metadata_tracks_are_dropped_and_the_clip_processed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tmcd = d.join("timecode.mov");
    run_ok(
        ffmpeg()
            .args(["-f", "lavfi", "-i", "testsrc2=s=320x180:r=10:d=1", "-f", "lavfi", "-i", "sine=d=1"])
            .args(["-c:v", "libx265", "-x265-params", "log-level=error", "-tag:v", "hvc1", "-c:a", "aac"])
            .args(["-timecode", "01:02:03:04"])
            .arg(&tmcd),
    );
    let mebx = d.join("timed_metadata.mov");
    tmcd_to_mebx(&tmcd, &mebx);
    for (input, tag) in [(&tmcd, "tmcd"), (&mebx, "mebx")] {
        let src = ffprobe(input);
        let data: Vec<&Value> = streams(&src).into_iter().filter(|s| s["codec_type"] == "data").collect();
        assert_eq!(data.len(), 1, "fixture has one data track: {src}");
        assert_eq!(data[0]["codec_tag_string"], tag);
        let name = input.file_name().unwrap().to_string_lossy().into_owned();
        for (audio, n) in [(Audio::Drop, 1), (Audio::Keep, 2)] {
            let out_dir = d.join(format!("out-{name}-{audio:?}"));
            let r = run(&pipeline_with(Options { audio, ..Options::default() }), input, &out_dir);
            status_ok(&r);
            let v = r.video.as_ref().unwrap();
            assert_eq!(v.frames, 10);
            assert_eq!(v.dropped_streams, 3 - n, "{v:?}");
            let output = out_dir.join(Path::new(&name).with_extension("mp4"));
            let kinds: Vec<String> =
                streams(&ffprobe(&output)).iter().map(|s| s["codec_type"].as_str().unwrap().to_owned()).collect();
            assert_eq!(kinds, &["video", "audio"][..n], "{name}");
            assert_same_pictures(input, &output);
        }
    }
}

// ---- Live Photos ---------------------------------------------------------------------------------

#[test]
fn issue11_live_photo_pair_gives_two_outputs_kept_apart() {
    // An iPhone Live Photo is IMG_0001.HEIC + IMG_0001.MOV: the photo becomes IMG_0001.jpg, the
    // video IMG_0001.mp4, never each other's name; two inputs that would map to one output are
    // refused.
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("DCIM");
    std::fs::create_dir_all(&folder).unwrap();
    run_ok(
        ffmpeg()
            .args(["-f", "lavfi", "-i", "testsrc2=s=320x180:r=10:d=1", "-f", "lavfi", "-i", "sine=d=1"])
            .args(["-c:v", "libx265", "-x265-params", "log-level=error", "-tag:v", "hvc1", "-c:a", "aac"])
            .arg(folder.join("IMG_0001.MOV")),
    );
    std::fs::copy(crate::common::testdata("good/canary.heic"), folder.join("IMG_0001.HEIC")).unwrap();
    std::fs::copy(folder.join("IMG_0001.MOV"), folder.join("IMG_0002.MOV")).unwrap();
    std::fs::copy(folder.join("IMG_0001.MOV"), folder.join("IMG_0002.mp4")).unwrap();
    let out = dir.path().join("out");
    let (jobs, errors) = unseen::inputs::collect_jobs(std::slice::from_ref(&folder), &out);
    let planned: Vec<(String, String)> = jobs
        .iter()
        .map(|j| {
            let n = |p: &Path| p.file_name().unwrap().to_string_lossy().into_owned();
            (n(&j.input), n(&j.output))
        })
        .collect();
    let pairs = |v: &[(&str, &str)]| v.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect::<Vec<_>>();
    assert_eq!(
        planned,
        pairs(&[("IMG_0001.HEIC", "IMG_0001.jpg"), ("IMG_0001.MOV", "IMG_0001.mp4"), ("IMG_0002.MOV", "IMG_0002.mp4")])
    );
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].1.to_string().contains("another input already maps to"), "{}", errors[0].1);
    for j in &jobs[..2] {
        let r = default_pipeline().run_job(j);
        status_ok(&r);
    }
    let mut written: Vec<String> =
        files_in(&out).iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    written.sort();
    assert_eq!(written, ["IMG_0001.jpg", "IMG_0001.mp4"]);
    assert_eq!(decode(&out.join("IMG_0001.mp4")).len(), 10);
    assert!(image::open(out.join("IMG_0001.jpg")).is_ok());
}

// ---- damaged phone files -------------------------------------------------------------------------

#[test]
fn issue11_truncated_and_corrupt_hevc_mov_and_truncated_mkv_fail_before_any_output() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let hevc = ["-c:v", "libx265", "-x265-params", "log-level=error", "-tag:v", "hvc1"];
    let src = ["-f", "lavfi", "-i", "testsrc2=s=320x180:r=10:d=2"];
    let (mov, fast, mkv) = (d.join("a.mov"), d.join("fast.mov"), d.join("a.mkv"));
    run_ok(ffmpeg().args(src).args(hevc).arg(&mov));
    run_ok(ffmpeg().args(src).args(hevc).args(["-movflags", "+faststart"]).arg(&fast));
    run_ok(ffmpeg().args(src).args(["-c:v", "libx264", "-preset", "veryfast", "-g", "20"]).arg(&mkv));
    let (mov, fast, mkv) = (std::fs::read(mov).unwrap(), std::fs::read(fast).unwrap(), std::fs::read(mkv).unwrap());
    let mdat = fast.windows(4).position(|w| w == b"mdat").unwrap();
    // bytes damaged in transfer (xorshift noise over a range of the sample data)
    let scramble = |from: usize, to: usize| {
        let mut c = fast.clone();
        let mut x = 0x2545_f491_u32;
        for b in &mut c[mdat + from..mdat + to] {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *b = x as u8;
        }
        c
    };
    let cases: [(&str, Vec<u8>, Option<&str>); 5] = [
        ("hevc_truncated_no_moov.mov", mov[..mov.len() / 2].to_vec(), None),
        ("hevc_truncated_data.mov", fast[..fast.len() * 2 / 3].to_vec(), Some("decode")),
        // NAL unit lengths broken: ffmpeg fails on its own
        ("hevc_corrupt.mov", scramble(3000, 9000), Some("decode")),
        // only slice data broken: the decoder would hide it, -err_detect explode makes it an error
        ("hevc_corrupt_slice.mov", scramble(1000, 1600), Some("decode")),
        ("truncated.mkv", mkv[..mkv.len() * 3 / 5].to_vec(), Some("decode")),
    ];
    for (name, data, stage) in cases {
        let input = d.join(name);
        std::fs::write(&input, data).unwrap();
        let out_dir = d.join(format!("out-{name}"));
        let r = run(default_pipeline(), &input, &out_dir);
        assert_eq!(r.status, Status::Error, "{name} must fail");
        let msg = r.error.clone().unwrap();
        assert!(msg.contains(name) && !msg.contains('\n'), "{name}: one line naming the file: {msg}");
        if let Some(stage) = stage {
            assert_eq!(r.stage, Some(stage), "{name}: {msg}");
        }
        if name.ends_with(".mkv") {
            assert!(msg.contains("truncated"), "{name}: refused before encoding, as truncated: {msg}");
        }
        assert!(files_in(&out_dir).is_empty(), "{name}: no output, no temp file: {:?}", files_in(&out_dir));
    }
}
