//! What the commands print: aligned text tables, percentages and bars, and
//! pretty JSON.
use anyhow::{Context, Result};
use docclass::cli;
use serde_json::Value;

/// Writes `value` as pretty JSON, then a newline.
pub fn emit_json(value: &Value) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value).context("cannot encode JSON")?;
    text.push('\n');
    cli::emit(&text)
}

#[derive(Clone, Copy)]
pub enum Align {
    Left,
    Right,
}

/// Renders rows as aligned columns separated by two spaces; lines carry no
/// trailing spaces.
pub fn table(rows: &[Vec<String>], align: &[Align]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0; columns];
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            let pad = " ".repeat(widths[i] - cell.chars().count());
            match align.get(i).copied().unwrap_or(Align::Left) {
                Align::Left => {
                    line.push_str(cell);
                    line.push_str(&pad);
                }
                Align::Right => {
                    line.push_str(&pad);
                    line.push_str(cell);
                }
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
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
