//! "Did you mean …?": the closest known word to a misspelt one, for the hints of unknown
//! keys, enum values, handler ids and time zones.

/// The candidate closest to `word` by edit distance, if it is close enough to be a likely
/// typo: at most a third of the word's length, and at least 2 edits allowed. Ties go to the
/// first candidate.
pub(crate) fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(2);
    let lowered = word.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (distance(&lowered, &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance: insertions, deletions and substitutions, by characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance("subscribe", "subscribes"), 1);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("same", "same"), 0);
    }

    #[test]
    fn closest_suggests_only_likely_typos() {
        let keys = ["subscribes", "virtual_subscribes", "emits", "name"];
        assert_eq!(closest("subscribe", keys), Some("subscribes"));
        assert_eq!(closest("emit", keys), Some("emits"));
        assert_eq!(closest("Name", keys), Some("name"));
        assert_eq!(closest("schedule", keys), None);
        assert_eq!(closest("Europe/Berln", ["Europe/Berlin", "Europe/Bern"]), Some("Europe/Berlin"));
    }
}
