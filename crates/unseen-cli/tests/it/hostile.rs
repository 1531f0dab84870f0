//! Issue 5, malformed and hostile inputs through the binary: the whole testdata/bad/ folder in one
//! batch (one error line per file, the good file still written, exit 1), wrong extensions, a PNG
//! with a 64 MiB zTXt, odd file names, symbolic-link loops, an unreadable input, an unwritable
//! output folder and an output folder equal to the input folder. `Env` checks on drop that no
//! input changed.

use std::path::{Path, PathBuf};

use crate::env::{crc32, error_lines, read, stderr, testdata, Env};

/// Whether this process can read a file it has no permission for (root, CAP_DAC_OVERRIDE).
fn permissions_are_bypassed(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join("probe");
    std::fs::write(&p, b"x").unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o000)).unwrap();
    let bypassed = std::fs::read(&p).is_ok();
    std::fs::remove_file(&p).unwrap();
    bypassed
}

#[test]
fn issue5_every_bad_file_fails_on_its_own_line_and_the_batch_goes_on() {
    let mut env = Env::new();
    let mut bad = Vec::new();
    for e in std::fs::read_dir(testdata("bad")).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        bad.push(env.input(&format!("bad/{name}"), &name));
    }
    bad.sort();
    let good = env.input("good/no_faces.png", "zz_good.png");
    let out = env.unseen().args(["-j", "2", "--preset", "fast"]).args(&bad).arg(&good).assert().code(1);
    let out = out.get_output();
    let errors = error_lines(out);
    assert_eq!(errors.len(), bad.len(), "one line per bad file:\n{}", stderr(out));
    for b in &bad {
        let n = errors.iter().filter(|l| l.starts_with(&format!("error: {}:", b.display()))).count();
        assert_eq!(n, 1, "{}: expected one error line:\n{}", b.display(), stderr(out));
    }
    assert!(!stderr(out).contains("panicked"), "{}", stderr(out));
    assert_eq!(env.outputs(), ["zz_good.png"], "only the good file is written, no temp file left");
}

#[test]
fn issue5_wrong_extensions_are_written_in_the_format_the_name_says() {
    let mut env = Env::new();
    let png_as_jpg = env.input("good/no_faces.png", "png_named.jpg");
    let jpg_as_png = env.input("good/gray.jpg", "jpeg_named.png");
    env.unseen().args(["--preset", "fast"]).arg(&png_as_jpg).arg(&jpg_as_png).assert().code(0);
    let a = read(&env.out().join("png_named.jpg"));
    assert!(a.starts_with(&[0xFF, 0xD8]), "PNG content named .jpg is written as JPEG");
    let b = read(&env.out().join("jpeg_named.png"));
    assert!(b.starts_with(b"\x89PNG"), "JPEG content named .png is written as PNG");
    image::load_from_memory(&a).unwrap();
    image::load_from_memory(&b).unwrap();
}

#[test]
fn issue5_images_named_without_an_image_extension_get_their_formats_extension() {
    let mut env = Env::new();
    let jpg_as_mp4 = env.input("good/gray.jpg", "photo.mp4");
    let png_bare = env.input("good/no_faces.png", "scan");
    env.unseen().args(["--preset", "fast"]).arg(&jpg_as_mp4).arg(&png_bare).assert().code(0);
    assert_eq!(env.outputs(), ["photo.jpg", "scan.png"]);
    assert!(read(&env.out().join("photo.jpg")).starts_with(&[0xFF, 0xD8]));
    assert!(read(&env.out().join("scan.png")).starts_with(b"\x89PNG"));
}

#[test]
fn issue5_png_with_a_huge_ztxt_is_cleaned_without_inflating_it() {
    use std::io::Write;
    let png = read(&testdata("good/no_faces.png"));
    // 64 MiB of text in ~430 kB, right after IHDR
    let mut z = deflate_zeros(64 << 20);
    let mut data = b"Comment\0\0".to_vec();
    data.append(&mut z);
    let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
    chunk.extend_from_slice(b"zTXt");
    chunk.extend_from_slice(&data);
    chunk.extend_from_slice(&crc32(b"zTXt", &data).to_be_bytes());
    let mut file = png[..33].to_vec();
    file.write_all(&chunk).unwrap();
    file.extend_from_slice(&png[33..]);
    let mut env = Env::new();
    let input = env.input_bytes("bomb_text.png", &file);
    let started = std::time::Instant::now();
    env.unseen().args(["--preset", "fast"]).arg(&input).assert().code(0);
    assert!(started.elapsed().as_secs() < 60, "took {:?}", started.elapsed());
    let outp = read(&env.out().join("bomb_text.png"));
    assert!(!outp.windows(4).any(|w| w == b"zTXt"), "no text chunk in the output");
}

/// A zlib stream of `n` zero bytes without a compressor: one literal, then maximal
/// back-references (length 258, distance 1), in one fixed-Huffman block.
fn deflate_zeros(n: usize) -> Vec<u8> {
    struct Bits {
        out: Vec<u8>,
        acc: u32,
        nbits: u32,
    }
    impl Bits {
        fn put(&mut self, v: u32, n: u32) {
            self.acc |= v << self.nbits;
            self.nbits += n;
            while self.nbits >= 8 {
                self.out.push(self.acc as u8);
                self.acc >>= 8;
                self.nbits -= 8;
            }
        }
        /// Huffman codes are sent most-significant bit first.
        fn code(&mut self, v: u32, n: u32) {
            let rev = v.reverse_bits() >> (32 - n);
            self.put(rev, n);
        }
    }
    let mut b = Bits { out: vec![0x78, 0x01], acc: 0, nbits: 0 };
    b.put(1, 1); // final block
    b.put(1, 2); // fixed Huffman
    b.code(0x30, 8); // literal 0
    let mut left = n - 1;
    while left >= 258 {
        b.code(0xC5, 8); // length code 285 = 258 (codes 280-287: 8 bits from 0xC0)
        b.code(0, 5); // distance code 0 = 1
        left -= 258;
    }
    for _ in 0..left {
        b.code(0x30, 8);
    }
    b.code(0, 7); // end of block (256)
    if b.nbits > 0 {
        let pad = 8 - b.nbits;
        b.put(0, pad);
    }
    // Adler-32 of n zeros: a = 1, b = n mod 65521
    let adler = ((n % 65521) as u32) << 16 | 1;
    b.out.extend_from_slice(&adler.to_be_bytes());
    b.out
}

#[test]
fn issue5_non_utf8_and_longest_file_names_work() {
    use std::os::unix::ffi::OsStrExt;
    let mut env = Env::new();
    let non_utf8 = std::ffi::OsStr::from_bytes(b"caf\xe9-\xff.png");
    let long = format!("{}.png", "n".repeat(251)); // 255 bytes, the usual NAME_MAX
    let a = env.input("good/no_faces.png", "x.png");
    let a2 = a.with_file_name(non_utf8);
    std::fs::rename(&a, &a2).unwrap();
    let b = env.input("good/1x1.png", &long);
    let out = env.unseen().arg("--report").arg("report.json").arg(env.path("in")).assert().code(0);
    assert!(error_lines(out.get_output()).is_empty(), "{}", stderr(out.get_output()));
    assert!(env.out().join(non_utf8).is_file(), "non-UTF-8 name kept");
    assert!(env.out().join(&long).is_file(), "255-byte name kept");
    let report: serde_json::Value = serde_json::from_slice(&read(&env.path("report.json"))).unwrap();
    assert_eq!(report["files"].as_array().unwrap().len(), 2, "the report is valid JSON (names lossily converted)");
    std::fs::rename(&a2, &a).unwrap(); // for Env's hash check
    let _ = b;
}

#[test]
fn issue5_symlink_loops_neither_hang_nor_stop_the_batch() {
    let mut env = Env::new();
    let good = env.input("good/no_faces.png", "dir/good.png");
    let dir = good.parent().unwrap().to_path_buf();
    std::os::unix::fs::symlink(&dir, dir.join("loop_to_self")).unwrap();
    std::os::unix::fs::symlink("b.png", dir.join("a.png")).unwrap();
    std::os::unix::fs::symlink("a.png", dir.join("b.png")).unwrap();
    // folder walk: the folder link is not followed; the looping file links are named (issue 11:
    // nothing skipped silently) and the good file is written
    let out = env.unseen().arg(&dir).assert().code(1);
    let errors = error_lines(out.get_output());
    assert_eq!(errors.len(), 2, "{}", stderr(out.get_output()));
    assert!(errors.iter().all(|l| l.contains("symbolic links")), "{errors:?}");
    assert_eq!(env.outputs(), ["good.png"]);
    // named explicitly, a looping link is one error line and the rest goes on
    let out = env.unseen().args(["--overwrite"]).arg(dir.join("a.png")).arg(&good).assert().code(1);
    let errors = error_lines(out.get_output());
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("a.png") && errors[0].contains("symbolic links"), "{errors:?}");
}

#[test]
fn issue5_unreadable_input_is_one_error_line() {
    let mut env = Env::new();
    let good = env.input("good/1x1.png", "good.png");
    // even root cannot read /proc/self/mem from offset 0 (EIO): an unreadable file for any user
    let mem = env.path("in/unreadable_mem.jpg");
    std::os::unix::fs::symlink("/proc/self/mem", &mem).unwrap();
    let mut inputs: Vec<PathBuf> = vec![mem];
    if permissions_are_bypassed(&env.path("in")) {
        println!("note: running with permission bypass (root): chmod 000 case skipped, /proc/self/mem used");
    } else {
        use std::os::unix::fs::PermissionsExt;
        let p = env.path("in/no_permission.png");
        std::fs::write(&p, read(&testdata("good/1x1.png"))).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o000)).unwrap();
        inputs.push(p);
    }
    let out = env.unseen().args(&inputs).arg(&good).assert().code(1);
    let errors = error_lines(out.get_output());
    assert_eq!(errors.len(), inputs.len(), "{errors:?}");
    // files are processed in parallel: their lines come in the order they finish
    for i in &inputs {
        let e = errors.iter().find(|e| e.contains(&*i.to_string_lossy()));
        assert!(e.is_some_and(|e| e.contains("read input")), "{}: {errors:?}", i.display());
    }
    assert_eq!(env.outputs(), ["good.png"]);
}

#[test]
fn issue5_unwritable_output_folder_fails_every_input_by_name() {
    let mut env = Env::new();
    let a = env.input("good/1x1.png", "a.png");
    let b = env.input("good/no_faces.png", "b.png");
    // a path below a regular file can be created by nobody, root included
    std::fs::write(env.path("a_file"), b"x").unwrap();
    let mut outs = vec![env.path("a_file/out")];
    if !permissions_are_bypassed(&env.path("in")) {
        use std::os::unix::fs::PermissionsExt;
        let ro = env.path("read_only");
        std::fs::create_dir(&ro).unwrap();
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
        outs.push(ro);
    } else {
        println!("note: running with permission bypass (root): read-only folder case skipped");
    }
    for out_dir in outs {
        let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_unseen"));
        cmd.env("UNSEEN_NO_PROGRESS", "1").arg("--out").arg(&out_dir).arg(&a).arg(&b);
        let out = cmd.assert().code(1);
        let errors = error_lines(out.get_output());
        assert_eq!(errors.len(), 2, "{errors:?}");
        // files are processed in parallel: their lines come in the order they finish
        for input in [&a, &b] {
            let line = errors.iter().find(|e| e.starts_with(&format!("error: {}:", input.display())));
            let line = line.unwrap_or_else(|| panic!("names the input {}: {errors:?}", input.display()));
            assert!(line.contains(&*out_dir.to_string_lossy()), "and the output folder: {errors:?}");
        }
        let leftovers = std::fs::read_dir(&out_dir).map(|d| d.count()).unwrap_or(0);
        assert_eq!(leftovers, 0, "no temp file left in {}", out_dir.display());
    }
}

#[test]
fn issue5_output_folder_equal_to_the_input_folder_is_refused() {
    let mut env = Env::new();
    let a = env.input("good/1x1.png", "a.png");
    let in_dir = env.path("in");
    let run = |args: &[&Path]| {
        let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_unseen"));
        cmd.env("UNSEEN_NO_PROGRESS", "1").arg("--out").arg(&in_dir).args(args);
        cmd.assert().code(1).get_output().clone()
    };
    // the folder itself: nothing would be found (the output folder is skipped), so it is an error
    let out = run(&[&in_dir]);
    let errors = error_lines(&out);
    assert_eq!(errors.len(), 1, "{}", stderr(&out));
    assert!(errors[0].contains("output would overwrite an input"), "{errors:?}");
    // a file in it: its output would be the input itself
    let out = run(&[&a]);
    let errors = error_lines(&out);
    assert_eq!(errors.len(), 1, "{}", stderr(&out));
    assert!(errors[0].contains(&*a.to_string_lossy()) && errors[0].contains("overwrite an input"), "{errors:?}");
    let names: Vec<_> = std::fs::read_dir(&in_dir).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(names, ["a.png"], "nothing written beside the input");
}
