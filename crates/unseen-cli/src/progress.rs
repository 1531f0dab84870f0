//! The CLI's side of progress reporting: an indicatif bar on a terminal (plus one bar per video
//! being processed, with frames, fps and ETA), nothing otherwise, and one line per failed input
//! on stderr.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Mutex;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use unseen::inputs::Job;
use unseen::report::{FileReport, Status};
use unseen::Reporter;

pub struct CliReporter {
    bar: Option<ProgressBar>,
    multi: Option<MultiProgress>,
    videos: Mutex<HashMap<PathBuf, ProgressBar>>,
    announced: std::sync::atomic::AtomicBool,
}

impl CliReporter {
    pub fn new(total: usize, quiet: bool) -> CliReporter {
        let show = !quiet && std::io::stderr().is_terminal() && std::env::var_os("UNSEEN_NO_PROGRESS").is_none();
        let bar = show.then(|| {
            let b = ProgressBar::new(total as u64);
            if let Ok(style) =
                ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {wide_msg}")
            {
                b.set_style(style);
            }
            b
        });
        let multi = bar.as_ref().map(|b| {
            let m = MultiProgress::new();
            m.add(b.clone());
            m
        });
        CliReporter { bar, multi, videos: Mutex::new(HashMap::new()), announced: Default::default() }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }

    /// Prints one line on stderr, with control characters escaped ([`terminal_safe`]).
    pub fn println(&self, line: &str) {
        let line = terminal_safe(line);
        match &self.bar {
            Some(b) => b.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }
}

impl Reporter for CliReporter {
    fn on_start(&self, job: &Job) {
        if let Some(b) = &self.bar {
            b.set_message(terminal_safe(&job.input.display().to_string()));
        }
    }

    fn on_frames(&self, job: &Job, done: u64, total: Option<u64>) {
        let Some(multi) = &self.multi else { return };
        let Ok(mut videos) = self.videos.lock() else { return };
        let bar = videos.entry(job.input.clone()).or_insert_with(|| {
            let b = multi.add(ProgressBar::new(total.unwrap_or(0)));
            if let Ok(style) = ProgressStyle::with_template(
                "  {bar:30} {pos}/{len} frames, {per_sec} ({elapsed} elapsed, ETA {eta}) {wide_msg}",
            ) {
                b.set_style(style);
            }
            b.set_message(terminal_safe(&job.input.display().to_string()));
            b
        });
        if total.is_some_and(|t| t < done) || total.is_none() {
            bar.set_length(done);
        }
        bar.set_position(done);
    }

    fn on_done(&self, report: &FileReport) {
        if let Some(b) = self.videos.lock().ok().and_then(|mut v| v.remove(&PathBuf::from(&report.input))) {
            b.finish_and_clear();
        }
        if report.error_kind == Some("interrupted") {
            // one line for the stop, not one per file left (the summary counts them)
            if !self.announced.swap(true, std::sync::atomic::Ordering::Relaxed) {
                self.println("unseen: stopping (interrupted): files in progress are dropped or finished, nothing partial is written; interrupt again to quit at once");
            }
        } else if report.status == Status::Error {
            let msg = report.error.as_deref().unwrap_or("unknown error");
            // errors about the output side (e.g. an unwritable --out) name that path: add the input
            if msg.starts_with(&report.input) {
                self.println(&format!("error: {msg}"));
            } else {
                self.println(&format!("error: {}: {msg}", report.input));
            }
        }
        if let Some(b) = &self.bar {
            b.inc(1);
        }
    }
}

/// The text with every control character (C0, DEL, C1: escape sequences, bell, carriage return,
/// newline) shown escaped as Rust's `{:?}` shows it (`\u{1b}`, `\n`), so that a crafted file
/// name cannot clear the screen, set the terminal title or hide other lines.
pub fn terminal_safe(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::terminal_safe;

    #[test]
    fn issue15_control_characters_are_escaped() {
        assert_eq!(terminal_safe("x\u{1b}[2J\u{1b}]0;pwned\u{7}.jpg"), "x\\u{1b}[2J\\u{1b}]0;pwned\\u{7}.jpg");
        assert_eq!(terminal_safe("a\nb\rc\u{9b}d"), "a\\nb\\rc\\u{9b}d");
        assert_eq!(terminal_safe("café ünïcode.jpg"), "café ünïcode.jpg");
    }
}
