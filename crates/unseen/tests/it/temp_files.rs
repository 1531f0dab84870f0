//! Issue 5: commit's temporary file is private (no group/other access) while it exists, it is
//! removed on every path (verification failure, rename failure), and the committed output gets
//! ordinary permissions.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use unseen::commit::{commit, Committed, TEMP_PREFIX};
use unseen::Error;

/// The temp files in `dir` with their permission bits.
fn temps(dir: &Path) -> Vec<u32> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(TEMP_PREFIX))
        .map(|e| e.metadata().unwrap().permissions().mode() & 0o777)
        .collect()
}

#[test]
fn issue5_temp_file_is_private_and_removed_on_every_path() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.png");
    // error path: the temp file exists during verification, private, and is gone afterwards
    let r = commit(&out, b"bytes", false, |_| {
        let t = temps(dir.path());
        assert_eq!(t.len(), 1, "one temp file while verifying");
        assert_eq!(t[0] & 0o077, 0, "temp file mode {:o} gives access to others", t[0]);
        Err(Error::InvalidOptions { name: "test", value: "verify".into(), expected: "a verification failure" })
    });
    assert!(r.is_err());
    assert!(temps(dir.path()).is_empty() && !out.exists(), "temp removed, nothing under the final name");

    // rename failure: the final name is a non-empty folder, so even overwrite cannot replace it
    let blocked = dir.path().join("blocked.png");
    std::fs::create_dir_all(blocked.join("inside")).unwrap();
    let r = commit(&blocked, b"bytes", true, |_| Ok(()));
    assert!(r.is_err(), "{r:?}");
    assert!(r.unwrap_err().to_string().contains("blocked.png"));
    assert!(temps(dir.path()).is_empty(), "temp removed after a failed rename");

    // success: the output is readable by others like any ordinary file, no temp left
    assert_eq!(commit(&out, b"bytes", false, |_| Ok(())).unwrap(), Committed::Written);
    assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o644);
    assert!(temps(dir.path()).is_empty());
}

#[test]
fn issue5_stale_temp_files_of_a_killed_run_are_swept_and_nothing_else() {
    use unseen::commit::{sweep_stale, STALE_AFTER};
    let dir = tempfile::tempdir().unwrap();
    let at = |name: &str, age: std::time::Duration| {
        let p = dir.path().join(name);
        let f = std::fs::File::create(&p).unwrap();
        f.set_modified(std::time::SystemTime::now() - age).unwrap();
        p
    };
    let two_hours = STALE_AFTER * 2;
    let stale = at(&format!("{TEMP_PREFIX}killed.tmp"), two_hours);
    let live = at(&format!("{TEMP_PREFIX}running.tmp"), std::time::Duration::ZERO);
    let foreign = at("notes.tmp", two_hours);
    let lookalike = at(&format!("{TEMP_PREFIX}photo.jpg"), two_hours);
    let folder = dir.path().join(format!("{TEMP_PREFIX}folder.tmp"));
    std::fs::create_dir(&folder).unwrap();
    assert_eq!(sweep_stale(dir.path()), 1);
    assert!(!stale.exists(), "the killed run's temp file is gone");
    for kept in [&live, &foreign, &lookalike, &folder] {
        assert!(kept.exists(), "{} must stay", kept.display());
    }
    assert_eq!(sweep_stale(&dir.path().join("missing")), 0);
}
