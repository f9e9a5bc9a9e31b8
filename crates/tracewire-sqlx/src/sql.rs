//! Reading SQL text without a database: replacing literals with `?` and building `db.query.summary`.
//!
//! One pass over the bytes, no allocation but the output, and no panics on any input: quotes that never
//! close, unterminated comments or dollar quotes simply run to the end of the text.
//!
//! ```
//! use tracewire_sqlx::sql::{sanitize, summarize, Dialect};
//! assert_eq!(
//!     sanitize("SELECT * FROM users WHERE name = 'bob' AND age > 42", Dialect::Postgres),
//!     "SELECT * FROM users WHERE name = ? AND age > ?"
//! );
//! assert_eq!(summarize("SELECT * FROM users u JOIN orders o ON o.uid = u.id").as_deref(), Some("SELECT users orders"));
//! ```

/// The SQL dialect, which decides what a double-quoted string and a backslash mean.
///
/// ```
/// use tracewire_sqlx::sql::{Dialect, sanitize};
/// let text = r#"SELECT "name" FROM users WHERE id = 7"#;
/// // In PostgreSQL `"name"` is an identifier and stays; in MySQL it is a string literal.
/// assert_eq!(sanitize(text, Dialect::Postgres), r#"SELECT "name" FROM users WHERE id = ?"#);
/// assert_eq!(sanitize(text, Dialect::MySql), "SELECT ? FROM users WHERE id = ?");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// PostgreSQL: `"…"` is an identifier, `$tag$…$tag$` and `E'…'` are strings, `$1` a placeholder.
    Postgres,
    /// MySQL and MariaDB: `"…"` is a string, backslash escapes inside strings, `` `…` `` identifiers.
    MySql,
    /// SQLite: `"…"` and `` `…` `` are identifiers, `'…'` strings.
    Sqlite,
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

/// The end (exclusive) of a quoted run starting at `start` (the opening quote), honouring doubled
/// quotes and, when `backslash`, backslash escapes. An unterminated run ends at the end of the text.
fn quoted_end(bytes: &[u8], start: usize, quote: u8, backslash: bool) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        let b = bytes[i];
        if backslash && b == b'\\' {
            i += 2;
            continue;
        }
        if b == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    bytes.len()
}

/// If a PostgreSQL dollar quote opens at `start`, the end (exclusive) of the quoted string.
fn dollar_quote_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    while i < bytes.len() && is_ident_char(bytes[i]) && bytes[i] != b'$' {
        i += 1;
    }
    if bytes.get(i) != Some(&b'$') {
        return None;
    }
    let tag = &bytes[start..=i];
    // `$1` is a placeholder, not a tag.
    if tag.len() > 2 && tag[1].is_ascii_digit() {
        return None;
    }
    let body = i + 1;
    let mut j = body;
    while j + tag.len() <= bytes.len() {
        if &bytes[j..j + tag.len()] == tag {
            return Some(j + tag.len());
        }
        j += 1;
    }
    Some(bytes.len())
}

fn block_comment_end(bytes: &[u8], start: usize) -> usize {
    let mut depth = 0usize;
    let mut i = start;
    while i + 1 < bytes.len() {
        match (bytes[i], bytes[i + 1]) {
            (b'/', b'*') => {
                depth += 1;
                i += 2;
            }
            (b'*', b'/') => {
                depth = depth.saturating_sub(1);
                i += 2;
                if depth == 0 {
                    return i;
                }
            }
            _ => i += 1,
        }
    }
    bytes.len()
}

fn line_comment_end(bytes: &[u8], start: usize) -> usize {
    bytes[start..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |p| start + p)
}

/// `text` with every literal — strings, numbers, hex and bit strings, dollar-quoted strings, booleans —
/// replaced by `?`. Identifiers, keywords, comments and placeholders (`$1`, `?`, `:name`) are kept.
pub fn sanitize(text: &str, dialect: Dialect) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut copied = 0;
    // Pushes text[copied..upto] and then `?`, and skips to `resume`.
    let replace = |out: &mut String, copied: &mut usize, upto: usize, resume: usize| {
        out.push_str(&text[*copied..upto]);
        out.push('?');
        *copied = resume;
    };
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\'' => {
                let end = quoted_end(bytes, i, b'\'', dialect == Dialect::MySql);
                replace(&mut out, &mut copied, i, end);
                i = end;
            }
            b'"' if dialect == Dialect::MySql => {
                let end = quoted_end(bytes, i, b'"', true);
                replace(&mut out, &mut copied, i, end);
                i = end;
            }
            b'"' => i = quoted_end(bytes, i, b'"', false),
            b'`' => i = quoted_end(bytes, i, b'`', false),
            b'$' if dialect == Dialect::Postgres => match dollar_quote_end(bytes, i) {
                Some(end) => {
                    replace(&mut out, &mut copied, i, end);
                    i = end;
                }
                None => {
                    i += 1;
                    while i < bytes.len() && bytes[i].is_ascii_digit() {
                        i += 1;
                    }
                }
            },
            b'-' if bytes.get(i + 1) == Some(&b'-') => i = line_comment_end(bytes, i),
            b'#' if dialect == Dialect::MySql => i = line_comment_end(bytes, i),
            b'/' if bytes.get(i + 1) == Some(&b'*') => i = block_comment_end(bytes, i),
            b'0'..=b'9' | b'.' if b != b'.' || bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                let end = number_end(bytes, i);
                replace(&mut out, &mut copied, i, end);
                i = end;
            }
            _ if is_ident_start(b) => {
                let start = i;
                while i < bytes.len() && is_ident_char(bytes[i]) {
                    i += 1;
                }
                let word = &text[start..i];
                // Prefixed strings: E'…' (escapes), N'…', B'…', X'…', U&'…'.
                if bytes.get(i) == Some(&b'\'') && word.len() == 1 {
                    let backslash = dialect == Dialect::MySql || word.eq_ignore_ascii_case("e");
                    let end = quoted_end(bytes, i, b'\'', backslash);
                    replace(&mut out, &mut copied, start, end);
                    i = end;
                } else if word.eq_ignore_ascii_case("true") || word.eq_ignore_ascii_case("false") {
                    replace(&mut out, &mut copied, start, i);
                }
            }
            _ => i += 1,
        }
    }
    out.push_str(&text[copied.min(text.len())..]);
    out
}

fn number_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start;
    if bytes[i] == b'0' && matches!(bytes.get(i + 1), Some(b'x' | b'X')) {
        i += 2;
        while i < bytes.len() && bytes[i].is_ascii_hexdigit() {
            i += 1;
        }
        return i;
    }
    while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.' || bytes[i] == b'_') {
        i += 1;
    }
    if i < bytes.len() && matches!(bytes[i], b'e' | b'E') {
        let mut j = i + 1;
        if j < bytes.len() && matches!(bytes[j], b'+' | b'-') {
            j += 1;
        }
        if j < bytes.len() && bytes[j].is_ascii_digit() {
            i = j;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
        }
    }
    i
}

/// The longest `db.query.summary`, in characters.
pub const MAX_SUMMARY_LEN: usize = 255;

const OPERATIONS: &[&str] = &[
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "MERGE",
    "UPSERT",
    "REPLACE",
    "CREATE",
    "ALTER",
    "DROP",
    "TRUNCATE",
    "CALL",
    "EXECUTE",
    "EXEC",
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "SAVEPOINT",
    "RELEASE",
    "COPY",
    "VACUUM",
    "ANALYZE",
    "WITH",
    "SHOW",
    "SET",
    "EXPLAIN",
    "GRANT",
    "REVOKE",
    "LOCK",
];

/// Keywords after which the next identifier is a target (a table).
const TARGET_BEFORE: &[&str] = &["FROM", "JOIN", "INTO", "UPDATE", "TABLE", "CALL"];

/// Keywords that can never be a target or an alias.
const RESERVED: &[&str] = &[
    "WHERE",
    "GROUP",
    "ORDER",
    "LIMIT",
    "OFFSET",
    "HAVING",
    "ON",
    "USING",
    "SET",
    "VALUES",
    "UNION",
    "EXCEPT",
    "INTERSECT",
    "AS",
    "INNER",
    "LEFT",
    "RIGHT",
    "FULL",
    "OUTER",
    "CROSS",
    "NATURAL",
    "LATERAL",
    "RETURNING",
    "WINDOW",
    "FETCH",
    "FOR",
    "IF",
    "NOT",
    "EXISTS",
    "ONLY",
    "DEFAULT",
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "FROM",
    "JOIN",
    "INTO",
    "TABLE",
    "AND",
    "OR",
    "IN",
    "DISTINCT",
    "ALL",
    "TEMPORARY",
    "TEMP",
    "UNLOGGED",
    "IGNORE",
    "LOW_PRIORITY",
    "DELAYED",
    "HIGH_PRIORITY",
    "QUICK",
    "STRAIGHT_JOIN",
];

fn is(word: &str, list: &[&str]) -> bool {
    list.iter().any(|k| k.eq_ignore_ascii_case(word))
}

/// `db.query.summary` for `text`: the operations and their targets in order, as written
/// (`SELECT users orders`), at most [`MAX_SUMMARY_LEN`] characters, never cut inside a word. `None`
/// when the statement does not start with a known operation, so no summary is guessed.
pub fn summarize(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut parts: Vec<&str> = Vec::new();
    let mut expecting_target = false;
    let mut in_target_list = false;
    let mut after_target = false;
    let mut first = true;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\'' => i = quoted_end(bytes, i, b'\'', false),
            b'-' if bytes.get(i + 1) == Some(&b'-') => i = line_comment_end(bytes, i),
            b'/' if bytes.get(i + 1) == Some(&b'*') => i = block_comment_end(bytes, i),
            b'"' | b'`' => {
                let end = quoted_end(bytes, i, b, false);
                if expecting_target {
                    parts.push(&text[i..end]);
                    expecting_target = false;
                    after_target = true;
                }
                i = end;
            }
            b',' => {
                if in_target_list {
                    expecting_target = true;
                    after_target = false;
                }
                i += 1;
            }
            b'(' => {
                expecting_target = false;
                in_target_list = false;
                i += 1;
            }
            _ if is_ident_start(b) => {
                let start = i;
                while i < bytes.len() && (is_ident_char(bytes[i]) || bytes[i] == b'.') {
                    i += 1;
                }
                let word = &text[start..i];
                if first {
                    first = false;
                    if !is(word, OPERATIONS) {
                        return None;
                    }
                }
                if is(word, OPERATIONS) && (!expecting_target || is(word, RESERVED)) {
                    if !word.eq_ignore_ascii_case("SET") || parts.is_empty() {
                        parts.push(word);
                    }
                    expecting_target =
                        word.eq_ignore_ascii_case("UPDATE") || word.eq_ignore_ascii_case("CALL");
                    in_target_list = false;
                    after_target = false;
                } else if is(word, TARGET_BEFORE) {
                    expecting_target = true;
                    in_target_list = word.eq_ignore_ascii_case("FROM");
                    after_target = false;
                } else if is(word, RESERVED) {
                    if !word.eq_ignore_ascii_case("AS") {
                        in_target_list = false;
                        expecting_target = false;
                    }
                } else if expecting_target {
                    parts.push(word);
                    expecting_target = false;
                    after_target = true;
                } else if after_target {
                    // An alias: `FROM users u`.
                    after_target = false;
                }
            }
            _ => i += 1,
        }
    }
    let mut summary = String::new();
    for part in parts {
        let extra = part.chars().count() + usize::from(!summary.is_empty());
        if summary.chars().count() + extra > MAX_SUMMARY_LEN {
            break;
        }
        if !summary.is_empty() {
            summary.push(' ');
        }
        summary.push_str(part);
    }
    (!summary.is_empty()).then_some(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_become_placeholders() {
        let pg = Dialect::Postgres;
        assert_eq!(sanitize("SELECT 1", pg), "SELECT ?");
        assert_eq!(
            sanitize("SELECT 'it''s', 3.14e-2, .5, 0xFF", pg),
            "SELECT ?, ?, ?, ?"
        );
        assert_eq!(
            sanitize("SELECT E'a\\'b', X'0A', B'01', N'x'", pg),
            "SELECT ?, ?, ?, ?"
        );
        assert_eq!(
            sanitize("SELECT $$it's$$, $tag$ $$ $tag$", pg),
            "SELECT ?, ?"
        );
        assert_eq!(
            sanitize("SELECT * FROM t1 WHERE a = $1 AND b = TRUE", pg),
            "SELECT * FROM t1 WHERE a = $1 AND b = ?"
        );
        assert_eq!(
            sanitize(r#"SELECT "col 1" FROM "t""x" WHERE c = 'v'"#, pg),
            r#"SELECT "col 1" FROM "t""x" WHERE c = ?"#
        );
        assert_eq!(
            sanitize("SELECT 1 -- it's a comment\n, 2 /* 'x' */", pg),
            "SELECT ? -- it's a comment\n, ? /* 'x' */"
        );
        assert_eq!(
            sanitize("UPDATE t SET n = n + 1 WHERE id IN (1, 2, 3)", pg),
            "UPDATE t SET n = n + ? WHERE id IN (?, ?, ?)"
        );
    }

    #[test]
    fn mysql_double_quotes_and_backslashes_are_strings() {
        let my = Dialect::MySql;
        assert_eq!(
            sanitize(r#"SELECT "secret", 'a\'b' FROM `t1`"#, my),
            "SELECT ?, ? FROM `t1`"
        );
        assert_eq!(
            sanitize("SELECT 1 # comment 'x'", my),
            "SELECT ? # comment 'x'"
        );
        assert_eq!(
            sanitize(r#"SELECT "x" FROM t"#, Dialect::Sqlite),
            r#"SELECT "x" FROM t"#
        );
    }

    #[test]
    fn unterminated_input_never_panics_and_hides_the_rest() {
        for dialect in [Dialect::Postgres, Dialect::MySql, Dialect::Sqlite] {
            assert_eq!(sanitize("SELECT 'open", dialect), "SELECT ?");
            let _ = sanitize("SELECT $a$ open", dialect);
            let _ = sanitize("/* open", dialect);
            let _ = sanitize("E'", dialect);
            let _ = sanitize("é'ü'€", dialect);
            let _ = sanitize("$", dialect);
            let _ = sanitize("0x", dialect);
            let _ = sanitize("1e", dialect);
        }
        assert_eq!(sanitize("SELECT $a$ secret", Dialect::Postgres), "SELECT ?");
    }

    #[test]
    fn summaries_follow_the_semconv_examples() {
        assert_eq!(
            summarize("SELECT * FROM wuser_table WHERE username = ?").as_deref(),
            Some("SELECT wuser_table")
        );
        assert_eq!(
            summarize("INSERT INTO shipping_details (order_id, address) SELECT order_id, address FROM orders WHERE order_id = ?").as_deref(),
            Some("INSERT shipping_details SELECT orders")
        );
        assert_eq!(
            summarize("SELECT * FROM songs, artists WHERE songs.artist_id == artists.id")
                .as_deref(),
            Some("SELECT songs artists")
        );
        assert_eq!(
            summarize("SELECT order_date FROM (SELECT * FROM orders o JOIN customers c ON o.customer_id = c.customer_id)").as_deref(),
            Some("SELECT SELECT orders customers")
        );
        assert_eq!(
            summarize(r#"SELECT * FROM "song list", 'artists'"#).as_deref(),
            Some(r#"SELECT "song list""#)
        );
        assert_eq!(
            summarize("UPDATE accounts SET balance = 0 WHERE id = $1").as_deref(),
            Some("UPDATE accounts")
        );
        assert_eq!(
            summarize("DELETE FROM public.sessions WHERE expired").as_deref(),
            Some("DELETE public.sessions")
        );
        assert_eq!(summarize("select 1").as_deref(), Some("select"));
        assert_eq!(summarize("BEGIN").as_deref(), Some("BEGIN"));
        assert_eq!(summarize("FOO bar"), None);
        assert_eq!(summarize(""), None);
        let long = format!(
            "SELECT * FROM {}",
            (0..100)
                .map(|i| format!("table_{i}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let summary = summarize(&long).unwrap_or_default();
        assert!(summary.len() <= MAX_SUMMARY_LEN);
        assert!(
            summary.ends_with(|c: char| c.is_ascii_digit()),
            "never cut inside a name: {summary}"
        );
    }
}
