//! What can go wrong in the hub, in the hub's own words. Each edge (REST,
//! TAXII, the web UI, the CLI) maps these once to its own status and text;
//! nothing here knows about HTTP.

use kyojo_store::StoreError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HubError {
    /// The input is wrong at `field`, and `message` says how.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// No valid credential was presented.
    #[error("{0}")]
    Unauthenticated(String),
    /// The viewer is known but may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// `what` does not exist (or the viewer may not know that it does).
    #[error("{what} not found")]
    NotFound { what: String, field: Option<String> },
    /// The write collides with what is stored (`what` says with what).
    #[error("{message}")]
    Conflict { what: Conflict, message: String },
    /// An input is larger than the hub takes.
    #[error("{0}")]
    TooLarge(String),
    /// A budget (blocks per hour) is spent; retrying later helps.
    #[error("{0}")]
    LimitReached(String),
    /// Something failed inside; the cause went to the log, never to the caller.
    #[error("internal error; the operator's log has details")]
    Internal,
}

/// What a write collided with, so that each edge can word it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    /// An organization with that name is a member already.
    OrgName,
    /// The feed change guard holds nothing to confirm.
    NothingHeld,
    /// Another stored record (a unique value, an idempotency key in use).
    Stored,
}

impl HubError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        HubError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        HubError::Unauthenticated(message.into())
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        HubError::Forbidden(message.into())
    }

    pub fn not_found(what: &str) -> Self {
        HubError::NotFound {
            what: what.to_string(),
            field: None,
        }
    }

    pub fn conflict(what: Conflict, message: impl Into<String>) -> Self {
        HubError::Conflict {
            what,
            message: message.into(),
        }
    }

    pub fn too_large(message: impl Into<String>) -> Self {
        HubError::TooLarge(message.into())
    }

    pub fn too_many(message: impl Into<String>) -> Self {
        HubError::LimitReached(message.into())
    }

    /// Logs `cause` and returns the opaque internal error.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        HubError::Internal
    }

    /// Names the input field a not-found or invalid error is about.
    pub fn with_field(self, field: impl Into<String>) -> Self {
        match self {
            HubError::NotFound { what, .. } => HubError::NotFound {
                what,
                field: Some(field.into()),
            },
            HubError::Invalid { message, .. } => HubError::Invalid {
                field: field.into(),
                message,
            },
            other => other,
        }
    }

    /// The input field the error names, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            HubError::Invalid { field, .. } => Some(field),
            HubError::NotFound { field, .. } => field.as_deref(),
            _ => None,
        }
    }

    /// The problem in words, without the field.
    pub fn message(&self) -> String {
        match self {
            HubError::Invalid { message, .. } => message.clone(),
            other => other.to_string(),
        }
    }

    /// A refusal about the request itself (not the hub failing).
    pub fn is_client_error(&self) -> bool {
        !matches!(self, HubError::Internal)
    }
}

impl From<StoreError> for HubError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => HubError::conflict(Conflict::Stored, m),
            StoreError::NotFound(what) => HubError::not_found(&what),
            other => HubError::internal(other),
        }
    }
}

/// A draft's first problem (the API names one field at a time).
impl From<kyojo_core::draft::Problems> for HubError {
    fn from(p: kyojo_core::draft::Problems) -> Self {
        match p.first() {
            Some((field, problem)) => HubError::invalid(
                field.clone(),
                kyojo_core::draft::Problems::message(field, problem),
            ),
            None => HubError::invalid("report", "the report is not valid"),
        }
    }
}

pub type HubResult<T> = Result<T, HubError>;
