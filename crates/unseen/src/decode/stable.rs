//! Inputs that change while they are read. A file that grows, shrinks or is rewritten while
//! unseen reads it (a download still arriving, a sync client, a hostile writer racing the
//! checks) would give pixels that belong to no single version of the file: the faces found in
//! one version are not the faces of another. Such an input is refused.

use std::path::Path;
use std::time::SystemTime;

use crate::error::{Error, Result};

/// Size and modification time of an input before it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    len: u64,
    modified: Option<SystemTime>,
}

impl Snapshot {
    /// Takes the snapshot of `path` (following links, as reading does).
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be inspected.
    pub fn of(path: &Path) -> Result<Snapshot> {
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, "read input", e))?;
        Ok(Snapshot { len: meta.len(), modified: meta.modified().ok() })
    }

    /// The size when the snapshot was taken.
    #[must_use]
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the file was empty when the snapshot was taken.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Checks that `path` still has the snapshot's size and modification time, and (when
    /// given) that `read` bytes were read, as many as it had.
    ///
    /// # Errors
    /// [`Error::Io`] "input changed while being read", naming what changed.
    pub fn check(&self, path: &Path, read: Option<usize>) -> Result<()> {
        let now = Snapshot::of(path)?;
        let changed = |what: String| {
            Err(Error::io(
                path,
                "read input",
                std::io::Error::other(format!("input changed while being read ({what})")),
            ))
        };
        if let Some(n) = read.filter(|&n| n as u64 != self.len) {
            return changed(format!("{} bytes when opened, {n} read", self.len));
        }
        if now.len != self.len {
            return changed(format!("{} bytes when opened, {} now", self.len, now.len));
        }
        if now.modified != self.modified {
            return changed("modified since it was opened".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_shrinking_and_rewrites_are_seen() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.jpg");
        std::fs::write(&p, b"0123456789").unwrap();
        let snap = Snapshot::of(&p).unwrap();
        assert!(snap.check(&p, Some(10)).is_ok());
        let e = snap.check(&p, Some(7)).unwrap_err().to_string();
        assert!(e.contains("input changed while being read (10 bytes when opened, 7 read)"), "{e}");
        std::fs::write(&p, b"0123456789ab").unwrap();
        let e = snap.check(&p, None).unwrap_err().to_string();
        assert!(e.contains("10 bytes when opened, 12 now"), "{e}");
        // same size, rewritten later
        std::fs::write(&p, b"0123456789").unwrap();
        let f = std::fs::File::options().write(true).open(&p).unwrap();
        f.set_modified(SystemTime::now() + std::time::Duration::from_secs(5)).unwrap();
        let e = snap.check(&p, None).unwrap_err().to_string();
        assert!(e.contains("modified since it was opened"), "{e}");
    }
}
