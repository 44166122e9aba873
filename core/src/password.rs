//! Password hashing: Argon2id with OWASP's recommended parameters (m = 19 MiB, t = 2, p = 1),
//! stored as a PHC string so parameters can be raised later: a hash made with weaker
//! parameters verifies and reports `needs_rehash`, and the login path re-hashes it.
//! Argon2id runs in wasm within production Workers limits (no WebCrypto PBKDF2 cap applies).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// Memory cost in KiB (19 MiB).
pub const M_COST: u32 = 19 * 1024;
/// Iterations.
pub const T_COST: u32 = 2;
/// Parallelism.
pub const P_COST: u32 = 1;

pub const MIN_LEN: usize = 10;
pub const MAX_LEN: usize = 128;

fn hasher() -> Argon2<'static> {
    // The constants are valid Argon2 parameters; `Params::new` only rejects out-of-range ones.
    let params = Params::new(M_COST, T_COST, P_COST, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The PHC string of `password` with a 16-byte `salt` from a secure source.
pub fn hash(password: &str, salt: [u8; 16]) -> Result<String, String> {
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Whether `password` matches `phc`. A malformed hash never matches.
pub fn verify(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    // Verify with the parameters stored in the hash itself, whatever they are.
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// Whether a stored hash uses other than the current algorithm and parameters.
pub fn needs_rehash(phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return true;
    };
    let current = Params::try_from(&parsed)
        .ok()
        .map(|p| (p.m_cost(), p.t_cost(), p.p_cost()));
    parsed.algorithm.as_str() != "argon2id" || current != Some((M_COST, T_COST, P_COST))
}

/// A fixed hash to verify against when the account does not exist, so that an unknown email
/// costs the same time as a wrong password.
pub const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$ZWRnZS1hcGktZHVtbXk$\
    x2RbuT0mAVfaQ5nQnMXPG3sXwqMJM7sScuUPrjEw9Q8";

/// Password policy: 10 to 128 characters (Unicode scalar values), nothing else imposed, as
/// NIST SP 800-63B advises.
pub fn check_policy(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_LEN {
        Err(format!("must be at least {MIN_LEN} characters"))
    } else if n > MAX_LEN {
        Err(format!("must be at most {MAX_LEN} characters"))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_phc_argon2id_with_owasp_parameters() {
        let h = hash("correct horse battery", [1; 16]).unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify("correct horse battery", &h));
        assert!(!verify("correct horse batterz", &h));
        assert!(!needs_rehash(&h));
    }

    #[test]
    fn weaker_parameters_verify_but_need_rehash() {
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8, 1, 1, None).unwrap(),
        );
        let salt = SaltString::encode_b64(&[2; 16]).unwrap();
        let h = weak
            .hash_password(b"old password!", &salt)
            .unwrap()
            .to_string();
        assert!(verify("old password!", &h));
        assert!(needs_rehash(&h));
    }

    #[test]
    fn garbage_never_verifies() {
        assert!(!verify("x", "not a hash"));
        assert!(!verify("", ""));
        assert!(needs_rehash("nope"));
    }

    #[test]
    fn dummy_hash_is_well_formed_and_current() {
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
        assert!(!needs_rehash(DUMMY_HASH));
        assert!(!verify("anything at all", DUMMY_HASH));
    }

    #[test]
    fn policy_bounds() {
        assert!(check_policy("123456789").is_err());
        assert!(check_policy("1234567890").is_ok());
        assert!(check_policy(&"é".repeat(128)).is_ok());
        assert!(check_policy(&"a".repeat(129)).is_err());
    }
}
