//! `docclass info`: where the model comes from (version, provenance,
//! training corpus) and how well it did (held-out and named evaluations).
use crate::connection::Connection;
use crate::output::{emit_json, fields, table, Align};
use anyhow::{Context, Result};
use docclass::cli;
use docclass::service::pb;
use serde_json::{json, Value};
use std::process::ExitCode;

fn metrics_json(h: &pb::HeldOutMetrics) -> Value {
    json!({
        "documents": h.documents,
        "accuracy": h.accuracy,
        "macro_f1": h.macro_f1,
        "micro_f1": h.micro_f1,
        "topics": h.topics.iter().map(|t| json!({
            "topic": t.topic,
            "f1": t.f1,
        })).collect::<Vec<_>>(),
    })
}

/// Accuracy, macro-F1 and micro-F1, one indented row each.
fn metrics_table(h: &pb::HeldOutMetrics) -> String {
    let rows = [
        ("accuracy", h.accuracy),
        ("macro-F1", h.macro_f1),
        ("micro-F1", h.micro_f1),
    ]
    .map(|(k, v)| vec![String::new(), k.to_string(), format!("{v:.4}")]);
    table(&rows, &[Align::Left, Align::Left, Align::Right])
}

fn hyperparameters(raw: &str) -> Value {
    serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_string()))
}

pub async fn info(conn: &Connection, as_json: bool) -> Result<ExitCode> {
    let m = conn
        .classifier()
        .get_model_info(conn.request(pb::GetModelInfoRequest {}))
        .await
        .map_err(|s| conn.status_error(s))?
        .into_inner();
    let corpus = m.training_corpus.clone().unwrap_or_default();
    if as_json {
        emit_json(&json!({
            "model_version": m.model_version,
            "model_file": m.model_file,
            "created_at": m.created_at,
            "trainer_version": m.trainer_version,
            "format_version": m.format_version,
            "training_corpus": m.training_corpus.as_ref().map(|c| json!({
                "sha256": c.sha256,
                "documents": c.documents,
                "topic_documents": c.topic_documents.iter().map(|t| json!({
                    "topic": t.topic,
                    "documents": t.documents,
                })).collect::<Vec<_>>(),
            })),
            "hyperparameters": hyperparameters(&m.hyperparameters_json),
            "held_out": m.held_out.as_ref().map(metrics_json),
            "evaluations": m.evaluations.iter().map(|e| json!({
                "name": e.name,
                "corpus_sha256": e.corpus_sha256,
                "metrics": e.metrics.as_ref().map(metrics_json),
            })).collect::<Vec<_>>(),
            "features": m.features,
            "loaded_at": m.loaded_at,
            "calibration": m.calibration,
            "semi_supervised": m.semi_supervised.as_ref().map(|s| json!({
                "corpus_sha256": s.corpus_sha256,
                "documents": s.documents,
                "lambda": s.lambda,
                "max_iterations": s.max_iterations,
                "tolerance": s.tolerance,
                "iterations": s.iterations,
                "converged": s.converged,
            })),
        }))?;
        return Ok(ExitCode::SUCCESS);
    }

    let mut out = fields(&[
        ("model version", m.model_version.clone()),
        ("model file", m.model_file.clone()),
        ("created at", m.created_at.clone()),
        ("trainer version", m.trainer_version.clone()),
        ("format version", m.format_version.to_string()),
        ("corpus documents", corpus.documents.to_string()),
        ("corpus sha256", corpus.sha256.clone()),
        ("features", m.features.to_string()),
        ("loaded at", m.loaded_at.clone()),
        ("probabilities", m.calibration.clone()),
        (
            "unlabelled (EM)",
            m.semi_supervised.as_ref().map_or("none".to_string(), |s| {
                format!(
                    "{} documents, lambda {}, {} iterations{}",
                    s.documents,
                    s.lambda,
                    s.iterations,
                    if s.converged { ", converged" } else { "" }
                )
            }),
        ),
    ]);
    out.push('\n');
    match &m.held_out {
        Some(h) => {
            out.push_str(&format!("held-out metrics ({} documents)\n", h.documents));
            out.push_str(&metrics_table(h));
        }
        None => out.push_str("held-out metrics: none (trained without validation)\n"),
    }
    for e in &m.evaluations {
        let Some(h) = &e.metrics else { continue };
        out.push_str(&format!(
            "{} ({} documents, not trained on)\n",
            e.name, h.documents
        ));
        out.push_str(&metrics_table(h));
    }

    // Per topic: training documents and held-out F1, in the model's topic order.
    let mut ids: Vec<&str> = corpus
        .topic_documents
        .iter()
        .map(|t| t.topic.as_str())
        .collect();
    for t in m.held_out.iter().flat_map(|h| &h.topics) {
        if !ids.contains(&t.topic.as_str()) {
            ids.push(&t.topic);
        }
    }
    if !ids.is_empty() {
        let mut rows = vec![vec![
            "topic".to_string(),
            "training docs".to_string(),
            "held-out F1".to_string(),
        ]];
        for id in ids {
            let docs = corpus.topic_documents.iter().find(|t| t.topic == id);
            let f1 = m
                .held_out
                .iter()
                .flat_map(|h| &h.topics)
                .find(|t| t.topic == id);
            rows.push(vec![
                id.to_string(),
                docs.map_or("-".to_string(), |t| t.documents.to_string()),
                f1.map_or("-".to_string(), |t| format!("{:.4}", t.f1)),
            ]);
        }
        out.push('\n');
        out.push_str(&table(&rows, &[Align::Left, Align::Right, Align::Right]));
    }
    out.push_str("\nhyperparameters\n");
    let pretty = match hyperparameters(&m.hyperparameters_json) {
        Value::String(raw) => raw,
        value => serde_json::to_string_pretty(&value).context("cannot encode JSON")?,
    };
    out.push_str(&pretty);
    out.push('\n');
    cli::emit(&out)?;
    Ok(ExitCode::SUCCESS)
}
