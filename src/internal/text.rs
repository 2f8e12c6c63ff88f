//! Text helpers for headers and environment values: RFC 7230 tokens and
//! `%XX` escapes (`OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_RESOURCE_ATTRIBUTES`,
//! W3C `baggage`).

/// RFC 7230 `tchar`: the characters of a header name or a baggage key.
pub(crate) fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// `%XX` escapes decoded; `None` for a bad escape or bytes that are not UTF-8.
pub(crate) fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Appends `s` to `out` with every byte outside the unreserved set (and `*`,
/// `/`) as a `%XX` escape.
pub(crate) fn percent_encode(s: &str, out: &mut String) {
    use std::fmt::Write as _;
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'_' | b'~' | b'*' | b'/' => {
                out.push(char::from(b))
            }
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_coding_round_trips() {
        let mut s = String::new();
        percent_encode("a b,c=d;é", &mut s);
        assert_eq!(s, "a%20b%2Cc%3Dd%3B%C3%A9");
        assert_eq!(percent_decode(&s).unwrap(), "a b,c=d;é");
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%C3"), None);
        assert_eq!(percent_decode("%4"), None);
    }

    #[test]
    fn token_bytes_are_rfc_7230_tchars() {
        assert!(b"x-api-key!#$%&'*+.^_`|~09AZ"
            .iter()
            .all(|&b| is_token_byte(b)));
        assert!(!b" ,;=\"()/:<>?@[]{}\t".iter().any(|&b| is_token_byte(b)));
    }
}
