//! Secrets stay secret: the one function that takes passwords out of URLs
//! before they reach output, errors or `Debug` (store URLs, OTLP
//! endpoints).
//!
//! **Imports:** nothing else of fcc; every other part may import it
//! (the import table in ARCHITECTURE.md, checked by `tests/it/import_direction.rs`).

/// Query parameters (and `key=value` connection-string keywords) whose
/// value is a secret, compared case-insensitively.
const SECRET_KEYS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "sslpassword",
    "secret",
    "client_secret",
    "token",
    "access_token",
    "api_key",
    "apikey",
    "auth",
    "authorization",
    "sig",
    "signature",
];

fn is_secret_key(key: &str) -> bool {
    SECRET_KEYS
        .iter()
        .any(|k| k.eq_ignore_ascii_case(key.trim()))
}

/// Takes the secrets out of a URL or connection string before it is shown:
///
/// - the password in the userinfo: `scheme://user:secret@host/...` becomes
///   `scheme://user:***@host/...`;
/// - the value of a secret query parameter (`?password=`, `token`,
///   `api_key`, `sslpassword`, ...): `?password=***`;
/// - the same keywords in a `key=value` connection string
///   (`host=db password=secret`).
///
/// Anything else is returned as it is.
///
/// ```
/// use fcc::secrets::redact_url;
/// assert_eq!(redact_url("postgres://app:hunter2@db:5432/events"), "postgres://app:***@db:5432/events");
/// assert_eq!(redact_url("postgres://db/events?user=app&password=hunter2"), "postgres://db/events?user=app&password=***");
/// assert_eq!(redact_url("host=db user=app password=hunter2"), "host=db user=app password=***");
/// assert_eq!(redact_url("http://collector:4318"), "http://collector:4318");
/// ```
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return redact_keywords(url);
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    format!("{scheme}://{authority}{}", redact_query(tail))
}

/// `path?a=1&password=x#frag` with the secret values replaced.
fn redact_query(tail: &str) -> String {
    let Some((path, query)) = tail.split_once('?') else {
        return tail.to_owned();
    };
    let (query, fragment) = match query.split_once('#') {
        Some((q, f)) => (q, Some(f)),
        None => (query, None),
    };
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if is_secret_key(k) => format!("{k}=***"),
            _ => pair.to_owned(),
        })
        .collect();
    let mut out = format!("{path}?{}", query.join("&"));
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// A libpq-style `key=value key=value` string with the secret values replaced.
fn redact_keywords(s: &str) -> String {
    if !s.contains('=') {
        return s.to_owned();
    }
    s.split(' ')
        .map(|word| match word.split_once('=') {
            Some((k, _)) if is_secret_key(k) => format!("{k}=***"),
            _ => word.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_go_and_the_rest_stays() {
        for (url, shown) in [
            ("http://u:p@h:1/x", "http://u:***@h:1/x"),
            ("https://u:p%40ss@h?q=1", "https://u:***@h?q=1"),
            ("http://u@h", "http://u@h"),
            ("http://h:4317", "http://h:4317"),
            ("not a url", "not a url"),
            ("http://u:p@h/path@x", "http://u:***@h/path@x"),
            (
                "postgres://db/e?user=a&password=p&sslmode=require",
                "postgres://db/e?user=a&password=***&sslmode=require",
            ),
            (
                "postgres://u:p@db/e?PassWord=p#f",
                "postgres://u:***@db/e?PassWord=***#f",
            ),
            (
                "https://h/v1/traces?api_key=k&x=1",
                "https://h/v1/traces?api_key=***&x=1",
            ),
            ("sqlite:///tmp/events.db", "sqlite:///tmp/events.db"),
            (
                "host=db password=p port=5432",
                "host=db password=*** port=5432",
            ),
            ("events.db", "events.db"),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }
}
