//! The plan: the one object between detection and rendering.
//!
//! For each input it holds what the detector found (every detection, before any decision) and
//! what a person decided ([`ManualRegions`]: boxes added, detections excluded by `ignore` boxes,
//! optionally per frame range), and from those two it answers exactly which regions are obscured
//! (per frame for video). The CLI's pipeline, the review server and any other front end build a
//! plan and render it; none of them decides by itself what gets obscured.
//!
//! * Images: [`ImagePlan`].
//! * Videos, streamed frame by frame with bounded memory (the CLI): [`VideoPlanner`].
//! * Videos held whole (the review page, which shows any frame and the face tracks):
//!   [`VideoPlan`], which runs the same [`VideoPlanner`] over stored detections.

use serde::Serialize;

use crate::detect::Detection;
use crate::geom::Rect;
use crate::obscure::Region;
use crate::options::{Options, Shape};
use crate::regions::ManualRegions;
use crate::track::Tracker;

/// How a detection and a manual box become regions: the detection's box enlarged by the margin
/// with the configured shape; manual boxes exactly as given, as boxes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RegionRule {
    /// See [`Options::margin`].
    pub margin: f32,
    /// See [`Options::shape`].
    pub shape: Shape,
}

impl RegionRule {
    /// The rule of these options.
    #[must_use]
    pub fn of(options: &Options) -> RegionRule {
        RegionRule { margin: options.margin, shape: options.shape }
    }

    /// The regions for faces (margin applied) and manual boxes (as given).
    #[must_use]
    pub fn regions(&self, faces: &[Rect], manual: impl IntoIterator<Item = Rect>) -> Vec<Region> {
        faces
            .iter()
            .map(|r| Region { rect: r.enlarged(self.margin), shape: self.shape })
            .chain(manual.into_iter().map(|rect| Region { rect, shape: Shape::Box }))
            .collect()
    }
}

/// The plan for one image.
#[derive(Debug, Clone, PartialEq)]
pub struct ImagePlan {
    /// Every detection, before decisions.
    pub detected: Vec<Detection>,
    /// The decisions for this input.
    pub manual: ManualRegions,
}

impl ImagePlan {
    /// A plan from detections and decisions.
    #[must_use]
    pub fn new(detected: Vec<Detection>, manual: ManualRegions) -> ImagePlan {
        ImagePlan { detected, manual }
    }

    /// Whether detection `i` is excluded (its centre lies in an ignore box).
    #[must_use]
    pub fn is_excluded(&self, d: &Detection) -> bool {
        self.manual.ignores(&d.rect, None)
    }

    /// The detections that are obscured.
    #[must_use]
    pub fn kept(&self) -> Vec<Detection> {
        self.detected.iter().copied().filter(|d| !self.is_excluded(d)).collect()
    }

    /// Exactly the regions to obscure.
    #[must_use]
    pub fn regions(&self, rule: RegionRule) -> Vec<Region> {
        let faces: Vec<Rect> = self.kept().iter().map(|d| d.rect).collect();
        rule.regions(&faces, self.manual.obscure_at(None))
    }
}

/// The plan of a video, built frame by frame as detections arrive (memory bounded by the
/// tracker's lookahead). Excluded detections (ignore boxes applying to their frame) are dropped
/// before tracking, so an excluded face is not brought back by interpolation or extension.
#[derive(Debug, Clone)]
pub struct VideoPlanner {
    manual: ManualRegions,
    rule: RegionRule,
    tracker: Tracker,
}

impl VideoPlanner {
    /// A planner for one video with these decisions.
    #[must_use]
    pub fn new(manual: ManualRegions, options: &Options) -> VideoPlanner {
        VideoPlanner { manual, rule: RegionRule::of(options), tracker: Tracker::new(options.video_extend_frames) }
    }

    /// Adds all detections of the next frame (frames are numbered 0, 1, 2, … in push order).
    pub fn push(&mut self, detected: &[Detection]) {
        let frame = self.tracker.frames();
        let kept: Vec<(Rect, f32)> =
            detected.iter().filter(|d| !self.manual.ignores(&d.rect, Some(frame))).map(|d| (d.rect, d.score)).collect();
        self.tracker.push_scored(&kept);
    }

    /// Marks the end of the video.
    pub fn finish(&mut self) {
        self.tracker.finish();
    }

    /// Whether `frame`'s regions are final (see [`Tracker::ready`]).
    #[must_use]
    pub fn ready(&self, frame: u64) -> bool {
        self.tracker.ready(frame)
    }

    /// The boxes covering faces in `frame` (tracked, interpolated, extended; before the margin).
    #[must_use]
    pub fn face_boxes(&self, frame: u64) -> Vec<Rect> {
        self.tracker.boxes(frame)
    }

    /// Exactly the regions to obscure in a ready `frame`.
    #[must_use]
    pub fn regions(&self, frame: u64) -> Vec<Region> {
        self.rule.regions(&self.face_boxes(frame), self.manual.obscure_at(Some(frame)))
    }

    /// Frees what no frame after `frame` needs (streaming use, after finishing `frame`).
    pub fn forget_before(&mut self, frame: u64) {
        self.tracker.forget_before(frame);
    }

    /// Number of face tracks so far (after exclusions).
    #[must_use]
    pub fn tracks(&self) -> usize {
        self.tracker.tracks()
    }
}

/// One face track as the detector saw it (before decisions): which frames it spans, and its
/// detections. Tracks exist only within one video; nothing links faces across files.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TrackSpan {
    /// Track number within the video, from 0, in order of first appearance.
    pub id: usize,
    /// First frame with a detection.
    pub first: u64,
    /// Last frame with a detection.
    pub last: u64,
    /// `(frame, detection)` for each detection of the track.
    pub detections: Vec<(u64, Detection)>,
}

/// The plan of a whole video held in memory: per-frame detections plus decisions.
#[derive(Debug, Clone)]
pub struct VideoPlan {
    /// Every detection of every frame, before decisions (index = frame number).
    pub detected: Vec<Vec<Detection>>,
    /// The decisions for this input.
    pub manual: ManualRegions,
}

impl VideoPlan {
    /// The planner after all frames were pushed: ask it [`VideoPlanner::regions`] for any frame.
    #[must_use]
    pub fn planner(&self, options: &Options) -> VideoPlanner {
        let mut p = VideoPlanner::new(self.manual.clone(), options);
        for d in &self.detected {
            p.push(d);
        }
        p.finish();
        p
    }

    /// The face tracks of the raw detections (the same association the pipeline uses).
    #[must_use]
    pub fn tracks(&self, options: &Options) -> Vec<TrackSpan> {
        let mut t = Tracker::new(options.video_extend_frames);
        let mut spans: Vec<TrackSpan> = Vec::new();
        for (frame, dets) in self.detected.iter().enumerate() {
            let frame = frame as u64;
            let ids = t.push_scored(&dets.iter().map(|d| (d.rect, d.score)).collect::<Vec<_>>());
            for (d, id) in dets.iter().zip(ids) {
                if id == spans.len() {
                    spans.push(TrackSpan { id, first: frame, last: frame, detections: Vec::new() });
                }
                let s = &mut spans[id];
                s.last = frame;
                s.detections.push((frame, *d));
            }
        }
        spans
    }

    /// Whether every detection of a track is excluded.
    #[must_use]
    pub fn track_excluded(&self, track: &TrackSpan) -> bool {
        track.detections.iter().all(|(f, d)| self.manual.ignores(&d.rect, Some(*f)))
    }
}

/// The ignore boxes that exclude exactly these detections of a video track: one per detection,
/// the detection's own box limited to its frame.
#[must_use]
pub fn exclusion_boxes(track: &TrackSpan) -> Vec<crate::regions::ManualBox> {
    track
        .detections
        .iter()
        .map(|(f, d)| crate::regions::ManualBox { frames: Some([*f, *f]), ..d.rect.into() })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regions::ManualBox;

    fn det(x: f32, y: f32) -> Detection {
        Detection { rect: Rect { x, y, w: 20.0, h: 20.0 }, score: 0.9 }
    }

    #[test]
    fn image_plan_excludes_by_centre_and_adds_manual_boxes() {
        let manual = ManualRegions {
            obscure: vec![ManualBox { x: 100.0, y: 100.0, w: 10.0, h: 10.0, frames: None }],
            ignore: vec![det(0.0, 0.0).rect.into()],
            reviewed: false,
        };
        let plan = ImagePlan::new(vec![det(0.0, 0.0), det(50.0, 50.0)], manual);
        assert!(plan.is_excluded(&plan.detected[0]));
        assert_eq!(plan.kept(), vec![det(50.0, 50.0)]);
        let regions = plan.regions(RegionRule { margin: 2.0, shape: Shape::Ellipse });
        assert_eq!(regions.len(), 2);
        assert_eq!(regions[0].rect, Rect { x: 40.0, y: 40.0, w: 40.0, h: 40.0 });
        assert_eq!(regions[1], Region { rect: Rect { x: 100.0, y: 100.0, w: 10.0, h: 10.0 }, shape: Shape::Box });
    }

    #[test]
    fn video_plan_excludes_a_track_and_times_manual_boxes() {
        let options = Options { video_extend_frames: 2, ..Options::default() };
        // two faces in 8 frames, one moving right
        let detected: Vec<Vec<Detection>> =
            (0..8).map(|i| vec![det(10.0 + 2.0 * i as f32, 10.0), det(200.0, 200.0)]).collect();
        let mut plan = VideoPlan { detected, manual: ManualRegions::default() };
        let tracks = plan.tracks(&options);
        assert_eq!(tracks.len(), 2);
        assert_eq!((tracks[0].first, tracks[0].last, tracks[0].detections.len()), (0, 7, 8));
        plan.manual.ignore = exclusion_boxes(&tracks[0]);
        plan.manual.obscure = vec![ManualBox { x: 0.0, y: 0.0, w: 5.0, h: 5.0, frames: Some([3, 4]) }];
        assert!(plan.track_excluded(&tracks[0]) && !plan.track_excluded(&tracks[1]));
        let p = plan.planner(&options);
        for f in 0..8 {
            let r = p.regions(f);
            let manual = r.iter().filter(|r| r.shape == Shape::Box).count();
            assert_eq!(manual, usize::from((3..=4).contains(&f)), "frame {f}");
            let faces: Vec<_> = r.iter().filter(|r| r.shape != Shape::Box).collect();
            assert_eq!(faces.len(), 1, "frame {f}: only the second face: {faces:?}");
            assert!(faces[0].rect.x > 150.0);
        }
    }
}
