//! The Stepline application: the step functions and what they need.
//!
//! Step functions register themselves with `stepline_runtime::register_step!`; the binary
//! links this crate so that every registration is present.

use std::sync::Arc;

use stepline_runtime::app::App;

/// Called by the binary once the application is built: logs this application's setup.
pub fn on_start(_app: &Arc<App>) -> anyhow::Result<()> {
    Ok(())
}
