//! The composed application: manifests joined to registrations, the stores, the queue and
//! the settings. Built once at start ([`App::build`]) and shared by HTTP, cron and bus.

use std::any::{Any, TypeId};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde_json::Value;

use crate::bus::{Delivery, Queue};
use crate::manifest::{Manifest, ManifestSet, QueueConfig, Step, StepKind};
use crate::registry::{Registration, Registry};
use crate::store::file::now_ms;
use crate::store::{LockStore, StateStore, StoreError};

/// Settings of a running server.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where the embedded store and application files live (`STEPLINE_DATA_DIR`).
    pub data_dir: PathBuf,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// When set, API steps and `/_stepline/` endpoints (but health) need this bearer token.
    pub api_token: Option<String>,
    /// How long running handlers may take to finish at shutdown.
    pub shutdown_grace: Duration,
    /// How long a connection may stay silent before it is closed.
    pub read_timeout: Duration,
    /// Reload the manifests when the folder changes (`serve --watch`).
    pub watch: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from(".stepline"),
            max_body_bytes: 1024 * 1024,
            api_token: None,
            shutdown_grace: Duration::from_secs(30),
            read_timeout: crate::http::listener::READ_TIMEOUT,
            watch: false,
        }
    }
}

/// Where state, locks and deliveries live.
#[derive(Clone)]
pub struct Backend {
    pub state: Arc<dyn StateStore>,
    pub locks: Arc<dyn LockStore>,
    pub queue: Arc<dyn Queue>,
    /// For the startup log: `embedded (.stepline/store.log)`, `redis (…)`.
    pub description: String,
}

/// A loaded step with what it needs to run.
pub struct StepRuntime {
    pub step: Step,
    /// None for noop steps.
    pub registration: Option<&'static Registration>,
    /// The compiled schema of the input (event payload or request body), if any.
    pub input_schema: Option<(Value, jsonschema::Validator)>,
    pub queue: QueueConfig,
    undeclared_logged: Mutex<HashSet<String>>,
}

impl StepRuntime {
    pub fn name(&self) -> &str {
        self.step.name()
    }

    pub fn manifest(&self) -> &Manifest {
        &self.step.manifest
    }

    /// True the first time a given undeclared topic is seen, so it is logged once.
    pub(crate) fn first_undeclared_emit(&self, topic: &str) -> bool {
        let mut seen = self
            .undeclared_logged
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        seen.insert(topic.to_string())
    }

    /// Checks `value` against the step's input schema; the messages of every violation.
    pub fn check_input(&self, value: &Value) -> Result<(), Vec<SchemaViolation>> {
        let Some((_, validator)) = &self.input_schema else {
            return Ok(());
        };
        let errors: Vec<_> = validator
            .iter_errors(value)
            .map(|e| SchemaViolation::from_error(&e))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// One way a value breaks a schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaViolation {
    /// JSON pointer into the value, e.g. `/full_content`; empty for the root.
    pub path: String,
    pub message: String,
    /// The field names that are not allowed, when that is the problem.
    pub unknown_fields: Vec<String>,
}

impl SchemaViolation {
    fn from_error(error: &jsonschema::ValidationError<'_>) -> Self {
        let unknown_fields = match error.kind() {
            jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } => {
                unexpected.clone()
            }
            _ => Vec::new(),
        };
        Self {
            path: error.instance_path().to_string(),
            message: error.to_string(),
            unknown_fields,
        }
    }
}

/// The running application.
pub struct App {
    pub manifests: ManifestSet,
    pub registry: Registry,
    pub steps: BTreeMap<String, Arc<StepRuntime>>,
    subscribers: HashMap<String, Vec<String>>,
    pub state: Arc<dyn StateStore>,
    pub locks: Arc<dyn LockStore>,
    pub queue: Arc<dyn Queue>,
    pub backend: String,
    pub settings: Settings,
    services: Services,
}

/// Application services (clients, configuration) that handlers share, by type: the start
/// hook provides them, handlers reach them through [`Context::service`](crate::Context::service).
#[derive(Default)]
struct Services(RwLock<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>);

/// A schema in a manifest or a registration that does not compile.
#[derive(Debug, thiserror::Error)]
#[error("step `{step}`: its input schema is not a valid JSON Schema: {message}")]
pub struct SchemaError {
    pub step: String,
    pub message: String,
}

impl App {
    /// Joins validated manifests to their registrations and compiles the input schemas.
    pub fn build(
        manifests: ManifestSet,
        registry: Registry,
        backend: Backend,
        settings: Settings,
    ) -> Result<Arc<Self>, SchemaError> {
        let mut steps = BTreeMap::new();
        for step in &manifests.steps {
            let runtime = step_runtime(step.clone(), &registry)?;
            steps.insert(step.name().to_string(), Arc::new(runtime));
        }
        let subscribers = manifests.subscribers().into_iter().collect();
        Ok(Arc::new(Self {
            manifests,
            registry,
            steps,
            subscribers,
            state: backend.state,
            locks: backend.locks,
            queue: backend.queue,
            backend: backend.description,
            settings,
            services: Services::default(),
        }))
    }

    /// Makes `service` available to every handler; replaces one of the same type.
    pub fn provide<T: Any + Send + Sync>(&self, service: Arc<T>) {
        let mut map = self.services.0.write().unwrap_or_else(|p| p.into_inner());
        map.insert(TypeId::of::<T>(), service);
    }

    /// Takes over every service of `previous` (a reload keeps what the start hook provided).
    pub fn inherit_services(&self, previous: &App) {
        let from = previous
            .services
            .0
            .read()
            .unwrap_or_else(|p| p.into_inner());
        let mut to = self.services.0.write().unwrap_or_else(|p| p.into_inner());
        for (id, service) in from.iter() {
            to.entry(*id).or_insert_with(|| service.clone());
        }
    }

    /// The service of type `T`, if the start hook provided one.
    pub fn service<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        let map = self.services.0.read().unwrap_or_else(|p| p.into_inner());
        map.get(&TypeId::of::<T>())
            .cloned()
            .and_then(|s| s.downcast::<T>().ok())
    }

    pub fn step(&self, name: &str) -> Option<&Arc<StepRuntime>> {
        self.steps.get(name)
    }

    /// Stores one delivery of the event per subscribing step; returns the event id.
    pub async fn publish(
        &self,
        topic: &str,
        payload: Value,
        trace_id: &str,
    ) -> Result<String, StoreError> {
        let event_id = uuid::Uuid::now_v7().to_string();
        let Some(targets) = self.subscribers.get(topic) else {
            // Legitimate (a topic may be declared before its subscriber exists), but an event
            // dropped for lack of a subscriber should never be silent.
            tracing::warn!(
                topic,
                trace_id,
                "no step subscribes to this topic; event dropped"
            );
            return Ok(event_id);
        };
        let emitted_at = now_ms();
        let deliveries = targets
            .iter()
            .map(|step| Delivery {
                id: uuid::Uuid::now_v7().to_string(),
                event_id: event_id.clone(),
                step: step.clone(),
                topic: topic.to_string(),
                payload: payload.clone(),
                trace_id: trace_id.to_string(),
                attempts: 0,
                emitted_at,
            })
            .collect();
        self.queue.enqueue(deliveries).await?;
        tracing::trace!(topic, event_id, trace_id, "event stored");
        Ok(event_id)
    }
}

/// The registration that runs `step`; none for noop steps.
pub fn registration_of(step: &Step, registry: &Registry) -> Option<&'static Registration> {
    match step.kind() {
        StepKind::Noop => None,
        _ => registry.get(&step.manifest.handler_id()),
    }
}

/// The JSON Schema a step's input (request body or event payload) is checked against: the
/// manifest's `body` or `input`, else the registered Rust type's schema. Also what the
/// OpenAPI document shows, so the two cannot differ.
pub fn input_schema(step: &Step, registration: Option<&Registration>) -> Option<Value> {
    let declared = match step.kind() {
        StepKind::Api => step.manifest.body.clone(),
        StepKind::Event => step.manifest.input.clone(),
        _ => None,
    };
    declared.or_else(|| registration.and_then(|r| r.schema).map(|f| f().to_value()))
}

fn step_runtime(step: Step, registry: &Registry) -> Result<StepRuntime, SchemaError> {
    let registration = registration_of(&step, registry);
    let input_schema = match input_schema(&step, registration) {
        Some(schema) => {
            let validator = jsonschema::validator_for(&schema).map_err(|e| SchemaError {
                step: step.name().to_string(),
                message: e.to_string(),
            })?;
            Some((schema, validator))
        }
        None => None,
    };
    let queue = step.manifest.queue_config();
    Ok(StepRuntime {
        step,
        registration,
        input_schema,
        queue,
        undeclared_logged: Mutex::new(HashSet::new()),
    })
}
