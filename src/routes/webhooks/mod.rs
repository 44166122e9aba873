//! Customer webhooks: the endpoints (`endpoints`) and what happened and was sent
//! (`activity`: the event list, the attempt log, replay, test events).

mod activity;
mod endpoints;

pub use activity::{list_attempts, list_events, replay, test};
pub use endpoints::{create, delete, get, list, patch, rotate};
