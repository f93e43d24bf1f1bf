//! Request body schemas moved into `components/schemas`.
//!
//! A body schema is a standalone JSON Schema (draft 2020-12, as schemars writes it or as the
//! manifest declares it): its `$ref`s point into itself (`#/$defs/Employee`, or `#` for a
//! recursive root). Inside an OpenAPI document `#` is the document, so each schema is taken
//! apart: the root and every `$defs` entry become named components, and every local `$ref` is
//! rewritten to the component it meant.
//!
//! Two steps may bring different types under the same name; the later one gets a suffix
//! (`Employee_2`). The same type brought twice is stored once.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value, json};

/// The dialect OpenAPI 3.1 assumes; a schema that names it need not say so again.
const DRAFT_2020_12: &str = "https://json-schema.org/draft/2020-12/schema";

/// Keywords whose values are data, not schemas: a `$ref` inside them is left alone.
const DATA_KEYWORDS: [&str; 5] = ["const", "enum", "default", "examples", "example"];

/// The schemas of `components/schemas`, by name.
#[derive(Debug, Default)]
pub(super) struct Components {
    pub schemas: BTreeMap<String, Value>,
}

/// One schema to store: the root (index 0) or a `$defs` entry.
struct Entry {
    /// The `$defs` key; `None` for the root.
    key: Option<String>,
    value: Value,
}

impl Components {
    /// Stores a body schema and its definitions; returns what the request body refers to:
    /// a `$ref` to the root's component, or a boolean schema as it is. `fallback` names the
    /// root when the schema has no usable `title`.
    pub fn add_body(&mut self, schema: Value, fallback: &str) -> Value {
        let Value::Object(mut root) = schema else {
            return schema;
        };
        if root.get("$schema").and_then(Value::as_str) == Some(DRAFT_2020_12) {
            root.remove("$schema");
        }
        // Refs are rewritten against the document, so a base URI of the schema's own would
        // send them elsewhere.
        root.remove("$id");
        let defs = match root.remove("$defs") {
            Some(Value::Object(defs)) => defs,
            Some(other) => {
                root.insert("$defs".into(), other);
                Map::new()
            }
            None => Map::new(),
        };

        let title = root.get("title").and_then(Value::as_str);
        let mut wanted = vec![component_name(title.unwrap_or(fallback))];
        let mut entries = vec![Entry {
            key: None,
            value: Value::Object(root),
        }];
        for (key, value) in defs {
            wanted.push(component_name(&key));
            entries.push(Entry {
                key: Some(key),
                value,
            });
        }

        let (names, rewritten) = self.resolve_names(&entries, wanted);
        for (name, value) in names.iter().zip(rewritten) {
            self.schemas.insert(name.clone(), value);
        }
        json!({ "$ref": reference(&names[0]) })
    }

    /// Picks a component name per entry: the wanted one, unless another schema already has
    /// it. Renaming one entry changes the refs of the others, so the check runs again until
    /// nothing clashes; each round gives one entry a fresh name, so it ends.
    fn resolve_names(
        &self,
        entries: &[Entry],
        mut names: Vec<String>,
    ) -> (Vec<String>, Vec<Value>) {
        loop {
            let rewritten: Vec<Value> = entries
                .iter()
                .map(|e| rewritten(&e.value, entries, &names))
                .collect();
            let clash = (0..entries.len()).find(|&i| {
                let taken = self
                    .schemas
                    .get(&names[i])
                    .is_some_and(|v| *v != rewritten[i]);
                taken || names[..i].contains(&names[i])
            });
            match clash {
                Some(i) => names[i] = self.fresh_name(&names[i], &names),
                None => return (names, rewritten),
            }
        }
    }

    /// `base_2`, `base_3`, … : the first name neither stored nor planned.
    fn fresh_name(&self, base: &str, planned: &[String]) -> String {
        (2..)
            .map(|n| format!("{base}_{n}"))
            .find(|name| !self.schemas.contains_key(name) && !planned.contains(name))
            .unwrap_or_else(|| base.to_string())
    }
}

/// `value` with every local `$ref` pointing at the components named in `names`.
fn rewritten(value: &Value, entries: &[Entry], names: &[String]) -> Value {
    let by_key: HashMap<&str, &str> = entries
        .iter()
        .zip(names)
        .filter_map(|(e, name)| Some((e.key.as_deref()?, name.as_str())))
        .collect();
    let mut value = value.clone();
    rewrite_refs(&mut value, &names[0], &by_key);
    value
}

fn rewrite_refs(value: &mut Value, root: &str, defs: &HashMap<&str, &str>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get_mut("$ref")
                && let Some(new) = rewrite_ref(target, root, defs)
            {
                *target = new;
            }
            for (key, child) in map.iter_mut() {
                if !DATA_KEYWORDS.contains(&key.as_str()) {
                    rewrite_refs(child, root, defs);
                }
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| rewrite_refs(item, root, defs)),
        _ => {}
    }
}

/// `#/$defs/Employee/properties/x` → `#/components/schemas/Employee/properties/x`;
/// `#` or `#/properties/x` → under the root's component. Other refs (other documents,
/// anchors) stay as they are.
fn rewrite_ref(target: &str, root: &str, defs: &HashMap<&str, &str>) -> Option<String> {
    let pointer = target.strip_prefix('#')?;
    if !pointer.is_empty() && !pointer.starts_with('/') {
        return None;
    }
    if let Some(rest) = pointer.strip_prefix("/$defs/") {
        let (token, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let key = token.replace("~1", "/").replace("~0", "~");
        return defs
            .get(key.as_str())
            .map(|name| format!("{}{tail}", reference(name)));
    }
    Some(format!("{}{pointer}", reference(root)))
}

fn reference(name: &str) -> String {
    format!("#/components/schemas/{name}")
}

/// A component name as OpenAPI allows them (`^[a-zA-Z0-9._-]+$`): other characters become
/// `_`.
fn component_name(wanted: &str) -> String {
    let name: String = wanted
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() {
        "Body".to_string()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schemars_like(item_title: &str) -> Value {
        json!({
            "$schema": DRAFT_2020_12,
            "title": "Order",
            "type": "object",
            "properties": {
                "item": { "$ref": "#/$defs/Item" },
                "next": { "$ref": "#" },
                "note": { "const": { "$ref": "#/$defs/Item" } }
            },
            "additionalProperties": false,
            "$defs": {
                "Item": { "title": item_title, "type": "object" },
                "Pair": { "type": "array", "items": { "$ref": "#/$defs/Item/properties/x" } }
            }
        })
    }

    #[test]
    fn defs_become_components_and_refs_follow_them() {
        let mut components = Components::default();
        let body = components.add_body(schemars_like("Item"), "OrderBody");

        assert_eq!(body, json!({ "$ref": "#/components/schemas/Order" }));
        let order = &components.schemas["Order"];
        assert_eq!(order.get("$schema"), None);
        assert_eq!(order.get("$defs"), None);
        assert_eq!(
            order["properties"]["item"]["$ref"],
            "#/components/schemas/Item"
        );
        assert_eq!(
            order["properties"]["next"]["$ref"],
            "#/components/schemas/Order"
        );
        // Data that merely looks like a ref is not touched.
        assert_eq!(order["properties"]["note"]["const"]["$ref"], "#/$defs/Item");
        assert_eq!(
            components.schemas["Pair"]["items"]["$ref"],
            "#/components/schemas/Item/properties/x"
        );
        assert_eq!(components.schemas["Item"]["title"], "Item");
    }

    #[test]
    fn a_different_type_under_a_taken_name_gets_a_suffix() {
        let mut components = Components::default();
        components.add_body(schemars_like("Item"), "A");
        components.add_body(schemars_like("Item"), "B");
        assert_eq!(
            components.schemas.len(),
            3,
            "the same schema is stored once"
        );

        let body = components.add_body(schemars_like("Other item"), "C");
        assert_eq!(body, json!({ "$ref": "#/components/schemas/Order_2" }));
        assert_eq!(components.schemas["Item_2"]["title"], "Other item");
        let order = &components.schemas["Order_2"];
        assert_eq!(
            order["properties"]["item"]["$ref"],
            "#/components/schemas/Item_2"
        );
        assert_eq!(
            order["properties"]["next"]["$ref"],
            "#/components/schemas/Order_2"
        );
        assert_eq!(
            components.schemas["Pair_2"]["items"]["$ref"],
            "#/components/schemas/Item_2/properties/x"
        );
        assert_eq!(
            components.schemas["Pair"]["items"]["$ref"],
            "#/components/schemas/Item/properties/x"
        );
    }

    #[test]
    fn untitled_and_boolean_schemas() {
        let mut components = Components::default();
        let body = components.add_body(json!({ "type": "object" }), "Webhook Body!");
        assert_eq!(
            body,
            json!({ "$ref": "#/components/schemas/Webhook_Body_" })
        );
        assert_eq!(components.add_body(json!(true), "Any"), json!(true));
    }
}
