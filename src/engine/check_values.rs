//! `engine check` for single values the engine cannot run with, or would run wrongly with: an
//! address it cannot listen on, zero where at least one is needed (attempts, intervals,
//! durations), a backoff whose first delay passes its cap, a time zone the tz database does not
//! have, an e-mail type Greenhouse does not use. `engine serve` refuses the same file at start
//! with the same words (both go through [`super::check::semantic_problems`]).

use super::check::{Problem, Sink, closest};
use super::config::EngineConfig;

/// The longest any `*_secs` setting may be: ten years. Past that a delay means "never", and
/// far past it the engine's time arithmetic would leave chrono's range.
pub(crate) const MAX_SECS: u64 = 10 * 365 * 86_400;

/// The e-mail types Greenhouse gives candidates' addresses (and the IOP keeps).
pub(crate) const EMAIL_TYPES: &[&str] = &["personal", "work", "other"];

impl Sink<'_> {
    fn at_most_ten_years(&mut self, table: &str, key: &str, value: u64) {
        if value > MAX_SECS {
            let message = format!("{value} s is more than ten years ({MAX_SECS} s)");
            self.push(table, key, message, None);
        }
    }

    /// `value` must be at least 1 (`unit` says of what).
    fn at_least_one(&mut self, table: &str, key: &str, value: u64, unit: &str) {
        if value == 0 {
            self.push(table, key, format!("is 0; it must be at least 1 {unit}"), None);
        }
    }
}

pub(crate) fn value_problems(config: &EngineConfig, text: &str, file: &str) -> Vec<Problem> {
    let mut sink = Sink { text, file, problems: Vec::new() };

    let service = &config.service;
    if !is_listen_address(&service.listen) {
        sink.push(
            "service",
            "listen",
            format!("`{}` is not an address to listen on", service.listen),
            Some("write it as host:port, e.g. `127.0.0.1:8090`".into()),
        );
    }
    sink.at_least_one("service", "max_body_bytes", service.max_body_bytes as u64, "byte");
    sink.at_least_one("service", "poll_interval_secs", service.poll_interval_secs, "second");

    let retry = &config.retry;
    sink.at_least_one("retry", "max_attempts", u64::from(retry.max_attempts), "attempt");
    sink.at_least_one("retry", "base_delay_secs", retry.base_delay_secs, "second");
    sink.at_least_one("retry", "max_delay_secs", retry.max_delay_secs, "second");
    if retry.max_delay_secs > 0 && retry.base_delay_secs > retry.max_delay_secs {
        sink.push(
            "retry",
            "base_delay_secs",
            format!(
                "{} s is more than max_delay_secs ({} s), the cap of every delay",
                retry.base_delay_secs, retry.max_delay_secs
            ),
            Some("make base_delay_secs at most max_delay_secs".into()),
        );
    }

    sink.at_least_one("reconcile", "interval_secs", config.reconcile.interval_secs, "second");
    for (table, key, secs) in [
        ("service", "poll_interval_secs", service.poll_interval_secs),
        ("retry", "base_delay_secs", retry.base_delay_secs),
        ("retry", "max_delay_secs", retry.max_delay_secs),
        ("retry", "max_read_lag_secs", retry.max_read_lag_secs),
        ("reconcile", "interval_secs", config.reconcile.interval_secs),
        ("reconcile", "initial_lookback_secs", config.reconcile.initial_lookback_secs),
    ] {
        sink.at_most_ten_years(table, key, secs);
    }

    let mapping = &config.mapping;
    if !crate::timezone::is_iana_zone(&mapping.default_timezone) {
        let names = chrono_tz::TZ_VARIANTS.iter().map(|zone| zone.name());
        sink.push(
            "mapping",
            "default_timezone",
            format!("`{}` is not an IANA time zone", mapping.default_timezone),
            Some(match closest(&mapping.default_timezone, names) {
                Some(best) => format!("did you mean `{best}`?"),
                None => "write a tz database name, e.g. `UTC` or `Europe/Madrid`".into(),
            }),
        );
    }
    sink.at_least_one(
        "mapping",
        "default_duration_minutes",
        u64::from(mapping.default_duration_minutes),
        "minute",
    );
    for kind in &mapping.email_type_preference {
        if !EMAIL_TYPES.contains(&kind.as_str()) {
            sink.push(
                "mapping",
                "email_type_preference",
                format!("`{kind}` is not a Greenhouse e-mail type"),
                Some(format!("use {}", EMAIL_TYPES.join(", "))),
            );
        }
    }
    sink.problems
}

/// `host:port` with a port number and a host that is an IP address (IPv6 in brackets) or a
/// host name, as the listener binds it.
fn is_listen_address(listen: &str) -> bool {
    if listen.parse::<std::net::SocketAddr>().is_ok() {
        return true;
    }
    let Some((host, port)) = listen.rsplit_once(':') else { return false };
    let name_ok = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    name_ok && port.parse::<u16>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses_need_a_host_and_a_port() {
        for good in ["127.0.0.1:8090", "[::1]:0", "localhost:8090", "engine.internal:80"] {
            assert!(is_listen_address(good), "{good}");
        }
        for bad in ["not-an-address", "127.0.0.1", ":8090", "localhost:http", "a b:80", "h:70000"] {
            assert!(!is_listen_address(bad), "{bad}");
        }
    }
}
