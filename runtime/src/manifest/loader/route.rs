//! The `path` of an API step: checked, and turned into an axum 0.8 route.
//!
//! Parameters are written `{name}` or `:name` and fill a whole segment; the route always uses
//! `{name}`. Wildcards, empty segments (`//`, a trailing `/`), a query or fragment, and the
//! runtime's own prefix `/_stepline` are refused. Two routes with the same *shape* (the path
//! with parameter names left out: `/users/{}`) would clash in the router, whatever their
//! parameters are called; the set rules compare shapes.

/// The prefix of the runtime's built-in endpoints (health, dead letters).
pub(crate) const RESERVED_PREFIX: &str = "_stepline";

/// A valid path of an API step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Route {
    /// In axum syntax: `/users/{id}`.
    pub axum: String,
    /// With parameter names left out: `/users/{}`.
    pub shape: String,
    /// A last-segment parameter with a fixed ending, `{kuerzel}.ics`: the parameter's name
    /// and the ending that requests must carry (and that the handler does not see).
    pub suffix: Option<(String, String)>,
}

/// Why a path is refused, and what to write instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RouteError {
    pub message: String,
    pub hint: String,
}

fn refuse(message: String, hint: &str) -> RouteError {
    RouteError {
        message,
        hint: hint.to_string(),
    }
}

/// Checks `path` and builds its route.
pub(crate) fn parse(path: &str) -> Result<Route, RouteError> {
    if !path.starts_with('/') {
        return Err(refuse(
            format!("path `{path}` must start with `/`"),
            "write e.g. `/orders/{id}`",
        ));
    }
    if path.contains('*') {
        return Err(refuse(
            format!("path `{path}` has a wildcard `*`, which is not supported"),
            "name each parameter instead, e.g. `/files/{name}`",
        ));
    }
    if path.contains(['?', '#']) || path.contains(char::is_whitespace) {
        return Err(refuse(
            format!("path `{path}` contains `?`, `#` or a space"),
            "query parameters reach the handler without being declared; leave them out of `path`",
        ));
    }
    if path == "/" {
        return Ok(Route {
            axum: "/".into(),
            shape: "/".into(),
            suffix: None,
        });
    }

    let mut params: Vec<&str> = Vec::new();
    let mut route = Route {
        axum: String::new(),
        shape: String::new(),
        suffix: None,
    };
    let segments: Vec<&str> = path[1..].split('/').collect();
    for (i, segment) in segments.iter().enumerate() {
        let (segment, suffix) = split_suffix(segment);
        if suffix.is_some() && i + 1 < segments.len() {
            return Err(brace_error(
                path,
                &format!("{segment}{}", suffix.unwrap_or("")),
            ));
        }
        match segment_kind(path, segment)? {
            Segment::Literal => {
                route.axum.push_str(&format!("/{segment}"));
                route.shape.push_str(&format!("/{segment}"));
            }
            Segment::Param(name) => {
                if params.contains(&name) {
                    return Err(refuse(
                        format!("path `{path}` names the parameter `{name}` twice"),
                        "give each parameter its own name",
                    ));
                }
                params.push(name);
                route.axum.push_str(&format!("/{{{name}}}"));
                // The ending is left out of the shape: the router sees `/{name}` either way.
                route.shape.push_str("/{}");
                route.suffix = suffix.map(|s| (name.to_string(), s.to_string()));
            }
        }
    }

    if route.shape == format!("/{RESERVED_PREFIX}")
        || route.shape.starts_with(&format!("/{RESERVED_PREFIX}/"))
    {
        return Err(refuse(
            format!(
                "path `{path}` is under `/{RESERVED_PREFIX}`, which the runtime reserves for its own endpoints"
            ),
            "choose another first segment",
        ));
    }
    Ok(route)
}

/// Splits `{name}.ext` into `{name}` and `.ext`: a parameter may end in a fixed extension
/// made of a dot and letters or digits, in the last segment only.
fn split_suffix(segment: &str) -> (&str, Option<&str>) {
    if let Some(close) = segment.find('}')
        && segment.starts_with('{')
    {
        let rest = &segment[close + 1..];
        let extension = rest
            .strip_prefix('.')
            .is_some_and(|e| !e.is_empty() && e.chars().all(|c| c.is_ascii_alphanumeric()));
        if extension {
            return (&segment[..=close], Some(rest));
        }
    }
    (segment, None)
}

enum Segment<'a> {
    Literal,
    Param(&'a str),
}

fn segment_kind<'a>(path: &str, segment: &'a str) -> Result<Segment<'a>, RouteError> {
    if segment.is_empty() {
        return Err(refuse(
            format!("path `{path}` has an empty segment"),
            "remove the doubled or trailing `/`",
        ));
    }

    let name = if let Some(inner) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
        inner
    } else if let Some(rest) = segment.strip_prefix(':') {
        rest
    } else if segment.contains(['{', '}']) {
        return Err(brace_error(path, segment));
    } else {
        return Ok(Segment::Literal);
    };

    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(refuse(
            format!("path `{path}` has an invalid parameter `{segment}`"),
            "name parameters with letters, digits and `_`, e.g. `{order_id}`",
        ));
    }
    Ok(Segment::Param(name))
}

fn brace_error(path: &str, segment: &str) -> RouteError {
    if segment.matches('{').count() != segment.matches('}').count() {
        refuse(
            format!("path `{path}` has unbalanced braces in `{segment}`"),
            "write each parameter as `{name}`",
        )
    } else {
        refuse(
            format!("path `{path}` has a parameter that does not fill its segment: `{segment}`"),
            "put each parameter in a segment of its own, e.g. `/files/{name}`",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(path: &str) -> (String, String) {
        let r = parse(path).expect("valid path");
        (r.axum, r.shape)
    }

    fn error(path: &str) -> String {
        parse(path).expect_err("invalid path").message
    }

    #[test]
    fn both_parameter_styles_become_axum_routes() {
        assert_eq!(route("/"), ("/".into(), "/".into()));
        assert_eq!(route("/users"), ("/users".into(), "/users".into()));
        assert_eq!(
            route("/users/{id}/orders/:order_id"),
            (
                "/users/{id}/orders/{order_id}".into(),
                "/users/{}/orders/{}".into()
            )
        );
        assert_eq!(
            route("/a:b/v1.json"),
            ("/a:b/v1.json".into(), "/a:b/v1.json".into())
        );
        assert_eq!(
            route("/_steplines"),
            ("/_steplines".into(), "/_steplines".into())
        );
    }

    #[test]
    fn malformed_paths_are_refused() {
        assert_eq!(error("users"), "path `users` must start with `/`");
        assert_eq!(error("/a//b"), "path `/a//b` has an empty segment");
        assert_eq!(error("/a/"), "path `/a/` has an empty segment");
        assert_eq!(
            error("/a/{id"),
            "path `/a/{id` has unbalanced braces in `{id`"
        );
        assert_eq!(
            error("/a/id}"),
            "path `/a/id}` has unbalanced braces in `id}`"
        );
        assert_eq!(
            error("/a/{id}.json/b"),
            "path `/a/{id}.json/b` has a parameter that does not fill its segment: `{id}.json`"
        );
        assert_eq!(
            error("/a/{id}-x"),
            "path `/a/{id}-x` has a parameter that does not fill its segment: `{id}-x`"
        );
        assert_eq!(
            error("/a/{id}/b/:id"),
            "path `/a/{id}/b/:id` names the parameter `id` twice"
        );
        assert_eq!(
            error("/files/*rest"),
            "path `/files/*rest` has a wildcard `*`, which is not supported"
        );
        assert_eq!(
            error("/a/{1x}"),
            "path `/a/{1x}` has an invalid parameter `{1x}`"
        );
        assert_eq!(error("/a/:"), "path `/a/:` has an invalid parameter `:`");
        assert_eq!(
            error("/a?b=1"),
            "path `/a?b=1` contains `?`, `#` or a space"
        );
    }

    #[test]
    fn a_last_parameter_may_carry_an_extension() {
        let r = parse("/calendar/{kuerzel}.ics").expect("valid path");
        assert_eq!(r.axum, "/calendar/{kuerzel}");
        assert_eq!(r.shape, "/calendar/{}");
        assert_eq!(r.suffix, Some(("kuerzel".into(), ".ics".into())));
        assert_eq!(parse("/calendar/{kuerzel}").expect("valid").suffix, None);
    }

    #[test]
    fn the_reserved_prefix_is_refused() {
        let expected = "is under `/_stepline`, which the runtime reserves for its own endpoints";
        assert!(error("/_stepline").ends_with(expected));
        assert!(error("/_stepline/health").ends_with(expected));
    }
}
