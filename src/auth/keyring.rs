//! The JWT key ring, parsed once per isolate, and a cache of verified access tokens: the same
//! token arrives on every request of a client, and signature verification is the most
//! expensive pure-CPU step of a request. The cache only skips re-verifying the signature;
//! expiry is re-checked, and session revocation is checked in D1 on every request anyway.

use crate::platform;
use edge_core::config::Config;
use edge_core::signature::sha256;
use edge_core::tokens::{AccessClaims, KeyRing, TokenError};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

const CACHE_CAPACITY: usize = 1024;

thread_local! {
    static RING: RefCell<Option<Rc<KeyRing>>> = const { RefCell::new(None) };
    static VERIFIED: RefCell<HashMap<[u8; 32], (AccessClaims, i64)>> = RefCell::new(HashMap::new());
}

pub fn get(config: &Config) -> Result<Rc<KeyRing>, String> {
    if let Some(r) = RING.with(|r| r.borrow().clone()) {
        return Ok(r);
    }
    let ring = Rc::new(KeyRing::parse(
        config.jwt_signing_keys.expose(),
        &config.jwt_issuer,
        &config.jwt_audience,
    )?);
    RING.with(|r| *r.borrow_mut() = Some(ring.clone()));
    Ok(ring)
}

/// Verifies `token`, from the cache when this isolate has verified it before.
pub fn verify_cached(ring: &KeyRing, token: &str) -> Result<AccessClaims, TokenError> {
    let key = sha256(token.as_bytes());
    let now_ms = platform::now_ms();
    let leeway_ms = edge_core::tokens::LEEWAY_SECONDS * 1000;
    if let Some((claims, exp_ms)) = VERIFIED.with(|c| c.borrow().get(&key).cloned()) {
        if now_ms <= exp_ms + leeway_ms {
            return Ok(claims);
        }
        return Err(TokenError::Expired);
    }
    let (claims, exp) = ring.verify_access(token, platform::now())?;
    VERIFIED.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= CACHE_CAPACITY {
            c.retain(|_, (_, exp_ms)| *exp_ms + leeway_ms >= now_ms);
            if c.len() >= CACHE_CAPACITY {
                c.clear();
            }
        }
        c.insert(key, (claims.clone(), exp.timestamp_millis()));
    });
    Ok(claims)
}
