//! "Did you mean …?": the closest known word to a misspelt one, for the hints of unknown
//! keys, enum values, handler ids and time zones.

/// The candidate closest to `word` by edit distance (case ignored), if it is close enough to
/// be a likely typo: at most a third of the word's length, and at least 1 edit allowed. Ties
/// go to the first candidate.
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    let lowered = word.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (distance(&lowered, &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Edit distance counting insertions, deletions, substitutions and swaps of two neighbouring
/// characters (`lable` → `label` is one edit), by characters.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // d[i][j]: distance between the first i characters of a and the first j of b.
    let mut d = vec![vec![0; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
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
        assert_eq!(distance("lable", "label"), 1);
        assert_eq!(distance("fetch", "patch"), 2);
    }

    #[test]
    fn closest_suggests_only_likely_typos() {
        let keys = ["subscribes", "virtual_subscribes", "emits", "name"];
        assert_eq!(closest("subscribe", keys), Some("subscribes"));
        assert_eq!(closest("emit", keys), Some("emits"));
        assert_eq!(closest("Name", keys), Some("name"));
        assert_eq!(closest("schedule", keys), None);
        assert_eq!(
            closest("FETCH", ["GET", "POST", "PUT", "PATCH", "DELETE"]),
            None
        );
        assert_eq!(
            closest("Europe/Berln", ["Europe/Berlin", "Europe/Bern"]),
            Some("Europe/Berlin")
        );
    }
}
