//! [`HttpError`]: a [`coherent::Error`] as an HTTP response.
//!
//! Policy:
//! - Status: [`Error::NotFound`] → **404**; a unique constraint violation
//!   ([`Error::Constraint`] of kind [`ConstraintKind::Unique`]) → **409**; a failed optimistic
//!   lock ([`Error::OptimisticLock`]: a flush found the row changed by someone else;
//!   [`Error::VersionMismatch`]: the client sent a version other than the stored one) →
//!   **409**; lock contention the database gave up on ([`Error::LockTimeout`],
//!   [`Error::LockNotAvailable`], [`Error::Deadlock`], [`Error::SerializationFailure`]) →
//!   **503** with `Retry-After: 1` (the same request may well succeed a moment later), and
//!   so is [`Error::Closed`] (the service is shutting down: another instance may answer);
//!   everything else, [`Error::GlobalContext`] included, → **500**.
//! - Body: JSON, `{"error": "<code>", "message": "<text>"}`, codes `not_found`, `conflict`,
//!   `optimistic_lock`, `busy`, `global_context`, `shutting_down`, `internal`. A 4xx carries the error's
//!   message (it is about the client's request: for an optimistic lock, that the client
//!   worked on a version that is no longer current). A 5xx carries no driver detail: the
//!   global-context one explains the wiring mistake (its message is fixed text), a `busy` one
//!   says to retry, any other says `internal server error`. Every 5xx is logged with
//!   `tracing` at `error` level (target `coherent_axum`) with the full error; 4xx at `debug`.

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
/// use coherent::{DatabaseError, Error};
/// use coherent_axum::HttpError;
///
/// let error = HttpError::from(Error::NotFound { entity: "User", key: "7".into() });
/// assert_eq!(error.status(), 404);
/// assert_eq!(error.code(), "not_found");
/// assert_eq!(error.into_response().status(), 404);
/// assert_eq!(HttpError(Error::GlobalContext).status(), 500);
///
/// // Someone else saved the book first: the client's edit is stale.
/// let stale = HttpError::from(Error::OptimisticLock { entity: "Book", key: "1".into() });
/// assert_eq!((stale.status().as_u16(), stale.code()), (409, "optimistic_lock"));
/// assert_eq!(stale.public_message(), "The optimistic lock on entity Book failed");
///
/// // The database gave up waiting for a lock: try again in a second.
/// let busy = HttpError::from(Error::Deadlock {
///     source: DatabaseError::new("deadlock detected").with_code("40P01"),
/// });
/// assert_eq!((busy.status().as_u16(), busy.code()), (503, "busy"));
/// assert!(!busy.public_message().contains("deadlock detected"));
/// assert_eq!(busy.into_response().headers()["retry-after"], "1");
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
    /// The status the error responds with: 404 for `NotFound`; 409 for a unique constraint
    /// violation, `OptimisticLock` and `VersionMismatch`; 503 for `LockTimeout`,
    /// `LockNotAvailable`, `Deadlock` and `SerializationFailure`, and for `Closed` (the Orm is
    /// shutting down); 504 for `StatementTimeout` (the database did not answer in time:
    /// retrying at once would take as long again, so no `Retry-After`); 500 otherwise.
    pub fn status(&self) -> StatusCode {
        match &self.0 {
            Error::NotFound { .. } => StatusCode::NOT_FOUND,
            Error::Constraint {
                kind: ConstraintKind::Unique,
                ..
            }
            | Error::OptimisticLock { .. }
            | Error::VersionMismatch { .. } => StatusCode::CONFLICT,
            error if is_busy(error) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Closed => StatusCode::SERVICE_UNAVAILABLE,
            Error::StatementTimeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The `error` field of the body: `not_found`, `conflict`, `optimistic_lock`, `busy`,
    /// `global_context`, `shutting_down`, `timeout` or `internal`.
    pub fn code(&self) -> &'static str {
        match &self.0 {
            Error::NotFound { .. } => "not_found",
            Error::Constraint {
                kind: ConstraintKind::Unique,
                ..
            } => "conflict",
            Error::OptimisticLock { .. } | Error::VersionMismatch { .. } => "optimistic_lock",
            error if is_busy(error) => "busy",
            Error::GlobalContext => "global_context",
            Error::Closed => "shutting_down",
            Error::StatementTimeout { .. } => "timeout",
            _ => "internal",
        }
    }

    /// The `message` field of the body (see the module policy: no driver detail in a 5xx).
    pub fn public_message(&self) -> String {
        match &self.0 {
            Error::GlobalContext => format!(
                "{} (in an axum app, install coherent_axum::RequestContextLayer so that every \
                 request gets an EntityManager of its own)",
                self.0
            ),
            error if is_busy(error) => {
                "the database is busy (lock contention); retry the request".to_string()
            }
            Error::Closed => "the service is shutting down; retry the request".to_string(),
            Error::StatementTimeout { .. } => {
                "the database did not answer in time (statement timeout)".to_string()
            }
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

/// Lock contention the database gave up on: the same request may succeed when retried.
fn is_busy(error: &Error) -> bool {
    matches!(
        error,
        Error::LockTimeout { .. }
            | Error::LockNotAvailable { .. }
            | Error::Deadlock { .. }
            | Error::SerializationFailure { .. }
    )
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
        let mut response = json_response(status, self.code(), &self.public_message());
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
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
    use coherent::DatabaseError;
    use std::sync::{Arc, Mutex};
    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Level, Metadata, Subscriber};

    fn constraint(kind: ConstraintKind) -> Error {
        Error::Constraint {
            kind,
            source: DatabaseError::new("UNIQUE constraint failed: users.email")
                .with_code("SQLITE_CONSTRAINT_UNIQUE")
                .with_table(Some("users"))
                .with_column(Some("email")),
        }
    }

    async fn body(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    const BUSY: &str = "the database is busy (lock contention); retry the request";

    /// Every mapping: the error, its status, code and body message (`None`: the
    /// global-context text, checked by its start).
    fn cases() -> Vec<(Error, u16, &'static str, Option<&'static str>)> {
        vec![
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
                    "unique constraint violated on users.email: UNIQUE constraint failed: users.email",
                ),
            ),
            (
                Error::OptimisticLock {
                    entity: "Book",
                    key: "1".into(),
                },
                409,
                "optimistic_lock",
                Some("The optimistic lock on entity Book failed"),
            ),
            (
                Error::VersionMismatch {
                    entity: "Book",
                    expected: "2".into(),
                    actual: "3".into(),
                },
                409,
                "optimistic_lock",
                Some("The optimistic lock failed, version 2 was expected, but is actually 3"),
            ),
            (
                Error::LockTimeout {
                    source: DatabaseError::new("database is locked"),
                },
                503,
                "busy",
                Some(BUSY),
            ),
            (
                Error::LockNotAvailable {
                    source: DatabaseError::new(
                        "could not obtain lock on row in relation \"books\"",
                    ),
                },
                503,
                "busy",
                Some(BUSY),
            ),
            (
                Error::Deadlock {
                    source: DatabaseError::new(
                        "deadlock detected: process 4711 waits for ShareLock",
                    ),
                },
                503,
                "busy",
                Some(BUSY),
            ),
            (
                Error::SerializationFailure {
                    source: DatabaseError::new(
                        "could not serialize access due to concurrent update",
                    ),
                },
                503,
                "busy",
                Some(BUSY),
            ),
            (
                Error::Closed,
                503,
                "shutting_down",
                Some("the service is shutting down; retry the request"),
            ),
            (Error::GlobalContext, 500, "global_context", None),
            (
                constraint(ConstraintKind::ForeignKey),
                500,
                "internal",
                Some("internal server error"),
            ),
            (
                Error::Database {
                    source: DatabaseError::new("secret detail").with_code("1"),
                },
                500,
                "internal",
                Some("internal server error"),
            ),
        ]
    }

    #[tokio::test]
    async fn statuses_codes_headers_and_bodies() {
        for (error, status, code, message) in cases() {
            let error = HttpError::from(error);
            assert_eq!(error.status(), status, "{error}");
            assert_eq!(error.code(), code, "{error}");
            let response = error.into_response();
            assert_eq!(response.status(), status);
            assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
            let retry_after = response.headers().get(header::RETRY_AFTER);
            if status == 503 {
                assert_eq!(retry_after.expect("Retry-After on a 503"), "1");
            } else {
                assert!(retry_after.is_none(), "{status} {code}: {retry_after:?}");
            }
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

    #[test]
    fn a_statement_timeout_is_504_without_retry_after_or_driver_detail() {
        let error = HttpError::from(Error::StatementTimeout {
            source: DatabaseError::new("canceling statement due to statement timeout"),
        });
        assert_eq!(error.status(), StatusCode::GATEWAY_TIMEOUT);
        assert_eq!(error.code(), "timeout");
        let message = error.public_message();
        assert!(!message.contains("canceling"), "{message}");
        let response = error.into_response();
        assert!(!response.headers().contains_key(header::RETRY_AFTER));
    }

    #[test]
    fn optimistic_lock_failures_are_409_with_the_message_in_the_body() {
        let stale = HttpError::from(Error::VersionMismatch {
            entity: "Book",
            expected: "1".into(),
            actual: "2".into(),
        });
        assert_eq!(stale.status(), StatusCode::CONFLICT);
        assert_eq!(stale.code(), "optimistic_lock");
        assert_eq!(
            stale.public_message(),
            "The optimistic lock failed, version 1 was expected, but is actually 2"
        );
        let lost = HttpError::from(Error::OptimisticLock {
            entity: "Book",
            key: "7".into(),
        });
        assert_eq!(lost.status(), StatusCode::CONFLICT);
        assert_eq!(lost.code(), "optimistic_lock");
        assert_eq!(
            lost.public_message(),
            "The optimistic lock on entity Book failed"
        );
        // A unique violation is still the plain conflict.
        assert_eq!(
            HttpError::from(constraint(ConstraintKind::Unique)).code(),
            "conflict"
        );
    }

    #[test]
    fn lock_contention_is_503_busy_without_driver_detail() {
        let errors = [
            Error::LockTimeout {
                source: DatabaseError::new("database is locked"),
            },
            Error::LockNotAvailable {
                source: DatabaseError::new("could not obtain lock on row in relation \"books\""),
            },
            Error::Deadlock {
                source: DatabaseError::new("deadlock detected: process 4711 waits for ShareLock"),
            },
            Error::SerializationFailure {
                source: DatabaseError::new("could not serialize access due to concurrent update"),
            },
        ];
        for error in errors {
            let detail = error.database_error().unwrap().message().to_owned();
            let error = HttpError::from(error);
            assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE, "{error}");
            assert_eq!(error.code(), "busy", "{error}");
            let message = error.public_message();
            assert_eq!(message, BUSY);
            assert!(!message.contains(&detail), "{message}");
            let response = error.into_response();
            assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        }
    }

    /// The level, target and `error` field of every event.
    #[derive(Clone, Default)]
    struct Events(Arc<Mutex<Vec<(Level, String, String)>>>);

    struct ErrorField(String);

    impl Visit for ErrorField {
        fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
            if field.name() == "error" {
                self.0 = format!("{value:?}");
            }
        }
    }

    impl Subscriber for Events {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &Attributes<'_>) -> Id {
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, event: &Event<'_>) {
            let mut field = ErrorField(String::new());
            event.record(&mut field);
            let meta = event.metadata();
            self.0
                .lock()
                .unwrap()
                .push((*meta.level(), meta.target().to_string(), field.0));
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }

    #[test]
    fn every_5xx_is_logged_at_error_level_with_the_full_error_and_4xx_at_debug() {
        for (error, status, code, _) in cases() {
            let full = error.to_string();
            let events = Events::default();
            tracing::subscriber::with_default(events.clone(), || {
                // A call site another test's thread registered while this subscriber was
                // being installed may have cached "nobody listens": recompute.
                tracing::callsite::rebuild_interest_cache();
                drop(HttpError::from(error).into_response());
            });
            let events = events.0.lock().unwrap();
            assert_eq!(events.len(), 1, "{code}: {events:?}");
            let (level, target, logged) = &events[0];
            let expected = if status >= 500 {
                Level::ERROR
            } else {
                Level::DEBUG
            };
            assert_eq!(*level, expected, "{code}");
            assert_eq!(target, "coherent_axum");
            assert_eq!(logged, &full, "{code}: the log has the driver detail");
        }
    }
}
