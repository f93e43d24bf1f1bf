//! # stepline-runtime
//!
//! The engine of Stepline. It knows nothing about any application: steps reach it only
//! through the [`registry`], and it wires them together from their [`manifest`]s.
//!
//! ```text
//!   manifests/*.yaml ──► manifest (load, validate) ─┐
//!                                                   ├─► app::App ──► http   (API steps)
//!   register_step!  ──► registry (inventory) ───────┘        │   ──► cron   (cron steps)
//!                                                            └──► bus    (event steps)
//!                                                                  │
//!                       context (emit, state, locks, trace id) ◄───┘
//!                       store   (state and locks: file, redis)
//! ```
//!
//! - [`manifest`]: the manifest model, the strict loader, validation and the JSON Schema.
//! - [`registry`]: the `register_step!` macro and the handler registrations it collects.
//! - [`context`]: what a handler gets: emit, state, locks, logger, trace id.
//! - [`bus`]: event routing: fan-out, retries, dead letters, concurrency, FIFO groups.
//! - [`store`]: state and locks, behind traits, one module per adapter.
//! - [`http`]: the axum router built from API manifests, and the built-in endpoints.
//! - [`cron`]: schedules of cron steps.
//! - [`cli`]: the `stepline` command line.
//! - [`live`]: the current application, swapped as a whole on reload (`--watch`).
//! - [`openapi`]: the OpenAPI 3.1 document of the API steps.
//! - [`server`]: start and graceful shutdown.

pub mod app;
pub mod builtin;
pub mod bus;
pub mod cli;
pub mod context;
pub mod cron;
pub mod error;
pub mod http;
pub mod live;
pub mod manifest;
pub mod openapi;
pub mod registry;
pub mod server;
pub mod store;

pub use context::Context;
pub use error::StepError;
pub use registry::{ApiRequest, ApiResponse, NoBody};

/// Re-exports used by the `register_step!` macro; not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use futures::future::BoxFuture;
    pub use inventory;
    pub use schemars;
    pub use serde_json;
}
