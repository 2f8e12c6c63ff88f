//! From an fcc [`Event`] to an `events.k8s.io/v1` Event: the field rules.
//!
//! | Event field | from | rule |
//! |---|---|---|
//! | `type` | severity | `Warning` for warn and error, `Normal` otherwise |
//! | `reason` | event type, then outcome | CamelCase: `protocol.mcp.tool.failed` → `ProtocolMcpToolFailed`; `mcpclient.connect_attempt` with outcome failure → `McpclientConnectAttemptFailure`; at most 128 |
//! | `action` | the event's action, else the type's last segment | CamelCase: `connect attempt!` → `ConnectAttempt`; at most 128 |
//! | `note` | detail, else the event type | at most 1024 bytes: a longer one is cut on a character boundary and ends with `…` |
//! | `eventTime` | timestamp | microseconds |
//! | `regarding` | the [`PodRef`] | `v1` `Pod`, name, namespace, uid |
//! | `reportingController` | configured | a qualified name |
//! | `reportingInstance` | the Pod's name | at most 128 |
//! | `metadata.name` | Pod name and time | `<pod>.<unix nanos in hex>`, as client-go names them |
//!
//! CamelCase keeps ASCII letters and digits, starts a new word after any other
//! character and drops the others, so the result is always a valid, readable
//! reason (`Event` when nothing is left).

use std::borrow::Cow;

use fcc::{Event, Severity};
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::{Event as K8sEvent, EventSeries};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp as JiffTimestamp;

use crate::PodRef;

/// Longest `reason`, `action` and `reportingInstance` the API server accepts.
pub const MAX_REASON_LEN: usize = 128;
/// Longest `note` the API server accepts, in bytes.
pub const MAX_NOTE_BYTES: usize = 1024;

/// `words like.these_and-THESE` → `WordsLikeTheseAndTHESE`, at most `max` bytes.
///
/// ```
/// assert_eq!(fcc_k8s::camel_case("connect attempt!", 128), "ConnectAttempt");
/// assert_eq!(fcc_k8s::camel_case("mcpserver.GatewayServer", 128), "McpserverGatewayServer");
/// assert_eq!(fcc_k8s::camel_case("¿?", 128), "Event");
/// ```
pub fn camel_case(input: &str, max: usize) -> String {
    let mut out = String::with_capacity(input.len().min(max));
    let mut new_word = true;
    for c in input.chars() {
        if c.is_ascii_alphanumeric() {
            if out.len() == max {
                break;
            }
            out.push(if new_word { c.to_ascii_uppercase() } else { c });
            new_word = false;
        } else {
            new_word = true;
        }
    }
    if out.is_empty() {
        out.push_str("Event");
    }
    out
}

/// `note` within [`MAX_NOTE_BYTES`]: cut on a character boundary, ending with `…`.
///
/// ```
/// let long = "é".repeat(600); // 1200 bytes
/// let note = fcc_k8s::cut_note(&long);
/// assert!(note.len() <= 1024 && note.ends_with('…'));
/// ```
pub fn cut_note(note: &str) -> Cow<'_, str> {
    if note.len() <= MAX_NOTE_BYTES {
        return Cow::Borrowed(note);
    }
    Cow::Owned(format!(
        "{}…",
        prefix(note, MAX_NOTE_BYTES - '…'.len_utf8())
    ))
}

/// The longest start of `s` within `max` bytes that ends on a character boundary.
fn prefix(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Checks a `reportingController` against the API server's qualified-name
/// rule: an optional DNS-subdomain prefix and `/`, then a name of at most 63
/// characters, alphanumeric at both ends, with `-`, `_` and `.` inside.
///
/// ```
/// assert!(fcc_k8s::check_qualified_name("example.com/checkout").is_ok());
/// assert!(fcc_k8s::check_qualified_name("my service").is_err());
/// ```
pub fn check_qualified_name(value: &str) -> Result<(), String> {
    let (prefix, name) = match value.split_once('/') {
        None => (None, value),
        Some((p, n)) => (Some(p), n),
    };
    if let Some(p) = prefix {
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        if p.is_empty() || p.len() > 253 || !p.split('.').all(label_ok) {
            return Err(format!(
                "prefix `{p}` of `{value}` must be a DNS subdomain (lower-case alphanumerics, `-` and `.`)"
            ));
        }
    }
    let inner_ok = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.');
    let bytes = name.as_bytes();
    let valid = !bytes.is_empty()
        && bytes.len() <= 63
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && bytes.iter().all(|&b| inner_ok(b));
    if !valid {
        return Err(format!(
            "`{value}` is not a qualified name: the name part needs 1 to 63 characters, \
             alphanumeric at both ends, with only `-`, `_` and `.` inside (an optional \
             `example.com/` prefix may come first)"
        ));
    }
    Ok(())
}

/// A valid qualified name made from a service name: other characters become
/// `-`, the ends are trimmed to alphanumerics, at most 63 (`fcc` if empty).
///
/// ```
/// assert_eq!(fcc_k8s::controller_name("unknown_service:my app"), "unknown_service-my-app");
/// ```
pub fn controller_name(service: &str) -> String {
    let mapped: String = service
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let mut name: &str = mapped.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    if name.len() > 63 {
        name = name[..63].trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
    }
    if name.is_empty() {
        "fcc".to_owned()
    } else {
        name.to_owned()
    }
}

/// The fields of one fcc event that make its Kubernetes Event (and its series key).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Fields {
    pub type_: &'static str,
    pub reason: String,
    pub action: String,
}

impl Fields {
    pub fn of(event: &Event) -> Fields {
        let type_ = if event.severity() >= Severity::Warn {
            "Warning"
        } else {
            "Normal"
        };
        let mut reason = event.event_type().as_str().to_owned();
        if let Some(o) = event.outcome() {
            reason.push('.');
            reason.push_str(o.as_str());
        }
        let action = match event.action() {
            Some(a) if a.chars().any(|c| c.is_ascii_alphanumeric()) => a,
            _ => {
                let t = event.event_type().as_str();
                t.rsplit('.').next().unwrap_or(t)
            }
        };
        Fields {
            type_,
            reason: camel_case(&reason, MAX_REASON_LEN),
            action: camel_case(action, MAX_REASON_LEN),
        }
    }
}

/// Who reports: the controller name and the Pod (instance and regarded object).
#[derive(Clone, Debug)]
pub(crate) struct Reporter {
    pub controller: String,
    pub pod: PodRef,
}

impl Reporter {
    pub fn instance(&self) -> &str {
        prefix(self.pod.name(), MAX_REASON_LEN)
    }

    fn regarding(&self) -> ObjectReference {
        ObjectReference {
            api_version: Some("v1".to_owned()),
            kind: Some("Pod".to_owned()),
            name: Some(self.pod.name().to_owned()),
            namespace: Some(self.pod.namespace().to_owned()),
            uid: self.pod.uid_str().map(str::to_owned),
            ..ObjectReference::default()
        }
    }

    /// `<pod>.<nanos in hex>`, kept within a DNS subdomain's 253 characters.
    pub fn event_name(&self, unix_nanos: i128) -> String {
        let pod = self.pod.name();
        let pod = prefix(pod, 253 - 17);
        format!("{pod}.{:x}", unix_nanos.max(0))
    }

    /// The Event to create for `event`, named `name`, with `series` when it
    /// starts as one (a re-create after the first object expired).
    pub fn k8s_event(
        &self,
        event: &Event,
        fields: &Fields,
        name: String,
        series: Option<(i32, i64)>,
    ) -> K8sEvent {
        let note = match event.detail() {
            Some(d) if !d.is_empty() => cut_note(d).into_owned(),
            _ => event.event_type().as_str().to_owned(),
        };
        K8sEvent {
            metadata: ObjectMeta {
                name: Some(name),
                namespace: Some(self.pod.namespace().to_owned()),
                ..ObjectMeta::default()
            },
            event_time: Some(micro_time(event.timestamp().unix_micros())),
            type_: Some(fields.type_.to_owned()),
            reason: Some(fields.reason.clone()),
            action: Some(fields.action.clone()),
            note: Some(note),
            regarding: Some(self.regarding()),
            reporting_controller: Some(self.controller.clone()),
            reporting_instance: Some(self.instance().to_owned()),
            series: series.map(|(count, last)| EventSeries {
                count,
                last_observed_time: micro_time(last),
            }),
            ..K8sEvent::default()
        }
    }
}

/// A `MicroTime` from unix microseconds (the epoch if out of range).
pub(crate) fn micro_time(unix_micros: i64) -> MicroTime {
    MicroTime(JiffTimestamp::from_microsecond(unix_micros).unwrap_or(JiffTimestamp::UNIX_EPOCH))
}

/// The merge patch that turns an Event into (or keeps it) a series.
pub(crate) fn series_patch(count: i32, last_observed_micros: i64) -> serde_json::Value {
    serde_json::json!({
        "series": {
            "count": count,
            "lastObservedTime": micro_time(last_observed_micros),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use fcc::{EventType, Outcome};

    #[test]
    fn reason_and_action_are_camel_case_and_bounded() {
        let e = Event::warn("mcpclient", "connect attempt!", "refused")
            .outcome(Outcome::Failure)
            .build();
        let f = Fields::of(&e);
        assert_eq!(f.type_, "Warning");
        assert_eq!(f.action, "ConnectAttempt");
        assert_eq!(f.reason, "McpclientConnectAttemptFailure");
        let long = "x".repeat(300);
        assert_eq!(camel_case(&long, MAX_REASON_LEN).len(), 128);
        let e = Event::builder(EventType::ProtocolMcpToolFailed, "mcp").build();
        let f = Fields::of(&e);
        assert_eq!(
            (f.type_, f.reason.as_str(), f.action.as_str()),
            ("Normal", "ProtocolMcpToolFailed", "Failed")
        );
    }

    #[test]
    fn notes_are_cut_on_a_char_boundary() {
        for filler in ["a", "é", "日", "🦀"] {
            let s = filler.repeat(2000);
            let n = cut_note(&s);
            assert!(n.len() <= MAX_NOTE_BYTES, "{filler}: {}", n.len());
            assert!(n.len() > MAX_NOTE_BYTES - 8);
            assert!(n.ends_with('…'));
        }
        assert_eq!(cut_note("short"), "short");
        let exact = "a".repeat(MAX_NOTE_BYTES);
        assert_eq!(cut_note(&exact).len(), MAX_NOTE_BYTES);
    }

    #[test]
    fn qualified_names() {
        for ok in ["kubelet", "example.com/checkout", "a", "A_b.c-9", "x.y/z"] {
            assert!(check_qualified_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "-a",
            "a-",
            "my service",
            "Example.com/x",
            "a/b/c",
            "/x",
            &"a".repeat(64),
        ] {
            assert!(check_qualified_name(bad).is_err(), "{bad}");
        }
        for service in [
            "unknown_service:fcc demo",
            "🦀",
            "---",
            &"s".repeat(100),
            "checkout",
        ] {
            let c = controller_name(service);
            assert!(check_qualified_name(&c).is_ok(), "{service} -> {c}");
        }
    }

    #[test]
    fn event_names_are_dns_subdomains_in_length() {
        let r = Reporter {
            controller: "c".into(),
            pod: PodRef::new("p".repeat(253), "ns"),
        };
        assert!(r.event_name(i128::from(i64::MAX)).len() <= 253);
        assert_eq!(r.instance().len(), 128);
    }
}
