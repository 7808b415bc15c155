//! Rendering: kubectl-style tables (comfy-table), JSON/YAML reports, colour rules.

pub mod live;
pub mod timeline;

use std::io::IsTerminal;

use comfy_table::{Attribute, Cell, Color, ContentArrangement, Table, presets};
use serde::Serialize;

use crate::cli::{GlobalArgs, OutputFormat};
use crate::error::{CliError, Result};

/// Colour only on a terminal, and never with `--no-color` or `NO_COLOR` set (no-color.org).
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    pub fn from_args(args: &GlobalArgs) -> Style {
        let no_color_env = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Style {
            color: !args.no_color && !no_color_env && std::io::stdout().is_terminal(),
        }
    }

    pub fn plain() -> Style {
        Style { color: false }
    }

    /// A table cell coloured by meaning: good (green), bad (red), warn (yellow).
    pub fn cell(&self, text: impl Into<String>, tone: Tone) -> Cell {
        let cell = Cell::new(text.into());
        if !self.color {
            return cell;
        }
        match tone {
            Tone::Plain => cell,
            Tone::Good => cell.fg(Color::Green),
            Tone::Bad => cell.fg(Color::Red).add_attribute(Attribute::Bold),
            Tone::Warn => cell.fg(Color::Yellow),
            Tone::Dim => cell.fg(Color::DarkGrey),
        }
    }

    pub fn paint(&self, text: &str, tone: Tone) -> String {
        if !self.color {
            return text.to_string();
        }
        let code = match tone {
            Tone::Plain => return text.to_string(),
            Tone::Good => "32",
            Tone::Bad => "1;31",
            Tone::Warn => "33",
            Tone::Dim => "90",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Plain,
    Good,
    Bad,
    Warn,
    Dim,
}

/// A kubectl-style table: no borders, left-aligned, three spaces between columns.
pub fn table(headers: &[&str], rows: Vec<Vec<Cell>>, no_headers: bool) -> String {
    let mut t = Table::new();
    t.load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled);
    if !no_headers {
        t.set_header(headers.iter().map(|h| Cell::new(*h)));
    }
    for r in rows {
        t.add_row(r);
    }
    let n = headers.len();
    for (i, col) in t.column_iter_mut().enumerate() {
        col.set_padding((0, if i + 1 == n { 0 } else { 3 }));
    }
    let mut out = String::new();
    for line in t.lines() {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Print a report as JSON (pretty) or YAML.
pub fn structured<T: Serialize>(value: &T, format: OutputFormat) -> Result<String> {
    match format {
        OutputFormat::Json => serde_json::to_string_pretty(value)
            .map(|s| s + "\n")
            .map_err(|e| CliError::api(format!("cannot encode the report as JSON: {e}"))),
        OutputFormat::Yaml => {
            serde_yaml_ng::to_string(value).map_err(|e| CliError::api(format!("cannot encode the report as YAML: {e}")))
        }
        OutputFormat::Table | OutputFormat::Wide => unreachable!("tables are rendered by each command"),
    }
}

pub fn is_structured(format: OutputFormat) -> bool {
    matches!(format, OutputFormat::Json | OutputFormat::Yaml)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_like_layout() {
        let out = table(
            &["NAME", "READY", "AGE"],
            vec![vec![Cell::new("web-0"), Cell::new("1/1"), Cell::new("5m")]],
            false,
        );
        assert_eq!(out, "NAME    READY   AGE\nweb-0   1/1     5m\n");
        let out = table(&["NAME"], vec![vec![Cell::new("web-0")]], true);
        assert_eq!(out, "web-0\n");
    }
}
