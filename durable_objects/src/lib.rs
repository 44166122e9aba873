//! The Durable Object classes of the edge API. Each is exported to the runtime through
//! `#[durable_object]` and re-exported by the worker crate (`src/lib.rs`), because a class the
//! final wasm does not export silently disappears from the deployment.
//!
//! - [`Tenant`]: one instance per organization; per-tenant state that must be exact.
//! - [`Room`]: one instance per (organization, room); realtime WebSocket rooms.

mod internal;
mod room;
mod tenant;

pub use room::Room;
pub use tenant::Tenant;
