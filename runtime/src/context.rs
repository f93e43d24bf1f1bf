//! What a handler gets: [`Context`].
//!
//! A context belongs to one step run. It emits events (only on the topics the step's
//! manifest declares), reaches state and locks, and carries the trace id that every event it
//! emits passes on. Handlers run inside a tracing span with the step name and the trace id,
//! so any `tracing` line they write carries both.

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use crate::app::{App, StepRuntime};
use crate::store::{LockStore, StateStore, StoreError};

/// Why an emit was refused.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EmitError {
    /// The manifest does not list the topic in `emits`: a programming error, not retried.
    #[error("step `{step}` emitted `{topic}`, which its manifest does not list in `emits`")]
    Undeclared { step: String, topic: String },
    /// The payload cannot be encoded as JSON.
    #[error("payload of `{topic}` cannot be encoded: {message}")]
    Encode { topic: String, message: String },
    /// The event could not be stored; nothing was emitted.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The handle a step function works through.
#[derive(Clone)]
pub struct Context {
    app: Arc<App>,
    step: Arc<StepRuntime>,
    trace_id: Arc<str>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("step", &self.step.name())
            .field("trace_id", &self.trace_id)
            .finish()
    }
}

impl Context {
    pub(crate) fn new(app: Arc<App>, step: Arc<StepRuntime>, trace_id: Arc<str>) -> Self {
        Self {
            app,
            step,
            trace_id,
        }
    }

    /// Emits an event on `topic` to every step subscribed to it; returns the event id once
    /// the event is stored. A topic missing from the manifest's `emits` is refused (and
    /// logged once per step and topic).
    pub async fn emit(&self, topic: &str, payload: impl Serialize) -> Result<String, EmitError> {
        let payload = serde_json::to_value(payload).map_err(|e| EmitError::Encode {
            topic: topic.to_string(),
            message: e.to_string(),
        })?;
        self.emit_value(topic, payload).await
    }

    /// [`emit`](Self::emit) for a payload that is JSON already (no copy is made).
    pub async fn emit_value(&self, topic: &str, payload: Value) -> Result<String, EmitError> {
        if !self.step.manifest().may_emit(topic) {
            let err = EmitError::Undeclared {
                step: self.step.name().to_string(),
                topic: topic.to_string(),
            };
            if self.step.first_undeclared_emit(topic) {
                tracing::error!(step = self.step.name(), topic, "{err}");
            }
            return Err(err);
        }
        Ok(self.app.publish(topic, payload, &self.trace_id).await?)
    }

    /// Key-value state shared by all steps (and, on Redis, all processes).
    pub fn state(&self) -> &dyn StateStore {
        self.app.state.as_ref()
    }

    /// Locks with a TTL and an owner token.
    pub fn locks(&self) -> &dyn LockStore {
        self.app.locks.as_ref()
    }

    /// The lock store itself, for work that outlives a borrow (a renewal task).
    pub fn lock_store(&self) -> Arc<dyn LockStore> {
        self.app.locks.clone()
    }

    /// A fresh, unguessable owner token for a lock.
    pub fn new_token(&self) -> String {
        uuid::Uuid::new_v4().simple().to_string()
    }

    /// The trace id of this run, carried by every event it emits.
    pub fn trace_id(&self) -> &str {
        &self.trace_id
    }

    /// The step's one routed emitted topic, if it declares exactly one.
    pub fn single_emit(&self) -> Option<String> {
        match self.step.manifest().emits.as_slice() {
            [only] => Some(only.topic().to_string()),
            _ => None,
        }
    }

    /// The name of the running step.
    pub fn step_name(&self) -> &str {
        self.step.name()
    }

    /// An application service provided at start (see [`App::provide`]), or a 500-style
    /// error naming the missing type.
    pub fn service<T: std::any::Any + Send + Sync>(&self) -> Result<Arc<T>, crate::StepError> {
        self.app.service::<T>().ok_or_else(|| {
            crate::StepError::fatal(format!(
                "service `{}` was not provided at start",
                std::any::type_name::<T>()
            ))
        })
    }

    /// The application-level settings (environment) the runtime was started with.
    pub fn settings(&self) -> &crate::app::Settings {
        &self.app.settings
    }
}
