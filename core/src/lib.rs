//! The decisions of the edge API, free of any runtime: problems (the one error model),
//! routing, CORS, request ids, ids, body parsing rules, signatures, configuration and the job
//! state machine. Nothing here imports `worker`, so all of it is unit-tested natively.

pub mod account;
pub mod account_export;
pub mod audit;
pub mod caller;
pub mod config;
pub mod cookies;
pub mod cors;
pub mod documents;
pub mod drain;
pub mod email_change;
pub mod encoding;
pub mod events;
pub mod files;
pub mod generations;
pub mod idempotency;
pub mod ids;
pub mod jobs;
pub mod json;
pub mod limits;
pub mod mfa;
pub mod openapi;
pub mod origin_signing;
pub mod outbound;
pub mod pagination;
pub mod password;
pub mod policy;
pub mod problem;
pub mod purge;
pub mod pwned;
pub mod request_id;
pub mod rooms;
pub mod router;
pub mod sealed;
pub mod signature;
pub mod sql;
pub mod stripe_order;
pub mod tenancy;
pub mod thresholds;
pub mod tokens;
pub mod validate;
pub mod webauthn;
pub mod webhook_target;
pub mod webhooks;

pub use problem::{ApiError, FieldError};
