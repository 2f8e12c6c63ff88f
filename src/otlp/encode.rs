//! The OTLP request of one metrics export: cumulative or delta sums,
//! gauges and explicit-bucket histograms, with their exemplars.

use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    exemplar, metric, number_data_point, AggregationTemporality, Gauge, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
};
use opentelemetry_proto::tonic::resource::v1::Resource;

use super::metrics::kv;
use super::temporality::Interval;
use crate::metrics::SeriesValue;

fn exemplars(
    s: &crate::metrics::SeriesSnapshot,
) -> Vec<opentelemetry_proto::tonic::metrics::v1::Exemplar> {
    s.exemplar
        .iter()
        .map(|e| opentelemetry_proto::tonic::metrics::v1::Exemplar {
            time_unix_nano: nanos(e.timestamp),
            trace_id: e
                .trace_id
                .map(|t| t.to_bytes().to_vec())
                .unwrap_or_default(),
            span_id: e.span_id.map(|s| s.to_bytes().to_vec()).unwrap_or_default(),
            value: Some(exemplar::Value::AsDouble(e.value)),
            ..Default::default()
        })
        .collect()
}

fn nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// The OTLP request for a snapshot read at `now`: cumulative points start
/// at `start` (the exporter's start), delta points at `since` (the last
/// delivered export).
pub(crate) fn encode(
    snapshot: &[Interval],
    resource: &Resource,
    start: SystemTime,
    since: SystemTime,
    now: SystemTime,
) -> ExportMetricsServiceRequest {
    let metrics = snapshot
        .iter()
        .filter(|i| !i.metric.series.is_empty())
        .map(|Interval { metric: m, delta }| {
            let (start, temporality) = if *delta {
                (nanos(since), AggregationTemporality::Delta)
            } else {
                (nanos(start), AggregationTemporality::Cumulative)
            };
            let (temporality, now) = (temporality as i32, nanos(now));
            let attrs = |s: &crate::metrics::SeriesSnapshot| -> Vec<KeyValue> {
                s.labels.iter().map(|(k, v)| kv(k, v)).collect()
            };
            let number = |s, v: f64| NumberDataPoint {
                attributes: attrs(s),
                start_time_unix_nano: start,
                time_unix_nano: now,
                value: Some(number_data_point::Value::AsDouble(v)),
                exemplars: exemplars(s),
                ..Default::default()
            };
            let data = match &m.series[0].value {
                SeriesValue::Counter(_) => metric::Data::Sum(Sum {
                    data_points: m
                        .series
                        .iter()
                        .filter_map(|s| match s.value {
                            SeriesValue::Counter(v) => Some(number(s, v)),
                            _ => None,
                        })
                        .collect(),
                    aggregation_temporality: temporality,
                    is_monotonic: true,
                }),
                SeriesValue::Gauge(_) => metric::Data::Gauge(Gauge {
                    data_points: m
                        .series
                        .iter()
                        .filter_map(|s| match s.value {
                            SeriesValue::Gauge(Some(v)) => Some(number(s, v)),
                            _ => None,
                        })
                        .collect(),
                }),
                SeriesValue::Histogram { .. } => metric::Data::Histogram(Histogram {
                    data_points: m
                        .series
                        .iter()
                        .filter_map(|s| match &s.value {
                            SeriesValue::Histogram {
                                bounds,
                                counts,
                                count,
                                sum,
                                min,
                                max,
                            } => Some(HistogramDataPoint {
                                attributes: attrs(s),
                                start_time_unix_nano: start,
                                time_unix_nano: now,
                                count: *count,
                                sum: Some(*sum),
                                bucket_counts: counts.clone(),
                                explicit_bounds: bounds.clone(),
                                min: *min,
                                max: *max,
                                exemplars: exemplars(s),
                                ..Default::default()
                            }),
                            _ => None,
                        })
                        .collect(),
                    aggregation_temporality: temporality,
                }),
            };
            Metric {
                name: m.name.clone(),
                description: m.description.clone(),
                unit: m.unit.clone(),
                data: Some(data),
                ..Default::default()
            }
        })
        .collect();
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(resource.clone()),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: "fcc".into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                    ..Default::default()
                }),
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}
