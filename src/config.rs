//! Reads the typed [`Config`] from the worker's vars and secrets, once per isolate.

use edge_core::config::{Config, ConfigError};
use std::cell::RefCell;
use std::rc::Rc;
use worker::Env;

thread_local! {
    static CACHED: RefCell<Option<Rc<Config>>> = const { RefCell::new(None) };
}

/// The configuration; vars and secrets do not change within an isolate, so it is parsed once.
pub fn load(env: &Env) -> Result<Rc<Config>, ConfigError> {
    if let Some(c) = CACHED.with(|c| c.borrow().clone()) {
        return Ok(c);
    }
    let config = Rc::new(Config::from_lookup(|name| lookup(env, name))?);
    CACHED.with(|c| *c.borrow_mut() = Some(config.clone()));
    Ok(config)
}

/// The configuration this isolate already loaded, if any (every request and every queue batch
/// loads it before anything else, so code deep in a write can read the limits without it
/// being passed down).
pub fn cached() -> Option<Rc<Config>> {
    CACHED.with(|c| c.borrow().clone())
}

/// A var or secret by name (locally, `.dev.vars` entries are plain vars).
pub fn lookup(env: &Env, name: &str) -> Option<String> {
    env.var(name)
        .map(|v| v.to_string())
        .or_else(|_| env.secret(name).map(|s| s.to_string()))
        .ok()
}
