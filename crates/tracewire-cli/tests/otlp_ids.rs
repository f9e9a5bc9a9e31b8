//! OTLP files whose ids are base64 (the protobuf JSON mapping, which some writers use instead of
//! OTLP/JSON's hex) read as well as hex ones, and a span whose ids cannot be read is reported with its
//! line instead of vanishing.

use std::io::Write;

/// One OTLP/JSON request with `spans` (name, trace id, span id, parent id) of service `shop`.
fn request(spans: &[(&str, &str, &str, &str)]) -> String {
    let spans: Vec<String> = spans
        .iter()
        .map(|(name, trace, span, parent)| {
            format!(
                r#"{{"traceId":"{trace}","spanId":"{span}","parentSpanId":"{parent}","name":"{name}","kind":2,"startTimeUnixNano":"1000","endTimeUnixNano":"5000"}}"#
            )
        })
        .collect();
    format!(
        r#"{{"resourceSpans":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"shop"}}}}]}},"scopeSpans":[{{"spans":[{}]}}]}}]}}"#,
        spans.join(",")
    )
}

#[test]
fn base64_ids_read_as_their_hex_equals() {
    // 4bf92f35…4736 / 00f067aa0ba902b7 and a child 0102030405060708, in base64.
    let base64 = request(&[
        ("GET /cart", "S/kvNXezTaajzpKdDg5HNg==", "APBnqgupArc=", ""),
        (
            "SELECT cart",
            "S/kvNXezTaajzpKdDg5HNg==",
            "AQIDBAUGBwg=",
            "APBnqgupArc=",
        ),
    ]);
    let hex = request(&[
        (
            "GET /cart",
            "4bf92f3577b34da6a3ce929d0e0e4736",
            "00f067aa0ba902b7",
            "",
        ),
        (
            "SELECT cart",
            "4bf92f3577b34da6a3ce929d0e0e4736",
            "0102030405060708",
            "00f067aa0ba902b7",
        ),
    ]);
    let read = |text: &str| tracewire_cli::input::read(text.as_bytes(), None).expect("read");
    let (from_base64, from_hex) = (read(&base64), read(&hex));
    assert!(
        from_base64.malformed.is_empty(),
        "{:?}",
        from_base64.malformed
    );
    assert_eq!(from_base64.spans.len(), 2);
    for (a, b) in from_base64.spans.iter().zip(&from_hex.spans) {
        assert_eq!(
            (a.trace_id, a.span_id, a.parent_id),
            (b.trace_id, b.span_id, b.parent_id)
        );
    }
    assert_eq!(from_base64.spans[1].parent_id, from_base64.spans[0].span_id);
}

#[test]
fn a_span_with_unreadable_ids_is_reported_with_its_line() {
    let good = request(&[(
        "GET /",
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "00f067aa0ba902b7",
        "",
    )]);
    let bad = request(&[("POST /pay", "not-an-id", "00f067aa0ba902b7", "")]);
    let text = format!("{good}\n{bad}\n");
    let loaded = tracewire_cli::input::read(text.as_bytes(), None).expect("read");
    assert_eq!(loaded.spans.len(), 1);
    assert_eq!(loaded.malformed.len(), 1);
    assert_eq!(loaded.malformed[0].line, 2);
    assert!(
        loaded.malformed[0].reason.contains("POST /pay"),
        "{}",
        loaded.malformed[0].reason
    );

    // The command says so on stderr, with the file and line.
    let path =
        std::env::temp_dir().join(format!("tracewire-otlp-ids-{}.jsonl", std::process::id()));
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .expect("file");
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let args = vec![
        "tracewire".to_owned(),
        "analyze".to_owned(),
        path.display().to_string(),
    ];
    tracewire_cli::run(&args, &mut out, &mut err);
    let err = String::from_utf8_lossy(&err);
    assert!(err.contains(":2: skipped:"), "{err}");
    let _ = std::fs::remove_file(path);
}
