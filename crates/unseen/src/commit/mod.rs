//! Stage 6: commit. Writes bytes to a private temporary file in the target folder, fsyncs it,
//! re-reads it from disk, lets the caller verify what was actually written, and only then
//! renames it to its final name. On any failure the temporary file is removed and no file ever
//! appears under the final name.

use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::error::{Error, Result};

/// Prefix of unseen's temporary files; they are hidden and never look like outputs.
pub const TEMP_PREFIX: &str = ".unseen-tmp-";

/// Temporary files untouched for this long are left over from a killed run (a live run writes
/// its video temp file continuously and keeps image temp files for seconds).
pub const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(3600);

/// Removes unseen's own temporary files (regular files named [`TEMP_PREFIX`]`*`, not modified
/// for [`STALE_AFTER`]) from `dir`, left there by a run that was killed. Nothing else is touched;
/// errors are ignored (a file that cannot be removed stays, as before). Returns how many went.
pub fn sweep_stale(dir: &Path) -> usize {
    let Ok(entries) = fs::read_dir(dir) else { return 0 };
    let now = std::time::SystemTime::now();
    let mut removed = 0;
    for e in entries.flatten() {
        let ours = e.file_name().to_str().is_some_and(|n| n.starts_with(TEMP_PREFIX) && n.ends_with(".tmp"));
        let Ok(meta) = e.metadata() else { continue };
        let old = meta.modified().ok().and_then(|m| now.duration_since(m).ok()).is_some_and(|age| age >= STALE_AFTER);
        if ours && meta.file_type().is_file() && old && fs::remove_file(e.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// What happened to an output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Committed {
    /// The file was written under its final name.
    Written,
    /// A file already existed under the final name and `overwrite` was off; nothing was written.
    Skipped,
}

/// Writes `bytes` to `output` atomically after `verify` accepted the bytes read back from disk.
///
/// # Errors
/// [`Error::Io`] for file-system failures, or whatever `verify` returns.
pub fn commit(
    output: &Path,
    bytes: &[u8],
    overwrite: bool,
    verify: impl FnOnce(&[u8]) -> Result<()>,
) -> Result<Committed> {
    let dir = match output.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, "create output folder", e))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, "create temp file", e))?;
    let tpath = tmp.path().to_path_buf();
    tmp.write_all(bytes).map_err(|e| Error::io(&tpath, "write temp file", e))?;
    tmp.as_file().sync_all().map_err(|e| Error::io(&tpath, "sync temp file", e))?;
    let mut back = Vec::new();
    let f = tmp.as_file_mut();
    f.seek(SeekFrom::Start(0)).map_err(|e| Error::io(&tpath, "re-read temp file", e))?;
    f.read_to_end(&mut back).map_err(|e| Error::io(&tpath, "re-read temp file", e))?;
    if back != bytes {
        return Err(Error::io(
            &tpath,
            "re-read temp file",
            std::io::Error::other("bytes read back differ from bytes written"),
        ));
    }
    verify(&back)?;
    // the temp file was private while written; the output gets ordinary permissions
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = tmp.as_file().set_permissions(fs::Permissions::from_mode(0o644));
    }
    let persisted = if overwrite { tmp.persist(output) } else { tmp.persist_noclobber(output) };
    match persisted {
        Ok(_) => {}
        Err(e) if !overwrite && e.error.kind() == std::io::ErrorKind::AlreadyExists => return Ok(Committed::Skipped),
        Err(e) => return Err(Error::io(output, "rename into place", e.error)),
    }
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(Committed::Written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_verification_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a/b.jpg");
        let r = commit(&out, b"data", false, |_| Err(Error::verify(Path::new("in"), "nope")));
        assert!(r.is_err());
        assert!(!out.exists());
        assert_eq!(fs::read_dir(dir.path().join("a")).unwrap().count(), 0, "temp file removed");
    }

    #[test]
    fn existing_output_is_skipped_unless_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("b.jpg");
        fs::write(&out, b"old").unwrap();
        assert_eq!(commit(&out, b"new", false, |_| Ok(())).unwrap(), Committed::Skipped);
        assert_eq!(fs::read(&out).unwrap(), b"old");
        assert_eq!(
            commit(&out, b"new", true, |b| {
                assert_eq!(b, b"new");
                Ok(())
            })
            .unwrap(),
            Committed::Written
        );
        assert_eq!(fs::read(&out).unwrap(), b"new");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
