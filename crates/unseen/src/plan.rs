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

use crate::detect::{Detection, Kind};
use crate::geom::Rect;
use crate::obscure::Region;
use crate::options::{Options, People, Shape};
use crate::regions::ManualRegions;
use crate::track::Tracker;

/// How a detection and a manual box become regions:
/// - a face: its box enlarged about its centre by the margin, with the configured shape;
/// - text: its box (already grown by the detector's unclip distance) padded on every side by
///   [`TEXT_PAD`] of its height (at least [`TEXT_PAD_MIN`] px), as a box;
/// - a person: the whole box enlarged by [`PERSON_MARGIN`], or its head area
///   ([`crate::detect::people::head_of`]) enlarged by the same, as a box;
/// - manual boxes exactly as given, as boxes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RegionRule {
    /// See [`Options::margin`].
    pub margin: f32,
    /// See [`Options::shape`].
    pub shape: Shape,
    /// See [`Options::people`] (what of a person detection is obscured).
    pub people: People,
}

/// Padding around a text box, as a share of its height.
pub const TEXT_PAD: f32 = 0.25;
/// Smallest padding around a text box, in pixels.
pub const TEXT_PAD_MIN: f32 = 2.0;
/// Enlargement of person boxes (and of their head areas) about their centre.
pub const PERSON_MARGIN: f32 = 1.1;

impl RegionRule {
    /// The rule of these options.
    #[must_use]
    pub fn of(options: &Options) -> RegionRule {
        RegionRule { margin: options.margin, shape: options.shape, people: options.people.unwrap_or(People::Body) }
    }

    /// The region of one detection of this kind.
    #[must_use]
    pub fn region(&self, rect: Rect, kind: Kind) -> Region {
        match kind {
            Kind::Face => Region { rect: rect.enlarged(self.margin), shape: self.shape },
            Kind::Text => {
                let pad = (rect.h * TEXT_PAD).max(TEXT_PAD_MIN);
                Region {
                    rect: Rect { x: rect.x - pad, y: rect.y - pad, w: rect.w + 2.0 * pad, h: rect.h + 2.0 * pad },
                    shape: Shape::Box,
                }
            }
            Kind::Person => {
                let r = match self.people {
                    People::Body => rect,
                    People::Head => crate::detect::people::head_of(&rect),
                };
                Region { rect: r.enlarged(PERSON_MARGIN), shape: Shape::Box }
            }
        }
    }

    /// The regions for detections (by their kind) and manual boxes (as given).
    #[must_use]
    pub fn regions(&self, found: &[Detection], manual: impl IntoIterator<Item = Rect>) -> Vec<Region> {
        found
            .iter()
            .map(|d| self.region(d.rect, d.kind))
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
        self.manual.ignores(d, None)
    }

    /// The detections that are obscured.
    #[must_use]
    pub fn kept(&self) -> Vec<Detection> {
        self.detected.iter().copied().filter(|d| !self.is_excluded(d)).collect()
    }

    /// Exactly the regions to obscure.
    #[must_use]
    pub fn regions(&self, rule: RegionRule) -> Vec<Region> {
        rule.regions(&self.kept(), self.manual.obscure_at(None))
    }
}

/// The plan of a video, built frame by frame as detections arrive (memory bounded by the
/// trackers' lookahead). Excluded detections (ignore boxes applying to their frame) are dropped
/// before tracking, so an excluded face is not brought back by interpolation or extension. Each
/// kind of detection (faces, text, people) has its own tracker: a plate never continues a face's
/// track.
#[derive(Debug, Clone)]
pub struct VideoPlanner {
    manual: ManualRegions,
    rule: RegionRule,
    trackers: [Tracker; 3],
}

fn kind_index(kind: Kind) -> usize {
    Kind::ALL.iter().position(|&k| k == kind).unwrap_or(0)
}

impl VideoPlanner {
    /// A planner for one video with these decisions.
    #[must_use]
    pub fn new(manual: ManualRegions, options: &Options) -> VideoPlanner {
        let t = || Tracker::new(options.video_extend_frames);
        VideoPlanner { manual, rule: RegionRule::of(options), trackers: [t(), t(), t()] }
    }

    /// Adds all detections of the next frame (frames are numbered 0, 1, 2, … in push order).
    pub fn push(&mut self, detected: &[Detection]) {
        let frame = self.trackers[0].frames();
        for kind in Kind::ALL {
            let kept: Vec<(Rect, f32)> = detected
                .iter()
                .filter(|d| d.kind == kind && !self.manual.ignores(d, Some(frame)))
                .map(|d| (d.rect, d.score))
                .collect();
            self.trackers[kind_index(kind)].push_scored(&kept);
        }
    }

    /// Marks the end of the video.
    pub fn finish(&mut self) {
        self.trackers.iter_mut().for_each(Tracker::finish);
    }

    /// Whether `frame`'s regions are final (see [`Tracker::ready`]).
    #[must_use]
    pub fn ready(&self, frame: u64) -> bool {
        self.trackers.iter().all(|t| t.ready(frame))
    }

    /// The boxes covering faces in `frame` (tracked, interpolated, extended; before the margin).
    #[must_use]
    pub fn face_boxes(&self, frame: u64) -> Vec<Rect> {
        self.trackers[0].boxes(frame)
    }

    /// The boxes covering every kind in `frame` (tracked, interpolated, extended; before the
    /// region rule), as detections of their kind (score 1).
    #[must_use]
    pub fn boxes(&self, frame: u64) -> Vec<Detection> {
        Kind::ALL
            .iter()
            .flat_map(|&kind| {
                self.trackers[kind_index(kind)].boxes(frame).into_iter().map(move |rect| Detection {
                    rect,
                    score: 1.0,
                    kind,
                })
            })
            .collect()
    }

    /// Exactly the regions to obscure in a ready `frame`.
    #[must_use]
    pub fn regions(&self, frame: u64) -> Vec<Region> {
        self.rule.regions(&self.boxes(frame), self.manual.obscure_at(Some(frame)))
    }

    /// Frees what no frame after `frame` needs (streaming use, after finishing `frame`).
    pub fn forget_before(&mut self, frame: u64) {
        self.trackers.iter_mut().for_each(|t| t.forget_before(frame));
    }

    /// Number of face tracks so far (after exclusions).
    #[must_use]
    pub fn tracks(&self) -> usize {
        self.trackers[0].tracks()
    }

    /// Number of tracks of `kind` so far (after exclusions).
    #[must_use]
    pub fn tracks_of(&self, kind: Kind) -> usize {
        self.trackers[kind_index(kind)].tracks()
    }
}

/// One face track as the detector saw it (before decisions): which frames it spans, and its
/// detections. Tracks exist only within one video; nothing links faces across files.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TrackSpan {
    /// Track number within the video, from 0: faces first, in order of first appearance, then
    /// text, then people.
    pub id: usize,
    /// What the track follows.
    #[serde(skip_serializing_if = "Kind::is_face")]
    pub kind: Kind,
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

    /// The tracks of the raw detections (the same association the pipeline uses), one tracker
    /// per kind: faces first, then text, then people.
    #[must_use]
    pub fn tracks(&self, options: &Options) -> Vec<TrackSpan> {
        let mut spans: Vec<TrackSpan> = Vec::new();
        for kind in Kind::ALL {
            let base = spans.len();
            let mut t = Tracker::new(options.video_extend_frames);
            for (frame, dets) in self.detected.iter().enumerate() {
                let frame = frame as u64;
                let dets: Vec<&Detection> = dets.iter().filter(|d| d.kind == kind).collect();
                let ids = t.push_scored(&dets.iter().map(|d| (d.rect, d.score)).collect::<Vec<_>>());
                for (d, id) in dets.into_iter().zip(ids) {
                    let id = base + id;
                    if id == spans.len() {
                        spans.push(TrackSpan { id, kind, first: frame, last: frame, detections: Vec::new() });
                    }
                    let s = &mut spans[id];
                    s.last = frame;
                    s.detections.push((frame, *d));
                }
            }
        }
        spans
    }

    /// Whether every detection of a track is excluded.
    #[must_use]
    pub fn track_excluded(&self, track: &TrackSpan) -> bool {
        track.detections.iter().all(|(f, d)| self.manual.ignores(d, Some(*f)))
    }
}

/// The ignore boxes that exclude exactly these detections of a video track: one per detection,
/// the detection's own box limited to its frame and to the track's kind.
#[must_use]
pub fn exclusion_boxes(track: &TrackSpan) -> Vec<crate::regions::ManualBox> {
    track
        .detections
        .iter()
        .map(|(f, d)| crate::regions::ManualBox { frames: Some([*f, *f]), kind: Some(d.kind), ..d.rect.into() })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regions::ManualBox;

    fn det(x: f32, y: f32) -> Detection {
        Detection::face(Rect { x, y, w: 20.0, h: 20.0 }, 0.9)
    }

    #[test]
    fn image_plan_excludes_by_centre_and_adds_manual_boxes() {
        let manual = ManualRegions {
            obscure: vec![ManualBox { x: 100.0, y: 100.0, w: 10.0, h: 10.0, frames: None, kind: None }],
            ignore: vec![det(0.0, 0.0).rect.into()],
            reviewed: false,
        };
        let plan = ImagePlan::new(vec![det(0.0, 0.0), det(50.0, 50.0)], manual);
        assert!(plan.is_excluded(&plan.detected[0]));
        assert_eq!(plan.kept(), vec![det(50.0, 50.0)]);
        let regions = plan.regions(RegionRule { margin: 2.0, shape: Shape::Ellipse, people: People::Body });
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
        plan.manual.obscure = vec![ManualBox { x: 0.0, y: 0.0, w: 5.0, h: 5.0, frames: Some([3, 4]), kind: None }];
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
