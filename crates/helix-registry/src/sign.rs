//! Signing a push or report with the agent's key, and checking one: the
//! signer recovered from the signature must be the agent the body names,
//! and the body must be recent.

use alloy::primitives::{Address, B256, Signature};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;

use crate::wire::{Signable, Signed};

/// How far (ms) a body's `issued_at` may be from the registry's clock.
/// Nonces are kept at least this long, so a replay inside the window is
/// caught by its nonce and one outside by its age.
pub const MAX_SKEW_MS: i64 = 5 * 60 * 1000;

/// Why a signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// Not a 65-byte secp256k1 signature.
    #[error("the signature is not a 65-byte secp256k1 signature")]
    Malformed,
    /// Signed by someone other than the agent named in the body.
    #[error("signed by {signer}, not by the agent {agent} the body names")]
    WrongSigner {
        /// Recovered signer.
        signer: Address,
        /// Named agent.
        agent: Address,
    },
    /// Too old or from the future.
    #[error("issued at {issued_at}, more than {MAX_SKEW_MS} ms from the registry's clock ({now})")]
    Stale {
        /// The body's time.
        issued_at: i64,
        /// The registry's.
        now: i64,
    },
    /// The key could not sign.
    #[error("signing failed: {0}")]
    Signer(String),
}

/// Signs `body` with `key` (EIP-191 personal message over
/// [`Signable::message`]).
pub fn sign<T: Signable>(body: T, key: &PrivateKeySigner) -> Result<Signed<T>, SignatureError> {
    let sig = key
        .sign_message_sync(body.message().as_bytes())
        .map_err(|e| SignatureError::Signer(e.to_string()))?;
    Ok(Signed {
        body,
        signature: sig.as_bytes().to_vec().into(),
    })
}

/// Checks the signature and the age; returns the agent.
pub fn verify<T: Signable>(s: &Signed<T>, now: i64) -> Result<Address, SignatureError> {
    let sig = Signature::try_from(s.signature.as_ref()).map_err(|_| SignatureError::Malformed)?;
    let signer = sig
        .recover_address_from_msg(s.body.message().as_bytes())
        .map_err(|_| SignatureError::Malformed)?;
    let agent = s.body.agent();
    if signer != agent {
        return Err(SignatureError::WrongSigner { signer, agent });
    }
    let issued_at = s.body.issued_at();
    if (issued_at - now).abs() > MAX_SKEW_MS {
        return Err(SignatureError::Stale { issued_at, now });
    }
    Ok(agent)
}

/// A fresh random nonce.
pub fn nonce() -> B256 {
    B256::from(rand::random::<[u8; 32]>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{GeneId, ReportBody};

    fn report(agent: Address, at: i64) -> ReportBody {
        ReportBody {
            gene: GeneId(B256::repeat_byte(7)),
            failures: 1,
            agent,
            nonce: nonce(),
            issued_at: at,
        }
    }

    #[test]
    fn a_signature_verifies_only_for_its_signer_and_body() {
        let key = PrivateKeySigner::random();
        let other = PrivateKeySigner::random();
        let signed = sign(report(key.address(), 1_000), &key).unwrap();
        assert_eq!(verify(&signed, 1_000), Ok(key.address()));

        let mut named_other = signed.clone();
        named_other.body.agent = other.address();
        assert!(matches!(
            verify(&named_other, 1_000),
            Err(SignatureError::WrongSigner { .. })
        ));

        let mut altered = signed.clone();
        altered.body.failures = 2;
        assert!(matches!(
            verify(&altered, 1_000),
            Err(SignatureError::WrongSigner { .. })
        ));

        let forged = sign(report(key.address(), 1_000), &other).unwrap();
        assert!(matches!(
            verify(&forged, 1_000),
            Err(SignatureError::WrongSigner { .. })
        ));

        let mut short = signed.clone();
        short.signature = vec![1u8; 10].into();
        assert_eq!(verify(&short, 1_000), Err(SignatureError::Malformed));
    }

    #[test]
    fn old_and_future_bodies_are_refused() {
        let key = PrivateKeySigner::random();
        let signed = sign(report(key.address(), 0), &key).unwrap();
        assert!(verify(&signed, MAX_SKEW_MS).is_ok());
        assert!(matches!(
            verify(&signed, MAX_SKEW_MS + 1),
            Err(SignatureError::Stale { .. })
        ));
        assert!(matches!(
            verify(&signed, -MAX_SKEW_MS - 1),
            Err(SignatureError::Stale { .. })
        ));
    }
}
