//! Handler registrations, collected at link time through `inventory`.
//!
//! A step function registers itself with [`register_step!`](crate::register_step); the
//! registration carries the handler id, the kind, the JSON Schema of its input type and a
//! type-erased function. At start the runtime joins manifests to registrations by handler id.
//! Built-in handlers (see [`crate::builtin`]) are registrations like any other.

use std::collections::BTreeMap;

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use futures::future::BoxFuture;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use crate::context::Context;
use crate::error::StepError;
use crate::manifest::StepKind;

/// What an API handler gets: the request, with a body already checked against the step's
/// schema and parsed into `T`.
#[derive(Debug, Clone)]
pub struct ApiRequest<T = Value> {
    /// Path parameters, by the names in the manifest's `path`.
    pub path_params: BTreeMap<String, String>,
    /// Query parameters; a repeated one keeps its last value.
    pub query: BTreeMap<String, String>,
    pub headers: HeaderMap,
    pub body: T,
}

impl ApiRequest<Value> {
    /// Splits off the body, leaving `null` in its place.
    pub fn take_body(mut self) -> (Self, Value) {
        let body = std::mem::take(&mut self.body);
        (self, body)
    }
}

impl<T> ApiRequest<T> {
    /// Swaps the body for another, keeping the rest of the request.
    pub fn map_body<U>(self, body: U) -> ApiRequest<U> {
        ApiRequest {
            path_params: self.path_params,
            query: self.query,
            headers: self.headers,
            body,
        }
    }
}

/// The body of an API response.
#[derive(Debug, Clone)]
pub enum ResponseBody {
    Json(Value),
    /// Any other media type, e.g. `text/calendar`.
    Raw {
        content_type: &'static str,
        bytes: Vec<u8>,
    },
}

/// What an API handler answers.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    pub status: StatusCode,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: ResponseBody,
}

impl ApiResponse {
    /// A JSON answer with the given status.
    pub fn json(status: StatusCode, body: impl serde::Serialize) -> Self {
        let body = serde_json::to_value(body).unwrap_or(Value::Null);
        Self {
            status,
            headers: Vec::new(),
            body: ResponseBody::Json(body),
        }
    }

    /// A 200 answer with a JSON body.
    pub fn ok(body: impl serde::Serialize) -> Self {
        Self::json(StatusCode::OK, body)
    }

    /// A 200 answer with a body of another media type.
    pub fn raw(content_type: &'static str, bytes: Vec<u8>) -> Self {
        Self {
            status: StatusCode::OK,
            headers: Vec::new(),
            body: ResponseBody::Raw {
                content_type,
                bytes,
            },
        }
    }

    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }
}

/// The body type of API steps that take none: any JSON object without fields.
#[derive(Debug, Clone, Copy, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoBody {}

pub type ApiFn =
    fn(ApiRequest<Value>, Context) -> BoxFuture<'static, Result<ApiResponse, StepError>>;
pub type EventFn = fn(Value, Context) -> BoxFuture<'static, Result<(), StepError>>;
pub type CronFn = fn(Context) -> BoxFuture<'static, Result<(), StepError>>;

/// The type-erased function of a registration.
#[derive(Clone, Copy)]
pub enum HandlerFn {
    Api(ApiFn),
    Event(EventFn),
    Cron(CronFn),
}

impl HandlerFn {
    pub fn kind(&self) -> StepKind {
        match self {
            Self::Api(_) => StepKind::Api,
            Self::Event(_) => StepKind::Event,
            Self::Cron(_) => StepKind::Cron,
        }
    }
}

/// One registered handler.
pub struct Registration {
    /// The id manifests name in `handler` (or by their snake_case name).
    pub id: &'static str,
    /// JSON Schema of the input type (request body or event payload), if it has one.
    pub schema: Option<fn() -> schemars::Schema>,
    pub handler: HandlerFn,
    /// Where the registration was written, for error messages.
    pub source: &'static str,
}

impl Registration {
    pub fn kind(&self) -> StepKind {
        self.handler.kind()
    }
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("id", &self.id)
            .field("kind", &self.kind())
            .field("source", &self.source)
            .finish()
    }
}

inventory::collect!(Registration);

/// The registrations of this binary, by id.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    by_id: BTreeMap<&'static str, &'static Registration>,
}

impl Registry {
    /// Every registration linked into the binary, built-ins included.
    ///
    /// Panics at start if two registrations share an id: that is a programming error in the
    /// binary, not something a manifest can cause.
    pub fn collect() -> Self {
        let mut registry = Self::default();
        for reg in inventory::iter::<Registration> {
            if let Some(previous) = registry.by_id.insert(reg.id, reg) {
                panic!(
                    "handler id `{}` is registered twice: at {} and at {}",
                    reg.id, previous.source, reg.source
                );
            }
        }
        registry
    }

    /// A registry of exactly these registrations, for tests and tools that do not want every
    /// linked handler. A later registration replaces an earlier one with the same id.
    pub fn from_registrations(registrations: Vec<&'static Registration>) -> Self {
        let by_id = registrations.into_iter().map(|r| (r.id, r)).collect();
        Self { by_id }
    }

    pub fn get(&self, id: &str) -> Option<&'static Registration> {
        self.by_id.get(id).copied()
    }

    /// The handler ids, sorted.
    pub fn ids(&self) -> Vec<&'static str> {
        self.by_id.keys().copied().collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = &'static Registration> + '_ {
        self.by_id.values().copied()
    }
}

/// Registers a step function under a handler id.
///
/// ```text
/// // An API step: `async fn(ApiRequest<Body>, Context) -> Result<ApiResponse, StepError>`
/// stepline_runtime::register_step!(api "calendar_sync_api", body = SyncRequest, handle);
/// // An API step without a body (GET): the body type is `NoBody`.
/// stepline_runtime::register_step!(api "calendar_sync_status", status);
/// // An event step: `async fn(Input, Context) -> Result<(), StepError>`
/// stepline_runtime::register_step!(event "calendar_sync_all", input = SyncAll, run);
/// // A cron step: `async fn(Context) -> Result<(), StepError>`
/// stepline_runtime::register_step!(cron "calendar_sync_cron", tick);
/// ```
///
/// A payload or body that does not parse into the input type is refused before the function
/// runs: with a 400 for API steps, into the dead-letter queue for event steps.
#[macro_export]
macro_rules! register_step {
    (api $id:literal, $f:path) => {
        $crate::register_step!(api $id, body = $crate::NoBody, $f);
    };
    (api $id:literal, body = $t:ty, $f:path) => {
        const _: () = {
            fn call(
                req: $crate::ApiRequest<$crate::__private::serde_json::Value>,
                ctx: $crate::Context,
            ) -> $crate::__private::BoxFuture<'static, ::core::result::Result<$crate::ApiResponse, $crate::StepError>> {
                ::std::boxed::Box::pin(async move {
                    let (req, body) = req.take_body();
                    let body: $t = $crate::__private::serde_json::from_value(body).map_err(|e| {
                        $crate::StepError::reject(
                            $crate::http::StatusCode::BAD_REQUEST,
                            "invalid_body",
                            e.to_string(),
                        )
                    })?;
                    $f(req.map_body(body), ctx).await
                })
            }
            fn schema() -> $crate::__private::schemars::Schema {
                $crate::__private::schemars::schema_for!($t)
            }
            $crate::__private::inventory::submit! {
                $crate::registry::Registration {
                    id: $id,
                    schema: ::core::option::Option::Some(schema),
                    handler: $crate::registry::HandlerFn::Api(call),
                    source: concat!(file!(), ":", line!()),
                }
            }
        };
    };
    (event $id:literal, input = $t:ty, $f:path) => {
        const _: () = {
            fn call(
                payload: $crate::__private::serde_json::Value,
                ctx: $crate::Context,
            ) -> $crate::__private::BoxFuture<'static, ::core::result::Result<(), $crate::StepError>> {
                ::std::boxed::Box::pin(async move {
                    let input: $t = $crate::__private::serde_json::from_value(payload)
                        .map_err(|e| $crate::StepError::fatal(format!("payload does not fit the input type: {e}")))?;
                    $f(input, ctx).await
                })
            }
            fn schema() -> $crate::__private::schemars::Schema {
                $crate::__private::schemars::schema_for!($t)
            }
            $crate::__private::inventory::submit! {
                $crate::registry::Registration {
                    id: $id,
                    schema: ::core::option::Option::Some(schema),
                    handler: $crate::registry::HandlerFn::Event(call),
                    source: concat!(file!(), ":", line!()),
                }
            }
        };
    };
    (cron $id:literal, $f:path) => {
        const _: () = {
            fn call(
                ctx: $crate::Context,
            ) -> $crate::__private::BoxFuture<'static, ::core::result::Result<(), $crate::StepError>> {
                ::std::boxed::Box::pin($f(ctx))
            }
            $crate::__private::inventory::submit! {
                $crate::registry::Registration {
                    id: $id,
                    schema: ::core::option::Option::None,
                    handler: $crate::registry::HandlerFn::Cron(call),
                    source: concat!(file!(), ":", line!()),
                }
            }
        };
    };
}
