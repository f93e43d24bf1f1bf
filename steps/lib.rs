//! The Stepline application: the step functions and what they need.
//!
//! - [`calendar`]: the Advoware calendar sync as a domain layer (source, mapping, planner,
//!   targets), free of the runtime.
//! - [`advoware_cal_sync`]: the steps of the flow `advoware_cal_sync` that drive it.
//!
//! Step functions register themselves with `stepline_runtime::register_step!`; the binary
//! links this crate (through [`on_start`]) so that every registration is present.

pub mod advoware_cal_sync;
pub mod calendar;

use std::sync::Arc;

use stepline_runtime::app::App;
use stepline_runtime::http::RouteExtension;

/// Called by the binary once the application is built, before it listens: configures the
/// calendar sync from the environment and logs which source and target are active, and adds
/// the flow pages under `/_stepline/flows`.
pub fn on_start(app: &Arc<App>) -> anyhow::Result<()> {
    app.provide(Arc::new(RouteExtension(stepline_flows::web::routes())));
    let config = advoware_cal_sync::CalendarConfig::from_env(&app.settings.data_dir)?;
    let service = advoware_cal_sync::CalendarService::from_config(config, app.state.clone())?;
    advoware_cal_sync::install(app, service);
    Ok(())
}
