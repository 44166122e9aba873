//! `/v1/auth/*` and the JWKS: accounts, sign-in, token refresh, sign-out, email verification
//! and password reset. Unknown emails and wrong passwords take the same path and answer the
//! same 401; password-reset requests answer 202 whether or not the account exists.
//! This module only names the handlers for the route table; it holds no logic of its own.

mod login;
mod passkey;
mod reset;
mod reset_confirm;
mod restore;
mod second_factor;
mod session;
mod signup;
mod tokens;
mod verify;

pub(super) use login::login;
pub(super) use passkey::{
    options as passkey_options, step_up as passkey_step_up,
    step_up_options as passkey_step_up_options, verify as passkey_verify,
};
pub(super) use reset::password_reset;
pub(super) use reset_confirm::confirm as password_reset_confirm;
pub(super) use restore::restore as account_restore;
pub(super) use second_factor::{complete as mfa_complete, factor, step_up, token_body};
pub(super) use session::{exchange as session_exchange, get as session_get};
pub(super) use signup::signup;
pub(super) use tokens::{jwks, logout, refresh};
pub(super) use verify::{invalid_token, verify_email};
