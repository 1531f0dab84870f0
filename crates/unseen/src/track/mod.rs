//! Temporal safety for video: per-frame detections are linked into tracks, and each frame is
//! covered by every track that is near it in time. Pure logic; no pixels, no I/O.
//!
//! * **Association.** A detection joins the track whose predicted box (last box moved by the
//!   track's velocity) it overlaps (IoU ≥ [`ASSOC_IOU`]) or whose predicted centre is within
//!   [`ASSOC_DIST`] box sizes, greedily by distance; otherwise it starts a new track. Tracks bridge
//!   gaps of up to `extend` missed frames.
//! * **Gaps.** A frame between two detections of one track gets the box interpolated between them,
//!   so a face found at t−1 and t+1 but missed at t is covered at t.
//! * **Outliers.** A detection that disagrees with the interpolation of its neighbours (IoU below
//!   [`OUTLIER_IOU`], e.g. a box found on half a face) is kept *and* the interpolation is added;
//!   detections much smaller than the track's usual box ([`PARTIAL_AREA`], [`PARTIAL_SIDE`]) are
//!   also covered as if missed, so runs of partial detections do not shrink the mask.
//! * **Extension.** For `extend` frames before a track's first and after its last detection, the
//!   frame gets the nearest box *and* that box moved along the track's velocity (a face entering
//!   or leaving fast stays covered).
//! * **Lookahead.** Frame t is final once frames up to t + `extend` were pushed
//!   ([`Tracker::ready`]); the caller keeps only that many frames in memory.

pub mod keyframe;

use std::collections::VecDeque;

use crate::geom::Rect;

/// Smallest IoU with the predicted box that links a detection to a track.
pub const ASSOC_IOU: f32 = 0.2;
/// Largest centre distance to the predicted box, in box sizes (the larger side), that links a
/// detection to a track.
pub const ASSOC_DIST: f32 = 1.0;
/// Velocities are clamped to this many box sizes per frame when extrapolating.
pub const MAX_SPEED: f32 = 1.5;
/// A detection overlapping the interpolation of its track's neighbours less than this also gets
/// that interpolation.
pub const OUTLIER_IOU: f32 = 0.6;
/// A detection smaller than this fraction of its track's median box area nearby counts as
/// partial: the frame is also covered as if it had been missed.
pub const PARTIAL_AREA: f32 = 0.6;
/// A detection narrower or shorter than this fraction of its track's median width or height
/// nearby also counts as partial (e.g. only the lower half of a face).
pub const PARTIAL_SIDE: f32 = 0.85;

#[derive(Debug, Clone)]
struct Track {
    /// Number of the track, in order of creation.
    id: usize,
    obs: VecDeque<(u64, Rect)>,
    /// Highest detection score so far.
    best: f32,
}

impl Track {
    fn last(&self) -> (u64, Rect) {
        *self.obs.back().expect("tracks have observations")
    }

    /// Centre velocity (px/frame) between observations `a` and `b` (a before b), clamped.
    fn velocity(a: (u64, Rect), b: (u64, Rect)) -> (f32, f32) {
        let dt = (b.0 - a.0) as f32;
        let (ax, ay) = a.1.center();
        let (bx, by) = b.1.center();
        let lim = MAX_SPEED * b.1.w.max(b.1.h);
        (((bx - ax) / dt).clamp(-lim, lim), ((by - ay) / dt).clamp(-lim, lim))
    }

    /// Velocity at the end of the track (zero with a single observation).
    fn end_velocity(&self) -> (f32, f32) {
        let n = self.obs.len();
        if n < 2 {
            (0.0, 0.0)
        } else {
            Self::velocity(self.obs[n - 2], self.obs[n - 1])
        }
    }

    fn predict(&self, frame: u64) -> Rect {
        let (f, r) = self.last();
        let (vx, vy) = self.end_velocity();
        moved(r, vx * (frame - f) as f32, vy * (frame - f) as f32)
    }
}

fn moved(r: Rect, dx: f32, dy: f32) -> Rect {
    Rect { x: r.x + dx, y: r.y + dy, ..r }
}

fn lerp(a: Rect, b: Rect, t: f32) -> Rect {
    let l = |p: f32, q: f32| p + (q - p) * t;
    Rect { x: l(a.x, b.x), y: l(a.y, b.y), w: l(a.w, b.w), h: l(a.h, b.h) }
}

/// Whether detection `d` can continue a track whose predicted box is `p`: overlap or nearby
/// centre, and a similar size. Returns the centre distance in box sizes (smaller is better).
#[must_use]
pub fn association(p: &Rect, d: &Rect) -> Option<f32> {
    let (px, py) = p.center();
    let (dx, dy) = d.center();
    let size = d.w.max(d.h).max(p.w.max(p.h)).max(1.0);
    let dist = ((px - dx).powi(2) + (py - dy).powi(2)).sqrt() / size;
    let ratio = (d.w * d.h / (p.w * p.h).max(1e-6)).sqrt();
    ((p.iou(d) >= ASSOC_IOU || dist <= ASSOC_DIST) && (0.5..=2.0).contains(&ratio)).then_some(dist)
}

/// The boxes that one track's observations (sorted, none after `frame + extend`) give `frame`.
fn cover(obs: &[(u64, Rect)], frame: u64, extend: u64, out: &mut Vec<Rect>) {
    let after = obs.partition_point(|o| o.0 < frame);
    let next = obs.get(after).copied();
    let prev = after.checked_sub(1).map(|i| obs[i]);
    if let Some(n) = next.filter(|n| n.0 == frame) {
        out.push(n.1);
        if let (Some(p), Some(&m)) = (prev, obs.get(after + 1)) {
            if m.0 - p.0 <= 2 * (extend + 1) {
                let between = lerp(p.1, m.1, (frame - p.0) as f32 / (m.0 - p.0) as f32);
                if between.iou(&n.1) < OUTLIER_IOU {
                    out.push(between);
                }
            }
        }
        return;
    }
    if let (Some(p), Some(n)) = (prev, next) {
        if n.0 - p.0 <= extend + 1 {
            out.push(lerp(p.1, n.1, (frame - p.0) as f32 / (n.0 - p.0) as f32));
            return;
        }
    }
    if let Some(p) = prev.filter(|p| frame - p.0 <= extend) {
        // a velocity from just two detections, or from two of different sizes (a partial box),
        // is mostly noise: extrapolate only tracks seen at least three times, ending steadily
        let steady = after >= 3 && {
            let ratio = p.1.area() / obs[after - 2].1.area().max(1e-6);
            (0.7..=1.4).contains(&ratio)
        };
        let (vx, vy) = if steady { Track::velocity(obs[after - 2], p) } else { (0.0, 0.0) };
        let k = (frame - p.0) as f32;
        out.push(p.1);
        if vx != 0.0 || vy != 0.0 {
            out.push(moved(p.1, vx * k, vy * k));
        }
    }
    if let Some(n) = next.filter(|n| n.0 - frame <= extend) {
        let (vx, vy) = obs.get(after + 1).map_or((0.0, 0.0), |&m| Track::velocity(n, m));
        let k = (n.0 - frame) as f32;
        out.push(n.1);
        if vx != 0.0 || vy != 0.0 {
            out.push(moved(n.1, -vx * k, -vy * k));
        }
    }
}

/// Where a live track is expected in the next frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Predicted {
    /// The predicted box (last box moved by the track's velocity).
    pub rect: Rect,
    /// Frames since its last detection (1: the previous frame).
    pub ago: u64,
    /// Detections of the track still held (at least the last few).
    pub detections: usize,
    /// The highest score among all its detections.
    pub best: f32,
}

/// Links detections across frames and answers which boxes cover each frame.
#[derive(Debug, Clone)]
pub struct Tracker {
    extend: u64,
    pushed: u64,
    finished: bool,
    live: Vec<Track>,
    done: Vec<Track>,
    count: usize,
}

impl Tracker {
    /// A tracker that extends tracks by `extend` frames each way and bridges gaps of that many
    /// missed frames.
    #[must_use]
    pub fn new(extend: u32) -> Tracker {
        Tracker { extend: u64::from(extend), pushed: 0, finished: false, live: Vec::new(), done: Vec::new(), count: 0 }
    }

    /// Number of tracks started so far.
    #[must_use]
    pub fn tracks(&self) -> usize {
        self.count
    }

    /// Number of frames pushed so far.
    #[must_use]
    pub fn frames(&self) -> u64 {
        self.pushed
    }

    /// Adds the detections of the next frame (frames are numbered 0, 1, 2, … in push order).
    pub fn push(&mut self, dets: &[Rect]) {
        let scored: Vec<(Rect, f32)> = dets.iter().map(|&r| (r, 1.0)).collect();
        let _ = self.push_scored(&scored);
    }

    /// [`Tracker::push`] with each detection's score (kept per track: see [`Predicted::best`]).
    /// Returns, per detection, the number of the track it joined or started (tracks are
    /// numbered 0, 1, 2, … in order of creation).
    pub fn push_scored(&mut self, scored: &[(Rect, f32)]) -> Vec<usize> {
        let dets: Vec<Rect> = scored.iter().map(|d| d.0).collect();
        let frame = self.pushed;
        self.pushed += 1;
        // tracks that can no longer be continued stop being candidates
        let max_gap = self.extend + 1;
        let (live, ended): (Vec<Track>, Vec<Track>) =
            std::mem::take(&mut self.live).into_iter().partition(|t| frame - t.last().0 <= max_gap);
        self.live = live;
        self.done.extend(ended);
        let mut pairs = Vec::new();
        for (ti, t) in self.live.iter().enumerate() {
            let p = t.predict(frame);
            for (di, d) in dets.iter().enumerate() {
                if let Some(dist) = association(&p, d) {
                    pairs.push((dist, ti, di));
                }
            }
        }
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut used_t = vec![false; self.live.len()];
        let mut used_d = vec![false; dets.len()];
        let mut ids = vec![0; dets.len()];
        for (_, ti, di) in pairs {
            if !used_t[ti] && !used_d[di] {
                used_t[ti] = true;
                used_d[di] = true;
                ids[di] = self.live[ti].id;
                self.live[ti].obs.push_back((frame, dets[di]));
                self.live[ti].best = self.live[ti].best.max(scored[di].1);
            }
        }
        for (di, d) in dets.iter().enumerate() {
            if !used_d[di] {
                ids[di] = self.count;
                self.live.push(Track { id: self.count, obs: VecDeque::from([(frame, *d)]), best: scored[di].1 });
                self.count += 1;
            }
        }
        ids
    }

    /// The boxes predicted for the next frame to push, of the tracks last detected at most
    /// `within` frames before it.
    #[must_use]
    pub fn predicted(&self, within: u64) -> Vec<Predicted> {
        let frame = self.pushed;
        self.live
            .iter()
            .filter(|t| frame - t.last().0 <= within)
            .map(|t| Predicted {
                rect: t.predict(frame),
                ago: frame - t.last().0,
                detections: t.obs.len(),
                best: t.best,
            })
            .collect()
    }

    /// Marks the end of the video: every pushed frame becomes ready.
    pub fn finish(&mut self) {
        self.finished = true;
    }

    /// Whether `frame` can be finalised: every detection that may affect it is known.
    #[must_use]
    pub fn ready(&self, frame: u64) -> bool {
        frame < self.pushed && (self.finished || frame + self.extend < self.pushed)
    }

    /// The boxes covering `frame`: detections, interpolations across gaps, and extensions.
    /// Only detections up to `frame + extend` are used, so the answer does not depend on when
    /// it is asked once the frame is [`ready`](Tracker::ready).
    #[must_use]
    pub fn boxes(&self, frame: u64) -> Vec<Rect> {
        let horizon = frame + self.extend;
        let recent = frame.saturating_sub(self.extend + 1);
        let mut out = Vec::new();
        for t in self.live.iter().chain(&self.done) {
            let obs: Vec<(u64, Rect)> = t.obs.iter().copied().filter(|o| o.0 <= horizon).collect();
            if obs.is_empty() {
                continue;
            }
            cover(&obs, frame, self.extend, &mut out);
            // Partial detections (much smaller than the track's usual box around this frame, e.g.
            // only a chin under a hand): also cover the frame as if they had been missed.
            let near: Vec<Rect> = obs.iter().filter(|o| o.0 >= recent).map(|o| o.1).collect();
            if near.len() >= 3 {
                let median = |f: fn(&Rect) -> f32| {
                    let mut v: Vec<f32> = near.iter().map(f).collect();
                    v.sort_by(f32::total_cmp);
                    v[v.len() / 2]
                };
                let (ma, mw, mh) = (median(Rect::area), median(|r| r.w), median(|r| r.h));
                let whole =
                    |r: &Rect| r.area() >= PARTIAL_AREA * ma && r.w >= PARTIAL_SIDE * mw && r.h >= PARTIAL_SIDE * mh;
                let full: Vec<(u64, Rect)> = obs.iter().copied().filter(|o| whole(&o.1)).collect();
                if !full.is_empty() && full.len() < obs.len() {
                    let mut extra = Vec::new();
                    cover(&full, frame, self.extend, &mut extra);
                    out.extend(extra.into_iter().filter(|b| !out.contains(b)).collect::<Vec<_>>());
                }
            }
        }
        out
    }

    /// Forgets what no frame after `frame` can need (call after finalising `frame`).
    pub fn forget_before(&mut self, frame: u64) {
        let keep_from = frame.saturating_sub(self.extend + 2);
        self.done.retain(|t| t.last().0 + self.extend + 1 >= frame);
        for t in &mut self.live {
            while t.obs.len() > 2 && t.obs[1].0 < keep_from {
                t.obs.pop_front();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(x: f32, y: f32) -> Rect {
        Rect { x, y, w: 40.0, h: 50.0 }
    }

    fn covers(boxes: &[Rect], truth: Rect) -> bool {
        // every corner of the true box lies in some box
        let corners = [(truth.x, truth.y), (truth.x2(), truth.y), (truth.x, truth.y2()), (truth.x2(), truth.y2())];
        corners.iter().all(|&(cx, cy)| {
            boxes.iter().any(|b| cx >= b.x - 0.5 && cx <= b.x2() + 0.5 && cy >= b.y - 0.5 && cy <= b.y2() + 0.5)
        })
    }

    /// Runs a stream of per-frame detections through the tracker like the pipeline does
    /// (finalising each frame as soon as it is ready) and returns the boxes per frame.
    fn run(extend: u32, frames: &[Vec<Rect>]) -> (Vec<Vec<Rect>>, usize) {
        let mut t = Tracker::new(extend);
        let mut out = Vec::new();
        for d in frames {
            t.push(d);
            while t.ready(out.len() as u64) {
                out.push(t.boxes(out.len() as u64));
                t.forget_before(out.len() as u64);
            }
        }
        t.finish();
        while t.ready(out.len() as u64) {
            out.push(t.boxes(out.len() as u64));
        }
        (out, t.tracks())
    }

    #[test]
    fn a_missed_frame_is_interpolated() {
        let truth: Vec<Rect> = (0..10).map(|i| r(10.0 + 8.0 * i as f32, 20.0)).collect();
        let dets: Vec<Vec<Rect>> =
            truth.iter().enumerate().map(|(i, &b)| if i == 5 { vec![] } else { vec![b] }).collect();
        let (boxes, tracks) = run(3, &dets);
        assert_eq!(tracks, 1);
        assert_eq!(boxes.len(), 10);
        assert_eq!(boxes[5].len(), 1);
        assert!((boxes[5][0].x - truth[5].x).abs() < 1e-3, "{:?}", boxes[5]);
    }

    #[test]
    fn a_fast_face_with_gaps_stays_covered() {
        // 60 px/frame, wider than the box: IoU between frames is 0
        let truth: Vec<Rect> = (0..20).map(|i| r(5.0 + 30.0 * i as f32, 10.0 + 2.0 * i as f32)).collect();
        let missed = [0usize, 7, 8, 13, 19];
        let dets: Vec<Vec<Rect>> =
            truth.iter().enumerate().map(|(i, &b)| if missed.contains(&i) { vec![] } else { vec![b] }).collect();
        let (boxes, tracks) = run(3, &dets);
        assert_eq!(tracks, 1, "one face, one track");
        for (i, t) in truth.iter().enumerate() {
            assert!(covers(&boxes[i], *t), "frame {i} leaked: {:?} vs {t:?}", boxes[i]);
        }
    }

    #[test]
    fn a_detection_on_part_of_the_face_also_gets_the_neighbours_box() {
        let truth: Vec<Rect> = (0..7).map(|i| r(10.0 + 10.0 * i as f32, 20.0)).collect();
        let mut dets: Vec<Vec<Rect>> = truth.iter().map(|&b| vec![b]).collect();
        // frame 3: only the lower half of the face was found
        dets[3] = vec![Rect { y: truth[3].y + 25.0, h: 25.0, ..truth[3] }];
        let (boxes, tracks) = run(3, &dets);
        assert_eq!(tracks, 1);
        assert!(covers(&boxes[3], truth[3]), "{:?}", boxes[3]);
        assert_eq!(boxes[2], vec![truth[2]], "agreeing detections get no extra box");
    }

    #[test]
    fn runs_of_partial_detections_are_covered_like_misses() {
        let truth: Vec<Rect> = (0..10).map(|i| r(10.0 + 6.0 * i as f32, 20.0)).collect();
        let mut dets: Vec<Vec<Rect>> = truth.iter().map(|&b| vec![b]).collect();
        for i in [4, 5] {
            dets[i] = vec![Rect { y: truth[i].y + 30.0, h: 20.0, ..truth[i] }]; // just the chin
        }
        let (boxes, tracks) = run(3, &dets);
        assert_eq!(tracks, 1);
        for i in 0..10 {
            assert!(covers(&boxes[i], truth[i]), "frame {i}: {:?}", boxes[i]);
        }
    }

    #[test]
    fn extension_stops_after_extend_frames() {
        let mut dets = vec![vec![]; 12];
        dets[5] = vec![r(100.0, 100.0)];
        let (boxes, _) = run(2, &dets);
        let covered: Vec<usize> = (0..12).filter(|&i| !boxes[i].is_empty()).collect();
        assert_eq!(covered, vec![3, 4, 5, 6, 7]);
    }

    #[test]
    fn two_faces_make_two_tracks_and_gaps_beyond_extend_split_tracks() {
        let dets: Vec<Vec<Rect>> = (0..6).map(|i| vec![r(10.0 + i as f32, 10.0), r(300.0, 200.0 + i as f32)]).collect();
        assert_eq!(run(2, &dets).1, 2);
        let mut gap = vec![vec![r(10.0, 10.0)]; 3];
        gap.extend(vec![vec![]; 6]);
        gap.push(vec![r(10.0, 10.0)]);
        let (boxes, tracks) = run(2, &gap);
        assert_eq!(tracks, 2);
        assert!(boxes[5].is_empty(), "frames 3+2 .. 9-2 are outside every extension");
        assert!(!boxes[4].is_empty() && !boxes[7].is_empty());
    }

    #[test]
    fn answers_do_not_depend_on_lookahead_beyond_extend() {
        let dets: Vec<Vec<Rect>> =
            (0..15).map(|i| if i % 4 == 0 { vec![] } else { vec![r(3.0 * i as f32, 0.0)] }).collect();
        let (streamed, _) = run(3, &dets);
        let mut all = Tracker::new(3);
        for d in &dets {
            all.push(d);
        }
        all.finish();
        for (i, b) in streamed.iter().enumerate() {
            assert_eq!(*b, all.boxes(i as u64), "frame {i}");
        }
    }
}
