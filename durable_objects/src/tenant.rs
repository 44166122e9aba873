//! `TENANT`: one object per organization (`id_from_name(org_id)`), single-threaded, so its
//! counters are exact without locks. Later capabilities keep limits, quotas and usage here.

use crate::internal;
use worker::{durable_object, wasm_bindgen, DurableObject, Env, Request, Response, Result, State};

#[durable_object]
pub struct Tenant {
    state: State,
    #[allow(dead_code)]
    env: Env,
}

impl DurableObject for Tenant {
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
