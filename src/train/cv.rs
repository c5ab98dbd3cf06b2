//! K-fold cross-validation that trains exactly as `docclass-train` does.
//!
//! Each fold's training part goes through [`train::train`] with the given
//! options, so the fold model gets the same analysis, features, smoothing and
//! decision rule, including per-topic thresholds tuned by the options' own
//! inner validation on that training part only. The held-out part is then
//! classified with [`Model::classify`](crate::model::Model::classify).
//!
//! Folds are seeded and stratified ([`cv_splits`]): by the (single) label
//! for single-label data, by iterative stratification for multi-label data.
//!
//! It lives under `train`, not `eval`, because it trains: `eval` (metrics,
//! splits, reports) sits below `train`, which uses it.
use crate::corpus::Document;
use crate::eval::{cv_splits, evaluate, Scored, Stratification};
use crate::train::{self, Progress, Silent, TrainError, TrainOptions};
use serde::Serialize;

/// Headline metrics of one fold's held-out part.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FoldSummary {
    pub fold: usize,
    pub train_documents: usize,
    pub test_documents: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub micro_f1: f64,
    /// With a tuning grid: the candidate this fold's inner CV chose.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tuned: Option<super::tune::Candidate>,
}

/// Out-of-fold predictions for every document, and how they were made.
#[derive(Debug, Clone, PartialEq)]
pub struct CvResult {
    /// Topic ids, in the order of the indices in `scored`.
    pub topics: Vec<String>,
    pub folds: usize,
    pub seed: u64,
    pub stratification: Stratification,
    /// The fold each document was held out in.
    pub fold_of: Vec<usize>,
    /// Every document, scored by the model that did not see it, in input order.
    pub scored: Scored,
    pub per_fold: Vec<FoldSummary>,
}

/// What the report says about the cross-validation itself.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CvSummary {
    pub folds: usize,
    pub seed: u64,
    pub stratification: Stratification,
    pub per_fold: Vec<FoldSummary>,
    pub accuracy_mean: f64,
    pub accuracy_std: f64,
    pub macro_f1_mean: f64,
    pub macro_f1_std: f64,
}

fn mean_std(values: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let n = values.clone().count().max(1) as f64;
    let mean = values.clone().sum::<f64>() / n;
    let var = values.map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

impl CvResult {
    pub fn summary(&self) -> CvSummary {
        let (accuracy_mean, accuracy_std) = mean_std(self.per_fold.iter().map(|f| f.accuracy));
        let (macro_f1_mean, macro_f1_std) = mean_std(self.per_fold.iter().map(|f| f.macro_f1));
        CvSummary {
            folds: self.folds,
            seed: self.seed,
            stratification: self.stratification,
            per_fold: self.per_fold.clone(),
            accuracy_mean,
            accuracy_std,
            macro_f1_mean,
            macro_f1_std,
        }
    }
}

/// Cross-validates `options` on `docs` with `k` folds shuffled by `seed`.
pub fn cross_validate(
    docs: &[Document],
    options: &TrainOptions,
    k: usize,
    seed: u64,
) -> train::Result<CvResult> {
    cross_validate_with(docs, &[], options, k, seed, &Silent)
}

/// [`cross_validate`] with unlabelled documents for semi-supervised
/// training (every fold learns from all of them; they are never scored),
/// reporting `stage("fold i/k")` before each fold.
pub fn cross_validate_with(
    docs: &[Document],
    unlabelled: &[Document],
    options: &TrainOptions,
    k: usize,
    seed: u64,
    progress: &dyn Progress,
) -> train::Result<CvResult> {
    if docs.is_empty() {
        return Err(TrainError::NoDocuments);
    }
    if k < 2 || k > docs.len() {
        return Err(TrainError::InvalidOption(format!(
            "cross-validation folds (--cv) must be between 2 and the number of documents ({}), got {k}",
            docs.len()
        )));
    }
    // Fix the topic list once, so every fold model has the same topics in
    // the same order, as training on all documents would.
    let specs = train::topic_specs(docs, &options.topics);
    let topics: Vec<String> = specs.iter().map(|t| t.id.clone()).collect();
    let labels = train::label_sets(docs, &topics)?;
    if topics.len() < 2 {
        return Err(TrainError::TooFewTopics(topics));
    }
    for (c, id) in topics.iter().enumerate() {
        if !labels.labels.iter().any(|l| l.contains(&c)) {
            return Err(TrainError::TopicWithoutDocuments(id.clone()));
        }
    }
    let mut fold_options = options.clone();
    fold_options.topics = specs;

    let (splits, stratification) = cv_splits(&labels.labels, topics.len(), k, seed);
    let mut fold_of = vec![0usize; docs.len()];
    let mut out: Vec<Option<(Vec<usize>, Vec<f64>)>> = vec![None; docs.len()];
    let mut per_fold = Vec::with_capacity(k);
    for (f, split) in splits.iter().enumerate() {
        progress.stage(&format!("fold {}/{k}", f + 1));
        let train_docs: Vec<Document> = split.train.iter().map(|&i| docs[i].clone()).collect();
        let (model, summary) =
            train::train_with_unlabelled(&train_docs, unlabelled, &fold_options, &Silent).map_err(
                |e| TrainError::Fold {
                    fold: f + 1,
                    folds: k,
                    source: Box::new(e),
                },
            )?;
        let mut gold = Vec::with_capacity(split.test.len());
        let mut predicted = Vec::with_capacity(split.test.len());
        for &i in &split.test {
            let c = model.classify(&docs[i].full_text(), docs[i].lang);
            fold_of[i] = f;
            gold.push(labels.labels[i].clone());
            predicted.push(c.decided.clone());
            out[i] = Some((c.decided, c.probabilities));
        }
        let r = evaluate(&gold, &predicted, &topics);
        per_fold.push(FoldSummary {
            fold: f + 1,
            train_documents: split.train.len(),
            test_documents: split.test.len(),
            accuracy: r.accuracy,
            macro_f1: r.macro_f1,
            micro_f1: r.micro_f1,
            tuned: summary.tuning.map(|t| t.chosen().candidate.clone()),
        });
    }
    let mut scored = Scored::default();
    for (i, o) in out.into_iter().enumerate() {
        // Every document is in exactly one test part.
        let (decided, probabilities) = o.unwrap_or_default();
        scored.push(labels.labels[i].clone(), decided, probabilities);
    }
    Ok(CvResult {
        topics,
        folds: k,
        seed,
        stratification,
        fold_of,
        scored,
        per_fold,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::testing::{doc, TOPIC_WORDS};
    use crate::train::Validation;

    fn corpus() -> Vec<Document> {
        let words = TOPIC_WORDS;
        (0..20)
            .map(|i| {
                let t = i % 2;
                let text: Vec<&str> = (0..4).map(|k| words[t][(i + k) % 6]).collect();
                doc(i, &[["war", "money"][t]], &text.join(" "))
            })
            .collect()
    }

    #[test]
    fn every_document_is_scored_once_and_results_are_deterministic() {
        let docs = corpus();
        let options = TrainOptions {
            validation: Validation::None,
            ..TrainOptions::default()
        };
        let a = cross_validate(&docs, &options, 4, 3).unwrap();
        assert_eq!(a, cross_validate(&docs, &options, 4, 3).unwrap());
        assert_eq!(a.topics, ["money", "war"]);
        assert_eq!(a.stratification, Stratification::ByLabel);
        assert_eq!(a.scored.len(), 20);
        assert!(a.scored.probabilities.iter().all(|p| p.len() == 2));
        let tested: usize = a.per_fold.iter().map(|f| f.test_documents).sum();
        assert_eq!(tested, 20);
        // Stratified: each fold holds out the same number of each topic.
        for f in 0..4 {
            let held: Vec<usize> = (0..20).filter(|&i| a.fold_of[i] == f).collect();
            assert_eq!(held.len(), 5);
            let war = held.iter().filter(|&&i| docs[i].labels[0] == "war").count();
            assert!((2..=3).contains(&war), "fold {f}: {war} war documents");
        }
        assert_eq!(
            crate::eval::evaluate(&a.scored.gold, &a.scored.predicted, &a.topics).accuracy,
            1.0
        );
    }

    #[test]
    fn bad_fold_counts_and_rare_topics_are_errors() {
        let docs = corpus();
        let options = TrainOptions::default();
        let err = cross_validate(&docs, &options, 1, 0).unwrap_err();
        assert!(err.to_string().contains("between 2 and"), "{err}");
        let err = cross_validate(&docs, &options, 21, 0).unwrap_err();
        assert!(err.to_string().contains("got 21"), "{err}");
        // One "peace" document: the fold that holds it out trains without it.
        let mut docs = corpus();
        docs.push(doc(99, &["peace"], "treaty talks envoy"));
        let options = TrainOptions {
            validation: Validation::None,
            ..TrainOptions::default()
        };
        let err = cross_validate(&docs, &options, 3, 0).unwrap_err();
        assert!(
            err.to_string()
                .contains("topic \"peace\" has no training documents"),
            "{err}"
        );
        assert!(
            err.to_string().starts_with("cross-validation fold "),
            "{err}"
        );
    }
}
