//! `unseen eval` (see issue: recall measurement). Placeholder until the evaluation lands.

use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// WIDER FACE style folder (images/, wider_face_gt.txt, subsets.tsv).
    #[arg(long)]
    pub widerface: PathBuf,
}

pub fn run(_a: &EvalArgs) -> anyhow::Result<crate::Exit> {
    anyhow::bail!("eval is not implemented yet")
}
