//! Conversions between proto messages and the core: request validation into
//! core inputs, and core results into responses.
use super::error::{shown, ServiceError};
use super::pb;
use super::state::{Limits, LoadedModel};
use crate::model::{Classification, HeldOutMetrics, TopicMeta};
use crate::nb::PerTopicMethod;
use crate::text::Lang;
use std::borrow::Cow;

/// A validated request, ready for `Model::classify`.
#[derive(Debug)]
pub(crate) struct DocumentInput {
    pub id: String,
    pub text: String,
    pub hint: Option<Lang>,
    pub top_k: usize,
    pub explain_terms: Option<usize>,
    /// Topic indices to report; `None` reports all.
    pub topic_filter: Option<Vec<usize>>,
}

const DEFAULT_EXPLAIN_TERMS: u32 = 10;

/// Longest `id` a request may carry; it is echoed in batch and stream outcomes.
pub(crate) const MAX_ID_BYTES: usize = 512;
/// Longest entry of `topics`: topic ids are short words.
pub(crate) const MAX_TOPIC_BYTES: usize = 128;
/// Longest `language` hint: codes and names are a few letters.
pub(crate) const MAX_LANGUAGE_BYTES: usize = 32;

/// `value` within `limit` bytes, or the error naming `field`.
fn within(value: &str, limit: usize, field: impl FnOnce() -> String) -> Result<(), ServiceError> {
    if value.len() > limit {
        return Err(ServiceError::FieldTooLong {
            field: field(),
            size: value.len(),
            limit,
        });
    }
    Ok(())
}

/// Where a request sits in its call, for the field paths of its errors:
/// nothing for unary calls and streams, `documents[3].` inside a batch.
/// Formatted only when an error names a field.
#[derive(Debug, Clone, Copy)]
pub(crate) enum FieldPrefix {
    Request,
    BatchDocument(usize),
}

impl std::fmt::Display for FieldPrefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FieldPrefix::Request => Ok(()),
            FieldPrefix::BatchDocument(i) => write!(f, "documents[{i}]."),
        }
    }
}

/// Validates one request. `prefix` names the request in field paths.
pub(crate) fn document_input(
    req: pb::ClassifyRequest,
    prefix: FieldPrefix,
    loaded: &LoadedModel,
    limits: &Limits,
) -> Result<DocumentInput, ServiceError> {
    let field = |name: &str| format!("{prefix}{name}");
    if req.text.trim().is_empty() {
        return Err(ServiceError::EmptyText {
            field: field("text"),
        });
    }
    // The limit covers title and text together; the text is blamed.
    let size = req.text.len() + req.title.len();
    if size > limits.max_text_bytes {
        return Err(ServiceError::TextTooLarge {
            field: field("text"),
            size,
            limit: limits.max_text_bytes,
            with_title: !req.title.is_empty(),
        });
    }
    within(&req.id, MAX_ID_BYTES, || field("id"))?;
    within(&req.language, MAX_LANGUAGE_BYTES, || field("language"))?;
    let hint = if req.language.trim().is_empty() {
        None
    } else {
        Some(
            req.language
                .parse::<Lang>()
                .map_err(|reason| ServiceError::InvalidLanguage {
                    field: field("language"),
                    reason,
                })?,
        )
    };
    let model = &loaded.model;
    let topic_filter = if req.topics.is_empty() {
        None
    } else {
        let mut indices = Vec::with_capacity(req.topics.len());
        for (i, topic) in req.topics.iter().enumerate() {
            within(topic, MAX_TOPIC_BYTES, || field(&format!("topics[{i}]")))?;
            let index = model
                .topic_index(topic)
                .ok_or_else(|| ServiceError::UnknownTopic {
                    field: field(&format!("topics[{i}]")),
                    topic: shown(topic),
                    known: model
                        .topics()
                        .iter()
                        .map(|t| t.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                })?;
            indices.push(index);
        }
        Some(indices)
    };
    if req.explain_terms > limits.max_explain_terms {
        return Err(ServiceError::TooManyExplainTerms {
            field: field("explain_terms"),
            value: req.explain_terms,
            max: limits.max_explain_terms,
        });
    }
    let explain_terms = req.explain.then(|| {
        let n = if req.explain_terms == 0 {
            DEFAULT_EXPLAIN_TERMS
        } else {
            req.explain_terms
        };
        n as usize
    });
    let text = if req.title.trim().is_empty() {
        req.text
    } else {
        format!("{}\n\n{}", req.title, req.text)
    };
    // The limit also applies to the text as analysed, after NFKC: a few
    // characters grow tenfold (U+FDFA: 3 bytes become 33, and 4 words), and
    // the cost of classifying follows the analysed length, not the bytes
    // sent. Normalised here once, and the analyzer then finds it normalised.
    // The title's separator is not the caller's to count.
    let limit = limits.max_text_bytes + text.len().saturating_sub(size);
    let normalized = loaded
        .model
        .analyzer()
        .normalized_within(&text, limit)
        .map(|t| match t {
            Cow::Owned(normalized) => Some(normalized),
            Cow::Borrowed(_) => None,
        });
    let text = match normalized {
        Some(Some(normalized)) => normalized,
        Some(None) => text,
        None => {
            return Err(ServiceError::NormalizedTextTooLarge {
                field: field("text"),
                size,
                limit: limits.max_text_bytes,
            })
        }
    };
    Ok(DocumentInput {
        id: req.id,
        text,
        hint,
        top_k: req.top_k as usize,
        explain_terms,
        topic_filter,
    })
}

/// Builds the response for one classified document.
pub(crate) fn classify_response(
    loaded: &LoadedModel,
    input: &DocumentInput,
    result: &Classification,
) -> pb::ClassifyResponse {
    let model = &loaded.model;
    let wanted = |c: usize| input.topic_filter.as_ref().is_none_or(|f| f.contains(&c));
    let mut order: Vec<usize> = result.ranked().into_iter().filter(|&c| wanted(c)).collect();
    if input.top_k > 0 {
        order.truncate(input.top_k);
    }
    let topics = model.topics();
    let decided: Vec<usize> = result
        .decided
        .iter()
        .copied()
        .filter(|&c| wanted(c))
        .collect();
    let explanations = match input.explain_terms {
        Some(n) => decided
            .iter()
            .map(|&c| pb::Explanation {
                topic: topics[c].id.clone(),
                terms: model
                    .explain(result, c, n)
                    .into_iter()
                    .map(|(term, weight)| pb::TermContribution { term, weight })
                    .collect(),
            })
            .collect(),
        None => Vec::new(),
    };
    pb::ClassifyResponse {
        id: input.id.clone(),
        topics: order
            .iter()
            .map(|&c| pb::TopicScore {
                topic: topics[c].id.clone(),
                name: topics[c].name(result.language).to_string(),
                probability: result.probabilities[c],
                decided: result.decided.contains(&c),
                threshold: model
                    .decision()
                    .threshold_in(c, result.language)
                    .unwrap_or(0.0),
            })
            .collect(),
        labels: decided.iter().map(|&c| topics[c].id.clone()).collect(),
        language: result.language.code().to_string(),
        model_version: model.version().to_string(),
        explanations,
    }
}

pub(crate) fn topics_response(loaded: &LoadedModel) -> pb::ListTopicsResponse {
    let model = &loaded.model;
    let counts = &model.nb().data().topic_doc_counts;
    pb::ListTopicsResponse {
        topics: model
            .topics()
            .iter()
            .enumerate()
            .map(|(c, t)| pb::Topic {
                id: t.id.clone(),
                name_en: t.name_en.clone(),
                name_fr: t.name_fr.clone(),
                description: t.description.clone(),
                exclusive: model.decision().is_exclusive(c),
                threshold: model.decision().threshold(c).unwrap_or(0.0),
                training_documents: counts.get(c).copied().unwrap_or(0),
            })
            .collect(),
        model_version: model.version().to_string(),
    }
}

pub(crate) fn model_info(loaded: &LoadedModel) -> pb::ModelInfo {
    let model = &loaded.model;
    let p = &model.data().provenance;
    let topics = model.topics();
    pb::ModelInfo {
        model_version: model.version().to_string(),
        model_file: loaded.model_file.clone(),
        created_at: p.created_at.clone(),
        trainer_version: p.tool_version.clone(),
        format_version: model.format_version(),
        training_corpus: Some(pb::TrainingCorpus {
            sha256: p.corpus_sha256.clone(),
            documents: p.documents,
            topic_documents: topics
                .iter()
                .zip(&p.topic_documents)
                .map(|(t, &n)| pb::TopicCount {
                    topic: t.id.clone(),
                    documents: n,
                })
                .collect(),
        }),
        hyperparameters_json: p.train_options_json.clone(),
        held_out: p.held_out.as_ref().map(|h| held_out_metrics(h, topics)),
        evaluations: p
            .evaluations
            .iter()
            .map(|e| pb::NamedEvaluation {
                name: e.name.clone(),
                corpus_sha256: e.corpus_sha256.clone(),
                metrics: Some(held_out_metrics(&e.metrics, topics)),
            })
            .collect(),
        features: model.features().n_features() as u64,
        loaded_at: loaded.loaded_at.clone(),
        calibration: match (model.per_topic_calibration(), model.temperature()) {
            (Some(maps), _) => match maps.method {
                PerTopicMethod::Platt => "platt",
                PerTopicMethod::Isotonic => "isotonic",
            },
            (None, 1.0) => "none",
            (None, _) => "temperature",
        }
        .to_string(),
        semi_supervised: p.semi_supervised.as_ref().map(|s| pb::SemiSupervised {
            corpus_sha256: s.corpus_sha256.clone(),
            documents: s.documents,
            lambda: s.lambda,
            max_iterations: s.max_iterations,
            tolerance: s.tolerance,
            iterations: s.iterations,
            converged: s.converged,
        }),
    }
}

fn held_out_metrics(h: &HeldOutMetrics, topics: &[TopicMeta]) -> pb::HeldOutMetrics {
    pb::HeldOutMetrics {
        documents: h.documents,
        accuracy: h.accuracy,
        macro_f1: h.macro_f1,
        micro_f1: h.micro_f1,
        topics: topics
            .iter()
            .zip(&h.topic_f1)
            .map(|(t, &f1)| pb::TopicMetric {
                topic: t.id.clone(),
                f1,
            })
            .collect(),
    }
}
