//! Greenhouse recruiting-webhook signatures.
//!
//! Greenhouse sends `Signature: sha256 <lowercase hex>`, the HMAC-SHA256 of the raw body bytes
//! keyed with the webhook's secret. The body is serialised with `<`, `>`, `&` and every
//! non-ASCII character escaped as `\uXXXX`, so a receiver must hash the bytes it received,
//! never a re-serialisation.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Why a Greenhouse webhook was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Signature header is missing")]
    Missing,
    #[error("the Signature header is not `sha256 <hex>`")]
    Malformed,
    #[error("the signature does not match the body")]
    Mismatch,
}

/// The `Signature` header value for `body`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    format!("sha256 {}", hex::encode(mac(secret, body).finalize().into_bytes()))
}

/// Checks `header` against `body` with each secret in turn (several during rotation).
pub fn verify(secrets: &[String], header: Option<&str>, body: &[u8]) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let hex_digest = header.strip_prefix("sha256 ").ok_or(SignatureError::Malformed)?;
    let digest = hex::decode(hex_digest.trim()).map_err(|_| SignatureError::Malformed)?;

    // verify_slice compares in constant time.
    let matches = secrets.iter().any(|secret| mac(secret, body).verify_slice(&digest).is_ok());
    if matches { Ok(()) } else { Err(SignatureError::Mismatch) }
}

fn mac(secret: &str, body: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(body);
    mac
}

/// Serialises `value` as Greenhouse puts webhook bodies on the wire: compact JSON with `<`,
/// `>`, `&` and non-ASCII characters as `\uXXXX` escapes (UTF-16, surrogate pairs above the
/// BMP).
pub fn greenhouse_json(value: &serde_json::Value) -> Vec<u8> {
    let compact = serde_json::to_string(value).unwrap_or_default();
    escape_like_greenhouse(&compact).into_bytes()
}

/// Escapes an already-serialised JSON text. Safe on the whole text: these characters can only
/// occur inside JSON strings.
pub fn escape_like_greenhouse(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for ch in json.chars() {
        if ch.is_ascii() && !matches!(ch, '<' | '>' | '&') {
            out.push(ch);
            continue;
        }
        let mut units = [0u16; 2];
        for unit in ch.encode_utf16(&mut units) {
            out.push_str(&format!("\\u{unit:04x}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_then_verify_round_trips_and_any_change_fails() {
        let body = br#"{"action":"ping"}"#;
        let header = sign("s3cret", body);
        assert!(header.starts_with("sha256 "));
        assert_eq!(verify(&["s3cret".into()], Some(&header), body), Ok(()));
        assert_eq!(verify(&["other".into()], Some(&header), body), Err(SignatureError::Mismatch));
        assert_eq!(
            verify(&["s3cret".into()], Some(&header), br#"{"action":"pinG"}"#),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(verify(&["s3cret".into()], None, body), Err(SignatureError::Missing));
        assert_eq!(
            verify(&["s3cret".into()], Some("md5 abc"), body),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn rotation_accepts_either_secret() {
        let header = sign("new", b"x");
        assert_eq!(verify(&["old".into(), "new".into()], Some(&header), b"x"), Ok(()));
    }

    #[test]
    fn escapes_html_and_non_ascii_like_greenhouse() {
        let value = serde_json::json!({"note": "<p>José & 🎉</p>"});
        let wire = String::from_utf8(greenhouse_json(&value)).unwrap();
        assert_eq!(wire, r#"{"note":"\u003cp\u003eJos\u00e9 \u0026 \ud83c\udf89\u003c/p\u003e"}"#);
        // The escaped text is still the same JSON value.
        let back: serde_json::Value = serde_json::from_str(&wire).unwrap();
        assert_eq!(back, value);
    }

    /// A vector a third party can check with any HMAC tool:
    /// `printf '%s' '{"action":"ping"}' | openssl dgst -sha256 -hmac secret`.
    #[test]
    fn known_vector() {
        assert_eq!(
            sign("secret", br#"{"action":"ping"}"#),
            "sha256 189d1d212deae0d85ff95d0f13aaa4d55573d4ff7ae5c8d50dde602ceefcec05"
        );
    }
}
