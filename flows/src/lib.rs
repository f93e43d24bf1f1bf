//! # stepline-flows
//!
//! The flow graph of a manifest set, built from the manifests alone, and its renderings.
//!
//! ```text
//!  ManifestSet.steps ──► graph::FlowSet::build ──► FlowGraph per flow
//!                                                    ├─► render::to_mermaid
//!                                                    ├─► render::to_dot
//!                                                    ├─► render::to_json
//!                                                    └─► render::to_svg (layered layout)
//! ```
//!
//! - [`graph`]: nodes (one per step, typed, with its trigger), edges (one per topic link
//!   from an emitter to a subscriber, virtual or conditional) and dangling topic links.
//! - [`render`]: Mermaid, DOT, JSON and SVG of one flow; the SVG is laid out in pure Rust.
//! - [`cli`]: `stepline flows`, called by the application binary.
//! - [`web`]: the flow pages of a running server under `/_stepline/flows` (HTML with the
//!   SVG inline and a panel per step, and the renderings), plugged into the runtime's
//!   router by the application's start hook.
//!
//! The crate depends on the runtime for the manifest model and loader, and for the router
//! state of the flow pages; the runtime never depends on it.

pub mod cli;
pub mod graph;
pub mod render;
pub mod web;

pub use cli::cli_main;
pub use graph::{DEFAULT_FLOW, Dangling, Edge, FlowGraph, FlowSet, FlowSummary, Node, Side};
pub use render::{Format, to_dot, to_json, to_mermaid, to_svg};
