//! What the commands print: text tables (the binaries' shared renderer,
//! `docclass::cli::table`), percentages and bars, and pretty JSON.
use anyhow::{Context, Result};
use docclass::cli;
pub use docclass::cli::table::{table, Align};
use serde_json::Value;

/// Writes `value` as pretty JSON, then a newline.
pub fn emit_json(value: &Value) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value).context("cannot encode JSON")?;
    text.push('\n');
    cli::emit(&text)
}

/// Two-column "key  value" lines.
pub fn fields(rows: &[(&str, String)]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|(k, v)| vec![k.to_string(), v.clone()])
        .collect();
    table(&rows, &[Align::Left, Align::Left])
}

pub fn percent(p: f64) -> String {
    format!("{:.1}%", p * 100.0)
}

pub const BAR_CELLS: usize = 20;

/// A bar of `BAR_CELLS` cells for a probability, in eighths of a cell.
pub fn bar(p: f64) -> String {
    let eighths = (p.clamp(0.0, 1.0) * (BAR_CELLS * 8) as f64).round() as usize;
    let mut s = "█".repeat(eighths / 8);
    const PARTS: [&str; 8] = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];
    s.push_str(PARTS[eighths % 8]);
    s
}

pub fn threshold_cell(t: f64) -> String {
    if t > 0.0 {
        percent(t)
    } else {
        "argmax".to_string()
    }
}
