//! `SELECT 1` against the local PostgreSQL (127.0.0.1:5432, database `test`): plain sqlx against
//! tracewire-sqlx, interleaved in one run. Reports wall time and this process's CPU time per query (the
//! server's work is in its own process, so the CPU difference is the wrapper's cost).
//!
//! `cargo bench -p tracewire-sqlx` (ROUNDS and QUERIES from the environment: `TW_ROUNDS`, `TW_QUERIES`).

use std::time::Instant;

use opentelemetry_sdk::trace::SdkTracerProvider;
use tracewire_core::span::Instrumentation;
use tracewire_sqlx::TracedPool;
use tracewire_testing::bench::{DiscardSpans, env_count, median, process_cpu};

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` would pass nothing useful: skip then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rounds = env_count("TW_ROUNDS", 5);
    let queries = env_count("TW_QUERIES", 5000);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let pool = runtime
        .block_on(
            sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .connect(&url),
        )
        .expect("PostgreSQL at 127.0.0.1:5432");
    let provider = SdkTracerProvider::builder()
        .with_span_processor(DiscardSpans)
        .build();
    let traced = runtime.block_on(
        TracedPool::builder(pool.clone())
            .with_instrumentation(Instrumentation::with_provider(&provider, "bench"))
            .build(),
    );
    let mut results: [(Vec<f64>, Vec<f64>); 2] = Default::default();
    for round in 0..rounds {
        for variant in [0, 1] {
            // Alternate which goes first, so drift in the server does not favour one.
            let variant = if round % 2 == 0 { variant } else { 1 - variant };
            let (cpu0, wall0) = (process_cpu(), Instant::now());
            runtime.block_on(async {
                for _ in 0..queries {
                    let v: i32 = if variant == 0 {
                        sqlx::query_scalar("SELECT 1").fetch_one(&pool).await
                    } else {
                        sqlx::query_scalar("SELECT 1").fetch_one(&traced).await
                    }
                    .expect("query");
                    std::hint::black_box(v);
                }
            });
            let cpu = (process_cpu() - cpu0).as_secs_f64() * 1e6 / queries as f64;
            let wall = wall0.elapsed().as_secs_f64() * 1e6 / queries as f64;
            results[variant].0.push(cpu);
            results[variant].1.push(wall);
        }
    }
    let (sqlx_cpu, sqlx_wall) = (median(results[0].0.clone()), median(results[0].1.clone()));
    let (tw_cpu, tw_wall) = (median(results[1].0.clone()), median(results[1].1.clone()));
    println!("| SELECT 1 | client CPU µs/query | wall µs/query |");
    println!("|---|---|---|");
    println!("| sqlx | {sqlx_cpu:.2} | {sqlx_wall:.1} |");
    println!("| tracewire-sqlx | {tw_cpu:.2} | {tw_wall:.1} |");
    println!(
        "overhead: {:+.2} µs CPU per query, {:.1}% of the round trip",
        tw_cpu - sqlx_cpu,
        100.0 * (tw_cpu - sqlx_cpu) / sqlx_wall
    );
}
