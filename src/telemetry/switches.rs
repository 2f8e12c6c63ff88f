//! The OpenTelemetry SDK's switches, read as the specification says: a
//! value that cannot be used is a warning naming the variable, what was
//! expected and the default used instead, never a failed set-up.

use std::time::Duration;

/// One name in `OTEL_{TRACES,METRICS,LOGS}_EXPORTER`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ExporterName {
    Otlp,
    Console,
    Prometheus,
}

/// A signal's exporters as the variable names them: `None` when it is
/// unset (fcc's default applies), else the list (empty for `none`).
pub(super) fn exporters(
    lookup: &impl Fn(&str) -> Option<String>,
    variable: &str,
    allowed: &[ExporterName],
    warnings: &mut Vec<String>,
) -> Option<Vec<ExporterName>> {
    let value = lookup(variable)?;
    if value.trim().is_empty() {
        return None;
    }
    let known: Vec<&str> = allowed
        .iter()
        .map(|e| match e {
            ExporterName::Otlp => "otlp",
            ExporterName::Console => "console",
            ExporterName::Prometheus => "prometheus",
        })
        .chain(["none"])
        .collect();
    let mut list = Vec::new();
    let mut none = false;
    for name in value.split(',').map(|n| n.trim().to_ascii_lowercase()) {
        let e = match name.as_str() {
            "" => continue,
            "none" => {
                none = true;
                continue;
            }
            "otlp" => ExporterName::Otlp,
            // `logging` is the specification's older name for `console`.
            "console" | "logging" => ExporterName::Console,
            "prometheus" => ExporterName::Prometheus,
            _ => {
                warnings.push(format!(
                    "{variable}: exporter {name:?} is not supported by fcc and is ignored \
                     (supported: {})",
                    known.join(", ")
                ));
                continue;
            }
        };
        if !allowed.contains(&e) {
            warnings.push(format!(
                "{variable}: exporter {name:?} does not apply to this signal and is ignored \
                 (supported: {})",
                known.join(", ")
            ));
        } else if !list.contains(&e) {
            list.push(e);
        }
    }
    if none && !list.is_empty() {
        warnings.push(format!(
            "{variable}={value:?}: `none` with other exporters; exporting nothing"
        ));
        list.clear();
    }
    Some(list)
}

/// A whole number above 0 (`default` when unset or unusable).
pub(super) fn count(
    lookup: &impl Fn(&str) -> Option<String>,
    variable: &str,
    default: usize,
    warnings: &mut Vec<String>,
) -> usize {
    match lookup(variable) {
        None => default,
        Some(v) if v.trim().is_empty() => default,
        Some(v) => match v.trim().parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => {
                warnings.push(format!(
                    "{variable}={v:?} not used: expected a whole number above 0; using {default}"
                ));
                default
            }
        },
    }
}

/// Milliseconds, a whole number above 0 (`default` when unset or unusable).
pub(super) fn millis(
    lookup: &impl Fn(&str) -> Option<String>,
    variable: &str,
    default: Duration,
    warnings: &mut Vec<String>,
) -> Duration {
    let ms = count(lookup, variable, default.as_millis() as usize, warnings);
    Duration::from_millis(ms as u64)
}

/// A limit: a whole number, 0 allowed (`None` when unset or unusable).
pub(super) fn limit(
    lookup: &impl Fn(&str) -> Option<String>,
    variable: &str,
    warnings: &mut Vec<String>,
) -> Option<usize> {
    let v = lookup(variable)?;
    if v.trim().is_empty() {
        return None;
    }
    match v.trim().parse::<usize>() {
        Ok(n) => Some(n),
        Err(_) => {
            warnings.push(format!(
                "{variable}={v:?} not used: expected a whole number (0 or more); using the default"
            ));
            None
        }
    }
}

/// `OTEL_SDK_DISABLED`: `true` (case-insensitive) disables; `false` or
/// unset does not; anything else warns and does not.
pub(super) fn sdk_disabled(
    lookup: &impl Fn(&str) -> Option<String>,
    warnings: &mut Vec<String>,
) -> bool {
    match lookup("OTEL_SDK_DISABLED").map(|v| v.trim().to_ascii_lowercase()) {
        Some(v) if v == "true" => true,
        Some(v) if v == "false" || v.is_empty() => false,
        Some(v) => {
            warnings.push(format!(
                "OTEL_SDK_DISABLED={v:?} not understood: expected true or false; using false"
            ));
            false
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ExporterName::*;

    fn list(value: &str, allowed: &[ExporterName]) -> (Option<Vec<ExporterName>>, Vec<String>) {
        let mut w = Vec::new();
        let v = value.to_owned();
        let got = exporters(
            &|_: &str| Some(v.clone()),
            "OTEL_X_EXPORTER",
            allowed,
            &mut w,
        );
        (got, w)
    }

    #[test]
    fn exporter_lists() {
        assert_eq!(
            list("otlp,console", &[Otlp, Console]).0,
            Some(vec![Otlp, Console])
        );
        assert_eq!(list(" NONE ", &[Otlp]).0, Some(vec![]));
        assert_eq!(list("logging", &[Console]).0, Some(vec![Console]));
        assert_eq!(list("", &[Otlp]).0, None);
        let (got, w) = list("zipkin,otlp", &[Otlp, Console]);
        assert_eq!(got, Some(vec![Otlp]));
        assert!(
            w[0].contains("\"zipkin\"") && w[0].contains("otlp, console, none"),
            "{w:?}"
        );
        let (got, w) = list("prometheus", &[Otlp, Console]);
        assert_eq!((got, w.len()), (Some(vec![]), 1));
        let (got, w) = list("none,otlp", &[Otlp]);
        assert_eq!((got, w.len()), (Some(vec![]), 1));
    }

    #[test]
    fn numbers_warn_and_keep_the_default() {
        let mut w = Vec::new();
        let get = |k: &str| match k {
            "A" => Some("0".to_owned()),
            "B" => Some("soon".to_owned()),
            "C" => Some("250".to_owned()),
            "L" => Some("0".to_owned()),
            _ => None,
        };
        assert_eq!(count(&get, "A", 7, &mut w), 7);
        assert_eq!(
            millis(&get, "B", Duration::from_secs(1), &mut w),
            Duration::from_secs(1)
        );
        assert_eq!(
            millis(&get, "C", Duration::from_secs(1), &mut w),
            Duration::from_millis(250)
        );
        assert_eq!(limit(&get, "L", &mut w), Some(0));
        assert_eq!(w.len(), 2);
        assert!(
            w[0].starts_with("A=\"0\" not used") && w[1].contains("using 1000"),
            "{w:?}"
        );
    }
}
