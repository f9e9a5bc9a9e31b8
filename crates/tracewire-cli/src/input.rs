//! Reading trace files: OTLP JSON (one `ExportTraceServiceRequest` per line, as the Collector's file
//! exporter writes it), Jaeger's JSON trace export, and Zipkin v2 JSON. The format is detected from
//! the first record or named. Files are read record by record, never whole; a malformed record is
//! reported with its line number and skipped.

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;

use serde::Deserialize;
use serde_json::Value;

use crate::model::{Span, kind_name, otlp_span_id, otlp_trace_id, parse_hex_u64, parse_hex_u128};

/// A trace file format.
///
/// ```
/// use tracewire_cli::input::{self, Format};
/// assert_eq!(Format::parse("zipkin"), Some(Format::Zipkin));
/// assert_eq!(Format::parse("OTLP-json"), Some(Format::Otlp));
/// assert_eq!(Format::parse("csv"), None);
///
/// // Not named: detected from the first record (a JSON array is Zipkin v2).
/// let file = r#"[{"traceId": "1", "id": "a", "name": "GET /", "timestamp": 1, "duration": 2}]"#;
/// let loaded = input::read(file.as_bytes(), None)?;
/// assert_eq!(loaded.format, Some(Format::Zipkin));
/// assert_eq!(loaded.spans.len(), 1);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// OTLP JSON lines.
    Otlp,
    /// Jaeger JSON (`{"data": [trace, …]}`).
    Jaeger,
    /// Zipkin v2 JSON (an array of spans).
    Zipkin,
}

impl Format {
    /// From a `--format` value.
    pub fn parse(name: &str) -> Option<Format> {
        match name.to_ascii_lowercase().as_str() {
            "otlp" | "otlp-json" => Some(Format::Otlp),
            "jaeger" => Some(Format::Jaeger),
            "zipkin" => Some(Format::Zipkin),
            _ => None,
        }
    }

    fn detect(record: &str) -> Option<Format> {
        let trimmed = record.trim_start();
        if trimmed.starts_with('[') {
            return Some(Format::Zipkin);
        }
        if trimmed.contains("\"resourceSpans\"") || trimmed.contains("\"resource_spans\"") {
            return Some(Format::Otlp);
        }
        if trimmed.contains("\"data\"") || trimmed.contains("\"traceID\"") {
            return Some(Format::Jaeger);
        }
        None
    }
}

/// A record that could not be read.
///
/// ```
/// let file = concat!(
///     r#"{"resourceSpans": []}"#, "\n",
///     "not json\n",
/// );
/// let loaded = tracewire_cli::input::read(file.as_bytes(), None)?;
/// assert_eq!(loaded.malformed.len(), 1);
/// let bad = &loaded.malformed[0];
/// assert_eq!(bad.line, 2);
/// assert!(!bad.reason.is_empty());
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Malformed {
    /// 1-based line number where the record starts.
    pub line: usize,
    /// What was wrong.
    pub reason: String,
}

/// What reading a file produced.
///
/// ```
/// use tracewire_cli::input::{self, Format};
/// // One OTLP JSON line, as the Collector's file exporter writes it.
/// let line = concat!(
///     r#"{"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "shop"}}]},"#,
///     r#" "scopeSpans": [{"spans": [{"traceId": "4bf92f3577b34da6a3ce929d0e0e4736", "spanId": "00f067aa0ba902b7","#,
///     r#" "name": "GET /cart", "kind": 2, "startTimeUnixNano": "1000000", "endTimeUnixNano": "3000000"}]}]}]}"#,
/// );
/// let loaded = input::read(line.as_bytes(), Some(Format::Otlp))?;
/// assert_eq!(loaded.format, Some(Format::Otlp));
/// assert!(loaded.malformed.is_empty());
/// let span = &loaded.spans[0];
/// assert_eq!((span.service.as_str(), span.name.as_str(), span.kind), ("shop", "GET /cart", "server"));
/// assert_eq!(span.duration(), 2_000_000);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct Loaded {
    /// Every span read.
    pub spans: Vec<Span>,
    /// Records skipped.
    pub malformed: Vec<Malformed>,
    /// The format used.
    pub format: Option<Format>,
}

/// Reads spans from `reader`, detecting the format unless `format` is given.
///
/// Each line is one record. A file whose first line is not a whole record (a pretty-printed Jaeger
/// or Zipkin document) is read as one document instead.
pub fn read(mut reader: impl BufRead, format: Option<Format>) -> std::io::Result<Loaded> {
    let mut loaded = Loaded {
        format,
        ..Loaded::default()
    };
    let mut line = String::new();
    let mut number = 0;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        number += 1;
        if line.trim().is_empty() {
            continue;
        }
        if loaded.format.is_none() {
            loaded.format = Format::detect(&line);
        }
        match parse_record(&line, loaded.format) {
            Ok((spans, skipped)) => {
                loaded.spans.extend(spans);
                loaded
                    .malformed
                    .extend(skipped.into_iter().map(|reason| Malformed {
                        line: number,
                        reason,
                    }));
            }
            Err(e) if e.is_eof() && loaded.format != Some(Format::Otlp) => {
                // An unfinished (pretty-printed) document: read the rest once and parse it as a stream
                // of documents, instead of re-parsing a growing buffer line after line. OTLP files are
                // one request per line, so there a cut line is malformed and the next starts afresh.
                let start = number;
                let mut rest = std::mem::take(&mut line);
                reader.read_to_string(&mut rest)?;
                read_documents(&rest, start, loaded.format, &mut loaded);
                break;
            }
            Err(e) => loaded.malformed.push(Malformed {
                line: number,
                reason: e.to_string(),
            }),
        }
    }
    Ok(loaded)
}

/// Parses `text` (starting at line `first_line` of the file) as consecutive JSON documents.
fn read_documents(text: &str, first_line: usize, format: Option<Format>, loaded: &mut Loaded) {
    let line_at = |offset: usize| {
        let offset = offset.min(text.len());
        let skipped = text[offset..].len() - text[offset..].trim_start().len();
        first_line + text[..offset + skipped].matches('\n').count()
    };
    macro_rules! stream {
        ($ty:ty, $into:expr) => {{
            let mut documents = serde_json::Deserializer::from_str(text).into_iter::<$ty>();
            loop {
                let offset = documents.byte_offset();
                match documents.next() {
                    None => break,
                    Some(Ok(document)) => loaded.spans.extend($into(document)),
                    Some(Err(e)) => {
                        loaded.malformed.push(Malformed {
                            line: line_at(offset),
                            reason: e.to_string(),
                        });
                        // A broken document leaves the stream at an unknown place: stop here.
                        break;
                    }
                }
            }
        }};
    }
    match format {
        Some(Format::Zipkin) => stream!(Vec<ZipkinSpan>, |spans: Vec<ZipkinSpan>| spans
            .into_iter()
            .filter_map(ZipkinSpan::into_span)
            .collect::<Vec<_>>()),
        _ => stream!(JaegerDocument, JaegerDocument::into_spans),
    }
}

/// The spans of one record, and why each span of it that could not be read was skipped.
fn parse_record(
    record: &str,
    format: Option<Format>,
) -> Result<(Vec<Span>, Vec<String>), serde_json::Error> {
    match format.or_else(|| Format::detect(record)) {
        Some(Format::Otlp) | None => {
            let request: OtlpRequest = serde_json::from_str(record)?;
            Ok(request.into_spans())
        }
        Some(Format::Jaeger) => {
            let document: JaegerDocument = serde_json::from_str(record)?;
            Ok((document.into_spans(), Vec::new()))
        }
        Some(Format::Zipkin) => {
            let spans: Vec<ZipkinSpan> = serde_json::from_str(record)?;
            let spans = spans
                .into_iter()
                .filter_map(ZipkinSpan::into_span)
                .collect();
            Ok((spans, Vec::new()))
        }
    }
}

fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Object(map) => {
            // OTLP AnyValue: {"stringValue": "x"}, {"intValue": "3"}, {"arrayValue": {...}}, …
            if let Some((_, inner)) = map.iter().next() {
                if let Value::Object(array) = inner
                    && let Some(Value::Array(values)) = array.get("values")
                {
                    let parts: Vec<String> = values.iter().map(value_text).collect();
                    return format!("[{}]", parts.join(", "));
                }
                return value_text(inner);
            }
            String::new()
        }
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn number(value: &Value) -> u64 {
    match value {
        Value::Number(n) => n.as_u64().unwrap_or(0),
        Value::String(s) => s.parse().unwrap_or(0),
        _ => 0,
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OtlpRequest {
    #[serde(default, alias = "resource_spans")]
    resource_spans: Vec<OtlpResourceSpans>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OtlpResourceSpans {
    #[serde(default)]
    resource: Option<OtlpResource>,
    #[serde(default, alias = "scope_spans")]
    scope_spans: Vec<OtlpScopeSpans>,
}

#[derive(Deserialize)]
struct OtlpResource {
    #[serde(default)]
    attributes: Vec<OtlpKeyValue>,
}

#[derive(Deserialize)]
struct OtlpKeyValue {
    key: String,
    #[serde(default)]
    value: Value,
}

#[derive(Deserialize)]
struct OtlpScopeSpans {
    #[serde(default)]
    spans: Vec<OtlpSpan>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OtlpSpan {
    #[serde(alias = "trace_id")]
    trace_id: String,
    #[serde(alias = "span_id")]
    span_id: String,
    #[serde(default, alias = "parent_span_id")]
    parent_span_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: Value,
    #[serde(default, alias = "start_time_unix_nano")]
    start_time_unix_nano: Value,
    #[serde(default, alias = "end_time_unix_nano")]
    end_time_unix_nano: Value,
    #[serde(default)]
    attributes: Vec<OtlpKeyValue>,
    #[serde(default)]
    events: Vec<OtlpEvent>,
    #[serde(default)]
    status: Option<OtlpStatus>,
}

#[derive(Deserialize)]
struct OtlpEvent {
    #[serde(default)]
    name: String,
    #[serde(default)]
    attributes: Vec<OtlpKeyValue>,
}

#[derive(Deserialize)]
struct OtlpStatus {
    #[serde(default)]
    code: Value,
    #[serde(default)]
    message: String,
}

impl OtlpRequest {
    /// The spans of the request, and why each span that could not be read was skipped.
    fn into_spans(self) -> (Vec<Span>, Vec<String>) {
        let mut out = Vec::new();
        let mut skipped = Vec::new();
        for resource_spans in self.resource_spans {
            let service = resource_spans
                .resource
                .as_ref()
                .and_then(|r| r.attributes.iter().find(|kv| kv.key == "service.name"))
                .map(|kv| value_text(&kv.value))
                .unwrap_or_else(|| "unknown_service".to_owned());
            for scope in resource_spans.scope_spans {
                for span in scope.spans {
                    let (name, trace_id, span_id) = (
                        span.name.clone(),
                        span.trace_id.clone(),
                        span.span_id.clone(),
                    );
                    match span.into_span(&service) {
                        Some(span) => out.push(span),
                        None => skipped.push(format!(
                            "span {name:?} of {service}: trace id {trace_id:?} or span id \
                             {span_id:?} is neither hex nor base64 of the right length"
                        )),
                    }
                }
            }
        }
        (out, skipped)
    }
}

impl OtlpSpan {
    fn into_span(self, service: &str) -> Option<Span> {
        let error = match &self.status {
            Some(status) => match &status.code {
                Value::Number(n) => n.as_u64() == Some(2),
                Value::String(s) => s.eq_ignore_ascii_case("STATUS_CODE_ERROR") || s == "2",
                _ => false,
            },
            None => false,
        };
        let kind = match &self.kind {
            Value::Number(n) => kind_name(&n.to_string()),
            Value::String(s) => kind_name(s),
            _ => "internal",
        };
        let attributes: BTreeMap<String, String> = self
            .attributes
            .iter()
            .map(|kv| (kv.key.clone(), value_text(&kv.value)))
            .collect();
        let exception_type = self
            .events
            .iter()
            .filter(|e| e.name == "exception")
            .flat_map(|e| e.attributes.iter())
            .find(|kv| kv.key == "exception.type")
            .map(|kv| value_text(&kv.value))
            .or_else(|| attributes.get("exception.type").cloned());
        let start = number(&self.start_time_unix_nano);
        let end = number(&self.end_time_unix_nano).max(start);
        Some(Span {
            trace_id: otlp_trace_id(&self.trace_id)?,
            span_id: otlp_span_id(&self.span_id)?,
            parent_id: otlp_span_id(&self.parent_span_id).unwrap_or(0),
            name: self.name,
            service: service.to_owned(),
            kind,
            start,
            end,
            error,
            status_message: self.status.map(|s| s.message).unwrap_or_default(),
            exception_type,
            attributes,
        })
    }
}

#[derive(Deserialize)]
struct JaegerDocument {
    #[serde(default)]
    data: Vec<JaegerTrace>,
}

#[derive(Deserialize)]
struct JaegerTrace {
    #[serde(default)]
    spans: Vec<JaegerSpan>,
    #[serde(default)]
    processes: HashMap<String, JaegerProcess>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JaegerProcess {
    #[serde(default)]
    service_name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JaegerSpan {
    #[serde(rename = "traceID")]
    trace_id: String,
    #[serde(rename = "spanID")]
    span_id: String,
    #[serde(default)]
    operation_name: String,
    #[serde(default)]
    references: Vec<JaegerReference>,
    #[serde(default)]
    start_time: u64,
    #[serde(default)]
    duration: u64,
    #[serde(default)]
    tags: Vec<JaegerTag>,
    #[serde(default)]
    logs: Vec<JaegerLog>,
    #[serde(default, rename = "processID")]
    process_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JaegerReference {
    #[serde(default)]
    ref_type: String,
    #[serde(rename = "spanID")]
    span_id: String,
}

#[derive(Deserialize)]
struct JaegerTag {
    key: String,
    #[serde(default)]
    value: Value,
}

#[derive(Deserialize)]
struct JaegerLog {
    #[serde(default)]
    fields: Vec<JaegerTag>,
}

impl JaegerDocument {
    fn into_spans(self) -> Vec<Span> {
        let mut out = Vec::new();
        for trace in self.data {
            for span in trace.spans {
                let service = trace
                    .processes
                    .get(&span.process_id)
                    .map(|p| p.service_name.clone())
                    .unwrap_or_else(|| "unknown_service".to_owned());
                let attributes: BTreeMap<String, String> = span
                    .tags
                    .iter()
                    .map(|t| (t.key.clone(), value_text(&t.value)))
                    .collect();
                let error = attributes.get("error").is_some_and(|v| v == "true")
                    || attributes
                        .get("otel.status_code")
                        .is_some_and(|v| v.eq_ignore_ascii_case("error"));
                let exception_type = span
                    .logs
                    .iter()
                    .flat_map(|l| l.fields.iter())
                    .find(|f| f.key == "exception.type")
                    .map(|f| value_text(&f.value));
                let parent = span
                    .references
                    .iter()
                    .find(|r| r.ref_type == "CHILD_OF")
                    .or(span.references.first())
                    .and_then(|r| parse_hex_u64(&r.span_id))
                    .unwrap_or(0);
                let (Some(trace_id), Some(span_id)) =
                    (parse_hex_u128(&span.trace_id), parse_hex_u64(&span.span_id))
                else {
                    continue;
                };
                let start = span.start_time.saturating_mul(1000);
                out.push(Span {
                    trace_id,
                    span_id,
                    parent_id: parent,
                    name: span.operation_name,
                    service,
                    kind: attributes
                        .get("span.kind")
                        .map_or("internal", |k| kind_name(k)),
                    start,
                    end: start.saturating_add(span.duration.saturating_mul(1000)),
                    error,
                    status_message: attributes
                        .get("otel.status_description")
                        .cloned()
                        .unwrap_or_default(),
                    exception_type,
                    attributes,
                });
            }
        }
        out
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ZipkinSpan {
    trace_id: String,
    id: String,
    #[serde(default)]
    parent_id: Option<String>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    timestamp: u64,
    #[serde(default)]
    duration: u64,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    local_endpoint: Option<ZipkinEndpoint>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    #[serde(default)]
    shared: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ZipkinEndpoint {
    #[serde(default)]
    service_name: Option<String>,
}

impl ZipkinSpan {
    fn into_span(self) -> Option<Span> {
        let error = self.tags.contains_key("error")
            || self
                .tags
                .get("otel.status_code")
                .is_some_and(|v| v.eq_ignore_ascii_case("error"));
        let start = self.timestamp.saturating_mul(1000);
        let id = parse_hex_u64(&self.id)?;
        let parent = self
            .parent_id
            .as_deref()
            .and_then(parse_hex_u64)
            .unwrap_or(0);
        // Zipkin's shared spans: the server half reuses the client's id. Give it an id of its own,
        // as a child of the client half, so both stay in the tree.
        let (span_id, parent_id) = if self.shared {
            (id.rotate_left(17) ^ 0x9e37_79b9_7f4a_7c15, id)
        } else {
            (id, parent)
        };
        Some(Span {
            trace_id: parse_hex_u128(&self.trace_id)?,
            span_id,
            parent_id,
            name: self.name,
            service: self
                .local_endpoint
                .and_then(|e| e.service_name)
                .unwrap_or_else(|| "unknown_service".to_owned()),
            kind: self.kind.as_deref().map_or("internal", kind_name),
            start,
            end: start.saturating_add(self.duration.saturating_mul(1000)),
            error,
            status_message: self
                .tags
                .get("error")
                .filter(|m| !m.is_empty() && *m != "true")
                .cloned()
                .unwrap_or_default(),
            exception_type: self.tags.get("exception.type").cloned(),
            attributes: self.tags,
        })
    }
}
