//! `ROOM`: one object per (organization, room) (`id_from_name("{org_id}/{room}")`), holding the
//! room's WebSockets (hibernation API) and its message history in SQLite storage.

use crate::internal;
use worker::{durable_object, wasm_bindgen, DurableObject, Env, Request, Response, Result, State};

#[durable_object]
pub struct Room {
    state: State,
    #[allow(dead_code)]
    env: Env,
}

impl DurableObject for Room {
    fn new(state: State, env: Env) -> Self {
        Self { state, env }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        let sql = self.state.storage().sql();
        match internal::shared_routes(&req, &sql) {
            Some(resp) => resp,
            None => Response::error("not found", 404),
        }
    }
}
