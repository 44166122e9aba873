//! Documents: CRUD with versions written in the same batch as each change, soft delete and
//! restore, sharing, conditional requests (strong ETags, `If-Match` → 412, `If-None-Match` →
//! 304), cursor pagination and full-text search, the monthly documents quota on create, and
//! `document.updated` / `document.deleted` published to the room `doc:{id}`.
//! This module only names the handlers for the route table; it holds no logic of its own.

mod crud;
mod listing;
pub(super) mod row;
mod shares;
mod versions;

pub(super) use crud::{create, delete, get, patch, restore};
pub(super) use listing::list;
pub(super) use shares::{share, shares, unshare};
pub(super) use versions::{version, versions};
