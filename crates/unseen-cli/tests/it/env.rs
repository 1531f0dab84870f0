//! A fresh temporary folder per test, with inputs copied from testdata/ (never used in place),
//! a helper to run the `unseen` binary in it, and a check at the end that no input changed.

use std::path::{Path, PathBuf};
use std::process::Output;

use sha2::{Digest, Sha256};

pub fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata").join(rel)
}

pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

pub fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// A test's folder: inputs under `in/`, outputs under `out/`.
pub struct Env {
    dir: tempfile::TempDir,
    inputs: Vec<(PathBuf, String)>,
}

impl Env {
    pub fn new() -> Env {
        Env { dir: tempfile::tempdir().expect("temp dir"), inputs: Vec::new() }
    }

    /// A path inside the test folder.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// The output folder given to `--out`.
    pub fn out(&self) -> PathBuf {
        self.path("out")
    }

    /// Copies `fixture` (relative to testdata/) to `in/<rel>` and remembers its hash.
    pub fn input(&mut self, fixture: &str, rel: &str) -> PathBuf {
        self.input_bytes(rel, &read(&testdata(fixture)))
    }

    /// Writes `bytes` to `in/<rel>` and remembers their hash.
    pub fn input_bytes(&mut self, rel: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path("in").join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, bytes).unwrap();
        self.inputs.push((p.clone(), sha256(bytes)));
        p
    }

    /// `unseen --out <out>`, run in the test folder, without progress bars or injected faults.
    pub fn unseen(&self) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_unseen"));
        cmd.current_dir(self.dir.path()).env("UNSEEN_NO_PROGRESS", "1").env_remove("UNSEEN_TEST_FAULT");
        cmd.arg("--out").arg(self.out());
        cmd
    }

    /// Every file under `out/` (hidden and temporary files included), sorted, relative to `out/`.
    pub fn outputs(&self) -> Vec<String> {
        fn walk(root: &Path, dir: &Path, acc: &mut Vec<String>) {
            let Ok(entries) = std::fs::read_dir(dir) else { return };
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(root, &p, acc);
                } else {
                    acc.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
                }
            }
        }
        let mut acc = Vec::new();
        walk(&self.out(), &self.out(), &mut acc);
        acc.sort();
        acc
    }
}

impl Drop for Env {
    /// Originals are never modified: every input still has the hash it had when copied in.
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        for (p, want) in &self.inputs {
            assert_eq!(&sha256(&read(p)), want, "input {} was modified", p.display());
        }
    }
}

/// stderr of a finished command, as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The `error: ...` lines of stderr.
pub fn error_lines(out: &Output) -> Vec<String> {
    stderr(out).lines().filter(|l| l.starts_with("error:")).map(str::to_owned).collect()
}

/// CRC-32 (IEEE) of `ty` followed by `data`, as PNG chunks need it.
pub fn crc32(ty: &[u8], data: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &byte in ty.iter().chain(data) {
        c ^= u32::from(byte);
        for _ in 0..8 {
            c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
        }
    }
    !c
}
