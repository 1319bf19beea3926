//! Who may call: bearer API keys (`401 unauthenticated` when missing or unknown) and the
//! scopes of restricted keys (`403 forbidden` when a request falls outside them).

use http::{HeaderMap, Method, StatusCode};

use super::IopMockConfig;
use super::api::ApiError;

/// The bearer token of a request, if it carries one.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    value.strip_prefix("Bearer ").map(str::trim)
}

/// A key the mock knows: a full key (`None`) or a restricted one with its scopes.
pub(crate) fn scopes_of<'a>(config: &'a IopMockConfig, key: &str) -> Option<Option<&'a [String]>> {
    if config.api_keys.iter().any(|k| k == key) {
        return Some(None);
    }
    config.restricted_keys.iter().find(|k| k.key == key).map(|k| Some(k.scopes.as_slice()))
}

/// The scope a request needs: `<first segment after /v1>:read` for GET, `:write` otherwise.
pub(crate) fn required_scope(method: &Method, path: &str) -> String {
    let resource = path
        .strip_prefix("/v1/")
        .and_then(|rest| rest.split('/').find(|s| !s.is_empty()))
        .unwrap_or("");
    let access = if method == Method::GET { "read" } else { "write" };
    format!("{resource}:{access}")
}

/// Refuses a request a restricted key may not make.
pub(crate) fn check_scope(scopes: &[String], method: &Method, path: &str) -> Result<(), ApiError> {
    let needed = required_scope(method, path);
    let (resource, access) = needed.split_once(':').unwrap_or((needed.as_str(), ""));
    let granted = scopes.iter().any(|scope| {
        scope == "*"
            || scope == &needed
            || scope.split_once(':').is_some_and(|(r, a)| r == "*" && a == access)
            || scope.split_once(':').is_some_and(|(r, a)| r == resource && a == "*")
    });
    if granted {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        format!("this API key lacks the scope {needed}"),
    )
    .with_details(serde_json::json!({"required_scope": needed})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_match_resource_and_access() {
        let read_all = vec!["*:read".to_owned()];
        assert!(check_scope(&read_all, &Method::GET, "/v1/interviews/int_1").is_ok());
        let denied = check_scope(&read_all, &Method::POST, "/v1/interviews").unwrap_err();
        assert_eq!(denied.status, StatusCode::FORBIDDEN);
        assert_eq!(denied.details.unwrap()["required_scope"], "interviews:write");

        let feedback = vec!["feedback:*".to_owned(), "interviews:read".to_owned()];
        assert!(check_scope(&feedback, &Method::PATCH, "/v1/feedback/fb_1").is_ok());
        assert!(check_scope(&feedback, &Method::GET, "/v1/interviews").is_ok());
        assert!(check_scope(&feedback, &Method::GET, "/v1/candidates").is_err());
        assert!(check_scope(&["*".to_owned()], &Method::DELETE, "/v1/x").is_ok());
    }
}
