//! Text tables, the one renderer behind every binary's tabular output. Two
//! layouts share the padding: [`table`] sizes each column to its widest cell
//! (the `docclass` client's answers), [`fixed_line`] writes one line of a
//! table whose column widths are set in advance (the reports of
//! `docclass-train` and `docclass-eval`, written line by line).

/// Where a cell sits in its column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// Appends `cell` to `line`, padded with spaces to `width` characters.
fn push_cell(line: &mut String, cell: &str, align: Align, width: usize) {
    let pad = " ".repeat(width.saturating_sub(cell.chars().count()));
    match align {
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

/// Renders rows as aligned columns, each as wide as its widest cell,
/// separated by two spaces; lines carry no trailing spaces. A column with
/// no entry in `align` is left-aligned.
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
            let align = align.get(i).copied().unwrap_or(Align::Left);
            push_cell(&mut line, cell, align, widths[i]);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// One line (no newline) of a table with set column widths: each cell
/// padded to its column's `(alignment, width)`, one space between cells. A
/// longer cell is kept whole and shifts the rest of its line only.
pub fn fixed_line(columns: &[(Align, usize)], cells: &[String]) -> String {
    let mut line = String::new();
    for (i, (&(align, width), cell)) in columns.iter().zip(cells).enumerate() {
        if i > 0 {
            line.push(' ');
        }
        push_cell(&mut line, cell, align, width);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::Align::{Left, Right};
    use super::*;

    fn cells(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn fitted_columns_take_the_widest_cell_and_trim_line_ends() {
        let rows = [cells(&["a", "1", ""]), cells(&["long", "100", ""])];
        assert_eq!(table(&rows, &[Left, Right]), "a       1\nlong  100\n");
    }

    #[test]
    fn fixed_columns_pad_like_format_widths() {
        let columns = [(Left, 6), (Right, 5), (Right, 3)];
        let line = fixed_line(&columns, &cells(&["topic", "0.5", "12"]));
        assert_eq!(line, format!("{:<6} {:>5} {:>3}", "topic", "0.5", "12"));
        // A cell wider than its column shifts only its own line.
        let line = fixed_line(&columns, &cells(&["a long topic", "1", "é"]));
        assert_eq!(line, format!("{:<6} {:>5} {:>3}", "a long topic", "1", "é"));
    }
}
