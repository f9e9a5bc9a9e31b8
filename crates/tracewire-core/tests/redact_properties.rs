//! Property tests of URL and query redaction: no panic on any input, a sensitive value never survives,
//! nothing else changes, and the output grows only by the `REDACTED` markers.

use proptest::prelude::*;
use tracewire_core::redact::{DEFAULT_SENSITIVE_QUERY_KEYS, Redactor};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,200}") {
        let r = Redactor::default();
        let _ = r.url_full(&text);
        let _ = r.query(&text);
    }

    #[test]
    fn secrets_never_survive(
        user in "[a-z]{3,8}",
        password in "[A-Za-z0-9]{12,20}",
        signature in "[A-Za-z0-9]{12,20}",
        other in "[a-z]{1,8}",
    ) {
        let url = format!("https://{user}:{password}@shop.example:8443/pay?color={other}&X-Amz-Signature={signature}#top");
        let redacted = Redactor::default().url_full(&url).into_owned();
        prop_assert!(!redacted.contains(&password));
        prop_assert!(!redacted.contains(&signature));
        let user_prefix = format!("{user}:");
        prop_assert!(!redacted.contains(&user_prefix));
        prop_assert_eq!(
            redacted,
            format!("https://REDACTED:REDACTED@shop.example:8443/pay?color={other}&X-Amz-Signature=REDACTED#top")
        );
    }

    #[test]
    fn urls_without_secrets_are_unchanged(
        path in "(/[a-z0-9]{1,8}){0,4}",
        pairs in prop::collection::vec((plain_key(), "[a-z0-9]{0,5}"), 1..5),
    ) {
        let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let url = format!("http://api.example{path}?{}", query.join("&"));
        prop_assert_eq!(Redactor::default().url_full(&url).into_owned(), url);
    }
}

/// A query key that is not on the default sensitive list (`sig` is three lower-case letters, so a bare
/// `[a-z]{1,5}` key would hit it now and then).
fn plain_key() -> impl Strategy<Value = String> {
    "[a-z]{1,5}".prop_filter("sensitive key", |k| {
        !DEFAULT_SENSITIVE_QUERY_KEYS
            .iter()
            .any(|s| s.eq_ignore_ascii_case(k))
    })
}
