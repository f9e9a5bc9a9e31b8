//! Redaction of URLs and query strings (semantic conventions §1.8).
//!
//! - URL userinfo is never recorded: `https://user:pw@host/` becomes `https://REDACTED:REDACTED@host/`.
//! - The values of sensitive query keys become `REDACTED`, keeping the key. Matching is case-sensitive,
//!   as the conventions say. The default list is [`DEFAULT_SENSITIVE_QUERY_KEYS`]; [`Redactor::with_query_keys`]
//!   replaces it.
//!
//! ```
//! use tracewire_core::redact::Redactor;
//! let r = Redactor::default();
//! assert_eq!(
//!     r.url_full("https://bob:pw@shop.example/pay?sig=abc&color=blue"),
//!     "https://REDACTED:REDACTED@shop.example/pay?sig=REDACTED&color=blue"
//! );
//! assert_eq!(r.query("X-Amz-Signature=1&a=2"), "X-Amz-Signature=REDACTED&a=2");
//! ```

use std::borrow::Cow;
use std::sync::Arc;

/// What a redacted value is replaced with.
///
/// ```
/// use tracewire_core::redact::{REDACTED, Redactor};
/// assert_eq!(Redactor::default().query("sig=abc"), format!("sig={REDACTED}"));
/// ```
pub const REDACTED: &str = "REDACTED";

/// The sensitive query keys of semantic conventions v1.44.0, plus `AWSAccessKeyId` and `Signature`, which
/// the next release adds.
///
/// ```
/// use tracewire_core::redact::{DEFAULT_SENSITIVE_QUERY_KEYS, Redactor};
/// assert!(DEFAULT_SENSITIVE_QUERY_KEYS.contains(&"X-Amz-Signature"));
/// assert!(Redactor::default().query_keys().eq(DEFAULT_SENSITIVE_QUERY_KEYS.iter().copied()));
/// ```
pub const DEFAULT_SENSITIVE_QUERY_KEYS: &[&str] = &[
    "X-Amz-Signature",
    "X-Amz-Credential",
    "X-Amz-Security-Token",
    "sig",
    "X-Goog-Signature",
    "AWSAccessKeyId",
    "Signature",
];

/// Redacts URLs and query strings. Cheap to clone.
///
/// ```
/// use tracewire_core::redact::Redactor;
/// let redactor = Redactor::default();
/// assert_eq!(
///     redactor.url_full("https://user:pw@example.com/a?page=2"),
///     "https://REDACTED:REDACTED@example.com/a?page=2"
/// );
/// let copy = redactor.clone(); // shares the key list
/// assert_eq!(copy.query("sig=1"), "sig=REDACTED");
/// ```
#[derive(Clone, Debug)]
pub struct Redactor {
    keys: Arc<[Box<str>]>,
}

impl Default for Redactor {
    fn default() -> Self {
        Redactor::with_query_keys(DEFAULT_SENSITIVE_QUERY_KEYS.iter().copied())
    }
}

impl Redactor {
    /// A redactor whose sensitive query keys are exactly `keys` (the defaults are replaced, not extended).
    ///
    /// ```
    /// let r = tracewire_core::redact::Redactor::with_query_keys(["token"]);
    /// assert_eq!(r.query("token=1&sig=2"), "token=REDACTED&sig=2");
    /// ```
    pub fn with_query_keys<I, S>(keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Redactor {
            keys: keys.into_iter().map(|k| k.as_ref().into()).collect(),
        }
    }

    /// The sensitive query keys.
    ///
    /// ```
    /// let redactor = tracewire_core::redact::Redactor::with_query_keys(["token", "key"]);
    /// assert_eq!(redactor.query_keys().collect::<Vec<_>>(), ["token", "key"]);
    /// ```
    pub fn query_keys(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|k| &**k)
    }

    fn is_sensitive(&self, key: &str) -> bool {
        self.keys.iter().any(|k| **k == *key)
    }

    /// A query string (without the leading `?`) with the values of sensitive keys replaced.
    /// Borrows when nothing needs redacting.
    ///
    /// ```
    /// use std::borrow::Cow;
    /// let redactor = tracewire_core::redact::Redactor::default();
    /// assert_eq!(redactor.query("sig=abc&page=2"), "sig=REDACTED&page=2");
    /// assert_eq!(redactor.query("SIG=abc"), "SIG=abc"); // keys match case-sensitively
    /// assert!(matches!(redactor.query("page=2"), Cow::Borrowed(_))); // nothing to redact
    /// ```
    pub fn query<'a>(&self, query: &'a str) -> Cow<'a, str> {
        let needs = query.split('&').any(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            self.is_sensitive(key) && value != REDACTED
        });
        if !needs {
            return Cow::Borrowed(query);
        }
        let mut out = String::with_capacity(query.len());
        for (i, pair) in query.split('&').enumerate() {
            if i > 0 {
                out.push('&');
            }
            match pair.split_once('=') {
                Some((key, _)) if self.is_sensitive(key) => {
                    out.push_str(key);
                    out.push('=');
                    out.push_str(REDACTED);
                }
                _ => out.push_str(pair),
            }
        }
        Cow::Owned(out)
    }

    /// An absolute URL with userinfo and sensitive query values replaced by `REDACTED`.
    /// Borrows when nothing needs redacting. Text that is not an absolute URL is returned with only its
    /// query redacted.
    ///
    /// ```
    /// let redactor = tracewire_core::redact::Redactor::default();
    /// assert_eq!(
    ///     redactor.url_full("https://u:p@h/x?X-Amz-Signature=1#top"),
    ///     "https://REDACTED:REDACTED@h/x?X-Amz-Signature=REDACTED#top"
    /// );
    /// assert_eq!(redactor.url_full("/relative?sig=1"), "/relative?sig=REDACTED");
    /// ```
    pub fn url_full<'a>(&self, url: &'a str) -> Cow<'a, str> {
        let (before_fragment, fragment) = match url.find('#') {
            Some(i) => (&url[..i], &url[i..]),
            None => (url, ""),
        };
        let (base, query) = match before_fragment.find('?') {
            Some(i) => (&before_fragment[..i], Some(&before_fragment[i + 1..])),
            None => (before_fragment, None),
        };
        let userinfo = userinfo_range(base);
        let query_redacted = query.map(|q| self.query(q));
        let query_changed = matches!(query_redacted, Some(Cow::Owned(_)));
        if userinfo.is_none() && !query_changed {
            return Cow::Borrowed(url);
        }
        let mut out = String::with_capacity(url.len() + 16);
        match userinfo {
            Some((start, end)) => {
                out.push_str(&base[..start]);
                let info = &base[start..end];
                out.push_str(REDACTED);
                if info.contains(':') {
                    out.push(':');
                    out.push_str(REDACTED);
                }
                out.push_str(&base[end..]);
            }
            None => out.push_str(base),
        }
        if let Some(q) = query_redacted {
            out.push('?');
            out.push_str(&q);
        }
        out.push_str(fragment);
        Cow::Owned(out)
    }
}

/// The byte range of the userinfo in `scheme://userinfo@host...`, without the `@`.
fn userinfo_range(base: &str) -> Option<(usize, usize)> {
    let start = base.find("://")? + 3;
    let authority_end = base[start..]
        .find('/')
        .map(|i| start + i)
        .unwrap_or(base.len());
    let at = base[start..authority_end].rfind('@')? + start;
    Some((start, at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_is_redacted() {
        let r = Redactor::default();
        assert_eq!(
            r.url_full("http://u:p@h:8080/x"),
            "http://REDACTED:REDACTED@h:8080/x"
        );
        assert_eq!(r.url_full("http://u@h/x"), "http://REDACTED@h/x");
        assert!(matches!(r.url_full("http://h/x?a=1"), Cow::Borrowed(_)));
        // An '@' in the path is not userinfo.
        assert_eq!(r.url_full("http://h/a@b"), "http://h/a@b");
    }

    #[test]
    fn query_values_are_redacted_case_sensitively() {
        let r = Redactor::default();
        assert_eq!(r.query("sig=1&SIG=2"), "sig=REDACTED&SIG=2");
        assert_eq!(r.query("sig"), "sig");
        assert_eq!(r.query(""), "");
        assert_eq!(
            r.url_full("https://h/p?Signature=x#frag"),
            "https://h/p?Signature=REDACTED#frag"
        );
    }
}
