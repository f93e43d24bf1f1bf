//! The rules across all manifests of a folder, and the joins to the registrations: unique
//! names, handler ids and `METHOD path` routes; every handler id registered, with the kind the
//! manifest declares; and the warnings about topics without a partner and deprecated steps.
//!
//! A duplicate is reported at the second (and any later) declaration in file order, naming
//! the first, so that the step that was there before keeps a clean record. Built-in handlers
//! (ids starting with `stepline.`) may serve several steps. Noop steps are never joined to
//! registrations. Topics count only routed edges (`emits`, `subscribes`): `virtual_*` edges
//! are drawn, never delivered.

use std::collections::{BTreeSet, HashMap};

use super::Loaded;
use super::step_rules::with_article;
use super::suggest::closest;
use crate::manifest::{Problem, Status, StepKind};
use crate::registry::Registry;

fn problem(step: &Loaded, pointer: &str, message: String, hint: impl Into<String>) -> Problem {
    Problem {
        file: step.file.clone(),
        line: step.doc.line(pointer),
        message,
        hint: Some(hint.into()),
    }
}

/// `base/orders.yaml:3`, the place another problem refers to.
fn place(step: &Loaded, pointer: &str) -> String {
    format!("{}:{}", step.file.display(), step.doc.line(pointer))
}

/// Handler ids under this prefix are the runtime's built-ins (see [`crate::builtin`]): one
/// built-in serves any number of steps, so these ids may repeat.
const BUILTIN_PREFIX: &str = "stepline.";

/// Steps that run a registered handler.
fn runs(step: &Loaded) -> bool {
    step.manifest.kind != StepKind::Noop
}

/// Where the handler id comes from: the `handler` key, or the name.
fn handler_pointer(step: &Loaded) -> &'static str {
    if step.manifest.handler.is_some() {
        "/handler"
    } else {
        "/name"
    }
}

/// `` `x` `` or `` `x` (from the name) ``: a handler id and where it comes from.
fn id_words(step: &Loaded) -> String {
    let id = step.manifest.handler_id();
    match step.manifest.handler {
        Some(_) => format!("`{id}`"),
        None => format!("`{id}` (from the name)"),
    }
}

/// Every error across the set: duplicates, and joins to the registry.
pub(crate) fn check(steps: &[Loaded], registry: &Registry) -> Vec<Problem> {
    let mut problems = Vec::new();
    duplicate_names(steps, &mut problems);
    duplicate_handlers(steps, &mut problems);
    duplicate_routes(steps, &mut problems);
    for step in steps.iter().filter(|s| runs(s)) {
        problems.extend(registration(step, registry));
    }
    problems
}

fn duplicate_names(steps: &[Loaded], problems: &mut Vec<Problem>) {
    let mut first: HashMap<&str, &Loaded> = HashMap::new();
    for step in steps {
        let name = step.manifest.name.as_str();
        match first.get(name) {
            None => {
                first.insert(name, step);
            }
            Some(earlier) => problems.push(problem(
                step,
                "/name",
                format!(
                    "duplicate step name `{name}`, first declared at {}",
                    place(earlier, "/name")
                ),
                "give each step a unique `name`",
            )),
        }
    }
}

fn duplicate_handlers(steps: &[Loaded], problems: &mut Vec<Problem>) {
    let mut first: HashMap<String, &Loaded> = HashMap::new();
    for step in steps.iter().filter(|s| runs(s)) {
        let id = step.manifest.handler_id();
        if id.starts_with(BUILTIN_PREFIX) {
            continue;
        }
        match first.get(&id) {
            None => {
                first.insert(id, step);
            }
            Some(earlier) => problems.push(problem(
                step,
                handler_pointer(step),
                format!(
                    "handler {} is already used by step `{}` at {}",
                    id_words(step),
                    earlier.manifest.name,
                    place(earlier, handler_pointer(earlier))
                ),
                "each api, event and cron step needs its own handler; set `handler:` to another \
                 registered id",
            )),
        }
    }
}

/// Two api steps may not share a method and a route shape; steps on the same shape with
/// other methods must name the parameters alike, since the router keeps one path per shape.
fn duplicate_routes(steps: &[Loaded], problems: &mut Vec<Problem>) {
    let mut by_method: HashMap<(&str, &str), &Loaded> = HashMap::new();
    let mut by_shape: HashMap<&str, &Loaded> = HashMap::new();
    for step in steps {
        let (Some(method), Some(route)) = (step.manifest.method, &step.route) else {
            continue;
        };
        let key = (method.as_str(), route.shape.as_str());
        let conflict = match (by_method.get(&key), by_shape.get(key.1)) {
            (Some(earlier), _) => Some(route_clash(step, earlier)),
            (None, Some(earlier)) if earlier.route != step.route => {
                Some(parameter_names(step, earlier))
            }
            _ => None,
        };
        match conflict {
            Some(conflict) => problems.push(conflict),
            None => {
                by_method.insert(key, step);
                by_shape.entry(key.1).or_insert(step);
            }
        }
    }
}

/// The axum route of an api step that has one.
fn axum_route(step: &Loaded) -> &str {
    step.route.as_ref().map_or("", |r| r.axum.as_str())
}

fn route_clash(step: &Loaded, earlier: &Loaded) -> Problem {
    let method = step.manifest.method.map_or("", |m| m.as_str());
    let message = format!(
        "route `{method} {}` clashes with step `{}` at {}",
        axum_route(step),
        earlier.manifest.name,
        place(earlier, "/path")
    );
    let hint = "change the `path` or the `method` of one of them";
    problem(step, "/path", message, hint)
}

fn parameter_names(step: &Loaded, earlier: &Loaded) -> Problem {
    let theirs = axum_route(earlier);
    let message = format!(
        "path `{}` differs from `{theirs}` of step `{}` at {} only in parameter names",
        axum_route(step),
        earlier.manifest.name,
        place(earlier, "/path")
    );
    let hint = format!("name the parameters as that step does: `{theirs}`");
    problem(step, "/path", message, hint)
}

/// The handler id must be registered, as a handler of the manifest's kind.
fn registration(step: &Loaded, registry: &Registry) -> Option<Problem> {
    let kind = step.manifest.kind;
    let id = step.manifest.handler_id();
    let pointer = handler_pointer(step);

    let Some(registered) = registry.get(&id) else {
        return Some(problem(
            step,
            pointer,
            format!("no {kind} handler is registered as {}", id_words(step)),
            unregistered_hint(&id, kind, registry),
        ));
    };
    let registered_kind = registered.kind();
    (registered_kind != kind).then(|| {
        problem(
            step,
            pointer,
            format!(
                "handler {} is registered as {} handler, but this is {}",
                id_words(step),
                article(registered_kind),
                with_article(kind)
            ),
            format!(
                "change `type` to `{registered_kind}`, or set `handler:` to a registered {kind} \
                 handler"
            ),
        )
    })
}

/// `an api`, `a cron`.
fn article(kind: StepKind) -> String {
    let text = with_article(kind);
    text.trim_end_matches(" step").to_string()
}

fn unregistered_hint(id: &str, kind: StepKind, registry: &Registry) -> String {
    let ids: Vec<&str> = registry
        .iter()
        .filter(|r| r.kind() == kind)
        .map(|r| r.id)
        .collect();
    if let Some(near) = closest(id, ids.iter().copied()) {
        return format!("did you mean `{near}`?");
    }
    if ids.is_empty() {
        return format!(
            "no {kind} handler is registered at all; register one with \
             `register_step!({kind} \"{id}\", …)`"
        );
    }
    format!(
        "set `handler:` to one of the registered {kind} handlers ({}), or register `{id}` \
         with `register_step!`",
        ids.join(", ")
    )
}

/// Warnings: deprecated steps, and topics emitted with no subscriber or subscribed and never
/// emitted.
pub(crate) fn warnings(steps: &[Loaded]) -> Vec<Problem> {
    let emitted: BTreeSet<&str> = steps
        .iter()
        .flat_map(|s| s.manifest.emits.iter().map(|e| e.topic()))
        .collect();
    let subscribed: BTreeSet<&str> = steps
        .iter()
        .filter(|s| s.manifest.kind == StepKind::Event)
        .flat_map(|s| s.manifest.subscribes.iter().map(String::as_str))
        .collect();

    let mut warnings = Vec::new();
    for step in steps {
        warnings.extend(deprecated(step));
        warnings.extend(unheard_emits(step, &subscribed));
        warnings.extend(unfed_subscriptions(step, &emitted));
    }
    warnings
}

fn deprecated(step: &Loaded) -> Option<Problem> {
    (step.manifest.status == Status::Deprecated).then(|| {
        problem(
            step,
            "/status",
            format!("step `{}` is deprecated", step.manifest.name),
            "replace it, or set `status: disabled` to stop loading it",
        )
    })
}

fn unheard_emits(step: &Loaded, subscribed: &BTreeSet<&str>) -> Vec<Problem> {
    let emits = step.manifest.emits.iter().enumerate();
    emits
        .filter(|(_, emit)| !subscribed.contains(emit.topic()))
        .map(|(i, emit)| {
            let topic = emit.topic();
            problem(
                step,
                &format!("/emits/{i}"),
                format!("topic `{topic}` is emitted but no step subscribes to it"),
                format!(
                    "add an event step with `subscribes: [{topic}]`, or remove it from `emits`"
                ),
            )
        })
        .collect()
}

fn unfed_subscriptions(step: &Loaded, emitted: &BTreeSet<&str>) -> Vec<Problem> {
    if step.manifest.kind != StepKind::Event {
        return Vec::new();
    }
    let topics = step.manifest.subscribes.iter().enumerate();
    topics
        .filter(|(_, topic)| !emitted.contains(topic.as_str()))
        .map(|(i, topic)| {
            problem(
                step,
                &format!("/subscribes/{i}"),
                format!("topic `{topic}` is subscribed but no step emits it"),
                "add it to the `emits` of the step that produces it, or remove the subscription",
            )
        })
        .collect()
}
