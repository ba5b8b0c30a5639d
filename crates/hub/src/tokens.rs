//! Tokens: `kyj_<public id>_<secret>`. The store keeps the public id and the
//! SHA-256 of the secret; the secret is shown once, at creation.

use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const PREFIX: &str = "kyj_";

/// A freshly minted token: what to store, and the full token to hand out once.
pub struct MintedToken {
    pub public_id: String,
    pub secret_hash: [u8; 32],
    pub token: String,
}

pub fn mint() -> MintedToken {
    let mut rng = rand::rngs::OsRng;
    let mut id = [0u8; 8];
    let mut secret = [0u8; 32];
    rng.fill_bytes(&mut id);
    rng.fill_bytes(&mut secret);
    let public_id = hex::encode(id);
    let secret_hex = hex::encode(secret);
    MintedToken {
        secret_hash: hash_secret(&secret_hex),
        token: format!("{PREFIX}{public_id}_{secret_hex}"),
        public_id,
    }
}

/// 32 random bytes in hex: session ids, CSRF tokens.
pub fn random_hex() -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

pub fn hash_secret(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Splits a presented token into (public id, secret), or None if it is not one of ours.
pub fn parse(token: &str) -> Option<(&str, &str)> {
    let rest = token.strip_prefix(PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let hexish = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
    (hexish(id, 16) && hexish(secret, 64)).then_some((id, secret))
}

/// Constant-time comparison of a presented secret with the stored hash.
pub fn secret_matches(secret: &str, stored_hash: &[u8; 32]) -> bool {
    bool::from(hash_secret(secret).ct_eq(stored_hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_parse_and_verify() {
        let t = mint();
        let (id, secret) = parse(&t.token).unwrap();
        assert_eq!(id, t.public_id);
        assert!(secret_matches(secret, &t.secret_hash));
        assert!(!secret_matches(
            &secret.replace('a', "b").replace('0', "1"),
            &t.secret_hash
        ));
        assert_ne!(mint().token, t.token);
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "kyj_",
            "kyj_abc_def",
            "Bearer x",
            &format!("kyj_{}_{}", "g".repeat(16), "0".repeat(64)),
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }
}
