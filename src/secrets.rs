//! Secrets stay secret: the one function that takes passwords out of URLs
//! before they reach output, errors or `Debug` (store URLs, OTLP
//! endpoints).

/// `scheme://user:secret@host/...` becomes `scheme://user:***@host/...`;
/// a URL without a password is returned as it is.
///
/// ```
/// assert_eq!(
///     fcc::secrets::redact_url("postgres://app:hunter2@db:5432/events"),
///     "postgres://app:***@db:5432/events"
/// );
/// assert_eq!(fcc::secrets::redact_url("http://collector:4318"), "http://collector:4318");
/// ```
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
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
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }
}
