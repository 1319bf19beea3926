//! One answer to "is this an IANA time zone?", shared by the engine (its config, its mapping)
//! and the mocks: the name must be in the tz database that `chrono-tz` carries (`UTC`,
//! `Europe/Madrid`, `America/Argentina/Salta`, `Etc/GMT+3`), spelt exactly as there.

use chrono_tz::Tz;

/// The zone `name` names, if the tz database has it. Surrounding blanks are ignored; case is
/// not (`europe/madrid` is not a zone name).
pub fn zone(name: &str) -> Option<Tz> {
    name.trim().parse().ok()
}

/// Whether `name` is an IANA zone name (see [`zone`]).
pub fn is_iana_zone(name: &str) -> bool {
    zone(name).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_zones_only() {
        for name in ["UTC", "Europe/Madrid", " America/Argentina/Salta ", "Etc/GMT+3"] {
            assert!(is_iana_zone(name), "{name}");
        }
        for name in ["Mars/Olympus", "Europe/Madird", "europe/madrid", "", "GMT+25", "CEST"] {
            assert!(!is_iana_zone(name), "{name}");
        }
    }
}
