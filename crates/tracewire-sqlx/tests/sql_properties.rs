//! Property tests of the SQL sanitizer and summarizer: no panic on any input, output never longer
//! than the input, and no literal survives sanitizing.

use proptest::prelude::*;
use tracewire_sqlx::sql::{Dialect, MAX_SUMMARY_LEN, sanitize, summarize};

fn dialect() -> impl Strategy<Value = Dialect> {
    prop_oneof![
        Just(Dialect::Postgres),
        Just(Dialect::MySql),
        Just(Dialect::Sqlite)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn never_panics_and_never_grows(text in ".{0,300}", d in dialect()) {
        let clean = sanitize(&text, d);
        prop_assert!(clean.len() <= text.len());
        if let Some(summary) = summarize(&text) {
            prop_assert!(summary.chars().count() <= MAX_SUMMARY_LEN);
        }
    }

    #[test]
    fn sql_shaped_noise_never_panics(text in "[a-zA-Z0-9 '\"`$\\\\/*#-;,()=.eExX]{0,200}", d in dialect()) {
        let clean = sanitize(&text, d);
        prop_assert!(clean.len() <= text.len());
        let _ = summarize(&text);
    }

    #[test]
    fn string_and_number_literals_never_survive(secret in "[A-Za-z]{8,20}", number in 100_000u64..u64::MAX, d in dialect()) {
        let text = format!("SELECT * FROM users WHERE name = '{secret}' AND pin = {number} -- done");
        let clean = sanitize(&text, d);
        prop_assert!(!clean.contains(&secret), "{}", clean);
        prop_assert!(!clean.contains(&number.to_string()), "{}", clean);
        prop_assert_eq!(clean, "SELECT * FROM users WHERE name = ? AND pin = ? -- done");
    }

    #[test]
    fn dollar_quoted_literals_never_survive(secret in "[A-Za-z ]{8,20}", tag in "[a-z]{0,5}") {
        let text = format!("SELECT ${tag}${secret}${tag}$ AS x");
        let clean = sanitize(&text, Dialect::Postgres);
        prop_assert_eq!(clean, "SELECT ? AS x");
    }
}
