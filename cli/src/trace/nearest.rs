//! The trace ids nearest to one that is not there, for the "not found"
//! message of `fcc trace`.

/// Up to `n` of `ids` nearest to `wanted`: the longest shared prefix first,
/// then the smallest edit (Levenshtein) distance, then in id order.
pub fn nearest<'a>(wanted: &str, ids: impl IntoIterator<Item = &'a str>, n: usize) -> Vec<&'a str> {
    let mut ranked: Vec<(usize, usize, &str)> = ids
        .into_iter()
        .map(|id| {
            let prefix = wanted
                .bytes()
                .zip(id.bytes())
                .take_while(|(a, b)| a == b)
                .count();
            (prefix, edit_distance(wanted, id), id)
        })
        .collect();
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(b.2)));
    ranked.into_iter().take(n).map(|(_, _, id)| id).collect()
}

/// Levenshtein distance over bytes (ids are ASCII).
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let up = row[j + 1];
            row[j + 1] = (diag + usize::from(ca != cb)).min(row[j] + 1).min(up + 1);
            diag = up;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_ranks_by_shared_prefix_then_edit_distance() {
        let wanted = "abcf0000000000000000000000000000";
        let ids = [
            "abcd0000000000000000000000000011", // 3 shared, 3 edits
            "abce0000000000000000000000000000", // 3 shared, 1 edit
            "abcf0000000000000000000000000001", // 31 shared
            "ffff0000000000000000000000000000", // none shared, 3 edits
            "0bcf0000000000000000000000000000", // none shared, 1 edit
        ];
        let got = nearest(wanted, ids, 5);
        // The longest shared prefix first; among equal prefixes, the
        // smaller distance, whatever the id order; a one-digit edit with no
        // shared prefix comes after every id sharing one.
        assert_eq!(
            got,
            [ids[2], ids[1], ids[0], ids[4], ids[3]],
            "prefix length first, then distance"
        );
        assert_eq!(nearest(wanted, ids, 2), [ids[2], ids[1]], "at most n");
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
