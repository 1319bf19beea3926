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

    const VECTOR_SECRET: &str = "rehearsal-vector-secret";

    /// A third party can check these with any HMAC tool; the hex values were computed with
    /// OpenSSL 3.0 on the exact bytes, not with this code:
    /// `printf '%s' '<body>' | openssl dgst -sha256 -hmac rehearsal-vector-secret`.
    /// The body is the wire form of `{"action":"note","payload":{"body":"<p>José & Zoë</p>"}}`:
    /// `<`, `>`, `&` and non-ASCII escaped, so the HMAC covers the escapes, not the characters.
    #[test]
    fn vector_with_html_and_non_ascii_as_escaped_on_the_wire() {
        let wire = r#"{"action":"note","payload":{"body":"\u003cp\u003eJos\u00e9 \u0026 Zo\u00eb\u003c/p\u003e"}}"#;
        let value = serde_json::json!({"action": "note", "payload": {"body": "<p>José & Zoë</p>"}});
        assert_eq!(
            greenhouse_json(&value),
            wire.as_bytes(),
            "we put exactly these bytes on the wire"
        );
        let expected = "sha256 ea3150586ff4e610f7a04ae4dd31cd123787391155a6f6fa6d23a38b22e36f20";
        assert_eq!(sign(VECTOR_SECRET, wire.as_bytes()), expected);
        assert_eq!(verify(&[VECTOR_SECRET.into()], Some(expected), wire.as_bytes()), Ok(()));
    }

    /// Signatures whose hex starts with a character of "sha256" (`a`, `2`, `5`, `6`): a
    /// receiver that strips the prefix as a character set (Python's `lstrip("sha256 ")`, Rust's
    /// `trim_start_matches` with a char slice) eats the first hex digit and rejects these.
    /// Bodies `{"action":"ping","payload":{"n":N}}` were searched with a counter N for the
    /// first hex of each kind; values from `openssl dgst -sha256 -hmac` as above.
    #[test]
    fn vectors_whose_hex_starts_with_a_prefix_character() {
        let cases = [
            (4, "6a44e0c2bc5c3216e25d4752dfa3f2415b16d55c898f7047fe5bd91b087f324f"),
            (14, "287fc4a293ebae7f9ff401e17ac6f85903d096a77dc304278109667ddfbecb40"),
            (16, "aa003f108afc7faadba3becd37f618c19f11952076400f6f3a52737f0ea5161e"),
            (53, "5e66967970a513cf23a6b0a8b0ad1bd5b4920b81f5245d883a4c3747c27c2d30"),
        ];
        for (n, hex) in cases {
            let body = format!(r#"{{"action":"ping","payload":{{"n":{n}}}}}"#);
            let header = format!("sha256 {hex}");
            assert_eq!(sign(VECTOR_SECRET, body.as_bytes()), header, "n = {n}");
            assert_eq!(verify(&[VECTOR_SECRET.into()], Some(&header), body.as_bytes()), Ok(()));
        }
        // The naive strip really does break on them, which is what the vectors are for.
        let stripped = "sha256 6a44e0c2".trim_start_matches(['s', 'h', 'a', '2', '5', '6', ' ']);
        assert_eq!(stripped, "44e0c2");
    }
}
