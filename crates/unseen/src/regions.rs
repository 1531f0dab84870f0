//! Manual regions: extra areas to obscure and areas where detections are ignored, per input.
//!
//! The file is JSON: an object whose keys name inputs and whose values list boxes in
//! source pixels (after EXIF orientation is applied, i.e. as the picture is displayed):
//!
//! ```json
//! {
//!   "protest/IMG_0042.jpg": {
//!     "obscure": [{"x": 100, "y": 40, "w": 80, "h": 90}],
//!     "ignore":  [{"x": 0, "y": 0, "w": 300, "h": 200}]
//!   },
//!   "*": { "obscure": [{"x": 0, "y": 0, "w": 64, "h": 64}] }
//! }
//! ```
//!
//! A key matches an input when it equals the path as given on the command line, the path
//! relative to the input folder it was found in, or its file name; `"*"` applies to every input.
//! All matching entries are combined. `obscure` boxes are obscured exactly as given (no margin).
//! A detection whose centre lies inside an `ignore` box is dropped (use it for false positives
//! such as faces on posters you mean to show); `obscure` boxes are never ignored.
//!
//! For videos, a box may carry `"frames": [first, last]` (frame numbers counted from 0 in
//! presentation order, both included): it then applies only to those frames. Without it, it
//! applies to every frame. Images ignore `frames`. An entry may carry `"reviewed": true`, written
//! by `unseen review` for the files a person has checked; it changes nothing in the output.
//!
//! ```json
//! {
//!   "march/clip.mp4": {
//!     "obscure": [{"x": 10, "y": 20, "w": 60, "h": 60, "frames": [30, 89]}],
//!     "ignore":  [{"x": 400, "y": 80, "w": 50, "h": 60, "frames": [12, 12]}],
//!     "reviewed": true
//!   }
//! }
//! ```
//!
//! Unknown fields are an error, so that a typo never silently drops a region.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::geom::Rect;

/// One manual box: where (source pixels), and for videos optionally when.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ManualBox {
    /// Left edge.
    pub x: f32,
    /// Top edge.
    pub y: f32,
    /// Width.
    pub w: f32,
    /// Height.
    pub h: f32,
    /// Videos: the first and last frame (both included) the box applies to; `None`: all frames.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frames: Option<[u64; 2]>,
    /// Ignore boxes only: the kind of detection the box excludes (`"face"`, `"text"`,
    /// `"person"`); `None`: every kind. The review page sets it, so that excluding a person (a
    /// box that holds a face's centre) does not also drop the face.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<crate::detect::Kind>,
}

impl ManualBox {
    /// The box.
    #[must_use]
    pub fn rect(&self) -> Rect {
        Rect { x: self.x, y: self.y, w: self.w, h: self.h }
    }

    /// Whether the box applies to `frame` (`None`: an image, to which every box applies).
    #[must_use]
    pub fn applies(&self, frame: Option<u64>) -> bool {
        match (self.frames, frame) {
            (Some([a, b]), Some(f)) => (a..=b).contains(&f),
            _ => true,
        }
    }
}

impl From<Rect> for ManualBox {
    fn from(r: Rect) -> ManualBox {
        ManualBox { x: r.x, y: r.y, w: r.w, h: r.h, frames: None, kind: None }
    }
}

/// The regions given for one input.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ManualRegions {
    /// Extra boxes to obscure.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub obscure: Vec<ManualBox>,
    /// Boxes inside which detections are ignored.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<ManualBox>,
    /// Marked as checked by a person (`unseen review`); no effect on the output.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reviewed: bool,
}

impl ManualRegions {
    /// Whether a detection is dropped by an ignore box that applies to `frame` (and to its
    /// kind): one that holds the detection's centre.
    #[must_use]
    pub fn ignores(&self, d: &crate::detect::Detection, frame: Option<u64>) -> bool {
        let (cx, cy) = d.rect.center();
        self.ignore.iter().any(|b| b.applies(frame) && b.kind.is_none_or(|k| k == d.kind) && b.rect().contains(cx, cy))
    }

    /// The obscure boxes that apply to `frame`.
    pub fn obscure_at(&self, frame: Option<u64>) -> impl Iterator<Item = Rect> + '_ {
        self.obscure.iter().filter(move |b| b.applies(frame)).map(ManualBox::rect)
    }

    /// Checks that every box has finite coordinates, a positive size and an ordered frame range.
    ///
    /// # Errors
    /// A message naming the first bad box.
    pub fn validate(&self) -> std::result::Result<(), String> {
        for b in self.obscure.iter().chain(&self.ignore) {
            if !b.rect().is_valid() {
                return Err(format!("box {b:?} must have finite coordinates and positive size"));
            }
            if let Some([a, z]) = b.frames {
                if a > z {
                    return Err(format!("box {b:?}: frames [{a}, {z}] must be [first, last] with first <= last"));
                }
            }
        }
        Ok(())
    }
}

/// Manual regions for all inputs, keyed as described in the module docs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RegionMap {
    entries: BTreeMap<String, ManualRegions>,
}

impl RegionMap {
    /// Parses the JSON text of a regions file; `path` is only used in errors.
    ///
    /// # Errors
    /// [`Error::Regions`] when the JSON is malformed or a box is degenerate.
    pub fn from_json(path: &Path, text: &str) -> Result<RegionMap> {
        let entries: BTreeMap<String, ManualRegions> = serde_json::from_str(text)
            .map_err(|e| Error::Regions { path: path.to_path_buf(), cause: e.to_string() })?;
        for (key, r) in &entries {
            r.validate().map_err(|cause| Error::Regions {
                path: path.to_path_buf(),
                cause: format!("entry {key:?}: {cause}"),
            })?;
        }
        Ok(RegionMap { entries })
    }

    /// Reads and parses a regions file.
    ///
    /// # Errors
    /// [`Error::Io`] if it cannot be read, [`Error::Regions`] if it is malformed.
    pub fn load(path: &Path) -> Result<RegionMap> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "read regions file", e))?;
        Self::from_json(path, &text)
    }

    /// True when no entry exists.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// All regions that apply to an input, given the names it may be known by.
    #[must_use]
    pub fn lookup(&self, names: &[&str]) -> ManualRegions {
        let mut out = ManualRegions::default();
        let mut seen = Vec::new();
        for key in names.iter().copied().chain(std::iter::once("*")) {
            if seen.contains(&key) {
                continue;
            }
            seen.push(key);
            if let Some(r) = self.entries.get(key) {
                out.obscure.extend_from_slice(&r.obscure);
                out.ignore.extend_from_slice(&r.ignore);
                out.reviewed |= r.reviewed;
            }
        }
        out
    }

    /// The entry stored under exactly `key` (not combined with others).
    #[must_use]
    pub fn entry(&self, key: &str) -> Option<&ManualRegions> {
        self.entries.get(key)
    }

    /// Replaces the entry under `key` (an empty entry is removed).
    ///
    /// # Errors
    /// The message of [`ManualRegions::validate`]; the map is unchanged then.
    pub fn set_entry(&mut self, key: &str, regions: ManualRegions) -> std::result::Result<(), String> {
        regions.validate()?;
        if regions == ManualRegions::default() {
            self.entries.remove(key);
        } else {
            self.entries.insert(key.to_string(), regions);
        }
        Ok(())
    }

    /// The JSON text of the map, in the format [`RegionMap::from_json`] reads.
    #[must_use]
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(&self.entries).unwrap_or_else(|_| "{}".into());
        s.push('\n');
        s
    }

    /// Writes the map to `path` atomically: a temp file in the same folder, synced, then
    /// renamed over `path`, so a crash leaves either the old or the new file, never a partial one.
    ///
    /// # Errors
    /// [`Error::Io`] naming the file.
    pub fn save(&self, path: &Path) -> Result<()> {
        use std::io::Write;
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let mut tmp = tempfile::Builder::new()
            .prefix(".unseen-regions-")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|e| Error::io(dir, "create temp file", e))?;
        tmp.write_all(self.to_json().as_bytes()).map_err(|e| Error::io(tmp.path(), "write regions file", e))?;
        tmp.as_file().sync_all().map_err(|e| Error::io(tmp.path(), "sync regions file", e))?;
        tmp.persist(path).map_err(|e| Error::io(path, "rename regions file into place", e.error))?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_combines_entries() {
        let text = r#"{"a/b.jpg": {"obscure": [{"x":1,"y":2,"w":3,"h":4}]},
                       "b.jpg": {"ignore": [{"x":0,"y":0,"w":9,"h":9}]},
                       "*": {"obscure": [{"x":5,"y":5,"w":1,"h":1}]}}"#;
        let m = RegionMap::from_json(Path::new("r.json"), text).unwrap();
        let r = m.lookup(&["a/b.jpg", "b.jpg"]);
        assert_eq!(r.obscure.len(), 2);
        assert_eq!(r.ignore.len(), 1);
        assert_eq!(m.lookup(&["other.png"]).obscure.len(), 1);
    }

    #[test]
    fn rejects_bad_boxes_and_unknown_fields() {
        let p = Path::new("r.json");
        assert!(RegionMap::from_json(p, r#"{"a": {"obscure": [{"x":1,"y":2,"w":0,"h":4}]}}"#).is_err());
        assert!(RegionMap::from_json(p, r#"{"a": {"blur": []}}"#).is_err());
        assert!(RegionMap::from_json(p, "not json").is_err());
        assert!(RegionMap::from_json(p, r#"{"a": {"obscure": [{"x":1,"y":2,"w":3,"h":4,"frames":[5,4]}]}}"#).is_err());
        assert!(RegionMap::from_json(p, r#"{"a": {"obscure": [{"x":1,"y":2,"w":3,"h":4,"time":1}]}}"#).is_err());
    }

    #[test]
    fn time_ranges_reviewed_marks_and_round_trip() {
        let text = r#"{"c.mp4": {"obscure": [{"x":1,"y":2,"w":3,"h":4,"frames":[10,20]}],
                                  "ignore": [{"x":0,"y":0,"w":9,"h":9,"frames":[3,3]}], "reviewed": true}}"#;
        let m = RegionMap::from_json(Path::new("r.json"), text).unwrap();
        let r = m.lookup(&["c.mp4"]);
        assert!(r.reviewed);
        assert_eq!(r.obscure_at(Some(9)).count(), 0);
        assert_eq!(r.obscure_at(Some(10)).count(), 1);
        assert_eq!(r.obscure_at(Some(20)).count(), 1);
        assert_eq!(r.obscure_at(None).count(), 1, "images: every box applies");
        let face = crate::detect::Detection::face(Rect { x: 2.0, y: 2.0, w: 4.0, h: 4.0 }, 1.0);
        assert!(r.ignores(&face, Some(3)) && !r.ignores(&face, Some(4)));
        let back = RegionMap::from_json(Path::new("r.json"), &m.to_json()).unwrap();
        assert_eq!(back, m);
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("s.json");
        m.save(&f).unwrap();
        assert_eq!(RegionMap::load(&f).unwrap(), m);
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1, "no temp file left");
    }
}
