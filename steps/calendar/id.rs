//! Deterministic event ids: one per (employee code, appointment number), the same on
//! every run, so a repeated or concurrent sync can never create a second copy of an event.
//!
//! The id is the base32hex encoding (RFC 4648, lowercase, no padding) of the UTF-8 text
//! `<CODE>:<FrNr>`. That alphabet, `0-9a-v`, is exactly what Google Calendar accepts for
//! client-chosen ids, and the encoding is reversible, so an id found in a calendar can be
//! traced back to its appointment. Codes with umlauts and negative numbers encode like any
//! other text; the shortest possible id (`A:1`) is 5 characters, Google's minimum.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::advoware::normalise_kuerzel;

const ALPHABET: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";

/// Google's bounds for client-chosen event ids.
const MIN_LEN: usize = 5;
const MAX_LEN: usize = 1024;

/// The id of the target event that mirrors one appointment of one employee.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventId(String);

impl EventId {
    /// The id for appointment `frnr` in the calendar of `kuerzel` (normalised: trimmed and
    /// upper-cased, so `sb` and `SB` give the same id).
    pub fn for_appointment(kuerzel: &str, frnr: i64) -> Self {
        let key = format!("{}:{frnr}", normalise_kuerzel(kuerzel));
        Self(encode(key.as_bytes()))
    }

    /// Accepts an id read back from a target if it is well formed: 5 to 1024 characters
    /// of `0-9a-v`.
    pub fn parse(raw: &str) -> Option<Self> {
        let well_formed =
            (MIN_LEN..=MAX_LEN).contains(&raw.len()) && raw.bytes().all(|b| ALPHABET.contains(&b));
        well_formed.then(|| Self(raw.to_owned()))
    }

    /// The employee code and appointment number this id was made from, if it was made by
    /// [`EventId::for_appointment`].
    pub fn decode(&self) -> Option<(String, i64)> {
        let key = String::from_utf8(decode(&self.0)?).ok()?;
        let (kuerzel, frnr) = key.rsplit_once(':')?;
        Some((kuerzel.to_owned(), frnr.parse().ok()?))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 0x1f) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(
            ALPHABET[((buffer << (5 - bits)) & 0x1f) as usize],
        ));
    }
    out
}

fn decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for ch in text.bytes() {
        let value = ALPHABET.iter().position(|&a| a == ch)?;
        buffer = (buffer << 5) | value as u32;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((buffer >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_rfc4648_vectors_in_lowercase() {
        // RFC 4648 section 10, base32hex, without padding and in lowercase.
        assert_eq!(encode(b"f"), "co");
        assert_eq!(encode(b"fo"), "cpng");
        assert_eq!(encode(b"foo"), "cpnmu");
        assert_eq!(encode(b"foob"), "cpnmuog");
        assert_eq!(encode(b"fooba"), "cpnmuoj1");
        assert_eq!(encode(b"foobar"), "cpnmuoj1e8");
    }

    #[test]
    fn id_is_deterministic_and_normalises_the_code() {
        let id = EventId::for_appointment("SB", 1001);
        assert_eq!(id.as_str(), "ad13kc9g60og");
        assert_eq!(EventId::for_appointment(" sb ", 1001), id);
        assert_eq!(id.decode(), Some(("SB".to_owned(), 1001)));
    }

    #[test]
    fn umlaut_codes_and_negative_numbers_give_valid_distinct_ids() {
        let umlaut = EventId::for_appointment("MÜ", -7);
        let plain = EventId::for_appointment("MU", -7);
        assert_ne!(umlaut, plain);
        assert_eq!(umlaut.as_str(), "9n1poehd6s");
        assert_eq!(umlaut.decode(), Some(("MÜ".to_owned(), -7)));
        assert_eq!(EventId::parse(umlaut.as_str()), Some(umlaut));
    }

    #[test]
    fn shortest_id_meets_googles_minimum_and_parse_checks_bounds() {
        let shortest = EventId::for_appointment("A", 1);
        assert_eq!(shortest.as_str(), "84t32");
        assert!(EventId::parse(shortest.as_str()).is_some());
        assert!(EventId::parse("abcd").is_none());
        assert!(EventId::parse("abcdw").is_none());
        assert!(EventId::parse("ABCDE").is_none());
        assert!(EventId::parse(&"a".repeat(1025)).is_none());
    }
}
