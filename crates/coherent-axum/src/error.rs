//! [`HttpError`]: a [`coherent::Error`] as an HTTP response.
//!
//! Policy:
//! - Status: [`Error::NotFound`] → **404**, a unique constraint violation
//!   ([`Error::Constraint`] of kind [`ConstraintKind::Unique`]) → **409**, everything else,
//!   [`Error::GlobalContext`] included, → **500**.
//! - Body: JSON, `{"error": "<code>", "message": "<text>"}`, codes `not_found`, `conflict`,
//!   `global_context`, `internal`. A 4xx carries the error's message (it is about the
//!   client's request). A 500 carries no driver detail: the global-context one explains the
//!   wiring mistake (its message is fixed text), any other says `internal server error`. Every
//!   5xx is logged with `tracing` at `error` level (target `coherent_axum`) with the full
//!   error; 4xx at `debug`.

use axum::response::{IntoResponse, Response};
use coherent::{ConstraintKind, Error};
use http::{HeaderValue, StatusCode, header};
use std::fmt;

/// A handler's result with [`HttpError`]: `?` converts a [`coherent::Error`].
pub type HttpResult<T, E = HttpError> = std::result::Result<T, E>;

/// A [`coherent::Error`] that responds with its status code (see [`HttpError::status`]) and a
/// JSON body.
///
/// ```
/// use axum::response::IntoResponse;
/// use coherent::Error;
/// use coherent_axum::HttpError;
///
/// let error = HttpError::from(Error::NotFound { entity: "User", key: "7".into() });
/// assert_eq!(error.status(), 404);
/// assert_eq!(error.code(), "not_found");
/// assert_eq!(error.into_response().status(), 404);
/// assert_eq!(HttpError(Error::GlobalContext).status(), 500);
/// ```
///
/// In a handler, `?` does the conversion:
///
/// ```
/// use axum::extract::Path;
/// use coherent::prelude::*;
/// use coherent_axum::{HttpResult, RequestEm};
///
/// #[derive(Entity, Clone, Debug)]
/// #[entity(table = "users")]
/// pub struct User {
///     #[primary_key]
///     pub id: i64,
///     pub name: String,
/// }
///
/// async fn delete_user(em: RequestEm, Path(id): Path<i64>) -> HttpResult<&'static str> {
///     let user = em.find_one_or_fail::<User>(id).await?; // 404 if there is none
///     em.remove(&user)?;
///     em.flush().await?;
///     Ok("deleted")
/// }
/// ```
#[derive(Debug)]
pub struct HttpError(pub Error);

impl HttpError {
    /// The status the error responds with: 404 for `NotFound`, 409 for a unique constraint
    /// violation, 500 otherwise.
    pub fn status(&self) -> StatusCode {
        match &self.0 {
            Error::NotFound { .. } => StatusCode::NOT_FOUND,
            Error::Constraint {
                kind: ConstraintKind::Unique,
                ..
            } => StatusCode::CONFLICT,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The `error` field of the body: `not_found`, `conflict`, `global_context` or
    /// `internal`.
    pub fn code(&self) -> &'static str {
        match &self.0 {
            Error::NotFound { .. } => "not_found",
            Error::Constraint {
                kind: ConstraintKind::Unique,
                ..
            } => "conflict",
            Error::GlobalContext => "global_context",
            _ => "internal",
        }
    }

    /// The `message` field of the body (see the module policy: no driver detail in a 500).
    pub fn public_message(&self) -> String {
        match &self.0 {
            Error::GlobalContext => format!(
                "{} (in an axum app, install coherent_axum::RequestContextLayer so that every \
                 request gets an EntityManager of its own)",
                self.0
            ),
            _ if self.status().is_server_error() => "internal server error".to_string(),
            error => error.to_string(),
        }
    }

    /// The error.
    pub fn error(&self) -> &Error {
        &self.0
    }

    /// The error, unwrapped.
    pub fn into_inner(self) -> Error {
        self.0
    }
}

impl From<Error> for HttpError {
    fn from(error: Error) -> Self {
        HttpError(error)
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for HttpError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(target: "coherent_axum", status = status.as_u16(), error = %self.0, "request failed");
        } else {
            tracing::debug!(target: "coherent_axum", status = status.as_u16(), error = %self.0, "request failed");
        }
        json_response(status, self.code(), &self.public_message())
    }
}

/// A response with the crate's JSON error body.
pub(crate) fn json_response(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({ "error": code, "message": message }).to_string();
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn constraint(kind: ConstraintKind) -> Error {
        Error::Constraint {
            kind,
            table: Some("users".into()),
            constraint: Some("users.email".into()),
            message: "UNIQUE constraint failed: users.email".into(),
        }
    }

    async fn body(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn statuses_codes_and_bodies() {
        let cases = [
            (
                Error::NotFound {
                    entity: "User",
                    key: "1".into(),
                },
                404,
                "not_found",
                Some("User not found (1)"),
            ),
            (
                constraint(ConstraintKind::Unique),
                409,
                "conflict",
                Some(
                    "unique constraint violated on users (users.email): UNIQUE constraint failed: users.email",
                ),
            ),
            (Error::GlobalContext, 500, "global_context", None),
            (
                constraint(ConstraintKind::ForeignKey),
                500,
                "internal",
                Some("internal server error"),
            ),
            (
                Error::LockTimeout {
                    message: "database is locked".into(),
                },
                500,
                "internal",
                Some("internal server error"),
            ),
            (
                Error::Database {
                    code: Some("1".into()),
                    message: "secret detail".into(),
                },
                500,
                "internal",
                Some("internal server error"),
            ),
        ];
        for (error, status, code, message) in cases {
            let error = HttpError::from(error);
            assert_eq!(error.status(), status, "{error}");
            assert_eq!(error.code(), code, "{error}");
            let response = error.into_response();
            assert_eq!(response.status(), status);
            assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
            let json = body(response).await;
            assert_eq!(json["error"], code);
            let text = json["message"].as_str().unwrap();
            match message {
                Some(m) => assert_eq!(text, m),
                None => {
                    assert!(text.starts_with("Using global EntityManager"), "{text}");
                    assert!(text.contains("RequestContextLayer"), "{text}");
                }
            }
        }
    }
}
