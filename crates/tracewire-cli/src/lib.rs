//! The `tracewire` command: answers from the traces you already have, without standing up a UI.
//!
//! ```text
//! tracewire analyze FILE [--format otlp|jaeger|zipkin] [--json] [--slow MS] [--repeat N]
//!                        [--service NAME] [--trace ID] [--min-duration MS] [--errors-only]
//! tracewire deps FILE [--format …] [--output text|dot|mermaid|json]
//! tracewire waterfall FILE [--format …] [--trace ID] [--width N] [--html OUT.html]
//! tracewire propagation URL [--formats w3c,b3,b3multi,jaeger] [--listen ADDR:PORT] [--advertise HOST:PORT]
//! ```
//!
//! Files are OTLP JSON lines (the Collector's file exporter), Jaeger JSON or Zipkin v2 JSON, detected
//! from their first record; OTLP ids may be hex or base64. They are read record by record; malformed
//! records, and spans whose ids cannot be read, are reported with their line number and skipped.
//!
//! ```
//! let mut out = Vec::new();
//! let mut err = Vec::new();
//! let code = tracewire_cli::run(&["tracewire".into(), "--help".into()], &mut out, &mut err);
//! assert_eq!(code, 0);
//! assert!(String::from_utf8_lossy(&out).contains("analyze"));
//! ```

pub mod analyze;
pub mod deps;
pub mod html;
pub mod input;
pub mod model;
pub mod propagation;

use std::io::Write;

use input::Format;

const USAGE: &str = "\
tracewire — analyze and picture traces from files

usage:
  tracewire analyze FILE [--format otlp|jaeger|zipkin] [--json] [--slow MS] [--repeat N]
                         [--service NAME] [--trace ID] [--min-duration MS] [--errors-only]
  tracewire deps FILE [--format …] [--output text|dot|mermaid|json]
  tracewire waterfall FILE [--format …] [--trace ID] [--width N] [--html OUT.html]
  tracewire propagation URL [--formats w3c,b3,b3multi,jaeger]

FILE is OTLP JSON lines, Jaeger JSON or Zipkin v2 JSON (detected, or named with --format); - reads stdin.
`propagation` sends requests to a service implementing the W3C validation-service contract and
exits 1 if any context did not survive. Callbacks come to --listen (default 127.0.0.1, any port);
a service in another container or host needs --listen 0.0.0.0:PORT --advertise THIS_HOST:PORT.
";

struct Args {
    positional: Vec<String>,
    flags: Vec<(String, Option<String>)>,
}

impl Args {
    fn parse(args: &[String]) -> Result<Args, String> {
        const SWITCHES: [&str; 3] = ["--json", "--errors-only", "--help"];
        let mut positional = Vec::new();
        let mut flags = Vec::new();
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            if let Some((name, value)) = arg.split_once('=').filter(|_| arg.starts_with("--")) {
                flags.push((name.to_owned(), Some(value.to_owned())));
            } else if SWITCHES.contains(&arg.as_str()) || arg == "-h" {
                flags.push((arg.clone(), None));
            } else if arg.starts_with("--") {
                let value = iter.next().ok_or_else(|| format!("{arg} needs a value"))?;
                flags.push((arg.clone(), Some(value.clone())));
            } else {
                positional.push(arg.clone());
            }
        }
        Ok(Args { positional, flags })
    }

    fn value(&self, name: &str) -> Option<&str> {
        self.flags
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.as_deref())
    }

    fn has(&self, name: &str) -> bool {
        self.flags.iter().any(|(n, _)| n == name)
    }

    fn number(&self, name: &str) -> Result<Option<f64>, String> {
        self.value(name)
            .map(|v| {
                v.parse::<f64>()
                    .ok()
                    .filter(|n| n.is_finite() && *n >= 0.0)
                    .ok_or_else(|| format!("{name} takes a non-negative number, not {v:?}"))
            })
            .transpose()
    }
}

/// Runs the command with `args` (including the program name), writing to `out` and `err`; returns
/// the exit code.
pub fn run(args: &[String], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    match run_inner(args, out, err) {
        Ok(code) => code,
        Err(message) => {
            let _ = writeln!(err, "tracewire: {message}");
            2
        }
    }
}

fn load(args: &Args, err: &mut dyn Write) -> Result<Vec<model::Span>, String> {
    let path = args
        .positional
        .get(1)
        .ok_or("which file? (see tracewire --help)")?;
    let format = match args.value("--format") {
        Some(name) => Some(Format::parse(name).ok_or_else(|| format!("unknown format {name:?}"))?),
        None => None,
    };
    let loaded = if path == "-" {
        input::read(std::io::stdin().lock(), format)
    } else {
        let file = std::fs::File::open(path).map_err(|e| format!("{path}: {e}"))?;
        input::read(std::io::BufReader::with_capacity(1 << 20, file), format)
    }
    .map_err(|e| format!("{path}: {e}"))?;
    for bad in &loaded.malformed {
        let _ = writeln!(err, "{path}:{}: skipped: {}", bad.line, bad.reason);
    }
    Ok(loaded.spans)
}

fn trace_id(args: &Args) -> Result<Option<u128>, String> {
    args.value("--trace")
        .map(|id| {
            model::parse_hex_u128(id)
                .ok_or_else(|| format!("--trace takes a hex trace id, not {id:?}"))
        })
        .transpose()
}

fn run_inner(args: &[String], out: &mut dyn Write, err: &mut dyn Write) -> Result<i32, String> {
    let args = Args::parse(args.get(1..).unwrap_or_default())?;
    let write = |out: &mut dyn Write, text: &str| {
        out.write_all(text.as_bytes())
            .map_err(|e| format!("cannot write output: {e}"))
    };
    if args.has("--help") || args.has("-h") || args.positional.is_empty() {
        write(out, USAGE)?;
        return Ok(
            if args.positional.is_empty() && !args.has("--help") && !args.has("-h") {
                2
            } else {
                0
            },
        );
    }
    match args.positional[0].as_str() {
        "analyze" => {
            let mut options = analyze::Options {
                service: args.value("--service").map(str::to_owned),
                trace_id: trace_id(&args)?,
                errors_only: args.has("--errors-only"),
                ..analyze::Options::default()
            };
            if let Some(ms) = args.number("--slow")? {
                options.slow_ns = (ms * 1e6) as u64;
            }
            if let Some(ms) = args.number("--min-duration")? {
                options.min_duration_ns = (ms * 1e6) as u64;
            }
            if let Some(n) = args.number("--repeat")? {
                options.repeat_threshold = n as usize;
            }
            let spans = load(&args, err)?;
            let reports: Vec<analyze::TraceReport> = analyze::by_trace(spans)
                .iter()
                .filter(|t| analyze::selected(t, &options))
                .map(|t| analyze::analyze(t, &options))
                .collect();
            if args.has("--json") {
                let json = serde_json::to_string_pretty(&reports).map_err(|e| e.to_string())?;
                write(out, &json)?;
                write(out, "\n")?;
            } else {
                for report in &reports {
                    write(out, &analyze::render_text(report))?;
                    write(out, "\n")?;
                }
                write(out, &format!("{} traces\n", reports.len()))?;
            }
            Ok(0)
        }
        "deps" => {
            let spans = load(&args, err)?;
            let edges = deps::edges(&spans);
            let text = match args.value("--output").unwrap_or("text") {
                "text" => deps::text(&edges),
                "dot" => deps::dot(&edges),
                "mermaid" => deps::mermaid(&edges),
                "json" => serde_json::to_string_pretty(&edges).map_err(|e| e.to_string())? + "\n",
                other => {
                    return Err(format!(
                        "unknown output {other:?}: text, dot, mermaid or json"
                    ));
                }
            };
            write(out, &text)?;
            Ok(0)
        }
        "waterfall" => {
            let wanted = trace_id(&args)?;
            let spans = load(&args, err)?;
            let traces = analyze::by_trace(spans);
            let trace = match wanted {
                Some(id) => traces
                    .into_iter()
                    .find(|t| t.first().is_some_and(|s| s.trace_id == id))
                    .ok_or_else(|| format!("no trace {id:032x} in the file"))?,
                None if traces.len() == 1 => traces.into_iter().next().unwrap_or_default(),
                None if traces.is_empty() => return Err("the file holds no spans".into()),
                None => {
                    let ids: Vec<String> = traces
                        .iter()
                        .take(10)
                        .filter_map(|t| t.first().map(|s| format!("{:032x}", s.trace_id)))
                        .collect();
                    return Err(format!(
                        "the file holds {} traces; pick one with --trace (first ones: {})",
                        traces.len(),
                        ids.join(", ")
                    ));
                }
            };
            if let Some(path) = args.value("--html") {
                std::fs::write(path, html::page(&trace)).map_err(|e| format!("{path}: {e}"))?;
                write(out, &format!("wrote {path}\n"))?;
            } else {
                let width = args
                    .number("--width")?
                    .map_or(60, |w| (w as usize).clamp(8, 500));
                let drawn: Vec<_> = trace.iter().map(analyze::to_waterfall).collect();
                write(out, &tracewire_core::waterfall::render(&drawn, width))?;
            }
            Ok(0)
        }
        "propagation" => {
            let target = args
                .positional
                .get(1)
                .ok_or("which service? give its test endpoint URL")?;
            let carriers = match args.value("--formats") {
                Some(list) => list
                    .split(',')
                    .map(|f| {
                        propagation::Carrier::parse(f)
                            .ok_or_else(|| format!("unknown format {f:?}"))
                    })
                    .collect::<Result<Vec<_>, _>>()?,
                None => vec![propagation::Carrier::W3c],
            };
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            let listen = args.value("--listen").unwrap_or("127.0.0.1:0");
            let reports = runtime.block_on(propagation::check(
                target,
                &carriers,
                listen,
                args.value("--advertise"),
            ))?;
            write(out, &propagation::render(&reports))?;
            Ok(if reports.iter().all(propagation::FormatReport::passed) {
                0
            } else {
                1
            })
        }
        other => Err(format!("unknown command {other:?} (see tracewire --help)")),
    }
}
