//! `docclass topics`: the model's topics, with their names, thresholds and
//! training documents.
use crate::connection::Connection;
use crate::output::{
    emit_json, fields, table, threshold_cell,
    Align::{Left, Right},
};
use anyhow::Result;
use docclass::cli;
use docclass::service::pb;
use serde_json::json;
use std::process::ExitCode;

pub async fn topics(conn: &Connection, as_json: bool) -> Result<ExitCode> {
    let r = conn
        .classifier()
        .list_topics(conn.request(pb::ListTopicsRequest {}))
        .await
        .map_err(|s| conn.status_error(s))?
        .into_inner();
    if as_json {
        emit_json(&json!({
            "model_version": r.model_version,
            "topics": r.topics.iter().map(|t| json!({
                "id": t.id,
                "name_en": t.name_en,
                "name_fr": t.name_fr,
                "description": t.description,
                "exclusive": t.exclusive,
                "threshold": t.threshold,
                "training_documents": t.training_documents,
            })).collect::<Vec<_>>(),
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = fields(&[("model version", r.model_version.clone())]);
    out.push('\n');
    let mut rows = vec![[
        "id",
        "English",
        "French",
        "exclusive",
        "threshold",
        "training docs",
    ]
    .map(String::from)
    .to_vec()];
    for t in &r.topics {
        rows.push(vec![
            t.id.clone(),
            t.name_en.clone(),
            t.name_fr.clone(),
            if t.exclusive { "yes" } else { "no" }.to_string(),
            threshold_cell(t.threshold),
            t.training_documents.to_string(),
        ]);
    }
    out.push_str(&table(&rows, &[Left, Left, Left, Left, Right, Right]));
    cli::emit(&out)?;
    Ok(ExitCode::SUCCESS)
}
