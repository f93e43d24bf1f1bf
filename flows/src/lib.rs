//! # stepline-flows
//!
//! The flow graph of a manifest set and its renderings (Mermaid, DOT, JSON, SVG). Not
//! built yet: the crate holds its place in the workspace so that the dependency direction
//! (`flows` → `runtime`, never the reverse) is fixed from the start. The README's "Not yet
//! supported" list says what is missing.
