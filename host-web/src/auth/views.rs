//! The JSON of the login and API-key routes: host-web's own (the desktop has no login), typed so that the OpenAPI
//! document is generated from them.

use serde::{Deserialize, Serialize};

use super::keys::StoredKey;

/// A login.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

/// The answer to a login or a logout.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Done {
    pub ok: bool,
}

/// Whether a login is needed and whether this request has a session.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Session {
    pub login_required: bool,
    pub authenticated: bool,
}

/// A new API key's name (`API key` when empty).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct NewApiKey {
    #[serde(default)]
    pub name: String,
}

/// An API key as listed: never the key, nor its hash.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    /// Unix seconds.
    pub created: i64,
    /// The key's first characters, so the user can tell keys apart.
    pub prefix: String,
    /// The key itself, only in the answer to its creation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl ApiKey {
    pub fn of(stored: &StoredKey, key: Option<String>) -> Self {
        ApiKey {
            id: stored.id.clone(),
            name: stored.name.clone(),
            created: stored.created,
            prefix: stored.prefix.clone(),
            key,
        }
    }
}
