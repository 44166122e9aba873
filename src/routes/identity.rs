//! Rows shared by the identity routes.

use crate::db;
use crate::sql;
use edge_core::ApiError;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use worker::D1Database;

#[derive(Debug, Clone, Deserialize)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub email_verified: i64,
    pub created_at: String,
    /// Set while the account awaits its hard delete (`DELETE /v1/me`).
    #[serde(default)]
    pub deleted_at: Option<String>,
    /// When the sweep may remove it (unix s).
    #[serde(default)]
    pub purge_at: Option<i64>,
}

impl UserRow {
    /// The user as the API shows it: never the password hash.
    pub fn public(&self) -> Value {
        json!({
            "id": self.id,
            "email": self.email,
            "name": self.name,
            "email_verified": self.email_verified != 0,
            "created_at": self.created_at,
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrgBrief {
    pub id: String,
    pub name: String,
    pub role: String,
    pub plan: String,
    pub created_at: String,
}

/// The organizations of a user with their role, newest membership first.
pub async fn user_orgs(db: &D1Database, user_id: &str) -> Result<Vec<OrgBrief>, ApiError> {
    db::all(sql!(
        db,
        "SELECT o.id, o.name, m.role, o.plan, o.created_at FROM memberships m \
         JOIN organizations o ON o.id = m.org_id WHERE m.user_id = ?1 \
         ORDER BY m.created_at DESC, o.id DESC",
        user_id
    ))
    .await
}
