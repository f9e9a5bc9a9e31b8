//! # tracewire-grpc
//!
//! OpenTelemetry traces and metrics for gRPC, per the RPC semantic conventions 1.44 (release candidate):
//! one Tower layer for servers ([`GrpcServerLayer`], on tonic's `Server::builder()` or an axum router
//! hosting tonic services) and one for clients ([`GrpcClientLayer`], around a tonic `Channel` under a
//! generated client). Both are thin mappings of tonic's types onto `tracewire-core`'s operation model:
//! the rules live in `tracewire_core::rpc` and `tracewire_core::operation`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use tracewire_grpc::{GrpcClientLayer, GrpcServerLayer};
//! use tracewire_testing::echo::{EchoClient, EchoRequest, EchoServer, EchoService};
//!
//! // Server: one SERVER span per call, named after the method.
//! tokio::spawn(
//!     tonic::transport::Server::builder()
//!         .layer(GrpcServerLayer::new().with_service::<EchoServer<EchoService>>())
//!         .add_service(EchoServer::new(EchoService::default()))
//!         .serve("127.0.0.1:50051".parse()?),
//! );
//!
//! // Client: one CLIENT span per call, its context sent in the metadata.
//! let target = "http://127.0.0.1:50051";
//! let channel = tonic::transport::Endpoint::from_static(target).connect_lazy();
//! let channel = tower::ServiceBuilder::new().layer(GrpcClientLayer::new(target)).service(channel);
//! EchoClient::new(channel)
//!     .unary(EchoRequest { message: "hi".into(), ..Default::default() })
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! # What a call records
//!
//! | | server | client |
//! |---|---|---|
//! | span | SERVER, named `package.Service/Method` (or `grpc` when the method is not recognized) | CLIENT, the same name |
//! | parent | the context in the request metadata (every configured propagator) | the current context |
//! | attributes | `rpc.system.name` = `grpc`, `rpc.method` (`_OTHER` + `rpc.method_original` when not recognized), `rpc.response.status_code`, `server.address`/`server.port` (from `:authority`), `network.peer.*` | the same, with `server.address`/`server.port` from the target the layer was given |
//! | status Error | `UNKNOWN`, `DEADLINE_EXCEEDED`, `UNIMPLEMENTED`, `INTERNAL`, `UNAVAILABLE`, `DATA_LOSS` | every status but `OK` |
//! | metric | `rpc.server.call.duration` | `rpc.client.call.duration` |
//!
//! - **Recognized methods.** A method is named only when recognized: by service type
//!   ([`GrpcServerLayer::with_service`]) or name, exactly, or from a file descriptor set; a client also
//!   recognizes every call of a generated client. A call to a hosted service that lacks the method
//!   (tonic answers `UNIMPLEMENTED`) is `_OTHER`.
//! - **The status on the wire.** `rpc.response.status_code` is what the server sent: a handler's error,
//!   tonic's own (unimplemented, decode errors), another layer's, in trailers or a trailers-only
//!   answer. tonic answers a call whose `grpc-timeout` passed on the server with `CANCELLED`, so that is
//!   what the server span records. On the client, a status made locally: no connection is
//!   `UNAVAILABLE`, a client-side timeout (the endpoint's, or a timeout layer inside this one) is
//!   `DEADLINE_EXCEEDED`.
//! - **Cancellation.** A call dropped before its status (the client went away; the caller dropped the
//!   future or the response stream) ends as `CANCELLED`: an error on the client, not on the server. A
//!   client call dropped after its `grpc-timeout` passed is `DEADLINE_EXCEEDED`.
//! - **Streaming.** One span covers a call until its status arrives, however long the streams run; no
//!   per-message events (deprecated in 1.44).
//! - **Health checks and reflection** get no span by default (their context still propagates);
//!   [`GrpcServerLayer::with_filter`] replaces the rule.
//! - **Metadata** is recorded only by allow-list ([`GrpcServerLayer::capture_request_metadata`]);
//!   `authorization` never unless named.
//! - **Next to HTTP routes.** On an axum router that hosts tonic services beside HTTP routes, put this
//!   layer and `tracewire-http`'s on the router: the HTTP layer leaves `application/grpc` requests to
//!   this one, so each call gets one span.

mod body;
mod call;
mod client;
mod config;
mod server;

pub use body::CallBody;
pub use client::{BoxError, ClientFuture, GrpcClientLayer, GrpcClientService};
pub use config::is_health_or_reflection;
pub use server::{GrpcServerLayer, GrpcServerService, ServerFuture};
