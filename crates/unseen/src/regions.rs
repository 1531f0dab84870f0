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

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::geom::Rect;

/// The regions given for one input.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ManualRegions {
    /// Extra boxes to obscure.
    #[serde(default)]
    pub obscure: Vec<Rect>,
    /// Boxes inside which detections are ignored.
    #[serde(default)]
    pub ignore: Vec<Rect>,
}

/// Manual regions for all inputs, keyed as described in the module docs.
#[derive(Debug, Clone, Default)]
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
            for b in r.obscure.iter().chain(&r.ignore) {
                if !b.is_valid() {
                    return Err(Error::Regions {
                        path: path.to_path_buf(),
                        cause: format!("entry {key:?}: box {b:?} must have finite coordinates and positive size"),
                    });
                }
            }
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
            }
        }
        out
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
    }
}
