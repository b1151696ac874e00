//! One table of every figure of a run, and the same figures as JSON.

use serde_json::{Map, Value, json};

use crate::load::Outcome;

/// One line of the table.
#[derive(Debug, Clone)]
pub enum Line {
    /// A section heading.
    Section(String),
    /// A figure.
    Figure(Figure),
}

/// One figure: a value with its unit, latencies and errors where they apply, or why it could
/// not be measured.
#[derive(Debug, Clone, Default)]
pub struct Figure {
    /// A stable key for the JSON (`api.create.direct`).
    pub key: String,
    /// The label in the table.
    pub label: String,
    /// The value, `None` when it could not be measured.
    pub value: Option<f64>,
    /// Its unit (`/s`, `MB`, `s`, `×`).
    pub unit: &'static str,
    /// Median latency, milliseconds.
    pub p50_ms: Option<f64>,
    /// 99th percentile latency, milliseconds.
    pub p99_ms: Option<f64>,
    /// Failed calls.
    pub errors: Option<u64>,
    /// A goal, a caveat, or why the value is missing.
    pub note: String,
}

/// The figures of one run, in order.
#[derive(Debug, Default)]
pub struct Report {
    /// What was measured how (machine, settings), printed above the table.
    pub header: Vec<(String, Value)>,
    lines: Vec<Line>,
}

impl Report {
    /// Starts a section.
    pub fn section(&mut self, title: impl Into<String>) {
        self.lines.push(Line::Section(title.into()));
    }

    /// Adds a figure.
    pub fn figure(&mut self, figure: Figure) {
        self.lines.push(Line::Figure(figure));
    }

    /// Adds a plain value.
    pub fn value(&mut self, key: &str, label: &str, value: f64, unit: &'static str, note: &str) {
        self.figure(Figure {
            key: key.to_owned(),
            label: label.to_owned(),
            value: Some(value),
            unit,
            note: note.to_owned(),
            ..Figure::default()
        });
    }

    /// Adds a figure that could not be measured, and why.
    pub fn missing(&mut self, key: &str, label: &str, unit: &'static str, why: &str) {
        self.figure(Figure {
            key: key.to_owned(),
            label: label.to_owned(),
            unit,
            note: format!("not measured: {why}"),
            ..Figure::default()
        });
    }

    /// Adds a load run's rate and latencies.
    pub fn load(&mut self, key: &str, label: &str, outcome: &Outcome) {
        let note = match &outcome.first_error {
            Some(error) => format!("first error: {}", truncate(error, 160)),
            None if outcome.ok == 0 => {
                "not measured: no call started and answered in the measured window".to_owned()
            }
            None => String::new(),
        };
        self.figure(Figure {
            key: key.to_owned(),
            label: label.to_owned(),
            value: (outcome.ok > 0).then(|| outcome.rate()),
            unit: "/s",
            p50_ms: outcome.millis(0.5),
            p99_ms: outcome.millis(0.99),
            errors: Some(outcome.errors),
            note,
        });
    }

    /// The figure under `key`.
    pub fn get(&self, key: &str) -> Option<&Figure> {
        self.lines.iter().find_map(|line| match line {
            Line::Figure(figure) if figure.key == key => Some(figure),
            _ => None,
        })
    }

    /// The value under `key`.
    pub fn number(&self, key: &str) -> Option<f64> {
        self.get(key).and_then(|figure| figure.value)
    }

    /// A ratio of two figures (`None` when either is missing or the divisor is zero).
    pub fn ratio(
        &mut self,
        key: &str,
        label: &str,
        top: Option<f64>,
        bottom: Option<f64>,
        goal: &str,
    ) {
        match (top, bottom) {
            (Some(top), Some(bottom)) if bottom > 0.0 => {
                self.value(key, label, top / bottom, "×", goal);
            }
            _ => self.missing(key, label, "×", "a figure it needs is missing"),
        }
    }

    /// The table, for people.
    pub fn table(&self) -> String {
        let mut out = String::new();
        for (name, value) in &self.header {
            let value = match value {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            out.push_str(&format!("{name:<14} {value}\n"));
        }
        out.push_str(&format!(
            "\n{:<46} {:>12} {:>9} {:>9} {:>6}  {}\n",
            "figure", "value", "p50 ms", "p99 ms", "errors", "note"
        ));
        for line in &self.lines {
            match line {
                Line::Section(title) => out.push_str(&format!("{title}\n")),
                Line::Figure(figure) => {
                    let value = match figure.value {
                        Some(value) => format!("{} {}", number(value), figure.unit),
                        None => "—".to_owned(),
                    };
                    let ms = |v: Option<f64>| v.map_or_else(String::new, |v| format!("{v:.2}"));
                    let errors = figure.errors.map_or_else(String::new, |e| e.to_string());
                    out.push_str(
                        format!(
                            "  {:<44} {:>12} {:>9} {:>9} {:>6}  {}",
                            figure.label,
                            value,
                            ms(figure.p50_ms),
                            ms(figure.p99_ms),
                            errors,
                            figure.note
                        )
                        .trim_end(),
                    );
                    out.push('\n');
                }
            }
        }
        out
    }

    /// The figures as JSON, keyed by their keys.
    pub fn json(&self) -> Value {
        let mut figures = Map::new();
        for line in &self.lines {
            if let Line::Figure(figure) = line {
                let mut entry = Map::new();
                entry.insert("label".into(), json!(figure.label));
                entry.insert("value".into(), json!(figure.value));
                entry.insert("unit".into(), json!(figure.unit));
                if figure.p50_ms.is_some() || figure.errors.is_some() {
                    entry.insert("p50_ms".into(), json!(figure.p50_ms));
                    entry.insert("p99_ms".into(), json!(figure.p99_ms));
                    entry.insert("errors".into(), json!(figure.errors));
                }
                if !figure.note.is_empty() {
                    entry.insert("note".into(), json!(figure.note));
                }
                figures.insert(figure.key.clone(), Value::Object(entry));
            }
        }
        let mut root = Map::new();
        for (name, value) in &self.header {
            root.insert(name.clone(), value.clone());
        }
        root.insert("figures".into(), Value::Object(figures));
        Value::Object(root)
    }
}

/// A number for people: thousands separated above 1,000, three significant digits below.
pub fn number(value: f64) -> String {
    if value.abs() >= 1_000.0 {
        let whole = value.round() as i64;
        let digits = whole.unsigned_abs().to_string();
        let mut grouped = String::new();
        for (index, digit) in digits.chars().enumerate() {
            if index > 0 && (digits.len() - index).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(digit);
        }
        if whole < 0 {
            grouped.insert(0, '-');
        }
        grouped
    } else if value.abs() >= 100.0 || value.fract() == 0.0 {
        format!("{value:.0}")
    } else if value.abs() >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.3}")
    }
}

fn truncate(text: &str, max: usize) -> String {
    let line = text.replace('\n', " ");
    match line.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_easily() {
        assert_eq!(number(32_123.4), "32,123");
        assert_eq!(number(1_234_567.0), "1,234,567");
        assert_eq!(number(662.4), "662");
        assert_eq!(number(24.06), "24.1");
        assert_eq!(number(0.4321), "0.432");
        assert_eq!(number(0.0), "0");
        assert_eq!(number(307.0), "307");
    }

    #[test]
    fn a_missing_figure_says_why_and_its_ratios_are_missing_too() {
        let mut report = Report::default();
        report.value("a", "a", 100.0, "/s", "");
        report.missing("b", "b", "/s", "PostgreSQL is unreachable");
        report.ratio(
            "a_b",
            "a / b",
            report.number("a"),
            report.number("b"),
            "goal",
        );
        report.ratio(
            "a_a",
            "a / a",
            report.number("a"),
            report.number("a"),
            "goal",
        );
        let table = report.table();
        assert!(
            table.contains("not measured: PostgreSQL is unreachable"),
            "{table}"
        );
        assert_eq!(report.number("a_b"), None);
        assert_eq!(report.number("a_a"), Some(1.0));
        let json = report.json();
        assert_eq!(json["figures"]["b"]["value"], Value::Null);
        assert_eq!(json["figures"]["a"]["value"], 100.0);
    }
}
