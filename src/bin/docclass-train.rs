//! `docclass-train`: fits a Naive Bayes topic model on labelled corpora and
//! writes the model file atomically.
mod common;

use anyhow::{bail, Context, Result};
use clap::{Parser, ValueEnum};
use common::InputArgs;
use docclass::features::{FeatureMode, FeatureParams, Weighting};
use docclass::model::rfc3339_utc;
use docclass::nb::{ClassPriors, NbParams, NbVariant};
use docclass::text::{AnalyzerConfig, CharNgrams, FilterConfig, Lang};
use docclass::train::{self, DecisionMode, Progress, TopicSpec, TrainOptions, Validation};
use indicatif::{ProgressBar, ProgressStyle};
use linfa::ParamGuard;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Variant {
    Multinomial,
    Complement,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DecisionArg {
    Auto,
    Argmax,
    Thresholds,
}

/// Train a docclass topic model.
#[derive(Debug, Parser)]
#[command(name = "docclass-train", version, about)]
struct Cli {
    #[command(flatten)]
    input: InputArgs,
    /// Where to write the model (written to a temporary file, then renamed).
    #[arg(long, short = 'o', value_name = "MODEL")]
    output: PathBuf,
    /// JSON file declaring the topics: [{"id", "name_en", "name_fr", "description", "exclusive"}].
    #[arg(long, value_name = "FILE")]
    topics: Option<PathBuf>,
    /// A topic never combined with another (repeatable), e.g. `other`.
    #[arg(long = "exclusive-topic", value_name = "ID")]
    exclusive_topics: Vec<String>,
    /// Write a JSON summary (model card) here.
    #[arg(long, value_name = "FILE")]
    card: Option<PathBuf>,

    // --- analysis ---
    /// Word n-grams 1..=N.
    #[arg(long, default_value_t = 2)]
    word_ngrams: u8,
    /// Character n-grams inside tokens, as MIN-MAX (e.g. 3-5). Off by default.
    #[arg(long, value_name = "MIN-MAX")]
    char_ngrams: Option<String>,
    /// Do not stem.
    #[arg(long)]
    no_stem: bool,
    /// Keep stop words.
    #[arg(long)]
    no_stop_words: bool,
    /// Keep accents.
    #[arg(long)]
    no_accent_fold: bool,
    /// Keep French elisions (l', d', qu'...).
    #[arg(long)]
    no_elision: bool,
    /// Drop tokens shorter than this many characters.
    #[arg(long, default_value_t = 2)]
    min_token_chars: usize,
    /// Drop tokens longer than this many characters.
    #[arg(long, default_value_t = 40)]
    max_token_chars: usize,
    /// Languages detection may choose from, comma-separated.
    #[arg(long, default_value = "en,fr,ar", value_delimiter = ',')]
    languages: Vec<Lang>,
    /// Language used when detection has no answer.
    #[arg(long, default_value = "en")]
    default_language: Lang,

    // --- features ---
    /// Drop terms found in fewer documents than this.
    #[arg(long, default_value_t = 2)]
    min_df: u32,
    /// Drop terms found in more than this fraction of documents.
    #[arg(long, default_value_t = 1.0)]
    max_df: f64,
    /// Keep at most this many terms (most frequent first).
    #[arg(long)]
    max_features: Option<u32>,
    /// Use feature hashing with 2^BITS buckets instead of a vocabulary.
    #[arg(long, value_name = "BITS")]
    hash_bits: Option<u8>,
    /// Raw term counts instead of 1 + ln(tf).
    #[arg(long)]
    no_sublinear_tf: bool,
    /// No IDF weighting.
    #[arg(long)]
    no_idf: bool,
    /// No L2 normalisation of document vectors.
    #[arg(long)]
    no_l2: bool,

    // --- naive bayes ---
    /// Naive Bayes variant.
    #[arg(long, value_enum, default_value_t = Variant::Complement)]
    nb: Variant,
    /// Lidstone smoothing.
    #[arg(long, default_value_t = 0.1)]
    alpha: f64,
    /// Class priors (multinomial only): learned, uniform, or comma-separated probabilities in topic order.
    #[arg(long, default_value = "learned")]
    priors: String,

    // --- validation and decisions ---
    /// Hold out this fraction for threshold tuning and metrics (instead of folds).
    #[arg(long, conflicts_with_all = ["folds", "no_validation"])]
    holdout: Option<f64>,
    /// K stratified folds for threshold tuning and metrics.
    #[arg(long, default_value_t = 5)]
    folds: u32,
    /// Skip validation (no tuned thresholds, no held-out metrics).
    #[arg(long)]
    no_validation: bool,
    /// How label sets are decided.
    #[arg(long, value_enum, default_value_t = DecisionArg::Auto)]
    decision: DecisionArg,
    /// Seed for the validation splits.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Creation time stored in the model (RFC 3339). Default: $SOURCE_DATE_EPOCH, else now.
    /// Fix it to get byte-identical models from identical inputs.
    #[arg(long)]
    created_at: Option<String>,
    /// No progress bar or summary.
    #[arg(long, short = 'q')]
    quiet: bool,
}

impl Cli {
    fn options(&self) -> Result<TrainOptions> {
        let mut filters = vec![FilterConfig::Lowercase];
        if !self.no_elision {
            filters.push(FilterConfig::Elision);
        }
        if !self.no_stop_words {
            filters.push(FilterConfig::StopWords);
        }
        if !self.no_stem {
            filters.push(FilterConfig::Stem);
        }
        if !self.no_accent_fold {
            filters.push(FilterConfig::AccentFold);
        }
        filters.push(FilterConfig::Length {
            min_chars: self.min_token_chars,
            max_chars: self.max_token_chars,
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
        let variant = match self.nb {
            Variant::Multinomial => NbVariant::Multinomial,
            Variant::Complement => NbVariant::Complement,
        };
        let nb = NbParams::new()
            .variant(variant)
            .alpha(self.alpha)
            .priors(priors)
            .check()?;
        let validation = match (self.no_validation, self.holdout) {
            (true, _) => Validation::None,
            (false, Some(f)) => Validation::Holdout(f),
            (false, None) => Validation::KFold(self.folds),
        };
        let decision = match self.decision {
            DecisionArg::Auto => DecisionMode::Auto,
            DecisionArg::Argmax => DecisionMode::Argmax,
            DecisionArg::Thresholds => DecisionMode::Thresholds,
        };
        let mut topics: Vec<TopicSpec> = match &self.topics {
            Some(path) => serde_json::from_str(&common::read_to_string(path)?)
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
        Ok(TrainOptions {
            analyzer,
            features,
            nb,
            validation,
            decision,
            seed: self.seed,
            topics,
            created_at: self.created_at()?,
        })
    }

    fn created_at(&self) -> Result<String> {
        if let Some(t) = &self.created_at {
            return Ok(t.clone());
        }
        let secs = match std::env::var("SOURCE_DATE_EPOCH") {
            Ok(v) => v
                .trim()
                .parse::<u64>()
                .context("SOURCE_DATE_EPOCH is not a number of seconds")?,
            Err(_) => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        };
        Ok(rfc3339_utc(secs))
    }
}

struct Bar(ProgressBar);

impl Progress for Bar {
    fn analysed(&self, n: usize) {
        if n % 64 == 0 {
            self.0.set_position(n as u64);
        }
    }
    fn stage(&self, name: &str) {
        self.0.set_message(name.to_string());
    }
}

fn run(cli: Cli) -> Result<()> {
    let started = Instant::now();
    let mut options = cli.options()?;
    // Fail before a long training run, not after it.
    for (flag, path) in [
        ("--output", Some(&cli.output)),
        ("--card", cli.card.as_ref()),
    ] {
        let Some(path) = path else { continue };
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => std::path::Path::new("."),
        };
        if !dir.is_dir() {
            bail!(
                "{flag} {}: directory {} does not exist",
                path.display(),
                dir.display()
            );
        }
        if path.is_dir() {
            bail!("{flag} {} is a directory", path.display());
        }
    }
    let corpus = cli.input.read()?;
    if options.topics.is_empty() && !cli.exclusive_topics.is_empty() {
        // No topics file: derive the topics, then mark the exclusive ones.
        let mut ids = corpus.labels();
        ids.sort();
        for id in &cli.exclusive_topics {
            if !ids.contains(id) {
                bail!("--exclusive-topic {id:?} is not a label of the input");
            }
        }
        options.topics = ids
            .into_iter()
            .map(|id| TopicSpec {
                exclusive: cli.exclusive_topics.contains(&id),
                id,
                name_en: None,
                name_fr: None,
                description: String::new(),
            })
            .collect();
    }
    let bar = if cli.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(corpus.documents.len() as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg:>10} [{bar:30}] {pos}/{len} docs ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message("analysing");
    let (model, summary) = train::train(&corpus.documents, &options, &Bar(bar.clone()))?;
    bar.finish_and_clear();
    model.save(&cli.output)?;
    if let Some(card) = &cli.card {
        let json = serde_json::json!({
            "model_version": model.version(),
            "created_at": model.data().provenance.created_at,
            "corpus_sha256": model.data().provenance.corpus_sha256,
            "options": options,
            "summary": summary,
        });
        std::fs::write(card, serde_json::to_string_pretty(&json)? + "\n")
            .with_context(|| format!("cannot write {}", card.display()))?;
    }
    if !cli.quiet {
        let bytes: usize = corpus.documents.iter().map(|d| d.text.len()).sum();
        println!(
            "trained {} on {} documents ({:.1} MB), {} skipped, in {:.2}s",
            cli.output.display(),
            summary.documents,
            bytes as f64 / 1e6,
            corpus.skipped.len(),
            started.elapsed().as_secs_f64()
        );
        println!(
            "model version {}, {} features ({} distinct terms seen)",
            model.version(),
            summary.features,
            summary.distinct_terms
        );
        println!(
            "{:<30} {:>8} {:>8} {:>10}",
            "topic", "docs", "held F1", "threshold"
        );
        for (i, topic) in summary.topics.iter().enumerate() {
            let f1 = summary
                .held_out
                .as_ref()
                .map_or("-".to_string(), |r| format!("{:.3}", r.per_topic[i].f1));
            let th = summary
                .thresholds
                .as_ref()
                .map_or("-".to_string(), |t| format!("{:.2}", t[i]));
            println!(
                "{topic:<30} {:>8} {f1:>8} {th:>10}",
                summary.topic_documents[i]
            );
        }
        match &summary.held_out {
            Some(r) => println!(
                "held-out ({} docs): accuracy {:.4}, macro-F1 {:.4}, micro-F1 {:.4}",
                r.documents, r.accuracy, r.macro_f1, r.micro_f1
            ),
            None => println!("no validation (--no-validation)"),
        }
        if summary.held_out_by_language.len() > 1 {
            for (lang, r) in &summary.held_out_by_language {
                println!(
                    "  [{lang}] ({} docs): accuracy {:.4}, macro-F1 {:.4}, micro-F1 {:.4}",
                    r.documents, r.accuracy, r.macro_f1, r.micro_f1
                );
            }
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => common::report(&e),
    }
}
