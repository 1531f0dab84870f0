//! Turning command-line inputs (files and folders) into jobs: one input path, one output path.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::commit::TEMP_PREFIX;
use crate::decode::ImageKind;
use crate::error::Error;

/// One file to process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// The input file.
    pub input: PathBuf,
    /// Where its output goes.
    pub output: PathBuf,
    /// Names the input may be known by in a regions file: as given, relative to its folder, file name.
    pub names: Vec<String>,
}

/// Whether a file found while walking a folder is one unseen processes (by extension).
#[must_use]
pub fn is_supported_name(path: &Path) -> bool {
    ImageKind::from_extension(path).is_some() || crate::video::has_video_extension(path)
}

/// The output name for an input name: the same, except that videos become `.mp4` (the only
/// video format unseen writes).
fn output_name(rel: &Path) -> PathBuf {
    if crate::video::has_video_extension(rel) {
        crate::video::video_output(rel)
    } else {
        rel.to_path_buf()
    }
}

/// Expands inputs into jobs. Files named explicitly are always taken; folders are walked
/// recursively for supported extensions, without following symbolic links to folders (so link
/// loops cannot hang the walk) and skipping the output folder itself and unseen's temp files.
/// Outputs mirror the paths below each input folder inside `out_dir`. Problems with single
/// inputs are returned beside the jobs, so a batch goes on.
#[must_use]
pub fn collect_jobs(inputs: &[PathBuf], out_dir: &Path) -> (Vec<Job>, Vec<(PathBuf, Error)>) {
    let mut jobs = Vec::new();
    let mut errors = Vec::new();
    let out_canon = std::fs::canonicalize(out_dir).ok();
    let mut seen_outputs = HashSet::new();
    let mut push = |job: Job, jobs: &mut Vec<Job>, errors: &mut Vec<(PathBuf, Error)>| {
        if seen_outputs.insert(job.output.clone()) {
            jobs.push(job);
        } else {
            let p = job.input.clone();
            errors.push((
                p.clone(),
                Error::io(
                    &p,
                    "plan output",
                    std::io::Error::other(format!("another input already maps to {}", job.output.display())),
                ),
            ));
        }
    };
    for input in inputs {
        let meta = match std::fs::metadata(input) {
            Ok(m) => m,
            Err(e) => {
                errors.push((input.clone(), Error::io(input, "read input", e)));
                continue;
            }
        };
        if meta.is_dir() {
            if out_canon.is_some() && std::fs::canonicalize(input).ok() == out_canon {
                // walking it would find nothing (the output folder is skipped): say so instead
                errors.push((input.clone(), Error::OutputIsInput { path: input.clone() }));
                continue;
            }
            let mut files = Vec::new();
            walk(input, input, out_canon.as_deref(), &mut files, &mut errors);
            files.sort();
            for rel in files {
                let job = Job {
                    input: input.join(&rel),
                    output: out_dir.join(output_name(&rel)),
                    names: vec![
                        input.join(&rel).to_string_lossy().into_owned(),
                        rel.to_string_lossy().into_owned(),
                        rel.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                    ],
                };
                push(job, &mut jobs, &mut errors);
            }
        } else {
            let Some(name) = input.file_name() else {
                errors.push((input.clone(), Error::unsupported(input, "input has no file name")));
                continue;
            };
            let job = Job {
                input: input.clone(),
                output: out_dir.join(output_name(Path::new(name))),
                names: vec![input.to_string_lossy().into_owned(), name.to_string_lossy().into_owned()],
            };
            push(job, &mut jobs, &mut errors);
        }
    }
    (jobs, errors)
}

fn walk(root: &Path, dir: &Path, out: Option<&Path>, files: &mut Vec<PathBuf>, errors: &mut Vec<(PathBuf, Error)>) {
    if let (Some(out), Ok(c)) = (out, std::fs::canonicalize(dir)) {
        if c == out {
            return;
        }
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            errors.push((dir.to_path_buf(), Error::io(dir, "read folder", e)));
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(ft) = entry.file_type() else { continue };
        if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
            continue;
        }
        if ft.is_dir() {
            walk(root, &path, out, files, errors);
        } else if (ft.is_file() || ft.is_symlink() && path.is_file()) && is_supported_name(&path) {
            if let Ok(rel) = path.strip_prefix(root) {
                files.push(rel.to_path_buf());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_folders_mirrors_paths_and_skips_output_and_links() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("in");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("a.jpg"), b"x").unwrap();
        std::fs::write(root.join("sub/b.PNG"), b"x").unwrap();
        std::fs::write(root.join("notes.txt"), b"x").unwrap();
        std::fs::write(root.join("sub/c.MOV"), b"x").unwrap();
        std::fs::create_dir_all(root.join("out")).unwrap();
        std::fs::write(root.join("out/c.jpg"), b"x").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(&root, root.join("sub/loop")).unwrap();
        let out = root.join("out");
        let (jobs, errors) = collect_jobs(std::slice::from_ref(&root), &out);
        assert!(errors.is_empty(), "{errors:?}");
        let outs: Vec<_> = jobs.iter().map(|j| j.output.clone()).collect();
        assert_eq!(outs, vec![out.join("a.jpg"), out.join("sub/b.PNG"), out.join("sub/c.mp4")]);
    }

    #[test]
    fn output_folder_equal_to_an_input_folder_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a.jpg"), b"x").unwrap();
        let (jobs, errors) = collect_jobs(&[d.path().to_path_buf()], d.path());
        assert!(jobs.is_empty());
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(matches!(errors[0].1, Error::OutputIsInput { .. }), "{errors:?}");
    }
}
