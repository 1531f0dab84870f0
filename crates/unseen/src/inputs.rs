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

/// Extensions of files that are media unseen may not process (Photoshop, JPEG XL, icons, HEIF
/// sequences, SVG, other video containers): found in a folder, they become jobs so that their
/// error is named rather than skipped. Camera RAW extensions ([`crate::decode::RAW_EXTENSIONS`])
/// count too.
pub const OTHER_MEDIA_EXTENSIONS: &[&str] = &[
    "psd", "psb", "jxl", "jp2", "j2k", "ico", "cur", "svg", "heics", "heifs", "avifs", "exr", "hdr", "tga", "pcx",
    "qoi", "pbm", "pgm", "ppm", "pnm", "xcf", "3gp", "3g2", "mts", "m2ts", "ts", "mpg", "mpeg", "wmv", "flv", "ogv",
    "vob", "insv", "lrv", "360",
];

/// Image extensions unseen reads but does not write (the output gets another extension).
pub const READ_ONLY_IMAGE_EXTENSIONS: &[&str] = &["gif", "heic", "heif", "hif", "avif"];

fn ext_in(path: &Path, list: &[&str]) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| list.iter().any(|v| v.eq_ignore_ascii_case(e)))
}

/// Whether a file found while walking a folder is one unseen processes, by name: an image or
/// video extension unseen reads.
#[must_use]
pub fn is_supported_name(path: &Path) -> bool {
    ImageKind::from_extension(path).is_some()
        || crate::video::has_video_extension(path)
        || ext_in(path, READ_ONLY_IMAGE_EXTENSIONS)
}

/// Whether a file found in a folder is media, by name or by its first bytes: a format unseen
/// processes, or one it refuses with a reason ([`OTHER_MEDIA_EXTENSIONS`], camera RAW, and
/// content recognised as an image or video format). Such files become jobs (processed, or named
/// as failed); everything else is counted as "other files" in the summary.
#[must_use]
pub fn is_media(path: &Path, head: &[u8]) -> bool {
    is_supported_name(path)
        || ext_in(path, OTHER_MEDIA_EXTENSIONS)
        || crate::decode::has_raw_extension(path)
        || crate::video::sniff_video(head)
        || looks_like_image(head)
}

/// Content signatures of image formats, read or refused (the refused ones get a reason).
fn looks_like_image(head: &[u8]) -> bool {
    !head.is_empty() && crate::decode::sniff_source(Path::new(""), head).is_ok()
        || head.starts_with(b"8BPS")
        || crate::decode::ftyp_brands(head).is_some_and(|b| {
            b.iter().any(|b| matches!(b, b"mif1" | b"msf1" | b"heic" | b"heix" | b"avif" | b"avis" | b"hevc"))
        })
        || image::guess_format(head).is_ok()
}

/// What kind of special file this is, if it is not a regular file, folder or link.
#[cfg(unix)]
fn special_kind(ft: std::fs::FileType) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_fifo() {
        Some("a named pipe (FIFO)")
    } else if ft.is_socket() {
        Some("a socket")
    } else if ft.is_char_device() {
        Some("a character device")
    } else if ft.is_block_device() {
        Some("a block device")
    } else {
        None
    }
}

#[cfg(not(unix))]
fn special_kind(_ft: std::fs::FileType) -> Option<&'static str> {
    None
}

fn special_error(path: &Path, what: &str) -> Error {
    Error::unsupported(path, format!("{what}, not a regular file: refused without reading it"))
}

/// Everything found in the inputs: jobs to run, problems (each named with its error), and files
/// that are not media (counted, not processed).
#[derive(Debug, Default)]
pub struct Collected {
    /// One per media file.
    pub jobs: Vec<Job>,
    /// Inputs that cannot even be planned (missing, special files, unreadable folders, output
    /// collisions), with the reason.
    pub problems: Vec<(PathBuf, Error)>,
    /// Files found in folders that are neither images nor videos (text, documents).
    pub others: Vec<PathBuf>,
}

/// The output name for an input name, given the file's first bytes
/// ([`crate::video::media_head`]): the same, except that videos and animated images become
/// `.mp4` (the only video format unseen writes), and images named without the extension of a
/// format unseen writes get their output format's (`IMG_0001.HEIC` → `IMG_0001.jpg`, `x.gif` →
/// `x.png`, a JPEG called `photo.dat` → `photo.jpg`). Planned here, so that two inputs that
/// would write the same output are caught before anything runs.
#[must_use]
pub fn output_name(rel: &Path, head: &[u8]) -> PathBuf {
    if crate::video::routes_to_video(rel, head) {
        return crate::video::video_output(rel);
    }
    if ImageKind::from_extension(rel).is_some() {
        return rel.to_path_buf();
    }
    match crate::decode::sniff_format(rel, head) {
        Ok(kind) => rel.with_extension(kind.extension()),
        Err(_) => rel.to_path_buf(),
    }
}

/// Expands inputs into jobs: see [`collect`]; files in folders that are not media are left out
/// (use [`collect`] to count them).
#[must_use]
pub fn collect_jobs(inputs: &[PathBuf], out_dir: &Path) -> (Vec<Job>, Vec<(PathBuf, Error)>) {
    let c = collect(inputs, out_dir);
    (c.jobs, c.problems)
}

/// Expands inputs into jobs. Files named explicitly are always taken (unless they are special
/// files: FIFOs, sockets and devices are refused without being opened, so nothing blocks);
/// folders are walked recursively without following symbolic links to folders (so link loops
/// cannot hang the walk), skipping the output folder itself and unseen's temp files. Every file
/// found in a folder is accounted for: media by name or content ([`is_media`]) becomes a job,
/// special files are problems, the rest is listed in [`Collected::others`]. Outputs mirror the
/// paths below each input folder inside `out_dir`. Problems with single inputs are returned
/// beside the jobs, so a batch goes on.
#[must_use]
pub fn collect(inputs: &[PathBuf], out_dir: &Path) -> Collected {
    let mut c = Collected::default();
    let out_canon = std::fs::canonicalize(out_dir).ok();
    let mut seen_outputs = HashSet::new();
    let mut push = |job: Job, c: &mut Collected| {
        if seen_outputs.insert(job.output.clone()) {
            c.jobs.push(job);
        } else {
            let p = job.input.clone();
            c.problems.push((
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
                c.problems.push((input.clone(), Error::io(input, "read input", e)));
                continue;
            }
        };
        if let Some(what) = special_kind(meta.file_type()) {
            c.problems.push((input.clone(), special_error(input, what)));
            continue;
        }
        if meta.is_dir() {
            if out_canon.is_some() && std::fs::canonicalize(input).ok() == out_canon {
                // walking it would find nothing (the output folder is skipped): say so instead
                c.problems.push((input.clone(), Error::OutputIsInput { path: input.clone() }));
                continue;
            }
            let mut files = Vec::new();
            walk(input, input, out_canon.as_deref(), &mut files, &mut c);
            files.sort();
            for (rel, out_rel) in files {
                let job = Job {
                    input: input.join(&rel),
                    output: out_dir.join(out_rel),
                    names: vec![
                        input.join(&rel).to_string_lossy().into_owned(),
                        rel.to_string_lossy().into_owned(),
                        rel.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                    ],
                };
                push(job, &mut c);
            }
        } else {
            let Some(name) = input.file_name() else {
                c.problems.push((input.clone(), Error::unsupported(input, "input has no file name")));
                continue;
            };
            let job = Job {
                input: input.clone(),
                output: out_dir.join(output_name(Path::new(name), &crate::video::media_head(input))),
                names: vec![input.to_string_lossy().into_owned(), name.to_string_lossy().into_owned()],
            };
            push(job, &mut c);
        }
    }
    c.others.sort();
    c
}

fn walk(root: &Path, dir: &Path, out: Option<&Path>, files: &mut Vec<(PathBuf, PathBuf)>, c: &mut Collected) {
    if let (Some(out), Ok(canon)) = (out, std::fs::canonicalize(dir)) {
        if canon == out {
            return;
        }
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            c.problems.push((dir.to_path_buf(), Error::io(dir, "read folder", e)));
            return;
        }
    };
    for entry in entries {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                c.problems.push((dir.to_path_buf(), Error::io(dir, "read folder", e)));
                continue;
            }
        };
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
            continue;
        }
        let ft = match entry.file_type() {
            Ok(ft) => ft,
            Err(e) => {
                c.problems.push((path.clone(), Error::io(&path, "read folder entry", e)));
                continue;
            }
        };
        if ft.is_dir() {
            walk(root, &path, out, files, c);
            continue;
        }
        // a link: what it points to (links to folders are not followed)
        let target = if ft.is_symlink() { std::fs::metadata(&path).map(|m| m.file_type()) } else { Ok(ft) };
        let target = match target {
            Ok(t) => t,
            // a dangling or looping link named like media is named; any other is an "other file"
            Err(e) if is_media(&path, &[]) => {
                let e = if e.kind() == std::io::ErrorKind::NotFound {
                    std::io::Error::other("broken symbolic link (its target does not exist)")
                } else {
                    e
                };
                c.problems.push((path.clone(), Error::io(&path, "read input", e)));
                continue;
            }
            Err(_) => {
                c.others.push(path);
                continue;
            }
        };
        if target.is_dir() {
            continue;
        }
        if let Some(what) = special_kind(target) {
            c.problems.push((path.clone(), special_error(&path, what)));
            continue;
        }
        let head = crate::video::media_head(&path);
        if is_media(&path, &head) {
            if let Ok(rel) = path.strip_prefix(root) {
                files.push((rel.to_path_buf(), output_name(rel, &head)));
            }
        } else {
            c.others.push(path);
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

    fn jpeg_bytes() -> Vec<u8> {
        let mut v = Vec::new();
        image::RgbImage::new(8, 8).write_to(&mut std::io::Cursor::new(&mut v), image::ImageFormat::Jpeg).unwrap();
        v
    }

    #[test]
    fn issue11_every_file_in_a_folder_is_a_job_a_problem_or_counted_as_other() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("in");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(root.join("notes.txt"), b"hello").unwrap();
        std::fs::write(root.join("scan.dat"), jpeg_bytes()).unwrap(); // a JPEG by content
        std::fs::write(root.join("IMG_0001.HEIC"), b"\0\0\0\x18ftypheic\0\0\0\0mif1heic").unwrap();
        std::fs::write(root.join("IMG_0001.MOV"), b"\0\0\0\x14ftypqt  \0\0\0\0qt  ").unwrap();
        std::fs::write(root.join("still.gif"), b"GIF89a\x01\0\x01\0\0\0\0,\0\0\0\0\x01\0\x01\0\0\x02\x02D\x01\0;")
            .unwrap();
        std::fs::write(root.join("IMG_0002.DNG"), b"II*\0").unwrap();
        std::fs::write(root.join("design.psd"), b"8BPS").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(root.join("gone.jpg"), root.join("broken.jpg")).unwrap();
        let out = d.path().join("out");
        let c = collect(std::slice::from_ref(&root), &out);
        let outs: Vec<_> = c.jobs.iter().map(|j| j.output.strip_prefix(&out).unwrap().to_path_buf()).collect();
        let want: Vec<PathBuf> =
            ["IMG_0001.jpg", "IMG_0001.mp4", "IMG_0002.DNG", "design.psd", "scan.jpg", "still.png"]
                .iter()
                .map(PathBuf::from)
                .collect();
        assert_eq!(outs, want);
        assert_eq!(c.others, vec![root.join("notes.txt")]);
        #[cfg(unix)]
        {
            assert_eq!(c.problems.len(), 1, "{:?}", c.problems);
            assert!(c.problems[0].1.to_string().contains("broken symbolic link"), "{:?}", c.problems);
        }
    }

    #[test]
    fn issue11_two_inputs_with_the_same_output_are_a_problem_before_anything_runs() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a.jpg"), jpeg_bytes()).unwrap();
        std::fs::write(d.path().join("a.heic"), b"\0\0\0\x18ftypheic\0\0\0\0mif1heic").unwrap();
        let c = collect(&[d.path().to_path_buf()], &d.path().join("out"));
        assert_eq!(c.jobs.len(), 1);
        assert_eq!(c.problems.len(), 1);
        assert!(c.problems[0].1.to_string().contains("already maps to"), "{}", c.problems[0].1);
    }

    #[cfg(unix)]
    #[test]
    fn issue15_fifos_are_refused_without_being_opened() {
        let d = tempfile::tempdir().unwrap();
        let fifo = d.path().join("pipe.jpg");
        let ok = std::process::Command::new("mkfifo").arg(&fifo).status().is_ok_and(|s| s.success());
        if !ok {
            eprintln!("note: mkfifo not available, test skipped");
            return;
        }
        // named on the command line, and found in a folder: both refused at once (opening it would block)
        let c = collect(&[fifo.clone(), d.path().to_path_buf()], &d.path().join("out"));
        assert!(c.jobs.is_empty(), "{:?}", c.jobs);
        assert_eq!(c.problems.len(), 2, "{:?}", c.problems);
        for (_, e) in &c.problems {
            assert!(e.to_string().contains("named pipe (FIFO), not a regular file"), "{e}");
        }
    }
}
