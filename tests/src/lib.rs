//! Black-box test harness for the edge API: the real worker under `wrangler dev --local` with
//! fresh state and fresh secrets ([`Worker`]), a scriptable loopback stand-in for the
//! customer's backend ([`Origin`]), and typed HTTP helpers ([`Api`], [`Reply`], [`Problem`]).
//!
//! Every child process runs in its own process group and is killed with it, also when a test
//! panics. Tests never share data: each makes its own random keys, ids and emails ([`random`]).

pub mod chromium;
pub mod client;
pub mod credentials;
pub mod d1;
pub mod llm;
pub mod manifest;
pub mod origin;
pub mod ports;
pub mod problem;
pub mod process;
pub mod project;
pub mod random;
pub mod secrets;
pub mod shape;
pub mod signature;
pub mod stripe_lib;
pub mod wait;
pub mod worker;
pub mod ws;

pub use client::{Api, Reply, SendExt};
pub use origin::{Answer, Origin, Recorded};
pub use problem::{FieldError, Problem};
pub use reqwest::{self, Method};
pub use wait::eventually;
pub use worker::{Worker, WorkerOptions};
