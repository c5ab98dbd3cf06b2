//! Argument groups and helpers shared by the binaries: reading corpora from
//! flags, and printing one clear error line.
#![allow(dead_code)] // each binary uses a different part

use anyhow::{bail, Context, Result};
use clap::Args;
use docclass::corpus::{Corpus, Format, ReadOptions};
use std::path::PathBuf;

/// Where documents come from.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// Input corpus: JSONL, CSV, fastText (.txt) file, or a directory whose sub-folders are labels. Repeatable.
    #[arg(long = "input", short = 'i', required = true, num_args = 1.., value_name = "PATH")]
    pub inputs: Vec<PathBuf>,
    /// Input format, when the extension does not tell: jsonl, csv, fasttext, dir.
    #[arg(long)]
    pub format: Option<Format>,
    /// Keep only JSONL rows whose "split" field equals this (e.g. train, test).
    #[arg(long)]
    pub split: Option<String>,
    /// Skip malformed records and count them, instead of stopping at the first.
    #[arg(long)]
    pub skip_invalid: bool,
    /// CSV column holding the text.
    #[arg(long, default_value = "text")]
    pub csv_text_column: String,
    /// CSV column holding the labels.
    #[arg(long, default_value = "labels")]
    pub csv_label_column: String,
    /// CSV column holding a title, if any.
    #[arg(long)]
    pub csv_title_column: Option<String>,
    /// Separator between several labels in one CSV cell.
    #[arg(long, default_value = "|")]
    pub csv_label_separator: char,
}

impl InputArgs {
    pub fn read(&self) -> Result<Corpus> {
        let options = ReadOptions {
            format: self.format,
            split: self.split.clone(),
            skip_invalid: self.skip_invalid,
            csv_text_column: self.csv_text_column.clone(),
            csv_label_column: self.csv_label_column.clone(),
            csv_title_column: self.csv_title_column.clone(),
            csv_label_separator: self.csv_label_separator,
        };
        let corpus = Corpus::read_all(&self.inputs, &options)?;
        for (location, reason) in corpus.skipped.iter().take(20) {
            eprintln!("warning: skipped {location}: {reason}");
        }
        if corpus.skipped.len() > 20 {
            eprintln!(
                "warning: ... and {} more skipped records",
                corpus.skipped.len() - 20
            );
        }
        if corpus.documents.is_empty() {
            match &self.split {
                Some(split) => bail!(
                    "no documents with split {split:?} in the input ({} rows had another split)",
                    corpus.filtered_out
                ),
                None => bail!("the input holds no documents"),
            }
        }
        Ok(corpus)
    }
}

/// Prints `error: ...` with the cause chain on one line and returns exit code 1.
pub fn report(err: &anyhow::Error) -> std::process::ExitCode {
    let mut chain: Vec<String> = Vec::new();
    for cause in err.chain().map(|e| e.to_string()) {
        // Errors such as "cannot read X: {source}" already show their cause.
        if !chain.last().is_some_and(|prev| prev.ends_with(&cause)) {
            chain.push(cause);
        }
    }
    eprintln!("error: {}", chain.join(": "));
    std::process::ExitCode::FAILURE
}

/// Reads a file, naming it in the error.
pub fn read_to_string(path: &PathBuf) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}
