//! `OTEL_EXPORTER_OTLP_HEADERS`: `key1=value1,key2=value2`, each value
//! percent-decoded (the W3C Baggage format the specification names).
//! Values are secrets (API keys, bearer tokens): they never appear in
//! `Debug`, errors or warnings; only the header names do.

use crate::internal::text::{is_token_byte, percent_decode};
use std::fmt;

/// Headers sent with every export of a signal. `Debug` shows the names and
/// `***` for each value.
///
/// ```
/// use fcc::otlp::OtlpHeaders;
/// let (h, warnings) = OtlpHeaders::parse("OTEL_EXPORTER_OTLP_HEADERS", "api-key=s%3Dcret,x-team=core");
/// assert!(warnings.is_empty());
/// assert_eq!(h.get("api-key"), Some("s=cret"));
/// assert_eq!(format!("{h:?}"), r#"{"api-key": "***", "x-team": "***"}"#);
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct OtlpHeaders(Vec<(String, String)>);

impl OtlpHeaders {
    /// Parses a headers variable's value. Entries that cannot be used are
    /// left out, each with a warning that names `variable` and the entry's
    /// position (never its value).
    pub fn parse(variable: &str, value: &str) -> (OtlpHeaders, Vec<String>) {
        let mut headers = Vec::new();
        let mut warnings = Vec::new();
        for (i, entry) in value.split(',').enumerate() {
            let entry = entry.trim();
            if entry.is_empty() {
                continue;
            }
            let n = i + 1;
            let Some((name, raw)) = entry.split_once('=') else {
                warnings.push(format!(
                    "{variable}: entry {n} has no '=': expected name=value pairs separated by commas; it is left out"
                ));
                continue;
            };
            let name = name.trim().to_ascii_lowercase();
            if name.is_empty() || !name.bytes().all(is_token_byte) {
                warnings.push(format!(
                    "{variable}: entry {n}'s name {name:?} is not a valid header name; it is left out"
                ));
                continue;
            }
            match percent_decode(raw.trim()) {
                Some(v) if v.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b)) => {
                    headers.push((name, v));
                }
                Some(_) => warnings.push(format!(
                    "{variable}: the value of header {name:?} holds characters a header cannot carry; it is left out"
                )),
                None => warnings.push(format!(
                    "{variable}: the value of header {name:?} has a bad percent-escape (expected %XX with two hex digits, UTF-8); it is left out"
                )),
            }
        }
        (OtlpHeaders(headers), warnings)
    }

    /// Headers from name-value pairs (names are lower-cased).
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> OtlpHeaders {
        OtlpHeaders(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into().to_ascii_lowercase(), v.into()))
                .collect(),
        )
    }

    /// The value of header `name`, if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every header, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for OtlpHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(k, _)| (k, "***")))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_percent_decoded_and_names_lower_cased() {
        let (h, w) = OtlpHeaders::parse("V", "Authorization=Bearer%20abc%2Fdef , x-a = 1 ,");
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(h.get("authorization"), Some("Bearer abc/def"));
        assert_eq!(h.get("x-a"), Some("1"));
    }

    #[test]
    fn bad_entries_are_left_out_with_a_warning_that_never_shows_the_value() {
        let (h, w) = OtlpHeaders::parse(
            "OTEL_EXPORTER_OTLP_HEADERS",
            "good=1,novalue,bad name=secret1,k=secret2%zz,n=%0Asecret3",
        );
        assert_eq!(h.iter().collect::<Vec<_>>(), [("good", "1")]);
        assert_eq!(w.len(), 4, "{w:?}");
        for warning in &w {
            assert!(
                warning.starts_with("OTEL_EXPORTER_OTLP_HEADERS: "),
                "{warning}"
            );
            assert!(!warning.contains("secret"), "a value leaked: {warning}");
        }
        assert!(w[0].contains("entry 2 has no '='"));
        assert!(w[2].contains("percent-escape"));
    }

    #[test]
    fn debug_hides_values() {
        let h = OtlpHeaders::from_pairs([("Api-Key", "hunter2")]);
        assert_eq!(format!("{h:?}"), r#"{"api-key": "***"}"#);
    }
}
