//! The CLI's side of progress reporting: an indicatif bar on a terminal, nothing otherwise, and
//! one line per failed input on stderr.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};
use unseen::inputs::Job;
use unseen::report::{FileReport, Status};
use unseen::Reporter;

pub struct CliReporter {
    bar: Option<ProgressBar>,
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
        CliReporter { bar }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }

    pub fn println(&self, line: &str) {
        match &self.bar {
            Some(b) => b.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }
}

impl Reporter for CliReporter {
    fn on_start(&self, job: &Job) {
        if let Some(b) = &self.bar {
            b.set_message(job.input.display().to_string());
        }
    }

    fn on_done(&self, report: &FileReport) {
        if report.status == Status::Error {
            self.println(&format!("error: {}", report.error.as_deref().unwrap_or("unknown error")));
        }
        if let Some(b) = &self.bar {
            b.inc(1);
        }
    }
}
