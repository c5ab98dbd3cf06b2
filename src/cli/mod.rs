//! What the binaries share (feature `cli`): the clap argument groups for
//! reading corpora ([`InputArgs`]) and for training ([`TrainArgs`], flattened
//! into both `docclass-train` and `docclass-eval`, so `--cv` trains with
//! exactly the options `docclass-train` would), the one-line error printer
//! ([`report`]), writing to stdout ([`emit`]), reading a named file, parsing
//! `--timeout`-style seconds, (with `service`) the async runtime and bearer
//! tokens read from a file or the environment ([`read_token`], the same for
//! server and client), the text tables all binaries print ([`table`]), and
//! the server's batched log writer ([`log_writer`]).

pub mod log_writer;
pub mod table;

use crate::corpus::{Corpus, Format, InvalidRecord, Location, ReadOptions, SKIPPED_LISTED};
use crate::features::{FeatureMode, FeatureParams, Weighting};
use crate::nb::{ClassPriors, NbParams, NbValidParams, NbVariant};
use crate::parallel::Threads;
use crate::text::{default_filters, AnalyzerConfig, CharNgrams, FilterConfig, Lang};
use crate::train::tune::{parse_weighting, TuneMetric, TuneParams};
use crate::train::{
    CalibrationMethod, DecisionMode, SemiSupervisedOptions, ThresholdObjective, TopicSpec,
    TrainOptions, Validation,
};
use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use linfa::ParamGuard;
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
    /// CSV field delimiter (one ASCII character, e.g. ';' or '\t' as a literal tab). Default: a tab for .tsv files, else whichever of ',' ';' and tab splits the header into the most columns.
    #[arg(long, value_parser = parse_delimiter)]
    pub csv_delimiter: Option<u8>,
}

/// One ASCII character (`\t` written out is a tab), for `--csv-delimiter`.
fn parse_delimiter(s: &str) -> std::result::Result<u8, String> {
    match s {
        "\\t" | "\t" => Ok(b'\t'),
        _ if s.len() == 1 && s.is_ascii() => Ok(s.as_bytes()[0]),
        _ => Err(format!("{s:?} is not one ASCII character")),
    }
}

impl InputArgs {
    /// The reading options these flags give.
    pub fn read_options(&self) -> ReadOptions {
        ReadOptions {
            format: self.format,
            split: self.split.clone(),
            skip_invalid: self.skip_invalid,
            csv_text_column: self.csv_text_column.clone(),
            csv_label_column: self.csv_label_column.clone(),
            csv_title_column: self.csv_title_column.clone(),
            csv_label_separator: self.csv_label_separator,
            csv_delimiter: self.csv_delimiter,
            ignore_labels: false,
        }
    }

    pub fn read(&self) -> Result<Corpus> {
        let options = self.read_options();
        let corpus = Corpus::read_all(&self.inputs, &options)?;
        warn_skipped(&corpus);
        warn_oversized(&corpus);
        if corpus.documents.is_empty() {
            match &self.split {
                Some(split) => bail!(
                    "no documents with split {split:?} in the input ({} rows had another split)",
                    corpus.filtered_out
                ),
                None => bail!(
                    "the input ({}) holds no documents",
                    self.inputs
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }
        }
        Ok(corpus)
    }

    /// Reads unlabelled documents for semi-supervised training: any format
    /// the labelled input may have (detected from each path), labels
    /// ignored, with the same `--skip-invalid` and CSV columns.
    pub fn read_unlabelled(&self, paths: &[PathBuf]) -> Result<Corpus> {
        let options = ReadOptions {
            format: None,
            split: None,
            ignore_labels: true,
            ..self.read_options()
        };
        let corpus = Corpus::read_all(paths, &options).context("--unlabeled")?;
        warn_skipped(&corpus);
        if corpus.documents.is_empty() {
            bail!("--unlabeled: the unlabelled input holds no documents");
        }
        Ok(corpus)
    }
}

/// A document longer than this is more likely a whole file read as one
/// document (a missing line break, a wrong format) than an article.
pub const LARGE_DOCUMENT_BYTES: usize = 1 << 20;

/// Warns about the first 5 documents over [`LARGE_DOCUMENT_BYTES`], and
/// counts the rest.
fn warn_oversized(corpus: &Corpus) {
    let large: Vec<_> = corpus
        .documents
        .iter()
        .filter(|d| d.text.len() > LARGE_DOCUMENT_BYTES)
        .collect();
    for d in large.iter().take(5) {
        eprintln!(
            "warning: document {:?} is {:.1} MB, more than a news article; is it several documents read as one?",
            d.id,
            d.text.len() as f64 / 1e6
        );
    }
    if large.len() > 5 {
        eprintln!(
            "warning: ... and {} more documents over {} MB",
            large.len() - 5,
            LARGE_DOCUMENT_BYTES / (1 << 20)
        );
    }
}

/// Warns about the first 20 skipped records, and counts the rest.
fn warn_skipped(corpus: &Corpus) {
    let examples = &corpus.skipped[..corpus.skipped.len().min(SKIPPED_LISTED)];
    warn_skipped_records(examples, corpus.skipped.len());
}

/// Warns about each of `examples` (the first skipped records), then counts
/// the rest of the `total` skipped.
pub fn warn_skipped_records(examples: &[(Location, InvalidRecord)], total: usize) {
    for (location, reason) in examples {
        eprintln!("warning: skipped {location}: {reason}");
    }
    if total > examples.len() {
        eprintln!(
            "warning: ... and {} more skipped records",
            total - examples.len()
        );
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CalibrationArg {
    /// Temperature for single-label data, per-topic isotonic regression for multi-label data
    Auto,
    /// One temperature for the softmax over topics (probabilities sum to 1)
    Temperature,
    /// Per topic: Platt scaling (probability that each topic applies)
    Platt,
    /// Per topic: isotonic regression (probability that each topic applies)
    Isotonic,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Variant {
    Multinomial,
    Complement,
}

impl From<Variant> for NbVariant {
    fn from(v: Variant) -> NbVariant {
        match v {
            Variant::Multinomial => NbVariant::Multinomial,
            Variant::Complement => NbVariant::Complement,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TuneMetricArg {
    Auto,
    Accuracy,
    MicroF1,
    MacroF1,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ThresholdObjectiveArg {
    TopicF1,
    ExactSet,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DecisionArg {
    Auto,
    Argmax,
    Thresholds,
    /// Thresholds; an exclusive topic (e.g. `other`) only when no other topic reaches its threshold
    Fallback,
}

/// The flags that decide training, shared by `docclass-train` and
/// `docclass-eval --cv` so cross-validation trains exactly as training does.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Threads for analysis and for the folds of validation and tuning.
    /// Default: one per core. The model is byte-identical whatever the count.
    #[arg(long, value_name = "N")]
    pub threads: Option<std::num::NonZeroUsize>,
    /// JSON file declaring the topics: [{"id", "name_en", "name_fr", "description", "exclusive"}].
    #[arg(long, value_name = "FILE")]
    pub topics: Option<PathBuf>,
    /// A topic never combined with another (repeatable), e.g. `other`.
    #[arg(long = "exclusive-topic", value_name = "ID")]
    pub exclusive_topics: Vec<String>,

    // --- analysis ---
    /// Word n-grams 1..=N.
    #[arg(long, default_value_t = 2)]
    pub word_ngrams: u8,
    /// Character n-grams inside tokens, as MIN-MAX (e.g. 3-5). Off by default.
    #[arg(long, value_name = "MIN-MAX")]
    pub char_ngrams: Option<String>,
    /// Do not stem.
    #[arg(long)]
    pub no_stem: bool,
    /// Keep stop words.
    #[arg(long)]
    pub no_stop_words: bool,
    /// Keep accents.
    #[arg(long)]
    pub no_accent_fold: bool,
    /// Keep French elisions (l', d', qu'...).
    #[arg(long)]
    pub no_elision: bool,
    /// Keep invisible format characters (soft hyphen, ZWJ, ZWNJ, direction
    /// marks, word joiner, BOM) inside words, as models before format 5 did.
    #[arg(long)]
    pub no_strip_invisible: bool,
    /// Drop tokens shorter than this many characters.
    #[arg(long, default_value_t = 2)]
    pub min_token_chars: usize,
    /// Drop tokens longer than this many characters.
    #[arg(long, default_value_t = 40)]
    pub max_token_chars: usize,
    /// Languages detection may choose from, comma-separated.
    #[arg(long, default_value = "en,fr,ar", value_delimiter = ',')]
    pub languages: Vec<Lang>,
    /// Language used when detection has no answer.
    #[arg(long, default_value = "en")]
    pub default_language: Lang,

    // --- features ---
    /// Drop terms found in fewer documents than this.
    #[arg(long, default_value_t = 2)]
    pub min_df: u32,
    /// Drop terms found in more than this fraction of documents.
    #[arg(long, default_value_t = 1.0)]
    pub max_df: f64,
    /// Keep at most this many terms (most frequent first).
    #[arg(long)]
    pub max_features: Option<u32>,
    /// Use feature hashing with 2^BITS buckets instead of a vocabulary.
    #[arg(long, value_name = "BITS")]
    pub hash_bits: Option<u8>,
    /// Raw term counts instead of 1 + ln(tf).
    #[arg(long)]
    pub no_sublinear_tf: bool,
    /// No IDF weighting.
    #[arg(long)]
    pub no_idf: bool,
    /// No L2 normalisation of document vectors.
    #[arg(long)]
    no_l2: bool,

    // --- naive bayes ---
    /// Naive Bayes variant.
    #[arg(long, value_enum, default_value_t = Variant::Complement)]
    pub nb: Variant,
    /// Lidstone smoothing.
    #[arg(long, default_value_t = 0.1)]
    pub alpha: f64,
    /// Class priors (multinomial only): learned, uniform, or comma-separated probabilities in topic order.
    #[arg(long, default_value = "learned")]
    pub priors: String,

    // --- validation and decisions ---
    /// Hold out this fraction for threshold tuning and metrics (instead of folds).
    #[arg(long, conflicts_with_all = ["folds", "no_validation"])]
    pub holdout: Option<f64>,
    /// K stratified folds for threshold tuning and metrics.
    #[arg(long, default_value_t = 5)]
    pub folds: u32,
    /// Skip validation (no tuned thresholds, no held-out metrics).
    #[arg(long)]
    pub no_validation: bool,
    /// How label sets are decided.
    #[arg(long, value_enum, default_value_t = DecisionArg::Auto)]
    pub decision: DecisionArg,
    /// With --decision fallback: also tune thresholds for each language with enough validated documents (300), used for texts detected in that language.
    #[arg(long)]
    pub per_language_thresholds: bool,
    /// What thresholds are tuned for: each topic's F1, or then (with --decision fallback) the exact-set accuracy of the whole decision.
    #[arg(long, value_enum, default_value_t = ThresholdObjectiveArg::TopicF1)]
    pub threshold_objective: ThresholdObjectiveArg,
    /// Refuse to train when the labels look mistaken (labels that differ only in case or spaces, labels holding ',' or ';', topics with fewer than 5 documents) instead of warning.
    #[arg(long)]
    pub strict_labels: bool,
    /// Seed for the validation splits.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Keep raw posterior probabilities (temperature 1) instead of fitting a
    /// calibration on out-of-fold scores.
    #[arg(long)]
    pub no_calibration: bool,
    /// Probability calibration fitted on out-of-fold scores. Per-topic
    /// methods make each topic's probability the chance that it applies.
    #[arg(long, value_enum, default_value_t = CalibrationArg::Auto, conflicts_with = "no_calibration")]
    pub calibration: CalibrationArg,

    // --- semi-supervised training (EM) ---
    /// Unlabelled documents to learn from too, by EM (JSONL, CSV, fastText, directory, optionally .gz; labels, if any, are ignored). Repeatable.
    #[arg(
        long = "unlabeled",
        num_args = 1..,
        value_name = "PATH",
        help_heading = "Semi-supervised (EM)"
    )]
    pub unlabeled: Vec<PathBuf>,
    /// Weight λ of an unlabelled document against a labelled one, in [0, 1].
    #[arg(
        long,
        default_value_t = 0.1,
        value_name = "LAMBDA",
        help_heading = "Semi-supervised (EM)"
    )]
    pub em_lambda: f64,
    /// EM iterations at most.
    #[arg(
        long,
        default_value_t = 10,
        value_name = "N",
        help_heading = "Semi-supervised (EM)"
    )]
    pub em_iterations: u32,
    /// Stop EM when the log-likelihood changes by less than this fraction.
    #[arg(long, default_value_t = 1e-4, help_heading = "Semi-supervised (EM)")]
    pub em_tolerance: f64,
    /// Use at most N unlabelled documents, drawn with --em-seed.
    #[arg(long, value_name = "N", help_heading = "Semi-supervised (EM)")]
    pub unlabeled_sample: Option<usize>,
    /// Seed of the --unlabeled-sample draw.
    #[arg(long, default_value_t = 42, help_heading = "Semi-supervised (EM)")]
    pub em_seed: u64,

    // --- tuning by inner cross-validation on the training documents ---
    /// Alpha candidates, comma-separated (e.g. 0.02,0.05,0.1,0.2,0.5,1): the one with the best inner-CV score replaces --alpha.
    #[arg(long, value_name = "LIST", help_heading = "Tuning")]
    pub tune_alpha: Option<String>,
    /// NB variant candidates, comma-separated (complement,multinomial); replaces --nb.
    #[arg(long, value_name = "LIST", help_heading = "Tuning")]
    pub tune_nb: Option<String>,
    /// min_df candidates, comma-separated (e.g. 1,2,3); replaces --min-df.
    #[arg(long, value_name = "LIST", help_heading = "Tuning")]
    pub tune_min_df: Option<String>,
    /// Weighting candidates, comma-separated: `raw`, or log, idf, l2 joined by `+` (e.g. log+idf+l2,log+l2); replaces --no-sublinear-tf, --no-idf, --no-l2.
    #[arg(long, value_name = "LIST", help_heading = "Tuning")]
    pub tune_weighting: Option<String>,
    /// Stratified folds of the tuning cross-validation (seeded by --seed).
    #[arg(long, default_value_t = 5, value_name = "K", help_heading = "Tuning")]
    pub tune_folds: u32,
    /// Score the candidates are ranked by: auto is accuracy for single-label data, micro-F1 for multi-label data.
    #[arg(long, value_enum, default_value_t = TuneMetricArg::Auto, help_heading = "Tuning")]
    pub tune_metric: TuneMetricArg,
}

/// Parses a comma-separated candidate list given to `flag`; an empty list
/// stays empty (training reports it).
fn candidates<T>(
    flag: &str,
    list: Option<&String>,
    parse: impl Fn(&str) -> std::result::Result<T, String>,
) -> Result<Option<Vec<T>>> {
    let Some(list) = list else { return Ok(None) };
    list.split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| parse(v).map_err(|e| anyhow::anyhow!("{flag}: {v:?}: {e}")))
        .collect::<Result<Vec<T>>>()
        .map(Some)
}

impl TrainArgs {
    /// `--threads`, else one per core.
    pub fn threads(&self) -> Threads {
        self.threads.map_or_else(Threads::all_cores, Threads::new)
    }

    /// The training options these flags give (`created_at` left empty).
    pub fn options(&self) -> Result<TrainOptions> {
        let analyzer = self.analyzer_config()?;
        let features = self.feature_params()?;
        let nb = self.nb_params()?;
        let validation = match (self.no_validation, self.holdout) {
            (true, _) => Validation::None,
            (false, Some(f)) => Validation::Holdout(f),
            (false, None) => Validation::KFold(self.folds),
        };
        let decision = match self.decision {
            DecisionArg::Auto => DecisionMode::Auto,
            DecisionArg::Argmax => DecisionMode::Argmax,
            DecisionArg::Thresholds => DecisionMode::Thresholds,
            DecisionArg::Fallback => DecisionMode::Fallback,
        };
        let topics = self.declared_topics()?;
        let tune = self.tune_params(&features)?;
        Ok(TrainOptions {
            analyzer,
            features,
            nb,
            validation,
            decision,
            seed: self.seed,
            calibrate: !self.no_calibration,
            calibration: match self.calibration {
                CalibrationArg::Auto => CalibrationMethod::Auto,
                CalibrationArg::Temperature => CalibrationMethod::Temperature,
                CalibrationArg::Platt => CalibrationMethod::Platt,
                CalibrationArg::Isotonic => CalibrationMethod::Isotonic,
            },
            semi_supervised: (!self.unlabeled.is_empty()).then_some(SemiSupervisedOptions {
                lambda: self.em_lambda,
                max_iterations: self.em_iterations,
                tolerance: self.em_tolerance,
                sample: self.unlabeled_sample,
                seed: self.em_seed,
            }),
            tune,
            threads: self.threads(),
            per_language_thresholds: self.per_language_thresholds,
            threshold_objective: match self.threshold_objective {
                ThresholdObjectiveArg::TopicF1 => ThresholdObjective::TopicF1,
                ThresholdObjectiveArg::ExactSet => ThresholdObjective::ExactSet,
            },
            topics,
            created_at: String::new(),
        })
    }

    /// The analyzer: the default filter chain less the `--no-…` filters.
    fn analyzer_config(&self) -> Result<AnalyzerConfig> {
        let mut filters = default_filters(self.min_token_chars, self.max_token_chars);
        filters.retain(|f| match f {
            FilterConfig::Elision => !self.no_elision,
            FilterConfig::StopWords => !self.no_stop_words,
            FilterConfig::Stem => !self.no_stem,
            FilterConfig::AccentFold => !self.no_accent_fold,
            FilterConfig::StripInvisible => !self.no_strip_invisible,
            _ => true,
        });
        let char_ngrams = match &self.char_ngrams {
            None => None,
            Some(s) => {
                let (min, max) = s
                    .split_once('-')
                    .context("--char-ngrams takes MIN-MAX, e.g. 3-5")?;
                Some(CharNgrams {
                    min: min.parse().context("--char-ngrams MIN")?,
                    max: max.parse().context("--char-ngrams MAX")?,
                })
            }
        };
        let analyzer = AnalyzerConfig {
            nfkc: true,
            filters,
            word_ngrams: self.word_ngrams,
            char_ngrams,
            languages: self.languages.clone(),
            default_language: self.default_language,
        };
        analyzer.validate()?;
        Ok(analyzer)
    }

    fn feature_params(&self) -> Result<FeatureParams> {
        let mode = match self.hash_bits {
            Some(bits) => FeatureMode::Hashing { bits },
            None => FeatureMode::Vocabulary {
                min_df: self.min_df,
                max_df: self.max_df,
                max_features: self.max_features,
            },
        };
        let features = FeatureParams {
            mode,
            weighting: Weighting {
                sublinear_tf: !self.no_sublinear_tf,
                idf: !self.no_idf,
                l2_normalize: !self.no_l2,
            },
        };
        features.validate()?;
        Ok(features)
    }

    fn nb_params(&self) -> Result<NbValidParams> {
        let priors = match self.priors.as_str() {
            "learned" => ClassPriors::Learned,
            "uniform" => ClassPriors::Uniform,
            list => ClassPriors::Given(
                list.split(',')
                    .map(|v| v.trim().parse::<f64>())
                    .collect::<std::result::Result<_, _>>()
                    .context("--priors takes learned, uniform, or comma-separated numbers")?,
            ),
        };
        Ok(NbParams::new()
            .variant(self.nb.into())
            .alpha(self.alpha)
            .priors(priors)
            .check()?)
    }

    /// The `--topics` file's topics (none without it), with the
    /// `--exclusive-topic` ones marked.
    fn declared_topics(&self) -> Result<Vec<TopicSpec>> {
        let mut topics: Vec<TopicSpec> = match &self.topics {
            Some(path) => serde_json::from_str(&read_to_string(path)?)
                .with_context(|| format!("{} is not a JSON list of topics", path.display()))?,
            None => Vec::new(),
        };
        for id in &self.exclusive_topics {
            match topics.iter_mut().find(|t| &t.id == id) {
                Some(t) => t.exclusive = true,
                None if self.topics.is_none() => {}
                None => bail!("--exclusive-topic {id:?} is not in the topics file"),
            }
        }
        Ok(topics)
    }

    fn tune_params(&self, features: &FeatureParams) -> Result<TuneParams> {
        let tune = TuneParams {
            alpha: candidates("--tune-alpha", self.tune_alpha.as_ref(), |v| {
                v.parse::<f64>().map_err(|_| "not a number".to_string())
            })?,
            nb: candidates("--tune-nb", self.tune_nb.as_ref(), |v| {
                Variant::from_str(v, true).map(NbVariant::from)
            })?,
            min_df: candidates("--tune-min-df", self.tune_min_df.as_ref(), |v| {
                v.parse::<u32>()
                    .map_err(|_| "not a whole number".to_string())
            })?,
            weighting: candidates("--tune-weighting", self.tune_weighting.as_ref(), |v| {
                parse_weighting(v).map_err(|e| e.to_string())
            })?,
            folds: self.tune_folds,
            metric: match self.tune_metric {
                TuneMetricArg::Auto => TuneMetric::Auto,
                TuneMetricArg::Accuracy => TuneMetric::Accuracy,
                TuneMetricArg::MicroF1 => TuneMetric::MicroF1,
                TuneMetricArg::MacroF1 => TuneMetric::MacroF1,
            },
        };
        tune.validate(features)?;
        Ok(tune)
    }

    /// The `--unlabeled` documents (none without the flag), read as
    /// `input` reads its files. Warns when one is also in `labelled` (by id
    /// or text): it would count twice, and under cross-validation a
    /// held-out document would be seen, without its labels, in training.
    pub fn unlabelled_documents(
        &self,
        input: &InputArgs,
        labelled: &[crate::corpus::Document],
    ) -> Result<Vec<crate::corpus::Document>> {
        if self.unlabeled.is_empty() {
            return Ok(Vec::new());
        }
        let unlabelled = input.read_unlabelled(&self.unlabeled)?.documents;
        if let Some(id) = crate::train::first_shared_document(labelled, &unlabelled) {
            eprintln!(
                "warning: --unlabeled document {id:?} is also in the labelled input (by id or text)"
            );
        }
        Ok(unlabelled)
    }

    /// Warns about likely label mistakes in `docs`, or with
    /// `--strict-labels` refuses them.
    pub fn check_labels(&self, docs: &[crate::corpus::Document]) -> Result<()> {
        let warnings = crate::train::label_warnings(docs);
        if self.strict_labels && !warnings.is_empty() {
            let all: Vec<String> = warnings.iter().map(|w| w.to_string()).collect();
            bail!("--strict-labels: {}", all.join("; "));
        }
        for w in &warnings {
            eprintln!("warning: {w}");
        }
        Ok(())
    }

    /// With `--exclusive-topic` but no topics file: derives the topics from
    /// the corpus labels (sorted) and marks the exclusive ones.
    pub fn derive_topics(&self, options: &mut TrainOptions, corpus: &Corpus) -> Result<()> {
        if !options.topics.is_empty() || self.exclusive_topics.is_empty() {
            return Ok(());
        }
        let mut topics = crate::train::topic_specs(&corpus.documents, &[]);
        for id in &self.exclusive_topics {
            match topics.iter_mut().find(|t| &t.id == id) {
                Some(t) => t.exclusive = true,
                None => bail!("--exclusive-topic {id:?} is not a label of the input"),
            }
        }
        options.topics = topics;
        Ok(())
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

/// A token from its file, else from the environment variable `env`; never
/// from a flag value, which `ps` would show. `None` when neither is given;
/// an unreadable file or an empty token is an error naming its source.
#[cfg(feature = "service")]
pub fn read_token(
    file: Option<&std::path::Path>,
    env: &str,
) -> Result<Option<crate::service::Secret>> {
    let token = match file {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read token file {}", path.display()))?,
        None => match std::env::var(env) {
            Ok(token) => token,
            Err(_) => return Ok(None),
        },
    };
    match crate::service::Secret::new(&token) {
        Some(secret) => Ok(Some(secret)),
        None => bail!(
            "the token from {} is empty",
            file.map_or(env.to_string(), |p| p.display().to_string())
        ),
    }
}

/// Runs `main_task` on a multi-threaded tokio runtime; a runtime that cannot
/// start is reported like any other error.
///
/// Once `main_task` has finished, the runtime is shut down without waiting
/// for its blocking threads: dropping it would wait for every one, and a
/// thread stuck in a system call (a model read from hung storage, a read of
/// stdin) would keep the process alive after its work is done.
#[cfg(feature = "service")]
pub fn run_async<T>(main_task: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let outcome = runtime.block_on(main_task);
    runtime.shutdown_background();
    outcome
}

/// Writes `text` to stdout; a closed pipe (`docclass topics | head -1`) is not an error.
pub fn emit(text: &str) -> Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(e).context("cannot write to standard output")
        }
        _ => Ok(()),
    }
}

/// Parses a positive number of seconds (`--timeout 2.5`), for clap.
pub fn parse_seconds(s: &str) -> std::result::Result<std::time::Duration, String> {
    match s.trim().parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs > 0.0 && secs < 1e9 => {
            Ok(std::time::Duration::from_secs_f64(secs))
        }
        _ => Err(format!("{s:?} is not a positive number of seconds")),
    }
}
