//! What every handler is given: the request as parsed at the door ([`Caller`], route
//! parameters, query, headers), the bindings and configuration, and the state the pipeline
//! collects for the response (rate-limit headers, work running alongside the handler).
//! Shared by the pipeline, the services and the routes; it imports none of them.

use crate::door::{Caller, Head};
use edge_core::config::Config;
use edge_core::router;
use std::cell::RefCell;
use std::rc::Rc;
use worker::wasm_bindgen_futures;
use worker::{Context, Env};

pub struct Ctx {
    pub env: Env,
    pub ctx: Context,
    pub config: Rc<Config>,
    pub request_id: String,
    pub params: router::Params,
    /// Who is calling, as presented (nothing here is verified yet).
    pub caller: Caller,
    /// Method, path, query and headers of the request.
    pub head: Head,
    /// Rate-limit headers of the limits this request passed, added to the response.
    pub rate_headers: RefCell<Vec<(&'static str, String)>>,
    /// Work started for this request that runs alongside the handler and is finished before
    /// the response leaves (e.g. counting the request towards usage).
    pending: RefCell<Vec<futures_util::future::RemoteHandle<()>>>,
    /// Ids of the events this request committed (the outbox), announced on the queue once
    /// the response is out (`events::kick`).
    pub outbox: Rc<RefCell<Vec<String>>>,
}

impl Ctx {
    pub fn new(
        env: Env,
        ctx: Context,
        config: Rc<Config>,
        request_id: String,
        params: router::Params,
        caller: Caller,
        head: Head,
    ) -> Self {
        Ctx {
            env,
            ctx,
            config,
            request_id,
            params,
            caller,
            head,
            rate_headers: RefCell::default(),
            pending: RefCell::default(),
            outbox: Rc::default(),
        }
    }

    /// A path parameter the route pattern guarantees.
    pub fn param(&self, name: &str) -> &str {
        self.params.get(name).unwrap_or_default()
    }

    /// A query parameter (first occurrence), percent-decoded.
    pub fn query(&self, name: &str) -> Option<String> {
        self.head.query(name).map(str::to_owned)
    }

    /// A request header.
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.header(name)
    }

    /// Starts `work` now, concurrently with the rest of the request; it is awaited before the
    /// response is sent (or earlier, by [`Ctx::settle`]).
    pub fn alongside(&self, work: impl std::future::Future<Output = ()> + 'static) {
        use futures_util::FutureExt;
        let (task, handle) = work.remote_handle();
        wasm_bindgen_futures::spawn_local(task);
        self.pending.borrow_mut().push(handle);
    }

    /// Waits for the work started with [`Ctx::alongside`].
    pub async fn settle(&self) {
        let pending = std::mem::take(&mut *self.pending.borrow_mut());
        futures_util::future::join_all(pending).await;
    }
}
