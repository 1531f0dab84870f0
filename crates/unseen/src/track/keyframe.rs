//! Keyframe scheduling for video: which frames get a full detection and which only a detection
//! in windows around the faces already being tracked. Pure logic; no pixels beyond a thumbnail.
//!
//! A frame gets a **full detection** (every pass of the preset over the whole frame) when
//! * it is the first frame, or `interval` frames have passed since the last full detection;
//! * its thumbnail differs from the previous frame's by more than [`CHANGE_DIFF`] levels (a scene
//!   cut, or camera or subject motion too fast to trust the tracks);
//! * a face tracked into this frame was not found again inside its window ([`Reason::Lost`]:
//!   decided by the caller after the window detection, which then runs the full detection on
//!   the same frame).
//!
//! Other frames are detected only inside windows around the predicted boxes of live tracks
//! (see [`windows`]): at the full detection's finest scale, or smaller for large faces (a face
//! is shown to the network at most [`WINDOW_FACE`] px tall, where CenterFace is at its most
//! reliable). A face that appears
//! between two keyframes is found at the next one, at most `interval - 1` frames later; the
//! tracker's backward extension (`extend ≥ interval - 1` frames, checked by
//! [`crate::Options::validate`]) then covers the frames before, along the face's velocity.

use image::RgbImage;

use crate::geom::Rect;

/// Thumbnail width used to compare frames.
pub const THUMB_W: u32 = 64;
/// Thumbnail height used to compare frames.
pub const THUMB_H: u32 = 36;
/// Mean absolute difference between consecutive thumbnails (8-bit levels) above which a frame
/// gets a full detection: a scene cut, a fast pan, a large subject moving fast.
pub const CHANGE_DIFF: f32 = 10.0;
/// A window extends this many times the predicted box's larger side around its centre
/// (before rounding up to a [`WINDOW_SIDES`] bucket).
pub const WINDOW_FACTOR: f32 = 2.0;
/// Window sides (in the pass's scaled pixels) are rounded up to one of these, so the inference
/// engine sees a handful of tensor shapes (tract optimises a plan per shape).
pub const WINDOW_SIDES: &[u32] = &[96, 128, 192, 256, 384, 512, 768, 1024];
/// Largest face side (scaled pixels) a window shows the network; larger faces are scaled down.
pub const WINDOW_FACE: f32 = 64.0;
/// Fixed cost of one window inference, in scaled pixels (small tensors run less efficiently:
/// measured with onnxruntime, a 128×128 window costs what ~30k pixels of a 720p frame do).
pub const WINDOW_OVERHEAD: f32 = 16_000.0;
/// When the windows of a frame would cost more than this share of the finest full pass, a full
/// detection is run instead.
pub const MAX_WINDOW_SHARE: f32 = 0.3;

/// Two windows are merged only while the merged one stays at most this many scaled pixels on a
/// side (the largest of [`WINDOW_SIDES`]): a row of faces across a crowd would otherwise become
/// one strip as wide as the photo, and a tensor as wide as it.
pub const MAX_WINDOW_SIDE: u32 = WINDOW_SIDES[WINDOW_SIDES.len() - 1];

/// A face may be detected in a window whose scale is down to this fraction of its own.
pub const SCALE_SLACK: f32 = 0.75;

/// One detection window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// Where, in source pixels (inside the frame).
    pub rect: Rect,
    /// Scale at which the network sees it (at most the finest pass's).
    pub scale: f32,
}

impl Window {
    /// Estimated inference cost in scaled pixels (with [`WINDOW_OVERHEAD`]).
    #[must_use]
    pub fn cost(&self) -> f32 {
        self.rect.area() * self.scale * self.scale + WINDOW_OVERHEAD
    }
}

/// Why a frame got a full detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The first frame.
    First,
    /// `interval` frames since the last full detection.
    Interval,
    /// The picture changed too much since the previous frame (cut or fast motion).
    Change,
    /// A tracked face was not found in its window.
    Lost,
    /// The windows would cover most of the frame.
    Crowded,
}

/// What to run on a frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Every pass over the whole frame.
    Full(Reason),
    /// Only inside these windows; empty when nothing is tracked.
    Windows(Vec<Window>),
}

/// A small grey thumbnail of a frame (area average), for change detection.
#[derive(Debug, Clone, PartialEq)]
pub struct Thumb(Vec<u8>);

impl Thumb {
    /// The [`THUMB_W`]×[`THUMB_H`] grey thumbnail of `img` (mean of each cell's pixels,
    /// sampled on a grid of at most 8×8 points per cell, which is plenty to see a cut).
    #[must_use]
    pub fn of(img: &RgbImage) -> Thumb {
        let (w, h) = img.dimensions();
        let mut out = Vec::with_capacity((THUMB_W * THUMB_H) as usize);
        for ty in 0..THUMB_H {
            let (y0, y1) = (ty * h / THUMB_H, ((ty + 1) * h / THUMB_H).max(ty * h / THUMB_H + 1).min(h));
            for tx in 0..THUMB_W {
                let (x0, x1) = (tx * w / THUMB_W, ((tx + 1) * w / THUMB_W).max(tx * w / THUMB_W + 1).min(w));
                let (sy, sx) = (((y1 - y0) / 8).max(1), ((x1 - x0) / 8).max(1));
                let (mut sum, mut n) = (0u32, 0u32);
                for y in (y0..y1).step_by(sy as usize) {
                    for x in (x0..x1).step_by(sx as usize) {
                        let p = img.get_pixel(x, y).0;
                        sum += (u32::from(p[0]) * 77 + u32::from(p[1]) * 150 + u32::from(p[2]) * 29) >> 8;
                        n += 1;
                    }
                }
                out.push((sum / n.max(1)) as u8);
            }
        }
        Thumb(out)
    }

    /// Mean absolute difference to another thumbnail, in 8-bit levels.
    #[must_use]
    pub fn difference(&self, other: &Thumb) -> f32 {
        let total: u32 = self.0.iter().zip(&other.0).map(|(a, b)| u32::from(a.abs_diff(*b))).sum();
        total as f32 / self.0.len().max(1) as f32
    }
}

/// Decides, frame by frame, between a full detection and windows around tracked faces.
#[derive(Debug, Clone)]
pub struct Scheduler {
    interval: u32,
    since_full: u32,
    previous: Option<Thumb>,
    fulls: u64,
}

impl Scheduler {
    /// At most `interval` frames from one full detection to the next (1: every frame).
    #[must_use]
    pub fn new(interval: u32) -> Scheduler {
        Scheduler { interval: interval.max(1), since_full: 0, previous: None, fulls: 0 }
    }

    /// Frames that got a full detection so far.
    #[must_use]
    pub fn full_detections(&self) -> u64 {
        self.fulls
    }

    /// Plans the next frame of size `w`×`h` from its thumbnail and the predicted boxes of the
    /// live tracks. `scale` is the full detection's finest pass's scale.
    pub fn plan(&mut self, thumb: Thumb, predicted: &[Rect], (w, h): (u32, u32), scale: f32) -> Plan {
        let change = self.previous.as_ref().map(|p| p.difference(&thumb));
        self.previous = Some(thumb);
        let reason = match change {
            None => Some(Reason::First),
            Some(_) if self.since_full + 1 >= self.interval => Some(Reason::Interval),
            Some(d) if d > CHANGE_DIFF => Some(Reason::Change),
            Some(_) => None,
        };
        if let Some(r) = reason {
            return self.full(r);
        }
        let wins = windows(predicted, (w, h), scale);
        let cost: f32 = wins.iter().map(Window::cost).sum();
        if cost > MAX_WINDOW_SHARE * w as f32 * h as f32 * scale * scale {
            return self.full(Reason::Crowded);
        }
        self.since_full += 1;
        Plan::Windows(wins)
    }

    /// Records that the caller ran a full detection on the current frame after all (a tracked
    /// face was lost in its window).
    pub fn lost(&mut self) -> Plan {
        self.fulls += 1;
        self.since_full = 0;
        Plan::Full(Reason::Lost)
    }

    fn full(&mut self, r: Reason) -> Plan {
        self.fulls += 1;
        self.since_full = 0;
        Plan::Full(r)
    }
}

/// The detection windows for predicted boxes in a `w`×`h` frame. Each box gets the scale
/// `min(scale, WINDOW_FACE / side)` and a window around its centre of [`WINDOW_FACTOR`] × its
/// larger side, rounded up in scaled pixels to a [`WINDOW_SIDES`] bucket, moved inside the frame
/// and cut to it. A box well inside the window of a larger box at a similar scale
/// ([`SCALE_SLACK`]) gets none of its own, and two windows at similar scales are replaced by one
/// around both (at the smaller scale) when that one is no larger than the two together and no
/// side of it exceeds [`MAX_WINDOW_SIDE`].
#[must_use]
pub fn windows(predicted: &[Rect], (w, h): (u32, u32), scale: f32) -> Vec<Window> {
    // the bucketed window at scale s centred on (cx, cy) that holds a span of sw×sh
    let place = |cx: f32, cy: f32, sw: f32, sh: f32, s: f32| -> Window {
        let bucket = |side: f32, limit: u32| -> f32 {
            let scaled = side * s;
            let b = WINDOW_SIDES.iter().copied().find(|&v| v as f32 >= scaled).unwrap_or(scaled.ceil() as u32);
            (b as f32 / s).min(limit as f32).floor()
        };
        let (ww, wh) = (bucket(sw, w), bucket(sh, h));
        let x = (cx - ww / 2.0).clamp(0.0, w as f32 - ww).floor();
        let y = (cy - wh / 2.0).clamp(0.0, h as f32 - wh).floor();
        Window { rect: Rect { x, y, w: ww, h: wh }, scale: s }
    };
    let mut boxes = predicted.to_vec();
    boxes.sort_by(|a, b| b.area().total_cmp(&a.area()));
    let mut out: Vec<Window> = Vec::new();
    for p in boxes {
        let side = p.w.max(p.h).max(1.0);
        let s = scale.min(WINDOW_FACE / side);
        // a box well inside a window already planned at this scale needs none of its own
        let need = p.enlarged(1.5);
        let held = |o: &Window| {
            let r = o.rect;
            o.scale >= SCALE_SLACK * s && r.x <= need.x && r.y <= need.y && r.x2() >= need.x2() && r.y2() >= need.y2()
        };
        if out.iter().any(held) {
            continue;
        }
        let (cx, cy) = p.center();
        let win = place(cx, cy, side * WINDOW_FACTOR, side * WINDOW_FACTOR, s);
        if win.rect.w >= 1.0 && win.rect.h >= 1.0 {
            out.push(win);
        }
    }
    'merge: loop {
        for i in 0..out.len() {
            for j in i + 1..out.len() {
                let (a, b) = (out[i], out[j]);
                let s = a.scale.min(b.scale);
                if s < SCALE_SLACK * a.scale.max(b.scale) {
                    continue;
                }
                let (a, b) = (a.rect, b.rect);
                let (x1, y1) = (a.x.min(b.x), a.y.min(b.y));
                let (x2, y2) = (a.x2().max(b.x2()), a.y2().max(b.y2()));
                let u = place((x1 + x2) / 2.0, (y1 + y2) / 2.0, x2 - x1, y2 - y1, s);
                let r = u.rect;
                let holds = r.x <= x1 && r.y <= y1 && r.x2() >= x2 && r.y2() >= y2;
                let bounded = r.w.max(r.h) * s <= MAX_WINDOW_SIDE as f32;
                if holds && bounded && r.area() <= a.area() + b.area() {
                    out[i] = u;
                    out.swap_remove(j);
                    continue 'merge;
                }
            }
        }
        return out;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(v: u8) -> RgbImage {
        RgbImage::from_pixel(320, 180, image::Rgb([v, v, v]))
    }

    fn face() -> Rect {
        Rect { x: 100.0, y: 50.0, w: 40.0, h: 50.0 }
    }

    #[test]
    fn full_detections_come_every_interval_frames_on_a_still_scene() {
        let mut s = Scheduler::new(4);
        let plans: Vec<Plan> = (0..9).map(|_| s.plan(Thumb::of(&flat(100)), &[face()], (1280, 720), 1.0)).collect();
        let full: Vec<usize> = plans.iter().enumerate().filter(|p| matches!(p.1, Plan::Full(_))).map(|p| p.0).collect();
        assert_eq!(full, vec![0, 4, 8]);
        assert_eq!(plans[0], Plan::Full(Reason::First));
        assert_eq!(plans[4], Plan::Full(Reason::Interval));
        assert_eq!(s.full_detections(), 3);
        let Plan::Windows(w) = &plans[1] else { panic!() };
        assert_eq!(w.len(), 1);
        let (r, f) = (w[0].rect, face());
        assert!(r.x <= f.x && r.x2() >= f.x2() && r.y <= f.y && r.y2() >= f.y2());
    }

    #[test]
    fn interval_one_detects_every_frame() {
        let mut s = Scheduler::new(1);
        for _ in 0..5 {
            assert!(matches!(s.plan(Thumb::of(&flat(9)), &[face()], (320, 180), 1.0), Plan::Full(_)));
        }
    }

    #[test]
    fn a_cut_or_fast_change_forces_a_full_detection() {
        let mut s = Scheduler::new(30);
        assert_eq!(s.plan(Thumb::of(&flat(100)), &[], (320, 180), 1.0), Plan::Full(Reason::First));
        assert_eq!(s.plan(Thumb::of(&flat(104)), &[], (320, 180), 1.0), Plan::Windows(vec![]));
        assert_eq!(s.plan(Thumb::of(&flat(200)), &[], (320, 180), 1.0), Plan::Full(Reason::Change));
        assert_eq!(s.plan(Thumb::of(&flat(200)), &[], (320, 180), 1.0), Plan::Windows(vec![]));
        assert_eq!(s.lost(), Plan::Full(Reason::Lost));
        assert_eq!(s.full_detections(), 3);
    }

    #[test]
    fn windows_are_bucketed_inside_the_frame_and_crowds_go_full() {
        let rects = |w: Vec<Window>| w.iter().map(|w| w.rect).collect::<Vec<_>>();
        let w = windows(&[Rect { x: -10.0, y: 150.0, w: 30.0, h: 40.0 }], (320, 180), 1.0);
        assert_eq!(w, vec![Window { rect: Rect { x: 0.0, y: 84.0, w: 96.0, h: 96.0 }, scale: 1.0 }]);
        // at scale 0.5 the 96 bucket is 192 source pixels, cut to the frame's height
        let w = windows(&[Rect { x: 100.0, y: 50.0, w: 20.0, h: 25.0 }], (320, 180), 0.5);
        assert_eq!((w[0].rect.w, w[0].rect.h, w[0].scale), (192.0, 180.0, 0.5));
        // a large face is scaled down to WINDOW_FACE: a 200 px face gets a 400 px window at 0.32
        let w = windows(&[Rect { x: 400.0, y: 300.0, w: 160.0, h: 200.0 }], (1920, 1080), 1.0);
        assert!((w[0].scale - 0.32).abs() < 1e-6, "{w:?}");
        assert_eq!((w[0].rect.w, w[0].rect.h), (400.0, 400.0));
        // a small box well inside a window gets none of its own
        let w = windows(&[face(), Rect { x: 110.0, y: 60.0, w: 10.0, h: 10.0 }], (1000, 1000), 1.0);
        assert_eq!(rects(w), vec![Rect { x: 56.0, y: 11.0, w: 128.0, h: 128.0 }]);
        // side by side at one scale: one window when that is cheaper; distant ones stay apart
        let small = Rect { x: 100.0, y: 50.0, w: 20.0, h: 25.0 };
        let w = windows(&[small, Rect { x: 150.0, ..small }], (1000, 1000), 1.0);
        assert_eq!(rects(w), vec![Rect { x: 39.0, y: 14.0, w: 192.0, h: 96.0 }], "two side by side share one");
        let w = windows(&[small, Rect { x: 700.0, y: 600.0, ..small }], (1000, 1000), 1.0);
        assert_eq!(w.len(), 2);
        let mut s = Scheduler::new(8);
        s.plan(Thumb::of(&flat(1)), &[], (320, 180), 1.0);
        let many: Vec<Rect> = (0..4).map(|i| Rect { x: 10.0 + 70.0 * i as f32, y: 20.0, w: 30.0, h: 40.0 }).collect();
        assert_eq!(s.plan(Thumb::of(&flat(1)), &many, (320, 180), 1.0), Plan::Full(Reason::Crowded));
    }

    #[test]
    fn a_row_of_faces_across_a_photo_is_not_merged_into_one_strip() {
        // 60 faces 12×15 px, 50 px apart, in one row across a 4000 px photo
        let row: Vec<Rect> = (0..60).map(|i| Rect { x: 100.0 + 50.0 * i as f32, y: 40.0, w: 12.0, h: 15.0 }).collect();
        for scale in [1.0, 0.5] {
            let w = windows(&row, (4000, 3000), scale);
            assert!(w.iter().all(|v| v.rect.w.max(v.rect.h) * v.scale <= MAX_WINDOW_SIDE as f32), "{w:?}");
            // still merged into a few windows, and every face lies well inside one of them
            assert!(w.len() < 20, "{} windows", w.len());
            for f in &row {
                let (cx, cy) = f.center();
                assert!(
                    w.iter().any(|v| v.rect.contains(cx, cy)
                        && v.rect.contains(f.x, f.y)
                        && v.rect.contains(f.x2() - 0.5, f.y2() - 0.5)),
                    "{f:?}"
                );
            }
        }
    }
}
