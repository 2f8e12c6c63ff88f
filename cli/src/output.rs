//! How results are printed: an aligned table for people (coloured on a
//! terminal, unless `NO_COLOR` is set), JSON or NDJSON for scripts.

use std::io::{IsTerminal, Write};

use clap::Args;
use fcc::{Event, EventSerializer, Severity};

/// `--json` / `--ndjson`.
#[derive(Args, Debug, Clone, Copy, Default)]
pub struct Format {
    /// Print one JSON document (the seed's {"event_count", "events"} format)
    #[arg(long, conflicts_with = "ndjson")]
    pub json: bool,
    /// Print one JSON event per line
    #[arg(long)]
    pub ndjson: bool,
}

/// Colours on when stdout is a terminal and `NO_COLOR` is unset.
pub fn colour() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// `text` in the ANSI style `code` when `on`, else as it is.
pub fn paint(on: bool, code: &str, text: &str) -> String {
    if on {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

/// The ANSI colour of a severity.
pub fn severity_colour(s: Severity) -> &'static str {
    match s {
        Severity::Error => "31",
        Severity::Warn => "33",
        Severity::Info => "32",
        _ => "2",
    }
}

/// Text from a store as it can be shown on a terminal: control characters
/// (an `ESC [` sequence that would move the cursor or recolour the screen,
/// a `\r` that would overwrite the line, a newline in a value) are written
/// as their escapes (`\u{1b}`, `\r`, `\n`). JSON output is escaped by JSON.
pub fn printable(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Rows as an aligned table: each column as wide as its widest cell, the
/// last one left free.
pub fn table(
    out: &mut impl Write,
    header: &[&str],
    rows: &[Vec<String>],
    colour_col: Option<usize>,
) -> std::io::Result<()> {
    let colour = colour();
    let n = header.len();
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| printable(c)).collect())
        .collect();
    let mut width: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate().take(n.saturating_sub(1)) {
            width[i] = width[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>, bold: bool| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            let pad = if i + 1 < n {
                width[i] - c.chars().count() + 2
            } else {
                0
            };
            let text = if bold {
                paint(colour, "1", c)
            } else if Some(i) == colour_col {
                let code = c.parse::<Severity>().map_or("0", severity_colour);
                paint(colour, code, c)
            } else {
                c.clone()
            };
            s.push_str(&text);
            s.push_str(&" ".repeat(pad));
        }
        s.trim_end().to_owned()
    };
    writeln!(
        out,
        "{}",
        line(header.iter().map(|h| h.to_string()).collect(), true)
    )?;
    for r in rows {
        writeln!(out, "{}", line(r, false))?;
    }
    Ok(())
}

/// Events as a table, JSON or NDJSON.
pub fn events(out: &mut impl Write, events: &[Event], format: Format) -> std::io::Result<()> {
    if format.json {
        return writeln!(out, "{}", EventSerializer::to_json_batch(events));
    }
    if format.ndjson {
        return out.write_all(EventSerializer::to_ndjson(events).as_bytes());
    }
    let rows: Vec<Vec<String>> = events.iter().map(event_row).collect();
    table(
        out,
        &["TIME", "SEVERITY", "TYPE", "SOURCE", "MISSION", "DETAIL"],
        &rows,
        Some(1),
    )
}

/// One event as table cells.
pub fn event_row(e: &Event) -> Vec<String> {
    let ts = e.timestamp().format_rfc3339();
    // Milliseconds are enough to read; the JSON forms keep microseconds.
    let t = ts.as_str();
    let time = format!("{}Z", &t[..t.len().min(23)]);
    let mut detail = printable(e.detail().unwrap_or(""));
    if detail.chars().count() > 80 {
        detail = detail.chars().take(79).collect::<String>() + "…";
    }
    vec![
        time,
        e.severity().as_str().to_owned(),
        printable(e.event_type().as_str()),
        printable(e.source()),
        printable(e.mission_id().unwrap_or("-")),
        detail,
    ]
}

/// One event as a single line (for `tail`).
pub fn event_line(e: &Event, ndjson: bool) -> String {
    if ndjson {
        return EventSerializer::to_json(e);
    }
    let colour = colour();
    let r = event_row(e);
    format!(
        "{} {:<5} {} {} {}",
        r[0],
        paint(colour, severity_colour(e.severity()), &r[1]),
        r[2],
        r[3],
        r[5]
    )
}
