//! A fixed set of identifiers (chain error names, x402 reasons) looked up
//! whole. Most words a reader tries are not in the set (`function(`,
//! `snake_case` keys of a JSON body), so a one-load filter on the word's
//! first byte and length turns them away before any comparison.

/// Identifiers, each with the index its caller gave it.
pub(crate) struct WordIndex {
    /// Per first byte (ASCII), a bit per length (lengths of 63 and more
    /// share the top bit) that some identifier has.
    lengths: [u64; 128],
    /// Sorted by word; the first of equal words wins.
    sorted: Vec<(&'static str, usize)>,
}

impl WordIndex {
    /// Indexes `words`; an identifier given twice keeps its first index.
    pub fn new(words: impl IntoIterator<Item = &'static str>) -> Self {
        let mut lengths = [0u64; 128];
        let mut sorted: Vec<(&'static str, usize)> = Vec::new();
        for (i, w) in words.into_iter().enumerate() {
            if let Some(&b) = w.as_bytes().first() {
                lengths[usize::from(b & 0x7f)] |= bit(w.len());
            }
            sorted.push((w, i));
        }
        // Stable: equal words keep their order, so the first comes first.
        sorted.sort_by_key(|(w, _)| *w);
        sorted.dedup_by_key(|(w, _)| *w);
        WordIndex { lengths, sorted }
    }

    /// The index of `word`, if it is one of the identifiers.
    pub fn get(&self, word: &str) -> Option<usize> {
        let &b = word.as_bytes().first()?;
        if !b.is_ascii() || self.lengths[usize::from(b)] & bit(word.len()) == 0 {
            return None;
        }
        self.sorted
            .binary_search_by(|(w, _)| (*w).cmp(word))
            .ok()
            .map(|i| self.sorted[i].1)
    }
}

fn bit(len: usize) -> u64 {
    1 << len.min(63)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_exactly_the_identifiers() {
        let words = ["PolicyForbids", "Paused", "insufficient_funds", "Paused"];
        let ix = WordIndex::new(words);
        assert_eq!(ix.get("PolicyForbids"), Some(0));
        assert_eq!(ix.get("Paused"), Some(1), "the first of equal words");
        assert_eq!(ix.get("insufficient_funds"), Some(2));
        for miss in [
            "",
            "Policy",
            "PolicyForbid",
            "policyforbids",
            "Pausex",
            "é_x",
        ] {
            assert_eq!(ix.get(miss), None, "{miss}");
        }
        let long = "a".repeat(80);
        let ix = WordIndex::new([&*Box::leak(long.clone().into_boxed_str())]);
        assert_eq!(ix.get(&long), Some(0));
        assert_eq!(ix.get(&"a".repeat(81)), None);
    }
}
