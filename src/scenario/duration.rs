//! Durations as scenarios write them: `90s`, `30m`, `72h`, `2d`, `1h30m`.

use chrono::Duration;

/// Parses a duration; the error says what a duration looks like.
pub fn parse(text: &str) -> Result<Duration, String> {
    let bad =
        || format!("`{text}` is not a duration; write e.g. `90s`, `30m`, `72h`, `2d` or `1h30m`");
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.is_empty() {
        return Err(bad());
    }
    let mut total = Duration::zero();
    let mut digits = String::new();
    for ch in compact.chars() {
        if ch.is_ascii_digit() {
            digits.push(ch);
            continue;
        }
        let amount: i64 = digits.parse().map_err(|_| bad())?;
        digits.clear();
        let part = match ch {
            's' => Duration::try_seconds(amount),
            'm' => Duration::try_minutes(amount),
            'h' => Duration::try_hours(amount),
            'd' => Duration::try_days(amount),
            _ => None,
        };
        total = total.checked_add(&part.ok_or_else(bad)?).ok_or_else(bad)?;
    }
    if !digits.is_empty() {
        return Err(bad());
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_combinations() {
        assert_eq!(parse("72h"), Ok(Duration::hours(72)));
        assert_eq!(parse("1h30m"), Ok(Duration::minutes(90)));
        assert_eq!(parse("2d 4h"), Ok(Duration::hours(52)));
        assert_eq!(parse("90s"), Ok(Duration::seconds(90)));
    }

    #[test]
    fn refuses_what_is_not_a_duration() {
        for bad in ["", "72", "h", "3 weeks", "1.5h", "-1h"] {
            assert!(parse(bad).is_err(), "{bad} parsed");
        }
    }
}
