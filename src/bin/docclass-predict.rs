//! `docclass-predict`: classifies every document of corpus files with a
//! model file, without a server, and writes one JSON line per document, in
//! input order (`docclass::predict`).

use anyhow::{Context, Result};
use clap::Parser;
use docclass::cli::{self, InputArgs};
use docclass::model::Model;
use docclass::predict::{self, PredictError, PredictOptions, PredictSummary};
use std::io::{BufWriter, ErrorKind};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Classify corpus files with a model, without a server: one JSON line per
/// document ({"index", "id", "labels", "language", "probabilities",
/// "model_version"}), in input order. Labels in the input are ignored.
#[derive(Debug, Parser)]
#[command(name = "docclass-predict", version)]
struct Cli {
    /// The model file.
    #[arg(long, short = 'm', value_name = "MODEL")]
    model: PathBuf,
    #[command(flatten)]
    input: InputArgs,
    /// Write the lines to this file instead of standard output. They go to
    /// FILE.partial first, renamed to FILE once every document is written.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// List only the N most probable topics under "probabilities" (0: all).
    #[arg(long, default_value_t = 0, value_name = "N")]
    top_k: usize,
    /// Classification threads. Default: one per core.
    #[arg(long, value_name = "N")]
    threads: Option<NonZeroUsize>,
    /// No summary on standard error.
    #[arg(long, short = 'q')]
    quiet: bool,
}

/// Output buffer: lines arrive in blocks of up to a few hundred KB.
const OUTPUT_BUFFER: usize = 1 << 16;

fn run(cli: Cli) -> Result<()> {
    let model = Model::load(&cli.model)
        .with_context(|| format!("cannot load the model {}", cli.model.display()))?;
    let options = PredictOptions {
        read: cli.input.read_options(),
        threads: cli
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN)),
        top_k: cli.top_k,
    };
    let started = Instant::now();
    let summary = match &cli.output {
        Some(path) => predict_to_file(&model, &cli, &options, path)?,
        None => {
            let mut out = BufWriter::with_capacity(OUTPUT_BUFFER, std::io::stdout());
            match predict::predict(&model, &cli.input.inputs, &options, &mut out) {
                Ok(summary) => summary,
                // The reader (`head`, say) has what it wanted.
                Err(PredictError::Write(e)) if e.kind() == ErrorKind::BrokenPipe => return Ok(()),
                Err(e) => return Err(e.into()),
            }
        }
    };
    if !cli.quiet {
        report(&summary, &options, started.elapsed().as_secs_f64());
    }
    Ok(())
}

/// Writes to `path.partial`, renamed to `path` on success. On an error the
/// partial file stays, holding every line written before it.
fn predict_to_file(
    model: &Model,
    cli: &Cli,
    options: &PredictOptions,
    path: &Path,
) -> Result<PredictSummary> {
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let file = std::fs::File::create(&partial)
        .with_context(|| format!("cannot create {}", partial.display()))?;
    let mut out = BufWriter::with_capacity(OUTPUT_BUFFER, file);
    let summary =
        predict::predict(model, &cli.input.inputs, options, &mut out).with_context(|| {
            format!(
                "the lines written so far are in {} (not renamed to {})",
                partial.display(),
                path.display()
            )
        })?;
    let file = out
        .into_inner()
        .map_err(|e| e.into_error())
        .and_then(|file| file.sync_all().map(|()| file))
        .with_context(|| format!("cannot write {}", partial.display()))?;
    drop(file);
    std::fs::rename(&partial, path)
        .with_context(|| format!("cannot rename {} to {}", partial.display(), path.display()))?;
    Ok(summary)
}

fn report(summary: &PredictSummary, options: &PredictOptions, seconds: f64) {
    cli::warn_skipped_records(&summary.skipped_examples, summary.skipped as usize);
    let mut line = format!(
        "classified {} documents in {seconds:.2} s ({:.0} documents/s, {} threads)",
        summary.documents,
        summary.documents as f64 / seconds.max(1e-9),
        options.threads
    );
    if summary.skipped > 0 {
        line.push_str(&format!("; skipped {} invalid records", summary.skipped));
    }
    if summary.filtered_out > 0 {
        line.push_str(&format!(
            "; {} rows had another split",
            summary.filtered_out
        ));
    }
    eprintln!("{line}");
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => cli::report(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn arguments_are_consistent() {
        Cli::command().debug_assert();
    }
}
