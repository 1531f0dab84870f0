//! `unseen`: the command-line front end. Parses arguments, builds options, runs the library's
//! batch, prints one line per failure and a summary, and maps the outcome to an exit code.

mod alloc;
mod args;
mod eval_cmd;
mod progress;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use unseen::inputs::collect;
use unseen::report::{BatchReport, FileReport, Status};
use unseen::{Fault, Pipeline};

use crate::args::{cpus, Cli, Command, ReviewArgs, RunArgs};
use crate::progress::CliReporter;

/// Exit codes: 0 every input succeeded or was skipped, 1 at least one failed, 2 usage error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Exit {
    Success = 0,
    Failure = 1,
    Usage = 2,
    /// Stopped by SIGINT, SIGTERM or SIGHUP (128 + 2, as shells report Ctrl-C).
    Interrupted = 130,
}

fn main() -> ExitCode {
    alloc::keep_freed_pages();
    alloc::no_transparent_huge_pages();
    let cli = Cli::parse();
    let result = match &cli.command {
        Some(Command::Eval(a)) => eval_cmd::run(a),
        Some(Command::Review(a)) => review(a),
        None => run(&cli.run),
    };
    match result {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            if e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) {
                return ExitCode::SUCCESS;
            }
            eprintln!("{}", progress::terminal_safe(&format!("unseen: error: {e:#}")));
            ExitCode::from(Exit::Usage as u8)
        }
    }
}

fn run(args: &RunArgs) -> anyhow::Result<Exit> {
    if args.inputs.is_empty() {
        anyhow::bail!("no input given (try `unseen --help`)");
    }
    let options = args.to_options()?;
    if options.mode == unseen::Mode::None {
        eprintln!("unseen: warning: --mode none does NOT obscure faces (it only outlines them): preview only, never publish this output");
    } else if options.is_weak() {
        eprintln!("unseen: warning: --grid {} keeps more than a 4x4 grid of means: faces may stay recognisable or be restored", options.grid);
    }
    let collected = collect(&args.inputs, &args.out);
    // opened before the sandbox closes the report's folder (written at the end)
    let report_file = match &args.report {
        Some(path) => Some(ReportFile::open(path).with_context(|| format!("opening report {}", path.display()))?),
        None => None,
    };
    // least privilege before the first byte of an input is parsed (and before any thread exists)
    if !args.no_sandbox {
        enter_sandbox(args, &options, &collected.jobs, &[])?;
    }
    let mut pipeline = Pipeline::new(options.clone()).context("loading the detector")?;
    if let Some(f) = std::env::var("UNSEEN_TEST_FAULT").ok().as_deref().and_then(Fault::parse) {
        pipeline.inject_fault(Some(f));
    }
    watch_signals(&pipeline.stop_flag()).context("installing the Ctrl-C handler")?;

    let (jobs, problems) = (collected.jobs, collected.problems);
    let reporter = CliReporter::new(jobs.len(), args.quiet);
    let mut files: Vec<FileReport> = problems
        .into_iter()
        .map(|(p, e)| {
            reporter.println(&format!("error: {e}"));
            let mut r = FileReport::new(&p, None);
            r.fail(&e);
            r
        })
        .collect();
    let workers = args.jobs.unwrap_or_else(cpus).max(1).min(jobs.len().max(1));
    files.extend(pipeline.run_batch(&jobs, workers, &reporter));
    reporter.finish();

    let report = BatchReport {
        version: env!("CARGO_PKG_VERSION"),
        model_sha256: unseen::MODEL_SHA256,
        models: pipeline.models(),
        backend: pipeline.detector().backend(),
        options,
        files,
        other_files: collected.others.iter().map(|p| p.to_string_lossy().into_owned()).collect(),
    };
    if let (Some(path), Some(file)) = (&args.report, report_file) {
        file.write(&report).with_context(|| format!("writing report {}", path.display()))?;
    }
    let (ok, skipped, failed) = report.counts();
    let interrupted = report.files.iter().filter(|f| f.error_kind == Some("interrupted")).count();
    let faces: usize = report.files.iter().map(|f| f.faces.len()).sum();
    let extras = extras_summary(&report);
    if !args.quiet {
        let verb = if pipeline.is_preview() { "outlined (NOT obscured)" } else { "obscured" };
        let videos = video_summary(&report.files);
        let others = match report.other_files.len() {
            0 => String::new(),
            1 => ", 1 other file not processed (not an image or video)".to_string(),
            n => format!(", {n} other files not processed (not images or videos)"),
        };
        eprintln!(
            "{}",
            progress::terminal_safe(&format!(
                "unseen: {ok} written, {skipped} skipped (output exists), {} failed{}{others}; {faces} faces{videos}{extras} {verb}; output in {}; detector: {}",
                failed - interrupted,
                if interrupted > 0 { format!(", {interrupted} interrupted") } else { String::new() },
                args.out.display(),
                backend_summary(&pipeline)
            ))
        );
        audio_note(&report.files);
        let waited = pipeline.memory_budget().waited();
        if waited > 0 {
            eprintln!(
                "unseen: note: {waited} file(s) waited for memory before starting (budget {} MiB for the files in flight; see --max-memory)",
                pipeline.memory_budget().limit() >> 20
            );
        }
    }
    if pipeline.stop_requested() {
        eprintln!(
            "unseen: interrupted: {interrupted} file(s) not finished, nothing written for them; run the same command again to finish (outputs already written are skipped)"
        );
        return Ok(Exit::Interrupted);
    }
    Ok(if failed > 0 { Exit::Failure } else { Exit::Success })
}

/// SIGINT (Ctrl-C), SIGTERM or SIGHUP set `stop`: the pipeline starts no new file, drops the
/// video in progress at its next frame (its temp file removed, its ffmpeg stopped), finishes
/// the images in progress, and the report is still written. A second signal exits at once
/// (status 130; temp files left then are removed by the next run in that folder). The handlers
/// only set a flag (no thread, no socket), so they work inside the sandbox.
fn watch_signals(stop: &std::sync::Arc<std::sync::atomic::AtomicBool>) -> std::io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    for signal in [SIGINT, SIGTERM, SIGHUP] {
        // registered first, so it sees the flag as the signal before this one left it
        signal_hook::flag::register_conditional_shutdown(signal, Exit::Interrupted as i32, stop.clone())?;
        signal_hook::flag::register(signal, stop.clone())?;
    }
    Ok(())
}

/// `unseen review`: serves the review page until the process is stopped (Ctrl-C loses nothing:
/// every decision is already saved).
fn review(args: &ReviewArgs) -> anyhow::Result<Exit> {
    let run = &args.run;
    if run.inputs.is_empty() {
        anyhow::bail!("no input given (try `unseen review --help`)");
    }
    let sidecar = run.regions.clone().unwrap_or_else(|| unseen_review::Config::default_sidecar(&run.out));
    // the decisions file is the server's to read and write; the options come from the same function
    let options = RunArgs { regions: None, ..run.clone() }.to_options()?;
    if options.is_weak() {
        eprintln!("unseen: warning: these settings do not obscure irreversibly (see --mode, --grid)");
    }
    let config = unseen_review::Config {
        inputs: run.inputs.clone(),
        out: run.out.clone(),
        sidecar: sidecar.clone(),
        port: args.port,
        cli_flags: run.option_flags(),
    };
    // bind loopback and open the browser before the sandbox (which forbids sockets and would
    // confine the browser too), then confine, then load the detector and start detecting
    let bound = unseen_review::Server::prepare(config).context("starting the review server")?;
    let url = bound.url();
    println!("unseen review: open {url}");
    eprintln!(
        "unseen review: decisions are saved to {} after every change; outputs go to {}; Ctrl-C stops the server",
        sidecar.display(),
        run.out.display()
    );
    std::io::stdout().flush()?;
    if !args.no_open {
        open_browser(&url);
    }
    if !run.no_sandbox {
        let collected = collect(&run.inputs, &run.out);
        // the decisions file is replaced atomically: a temp file beside it
        let sidecar_dir = sidecar.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        enter_sandbox(run, &options, &collected.jobs, &[sidecar_dir.to_path_buf()])?;
    }
    let mut pipeline = Pipeline::new(options).context("loading the detector")?;
    if let Some(f) = std::env::var("UNSEEN_TEST_FAULT").ok().as_deref().and_then(Fault::parse) {
        pipeline.inject_fault(Some(f));
    }
    let server = bound.start(pipeline);
    server.run()?;
    Ok(Exit::Success)
}

/// Opens the default browser when there is one; never fails. No thread waits for it: a thread
/// started before the sandbox would stay unconfined (`xdg-open` returns at once; its exit
/// status is collected when unseen ends).
fn open_browser(url: &str) {
    use std::process::Stdio;
    let _ = std::process::Command::new("xdg-open")
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
}

/// ", 3 face tracks in 2 videos" when videos were written, else "".
fn video_summary(files: &[FileReport]) -> String {
    let videos: Vec<_> = files.iter().filter(|f| f.status == Status::Ok).filter_map(|f| f.video.as_ref()).collect();
    if videos.is_empty() {
        return String::new();
    }
    let tracks: usize = videos.iter().map(|v| v.face_tracks).sum();
    let s = if videos.len() == 1 { "" } else { "s" };
    format!(" in images, {tracks} face tracks in {} video{s}", videos.len())
}

/// With `--text` / `--people`: ", 4 text regions, 2 people (whole body)" for images, with
/// ", 3 text tracks" and ", 2 person tracks" for videos, else "".
fn extras_summary(report: &BatchReport) -> String {
    let ok = || report.files.iter().filter(|f| f.status == Status::Ok);
    let images = ok().any(|f| f.video.is_none());
    let videos = || ok().filter_map(|f| f.video.as_ref());
    let mut parts = Vec::new();
    if report.options.text {
        if images {
            parts.push(format!("{} text regions", ok().map(|f| f.text.len()).sum::<usize>()));
        }
        if videos().next().is_some() {
            parts.push(format!("{} text tracks", videos().filter_map(|v| v.text_tracks).sum::<usize>()));
        }
    }
    if let Some(p) = report.options.people {
        if images {
            parts.push(format!("{} people", ok().map(|f| f.people.len()).sum::<usize>()));
        }
        if videos().next().is_some() {
            parts.push(format!("{} person tracks", videos().filter_map(|v| v.person_tracks).sum::<usize>()));
        }
        if let Some(last) = parts.last_mut() {
            last.push_str(match p {
                unseen::People::Body => " (whole body)",
                unseen::People::Head => " (head area)",
            });
        }
    }
    parts.iter().map(|p| format!(", {p}")).collect()
}

/// "tract", "onnxruntime", or "tract (onnxruntime not used: why)" when auto fell back.
fn backend_summary(pipeline: &Pipeline) -> String {
    let d = pipeline.detector();
    match d.fallback_reason() {
        Some(why) => format!("{} (onnxruntime not used: {why})", d.backend()),
        None => d.backend().to_string(),
    }
}

/// Says what happened to the audio of the videos written.
fn audio_note(files: &[FileReport]) {
    let written = || files.iter().filter(|f| f.status == Status::Ok).filter_map(|f| f.video.as_ref());
    let kept = written().filter(|v| v.audio == "kept").count();
    let dropped = written().filter(|v| v.audio == "dropped").count();
    if kept > 0 {
        eprintln!("unseen: note: audio kept in {kept} video(s): voices and other sounds can still identify people");
    }
    if dropped > 0 {
        eprintln!("unseen: note: audio removed from {dropped} video(s) (use --audio keep to keep it)");
    }
}

/// The `--report` file, opened before the sandbox (which leaves the report's folder
/// unwritable: a compromised decoder must not write next to the user's files). It is created
/// if missing and replaced in place at the end; an earlier report stays untouched until then.
struct ReportFile(std::fs::File);

impl ReportFile {
    fn open(path: &Path) -> std::io::Result<ReportFile> {
        let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(path)?;
        Ok(ReportFile(file))
    }

    fn write(mut self, report: &BatchReport) -> anyhow::Result<()> {
        let mut json = serde_json::to_vec_pretty(report)?;
        json.push(b'\n');
        self.0.set_len(0)?;
        self.0.write_all(&json)?;
        self.0.sync_all()?;
        Ok(())
    }
}

/// Restricts the process (Landlock, seccomp) to reading the inputs and writing the output
/// folder, with no sockets; says once when the kernel cannot enforce it all (an error with --require-sandbox).
fn enter_sandbox(
    args: &RunArgs,
    options: &unseen::Options,
    jobs: &[unseen::inputs::Job],
    also_write: &[PathBuf],
) -> anyhow::Result<()> {
    use unseen::sandbox::{engine_folders, restrict, Allow, Enforced};
    // onnxruntime is loaded after the sandbox starts: its folder must stay readable (and a
    // missing library is a usage error before anything is created)
    let engine = engine_folders(options.backend).map_err(anyhow::Error::msg).context("loading the detector")?;
    // the rule needs the folder to exist; if it cannot be created, every input fails by name
    // when its output is written (as without the sandbox)
    let _ = std::fs::create_dir_all(&args.out);
    let mut read: Vec<_> = args.inputs.iter().filter_map(|p| std::fs::canonicalize(p).ok()).collect();
    // inputs reached through links that point outside the folders given
    read.extend(jobs.iter().filter_map(|j| std::fs::canonicalize(&j.input).ok()));
    read.extend(engine);
    read.sort();
    read.dedup();
    let mut write = vec![args.out.clone()];
    write.extend(also_write.iter().cloned());
    let allow = Allow { read, write };
    let why = match restrict(&allow).map_err(anyhow::Error::msg)? {
        Enforced::Full => return Ok(()),
        Enforced::Partial(why) | Enforced::None(why) => why,
    };
    if args.require_sandbox {
        anyhow::bail!("--require-sandbox: the sandbox cannot be fully enforced: {why}");
    }
    eprintln!("unseen: warning: sandbox not fully enforced: {why} (decoders run with this user's full rights)");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Exit;

    #[test]
    fn exit_codes_merge_to_the_worst() {
        assert_eq!([Exit::Success, Exit::Failure, Exit::Success].into_iter().max(), Some(Exit::Failure));
        assert_eq!(Exit::Usage as u8, 2);
        assert_eq!(Exit::Failure as u8, 1);
    }
}
