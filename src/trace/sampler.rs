//! Head sampling, configured as in every OTel SDK by `OTEL_TRACES_SAMPLER` and
//! `OTEL_TRACES_SAMPLER_ARG`.

use std::fmt;

use super::SpanContext;
use crate::TraceId;

/// Decides at span start whether a new span is recorded and exported.
///
/// The default is `ParentBased(AlwaysOn)`, as in the OTel specification: a
/// child follows its parent's decision, a root span is sampled.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Sampler {
    /// Every span is recorded.
    AlwaysOn,
    /// No span is recorded (ids are still made and propagated).
    AlwaysOff,
    /// A fraction of traces, chosen by trace id so every service agrees.
    TraceIdRatio(f64),
    /// Follow the parent's decision; use the inner sampler for root spans.
    ParentBased(Box<Sampler>),
}

impl Default for Sampler {
    fn default() -> Self {
        Sampler::ParentBased(Box::new(Sampler::AlwaysOn))
    }
}

/// An `OTEL_TRACES_SAMPLER` or `OTEL_TRACES_SAMPLER_ARG` value that is not valid.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SamplerError {
    /// The variable at fault.
    pub variable: &'static str,
    /// Its value.
    pub value: String,
    /// What is accepted.
    pub reason: String,
}

impl fmt::Display for SamplerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={:?}: {}", self.variable, self.value, self.reason)
    }
}

impl std::error::Error for SamplerError {}

impl Sampler {
    /// Parses the two standard variables' values (`None` when unset).
    ///
    /// ```
    /// use fcc::trace::Sampler;
    /// assert_eq!(
    ///     Sampler::from_env_values(Some("parentbased_traceidratio"), Some("0.25")).unwrap(),
    ///     Sampler::ParentBased(Box::new(Sampler::TraceIdRatio(0.25)))
    /// );
    /// assert!(Sampler::from_env_values(Some("sometimes"), None).is_err());
    /// ```
    pub fn from_env_values(
        sampler: Option<&str>,
        arg: Option<&str>,
    ) -> Result<Sampler, SamplerError> {
        let ratio = || -> Result<f64, SamplerError> {
            match arg.map(str::trim).filter(|a| !a.is_empty()) {
                None => Ok(1.0),
                Some(a) => match a.parse::<f64>() {
                    Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
                    _ => Err(SamplerError {
                        variable: "OTEL_TRACES_SAMPLER_ARG",
                        value: a.to_owned(),
                        reason: "expected a ratio between 0 and 1".into(),
                    }),
                },
            }
        };
        let parent = |s: Sampler| Sampler::ParentBased(Box::new(s));
        let sampler = sampler.map(|s| s.trim().to_ascii_lowercase());
        Ok(match sampler.as_deref().filter(|s| !s.is_empty()) {
            None | Some("parentbased_always_on") => parent(Sampler::AlwaysOn),
            Some("always_on") => Sampler::AlwaysOn,
            Some("always_off") => Sampler::AlwaysOff,
            Some("traceidratio") => Sampler::TraceIdRatio(ratio()?),
            Some("parentbased_always_off") => parent(Sampler::AlwaysOff),
            Some("parentbased_traceidratio") => parent(Sampler::TraceIdRatio(ratio()?)),
            Some(other) => {
                return Err(SamplerError {
                    variable: "OTEL_TRACES_SAMPLER",
                    value: other.to_owned(),
                    reason: "expected always_on, always_off, traceidratio, parentbased_always_on, \
                             parentbased_always_off or parentbased_traceidratio"
                        .into(),
                })
            }
        })
    }

    /// The decision for a new span in `trace_id` under `parent`.
    #[inline]
    pub fn should_sample(&self, parent: Option<&SpanContext>, trace_id: TraceId) -> bool {
        match self {
            Sampler::AlwaysOn => true,
            Sampler::AlwaysOff => false,
            Sampler::TraceIdRatio(r) => {
                // The low 63 bits of the trace id, compared with the ratio (as
                // the OTel SDKs do), so every service makes the same choice.
                let bits = (trace_id.get() as u64) >> 1;
                (bits as f64) < r * (1u64 << 63) as f64
            }
            Sampler::ParentBased(root) => match parent {
                Some(p) => p.sampled,
                None => root.should_sample(None, trace_id),
            },
        }
    }
}
