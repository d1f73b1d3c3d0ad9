//! Message rules and the phrase matcher behind them.
//!
//! A rule is an AND of groups, each an OR of phrases; it also names phrases
//! that veto it. Phrases match case-insensitively and only on word
//! boundaries ("500" inside "2500" does not match); a phrase ending in `*`
//! matches any word it starts ("expir*" matches "expired", "expiry").
//! Every phrase of every rule goes into one Aho-Corasick automaton, so a
//! message is scanned once however many rules there are.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use helix_core::{Category, Facts, FailureCode, Platform, Severity};

/// Reads numbers and names out of a matched message into facts.
pub type Extract = fn(&str, &mut Facts);

/// One message rule.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// Name for docs and tests.
    pub name: &'static str,
    /// Classification when it matches.
    pub code: FailureCode,
    /// Classification when it matches.
    pub category: Category,
    /// Classification when it matches.
    pub severity: Severity,
    /// Platform when the signal does not say.
    pub platform: Platform,
    /// Every group must have a phrase in the message.
    pub all: &'static [&'static [&'static str]],
    /// Any of these phrases vetoes the rule.
    pub none: &'static [&'static str],
    /// Optional fact extraction.
    pub extract: Option<Extract>,
}

impl Rule {
    /// A rule of medium severity with no veto and no extraction.
    pub const fn new(
        platform: Platform,
        name: &'static str,
        code: FailureCode,
        category: Category,
        all: &'static [&'static [&'static str]],
    ) -> Self {
        Rule {
            name,
            code,
            category,
            severity: Severity::Medium,
            platform,
            all,
            none: &[],
            extract: None,
        }
    }

    /// Builder-style: phrases that veto the rule.
    pub const fn unless(mut self, none: &'static [&'static str]) -> Self {
        self.none = none;
        self
    }

    /// Builder-style: severity.
    pub const fn severity(mut self, s: Severity) -> Self {
        self.severity = s;
        self
    }

    /// Builder-style: fact extraction.
    pub const fn extract(mut self, x: Extract) -> Self {
        self.extract = Some(x);
        self
    }
}

const WORDS: usize = 8;

/// Which phrases occur in a message (up to 512 distinct phrases).
#[derive(Clone, Copy, Default)]
pub struct Hits([u64; WORDS]);

impl Hits {
    fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }

    fn has(&self, i: u16) -> bool {
        let i = i as usize;
        self.0[i / 64] & (1 << (i % 64)) != 0
    }

    /// No phrase occurred.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|w| *w == 0)
    }
}

struct Compiled {
    groups: Vec<Vec<u16>>,
    none: Vec<u16>,
}

/// All rules of all platforms, compiled.
pub struct RuleSet {
    ac: AhoCorasick,
    /// For each pattern of the automaton: the phrase id and whether it is a prefix.
    patterns: Vec<(u16, bool)>,
    rules: Vec<Rule>,
    compiled: Vec<Compiled>,
    /// For each phrase id, the rules it can start (sorted, deduplicated).
    by_phrase: Vec<Vec<u16>>,
    success: Vec<u16>,
    failure_words: Vec<u16>,
}

/// A message reporting success: never a failure unless a failure word is there too.
const SUCCESS: &[&str] = &[
    "succeeded",
    "success",
    "successful",
    "successfully",
    "confirmed",
    "completed",
    "settled",
    "approved",
];

/// Words that make a message a failure report even when it also says "success".
const FAILURE_WORDS: &[&str] = &[
    "fail*",
    "error*",
    "revert*",
    "denied",
    "declin*",
    "insufficient",
    "expir*",
    "invalid",
    "reject*",
    "unable",
    "cannot",
    "can't",
    "could not",
    "not",
    "exceed*",
    "mismatch*",
    "timeout",
    "timed out",
    "unavailable",
    "blocked",
    "paused",
    "forbid*",
    "stuck",
    "unsupported",
    "refused",
    "but",
    "however",
    "although",
];

impl RuleSet {
    /// Compiles rules (earlier rules win).
    ///
    /// # Panics
    ///
    /// At construction only, on a rule table with more than 512 distinct
    /// phrases or an empty phrase: a programming error in a built-in table,
    /// caught by the crate's tests.
    pub fn new(rules: Vec<Rule>) -> Self {
        let mut phrases: Vec<&'static str> = Vec::new();
        let mut id_of = |p: &'static str| -> u16 {
            assert!(!p.is_empty() && p != "*", "empty phrase");
            match phrases.iter().position(|q| q.eq_ignore_ascii_case(p)) {
                Some(i) => i as u16,
                None => {
                    phrases.push(p);
                    (phrases.len() - 1) as u16
                }
            }
        };
        let compiled: Vec<Compiled> = rules
            .iter()
            .map(|r| Compiled {
                groups: r
                    .all
                    .iter()
                    .map(|g| g.iter().map(|p| id_of(p)).collect())
                    .collect(),
                none: r.none.iter().map(|p| id_of(p)).collect(),
            })
            .collect();
        let success: Vec<u16> = SUCCESS.iter().map(|p| id_of(p)).collect();
        let failure_words: Vec<u16> = FAILURE_WORDS.iter().map(|p| id_of(p)).collect();
        assert!(phrases.len() <= WORDS * 64, "too many phrases");

        let mut by_phrase = vec![Vec::new(); phrases.len()];
        for (ri, c) in compiled.iter().enumerate() {
            if let Some(first) = c.groups.first() {
                for &p in first {
                    by_phrase[p as usize].push(ri as u16);
                }
            }
        }
        let patterns: Vec<(u16, bool)> = phrases
            .iter()
            .enumerate()
            .map(|(i, p)| (i as u16, p.ends_with('*')))
            .collect();
        let needles: Vec<&str> = phrases.iter().map(|p| p.trim_end_matches('*')).collect();
        let ac = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            // A full DFA: a few hundred KiB once, the fastest scan per message.
            .kind(Some(AhoCorasickKind::DFA))
            .build(&needles)
            .expect("phrase automaton builds");
        RuleSet {
            ac,
            patterns,
            rules,
            compiled,
            by_phrase,
            success,
            failure_words,
        }
    }

    /// Which phrases occur in `text`, on word boundaries.
    pub fn scan(&self, text: &str) -> Hits {
        let bytes = text.as_bytes();
        let mut hits = Hits::default();
        for m in self.ac.find_overlapping_iter(text) {
            let (id, prefix) = self.patterns[m.pattern().as_usize()];
            let start_ok = m.start() == 0 || !is_word(bytes[m.start() - 1]);
            let end_ok = prefix || m.end() == bytes.len() || !is_word(bytes[m.end()]);
            if start_ok && end_ok {
                hits.set(id as usize);
            }
        }
        hits
    }

    /// Whether the message reports success and nothing that reads as failure.
    pub fn reports_success(&self, hits: &Hits) -> bool {
        self.success.iter().any(|&p| hits.has(p))
            && !self.failure_words.iter().any(|&p| hits.has(p))
    }

    /// The first rule (in table order) that the hits satisfy.
    pub fn first_match(&self, hits: &Hits) -> Option<&Rule> {
        if hits.is_empty() {
            return None;
        }
        // Only rules whose first group was hit can match; take the lowest index.
        let mut best: Option<u16> = None;
        for (w, &word) in hits.0.iter().enumerate() {
            let mut bits = word;
            while bits != 0 {
                let pid = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let Some(rules) = self.by_phrase.get(pid) else {
                    continue;
                };
                for &ri in rules {
                    if best.is_some_and(|b| b <= ri) {
                        break;
                    }
                    if self.satisfied(ri as usize, hits) {
                        best = Some(ri);
                        break;
                    }
                }
            }
        }
        best.map(|i| &self.rules[i as usize])
    }

    fn satisfied(&self, ri: usize, hits: &Hits) -> bool {
        let c = &self.compiled[ri];
        c.groups.iter().all(|g| g.iter().any(|&p| hits.has(p)))
            && !c.none.iter().any(|&p| hits.has(p))
    }

    /// Every rule, in order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

#[cfg(test)]
mod tests {
    use super::*;

    const R: &[Rule] = &[
        Rule {
            name: "server",
            code: FailureCode::ServerError,
            category: Category::Service,
            severity: Severity::Medium,
            platform: Platform::Http,
            all: &[&["500"], &["internal server error", "http"]],
            none: &[],
            extract: None,
        },
        Rule {
            name: "expired",
            code: FailureCode::PaymentExpired,
            category: Category::Session,
            severity: Severity::Medium,
            platform: Platform::Tempo,
            all: &[&["expir*"]],
            none: &["card"],
            extract: None,
        },
    ];

    #[test]
    fn phrases_match_whole_words_only() {
        let rs = RuleSet::new(R.to_vec());
        let m = |t: &str| rs.first_match(&rs.scan(t)).map(|r| r.name);
        assert_eq!(m("HTTP 500 from upstream"), Some("server"));
        assert_eq!(m("Requested: 2500 USDC over http"), None);
        assert_eq!(m("limit is 500 USDC"), None);
        assert_eq!(m("the challenge EXPIRED"), Some("expired"));
        assert_eq!(m("the challenge expiry passed"), Some("expired"));
        assert_eq!(m("unexpired"), None);
        assert_eq!(m("your card expired"), None, "vetoed");
    }

    #[test]
    fn success_reports_are_recognised() {
        let rs = RuleSet::new(R.to_vec());
        assert!(rs.reports_success(&rs.scan("Payment succeeded, tx confirmed")));
        assert!(!rs.reports_success(&rs.scan("payment succeeded but delivery failed")));
        assert!(!rs.reports_success(&rs.scan("not successful")));
    }
}
