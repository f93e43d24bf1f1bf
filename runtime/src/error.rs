//! The error a step handler returns, and what the runtime does with it.
//!
//! Each variant says what happens next: for an API step it picks the HTTP status, for an
//! event step it picks between a retry and the dead-letter queue.

use axum::http::StatusCode;

/// The outcome of a failed handler run.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The caller's request is refused. API steps answer `status` with this code and
    /// message; event steps dead-letter the event at once (a retry cannot fix it).
    #[error("{message}")]
    Reject {
        status: StatusCode,
        code: String,
        message: String,
    },
    /// Something the step depends on is unavailable. API steps answer 503; event steps
    /// retry with backoff.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The run failed and may succeed later. API steps answer 500; event steps retry.
    #[error("{0}")]
    Failed(String),
    /// The run failed and never will succeed with this input. API steps answer 500; event
    /// steps dead-letter the event without retrying.
    #[error("fatal: {0}")]
    Fatal(String),
}

impl StepError {
    /// A refusal with a status, a stable machine-readable code and a human message.
    pub fn reject(status: StatusCode, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Reject {
            status,
            code: code.into(),
            message: message.into(),
        }
    }

    /// A retryable failure.
    pub fn failed(message: impl std::fmt::Display) -> Self {
        Self::Failed(message.to_string())
    }

    /// A failure that retrying cannot fix.
    pub fn fatal(message: impl std::fmt::Display) -> Self {
        Self::Fatal(message.to_string())
    }

    /// Whether an event handler failing with this error should be tried again.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_) | Self::Failed(_))
    }
}

impl From<crate::store::StoreError> for StepError {
    fn from(err: crate::store::StoreError) -> Self {
        match err {
            crate::store::StoreError::Unavailable(m) => Self::Unavailable(m),
            other => Self::Failed(other.to_string()),
        }
    }
}

impl From<crate::context::EmitError> for StepError {
    fn from(err: crate::context::EmitError) -> Self {
        match err {
            crate::context::EmitError::Store(e) => e.into(),
            other => Self::Fatal(other.to_string()),
        }
    }
}
