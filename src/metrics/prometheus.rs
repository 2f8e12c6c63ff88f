//! FccMetrics in the Prometheus text exposition format (0.0.4), and a small
//! opt-in scrape endpoint for users without a collector.
//!
//! Names follow the OpenTelemetry-to-Prometheus rules a collector's
//! `prometheus` exporter applies, so dashboards work the same whichever way
//! the metrics travel: characters outside `[a-zA-Z0-9_:]` become `_`, the
//! unit is appended in words (`s` → `_seconds`, `By` → `_bytes`;
//! `{annotations}` are dropped), and counters end in `_total`. One
//! difference: this endpoint exposes durations in seconds, Prometheus' base
//! unit (`promtool check metrics` insists), so a metric in `ms` is scaled and
//! named `_seconds`, where a collector's exporter would keep `_milliseconds`.
//!
//! | OTel | Prometheus |
//! |---|---|
//! | `fcc.simulation.step` counter, unit `{step}` | `fcc_simulation_step_total` |
//! | `fcc.ai.call.latency` histogram, unit `ms` | `fcc_ai_call_latency_seconds_bucket`, `_sum`, `_count` (values / 1000) |
//! | `fcc.sink.queue.depth` gauge | `fcc_sink_queue_depth` |
//!
//! ```
//! let metrics = fcc::FccMetrics::new();
//! metrics.record_gate_result("G-SEC-01", true);
//! let text = fcc::metrics::prometheus::render(&metrics.snapshot());
//! assert!(text.contains("fcc_gate_result_total{gate_id=\"G-SEC-01\",passed=\"true\"} 1"));
//! ```
//!
//! Serve it with `PrometheusEndpoint::serve`, or
//! `Telemetry::builder().prometheus("127.0.0.1:9464")` (`FCC_PROMETHEUS_ADDR`):
//! hyper's HTTP/1 server on a thread of its own, with bounds on slow and
//! idle clients and on connections (feature `prometheus`, on by default).

use std::fmt::Write as _;

use super::snapshot::{MetricSnapshot, SeriesValue};
use super::MetricType;

#[cfg(feature = "prometheus")]
mod endpoint;
#[cfg(feature = "prometheus")]
pub use endpoint::PrometheusEndpoint;

/// The Prometheus metric name for an OTel metric `name` with `unit`.
///
/// ```
/// use fcc::metrics::{prometheus::prometheus_name, MetricType};
/// assert_eq!(prometheus_name("http.server.duration", "s", MetricType::Histogram), "http_server_duration_seconds");
/// assert_eq!(prometheus_name("fcc.bus.published", "{event}", MetricType::Counter), "fcc_bus_published_total");
/// ```
pub fn prometheus_name(name: &str, unit: &str, kind: MetricType) -> String {
    let mut out = sanitize(name);
    let unit = unit_word(unit);
    if !unit.is_empty() && !out.ends_with(&format!("_{unit}")) {
        out.push('_');
        out.push_str(&unit);
    }
    if kind == MetricType::Counter && !out.ends_with("_total") {
        out.push_str("_total");
    }
    out
}

fn sanitize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
            c
        } else {
            '_'
        };
        if !(c == '_' && out.ends_with('_')) {
            out.push(c);
        }
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

fn label_name(s: &str) -> String {
    sanitize(s).replace(':', "_")
}

/// UCUM units as Prometheus words; annotations (`{event}`) say nothing.
fn unit_word(unit: &str) -> String {
    let unit = match unit.find('{') {
        Some(i) => &unit[..i],
        None => unit,
    };
    let word = match unit.trim() {
        "" | "1" => "",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "ns" => "nanoseconds",
        "s" => "seconds",
        "min" => "minutes",
        "h" => "hours",
        "By" => "bytes",
        "KiBy" => "kibibytes",
        "MiBy" => "mebibytes",
        "%" => "percent",
        other => return sanitize(other).trim_matches('_').to_owned(),
    };
    word.to_owned()
}

fn escape(v: &str, quote: bool) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if quote => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out
}

fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v}")
    }
}

fn labels(pairs: &[(String, String)]) -> String {
    if pairs.is_empty() {
        return String::new();
    }
    let body: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}=\"{}\"", label_name(k), escape(v, true)))
        .collect();
    format!("{{{}}}", body.join(","))
}

/// Every metric in the text exposition format.
pub fn render(snapshot: &[MetricSnapshot]) -> String {
    let mut out = String::new();
    let mut metrics: Vec<&MetricSnapshot> = snapshot.iter().collect();
    metrics.sort_by(|a, b| a.name.cmp(&b.name));
    for m in metrics {
        let (unit, scale) = match m.unit.as_str() {
            "ms" => ("s", 1e-3),
            "us" => ("s", 1e-6),
            "ns" => ("s", 1e-9),
            "min" => ("s", 60.0),
            "h" => ("s", 3600.0),
            other => (other, 1.0),
        };
        let number = |v: f64| number(v * scale);
        let name = prometheus_name(&m.name, unit, m.metric_type);
        let help = if m.description.is_empty() {
            &m.name
        } else {
            &m.description
        };
        let kind = match m.metric_type {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
        };
        let _ = writeln!(out, "# HELP {name} {}", escape(help, false));
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for s in &m.series {
            let base: Vec<(String, String)> = s
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            match &s.value {
                SeriesValue::Counter(v) => {
                    let _ = writeln!(out, "{name}{} {}", labels(&base), number(*v));
                }
                SeriesValue::Gauge(Some(v)) => {
                    let _ = writeln!(out, "{name}{} {}", labels(&base), number(*v));
                }
                SeriesValue::Gauge(None) => {}
                SeriesValue::Histogram {
                    bounds,
                    counts,
                    count,
                    sum,
                    ..
                } => {
                    let mut cumulative = 0;
                    for (i, c) in counts.iter().enumerate() {
                        cumulative += c;
                        let le = bounds.get(i).map_or("+Inf".to_owned(), |b| number(*b));
                        let mut l = base.clone();
                        l.push(("le".into(), le));
                        let _ = writeln!(out, "{name}_bucket{} {cumulative}", labels(&l));
                    }
                    let _ = writeln!(out, "{name}_sum{} {}", labels(&base), number(*sum));
                    let _ = writeln!(out, "{name}_count{} {count}", labels(&base));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::FccMetrics;

    #[test]
    fn names_follow_the_otel_prometheus_rules() {
        assert_eq!(
            prometheus_name("fcc.ai.call.latency", "ms", MetricType::Histogram),
            "fcc_ai_call_latency_milliseconds"
        );
        let m = FccMetrics::new();
        m.record_ai_call("p", "m", 1500.0, 1);
        let text = render(&m.snapshot());
        assert!(
            text.contains("fcc_ai_call_latency_seconds_sum{model=\"m\",provider=\"p\"} 1.5"),
            "{text}"
        );
        assert_eq!(
            prometheus_name("fcc.ai.call.tokens", "{token}", MetricType::Counter),
            "fcc_ai_call_tokens_total"
        );
        assert_eq!(
            prometheus_name("fcc.sink.queue.depth", "{event}", MetricType::Gauge),
            "fcc_sink_queue_depth"
        );
        assert_eq!(
            prometheus_name("9lives..x", "", MetricType::Gauge),
            "_9lives_x"
        );
        assert_eq!(
            prometheus_name("a.total", "", MetricType::Counter),
            "a_total"
        );
        assert_eq!(
            prometheus_name("size", "By", MetricType::Gauge),
            "size_bytes"
        );
    }

    #[test]
    fn histograms_are_cumulative_and_values_escaped() {
        let m = FccMetrics::builder().points_capacity(0).build();
        m.describe(
            "lat",
            MetricType::Histogram,
            "s",
            "a \\ help\nline",
            Some(&[0.1, 1.0]),
        )
        .unwrap();
        for v in [0.05, 0.5, 0.7, 5.0] {
            m.record("lat", v, &[("path", "/a\"b\\c\nd")]).unwrap();
        }
        let text = render(&m.snapshot());
        assert!(
            text.contains("# HELP lat_seconds a \\\\ help\\nline\n"),
            "{text}"
        );
        let l = "path=\"/a\\\"b\\\\c\\nd\"";
        for line in [
            format!("lat_seconds_bucket{{{l},le=\"0.1\"}} 1"),
            format!("lat_seconds_bucket{{{l},le=\"1\"}} 3"),
            format!("lat_seconds_bucket{{{l},le=\"+Inf\"}} 4"),
            format!("lat_seconds_count{{{l}}} 4"),
            format!("lat_seconds_sum{{{l}}} 6.25"),
        ] {
            assert!(text.contains(&line), "missing {line} in\n{text}");
        }
    }
}
