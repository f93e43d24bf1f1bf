//! Employee codes (`Kuerzel`) as callers send them: checked, normalised, and turned into
//! lock keys.
//!
//! A code is trimmed and upper-cased (`sb ` → `SB`, `mü` → `MÜ`). What no employee code has
//! is refused before anything happens: empty, longer than [`MAX_LEN`] characters, or any
//! character but letters (umlauts included), digits, `-` and `_`. That keeps `:` and `*` out
//! of lock keys and `/` and `..` out of calendar file names.

use std::time::Duration;

/// The longest code accepted.
pub const MAX_LEN: usize = 20;

/// How long the lock of one employee's sync lives unless renewed.
pub const LOCK_TTL: Duration = Duration::from_secs(300);

/// What a caller asked for: everyone, or one employee.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    All,
    Employee(String),
}

/// Why a code was refused; the message is safe to show the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`kuerzel` {0}")]
pub struct InvalidKuerzel(&'static str);

/// Parses the `kuerzel` of a request: `ALL` in any case, or one employee code.
pub fn parse_target(raw: &str) -> Result<Target, InvalidKuerzel> {
    let code = normalise(raw)?;
    Ok(if code == "ALL" {
        Target::All
    } else {
        Target::Employee(code)
    })
}

/// Trims, checks and upper-cases one employee code.
pub fn normalise(raw: &str) -> Result<String, InvalidKuerzel> {
    let code = raw.trim();
    if code.is_empty() {
        return Err(InvalidKuerzel("is empty; send an employee code or `ALL`"));
    }
    if code.chars().count() > MAX_LEN {
        return Err(InvalidKuerzel(
            "is too long for an employee code (at most 20 characters)",
        ));
    }
    if !code
        .chars()
        .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
    {
        return Err(InvalidKuerzel(
            "may hold only letters, digits, `-` and `_` (no spaces, `:`, `*` or control characters)",
        ));
    }
    Ok(code.to_uppercase())
}

/// The lock key of one employee's sync: `calendar_sync:lock:<CODE>`.
pub fn lock_key(code: &str) -> String {
    format!("calendar_sync:lock:{code}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_trimmed_and_upper_cased() {
        assert_eq!(parse_target(" sb "), Ok(Target::Employee("SB".into())));
        assert_eq!(parse_target("mü"), Ok(Target::Employee("MÜ".into())));
        assert_eq!(parse_target("all"), Ok(Target::All));
        assert_eq!(parse_target("ALL"), Ok(Target::All));
        assert_eq!(parse_target("a-b_1"), Ok(Target::Employee("A-B_1".into())));
    }

    #[test]
    fn malformed_codes_are_refused() {
        for bad in [
            "",
            "   ",
            "S B",
            "SB:X",
            "S*",
            "a/b",
            "..",
            "SB\u{7}",
            "S\tB",
            &"X".repeat(21),
        ] {
            assert!(parse_target(bad).is_err(), "{bad:?} must be refused");
        }
        assert_eq!(normalise(&"X".repeat(20)).map(|c| c.len()), Ok(20));
    }

    #[test]
    fn lock_keys() {
        assert_eq!(lock_key("SB"), "calendar_sync:lock:SB");
    }
}
