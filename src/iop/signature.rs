//! IOP webhook signatures: `IOP-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]`, where each
//! `v1` is the HMAC-SHA256 of `"<t>." + raw body` under one active secret (several during a
//! rotation). Receivers accept any matching `v1` and refuse a `t` outside the replay window.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// How far `t` may be from the receiver's clock, in seconds (the contract's replay window).
pub const REPLAY_WINDOW_SECS: i64 = 300;

/// Why an IOP webhook was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the IOP-Signature header is missing")]
    Missing,
    #[error("the IOP-Signature header is not `t=<seconds>,v1=<hex>`")]
    Malformed,
    #[error("the signature timestamp is {age_secs} s away from now, outside the replay window")]
    Stale { age_secs: i64 },
    #[error("no v1 signature matches the body")]
    Mismatch,
}

/// The `IOP-Signature` header for `body` sent at unix time `t`, one `v1` per secret.
pub fn header(secrets: &[String], t: i64, body: &[u8]) -> String {
    let mut header = format!("t={t}");
    for secret in secrets {
        header.push_str(",v1=");
        header.push_str(&hex::encode(mac(secret, t, body).finalize().into_bytes()));
    }
    header
}

/// Verifies `header` for `body` at unix time `now`.
pub fn verify(
    secrets: &[String],
    header: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut t = None;
    let mut digests = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => {
                t = Some(value.parse::<i64>().map_err(|_| SignatureError::Malformed)?)
            }
            Some(("v1", value)) => {
                digests.push(hex::decode(value).map_err(|_| SignatureError::Malformed)?)
            }
            // Unknown schemes (a future v2) are ignored, as Stripe-style receivers do.
            Some(_) => {}
            None => return Err(SignatureError::Malformed),
        }
    }
    let t = t.ok_or(SignatureError::Malformed)?;
    if digests.is_empty() {
        return Err(SignatureError::Malformed);
    }
    // Saturating: a `t` near i64::MIN or i64::MAX (sent by anyone, no secret needed) must
    // neither panic nor wrap back inside the window.
    let age_secs = now.saturating_sub(t);
    if age_secs.saturating_abs() > REPLAY_WINDOW_SECS {
        return Err(SignatureError::Stale { age_secs });
    }

    let matches = secrets
        .iter()
        .any(|secret| digests.iter().any(|d| mac(secret, t, body).verify_slice(d).is_ok()));
    if matches { Ok(()) } else { Err(SignatureError::Mismatch) }
}

fn mac(secret: &str, t: i64, body: &[u8]) -> HmacSha256 {
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_773_151_200;

    #[test]
    fn round_trip_window_and_rotation() {
        let body = br#"{"id":"evt_1"}"#;
        let signed = header(&["whsec_a".into()], T, body);
        assert_eq!(verify(&["whsec_a".into()], Some(&signed), body, T + 10), Ok(()));
        assert_eq!(
            verify(&["whsec_b".into()], Some(&signed), body, T),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&["whsec_a".into()], Some(&signed), body, T + 301),
            Err(SignatureError::Stale { age_secs: 301 })
        );

        let rotated = header(&["old".into(), "new".into()], T, body);
        assert_eq!(rotated.matches("v1=").count(), 2);
        assert_eq!(verify(&["new".into()], Some(&rotated), body, T), Ok(()));
        assert_eq!(verify(&["old".into()], Some(&rotated), body, T), Ok(()));
    }

    #[test]
    fn timestamps_at_the_ends_of_i64_are_stale_not_a_panic_or_a_wrap() {
        let body = br#"{"id":"evt_min"}"#;
        let secrets = ["whsec_a".to_owned()];
        // No secret needed to send this one: it must be refused, not crash the handler.
        assert_eq!(
            verify(&secrets, Some("t=-9223372036854775808,v1=00"), body, T),
            Err(SignatureError::Stale { age_secs: i64::MAX })
        );
        // Signed with the secret, `now - 2^63` would wrap to i64::MIN, whose abs() is negative.
        for t in [T.wrapping_sub(i64::MIN), i64::MIN, i64::MAX, T - 301, T + 301] {
            let signed = header(&secrets, t, body);
            assert!(
                matches!(
                    verify(&secrets, Some(&signed), body, T),
                    Err(SignatureError::Stale { .. })
                ),
                "t = {t} passed the replay window"
            );
        }
    }

    #[test]
    fn malformed_headers_are_named() {
        assert_eq!(verify(&[], None, b"", T), Err(SignatureError::Missing));
        assert_eq!(verify(&["s".into()], Some("garbage"), b"", T), Err(SignatureError::Malformed));
        assert_eq!(
            verify(&["s".into()], Some("t=abc,v1=00"), b"", T),
            Err(SignatureError::Malformed)
        );
        assert_eq!(verify(&["s".into()], Some("t=1"), b"", 1), Err(SignatureError::Malformed));
    }
}
