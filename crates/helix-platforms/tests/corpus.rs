//! The classifier on real error text it was not written from: the corpus
//! in `tests/corpus/*.jsonl` (strings gathered from the sources of viem,
//! ethers, alloy, geth, reth, Tempo, mpp-rs, mppx, pympp, x402, Stripe,
//! Privy and common HTTP clients, each with its provenance and expected
//! code and category). A third of it, chosen by library before any tuning
//! ([`HELD_OUT`]), is reported apart from the rest.
//!
//! `cargo test -p helix-platforms --test corpus -- --nocapture` prints the
//! figures `docs/PERCEPTION.md` quotes. The assertions are floors that keep
//! what was measured from falling; the targets are in the doc.

use std::collections::BTreeMap;

use helix_core::{Adapter, Category, ErrorSignal, FailureCode};
use serde_json::Value;

/// Libraries held out, fixed before tuning: about a third of the corpus,
/// across chain clients and nodes, contracts, fiat processors, HTTP stacks
/// and HTTP 402 implementations. None of them was in the corpus before
/// session 14, and no rule was written from their strings.
const HELD_OUT: &[&str] = &[
    "web3.py",
    "web3.js",
    "foundry",
    "hardhat",
    "nethermind",
    "besu",
    "erigon",
    "openzeppelin",
    "permit2",
    "uniswap",
    "safe",
    "erc4337",
    "usdc",
    "adyen",
    "braintree",
    "paypal",
    "square",
    "checkout.com",
    "circle",
    "aiohttp",
    "urllib3",
    "okhttp",
    "curl",
    "got",
    "envoy",
    "haproxy",
    "caddy",
    "traefik",
    "x402-rs",
    "l402",
];

/// The third held out from session 7 to session 13. Its figure was read
/// after every tuning step and so it was spent as a measure; session 14
/// tuned on it and reports it apart, so the record stays readable.
const HELD_OUT_UNTIL_14: &[&str] = &[
    "ethers",
    "geth",
    "reth",
    "mppx",
    "pympp",
    "privy",
    "requests",
    "httpx",
    "axios",
    "undici",
    "stripe-python",
    "stripe-node",
];

fn split_of(library: &str) -> &'static str {
    if HELD_OUT.contains(&library) {
        "held out"
    } else if HELD_OUT_UNTIL_14.contains(&library) {
        "tuned on, held out until session 14"
    } else {
        "tuned on"
    }
}

struct Entry {
    text: String,
    library: String,
    provenance: String,
    code: String,
    category: String,
    http_status: Option<u16>,
    rpc_code: Option<i64>,
}

fn corpus() -> Vec<Entry> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("tests/corpus")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let v: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{}:{}: {e}", f.display(), n + 1));
            let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
            out.push(Entry {
                text: s("text"),
                library: s("library"),
                provenance: s("provenance"),
                code: s("code"),
                category: s("category"),
                http_status: v["http_status"]
                    .as_u64()
                    .and_then(|x| u16::try_from(x).ok()),
                rpc_code: v["rpc_code"].as_i64(),
            });
        }
    }
    out
}

/// The signal an agent would hand Helix for this text: a JSON body with
/// its status as an HTTP answer, anything else as a message.
fn signal(e: &Entry) -> ErrorSignal {
    let mut s = if e.text.trim_start().starts_with('{') && e.http_status.is_some() {
        ErrorSignal::from_http(e.http_status.unwrap_or(0), |_| None, e.text.as_bytes())
    } else {
        let mut s = ErrorSignal::message(e.text.clone());
        s.http_status = e.http_status;
        s
    };
    s.rpc_code = s.rpc_code.or(e.rpc_code);
    s
}

#[derive(Default)]
struct Tally {
    n: usize,
    category: usize,
    both: usize,
    /// Labelled not-a-payment-failure, classified as one anyway.
    forced: usize,
    misses: Vec<String>,
}

impl Tally {
    fn pct(a: usize, n: usize) -> f64 {
        100.0 * a as f64 / n.max(1) as f64
    }
}

#[test]
fn accuracy_on_real_error_text_by_split() {
    let all = corpus();
    assert!(all.len() >= 500, "{} strings", all.len());
    let c = helix_platforms::builtin();
    let mut split: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut by_library: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    // Held out, by the category it should get: strings, right, and misses
    // left unknown. Counts only, so reading them tunes nothing.
    let mut held_by_category: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    // `HELIX_CORPUS_DUMP=file` writes each string's split, label and
    // verdict, for experiments outside the test (docs/PERCEPTION.md).
    let mut dump = std::env::var_os("HELIX_CORPUS_DUMP").map(|p| std::fs::File::create(p).unwrap());
    for e in &all {
        // Every label is a pair of the taxonomy.
        let code: FailureCode = e.code.parse().unwrap_or_else(|_| panic!("code {}", e.code));
        let category: Category = e
            .category
            .parse()
            .unwrap_or_else(|_| panic!("category {}", e.category));
        let got = c.perceive(&signal(e));
        let (gc, gk) = got
            .as_ref()
            .map_or((FailureCode::Unknown, Category::Unknown), |f| {
                (f.code, f.category)
            });
        let which = split_of(&e.library);
        if let Some(f) = dump.as_mut() {
            use std::io::Write;
            let row = serde_json::json!({
                "text": e.text, "library": e.library, "split": which,
                "category": e.category, "got": gk.as_str(),
            });
            writeln!(f, "{row}").unwrap();
        }
        let t = split.entry(which).or_default();
        t.n += 1;
        let lib = by_library.entry(e.library.clone()).or_default();
        lib.0 += 1;
        if which == "held out" {
            let c = held_by_category.entry(e.category.clone()).or_default();
            c.0 += 1;
            if gk == category {
                c.1 += 1;
            } else if got.is_none() {
                c.2 += 1;
            }
        }
        if gk == category {
            t.category += 1;
            lib.1 += 1;
        } else {
            t.misses.push(format!(
                "  [{}] want {}/{} got {}/{} ({}): {:.300} ({})",
                e.library,
                e.code,
                e.category,
                gc,
                gk,
                got.as_ref().map_or(String::new(), |f| format!(
                    "{} {:?}",
                    f.platform, f.evidence
                )),
                e.text.replace('\n', " "),
                e.provenance
            ));
        }
        if gk == category && gc == code {
            t.both += 1;
        }
        if category == Category::Unknown && got.is_some() {
            t.forced += 1;
        }
    }
    for (name, t) in &split {
        println!(
            "{name}: {} strings, category {:.1} %, code and category {:.1} %, not-a-payment-failure forced into a category: {}",
            t.n,
            Tally::pct(t.category, t.n),
            Tally::pct(t.both, t.n),
            t.forced
        );
    }
    println!(
        "classifier: {} rules, {} phrases",
        c.rules().rules().len(),
        c.rules().phrase_count()
    );
    let rest = split
        .iter()
        .filter(|(name, _)| **name != "held out")
        .fold((0, 0, 0), |(n, k, f), (_, t)| {
            (n + t.n, k + t.category, f + t.forced)
        });
    println!(
        "the rest (all tuned on): {} strings, category {:.1} %, forced {}",
        rest.0,
        Tally::pct(rest.1, rest.0),
        rest.2
    );
    println!("held out by the category it should get (right / strings, misses left unknown):");
    for (k, (n, ok, unknown)) in &held_by_category {
        println!("  {k}: {ok}/{n}, {unknown} unknown");
    }
    // Tuning may read only the tuned-on misses: `HELIX_CORPUS_MISSES=1`
    // lists those; `=held` lists the held-out ones too, with the held-out
    // libraries' own figures, for a final report.
    let list = std::env::var("HELIX_CORPUS_MISSES").ok();
    let report_held = list.as_deref() == Some("held");
    println!("by library (category right / strings):");
    for (lib, (n, ok)) in &by_library {
        if split_of(lib) != "held out" || report_held {
            println!("  {lib}: {ok}/{n}");
        }
    }
    if list.is_some() {
        for (name, t) in &split {
            if *name == "held out" && !report_held {
                continue;
            }
            println!("misses, {name}:");
            for m in &t.misses {
                println!("{m}");
            }
        }
    }
    let held = &split["held out"];
    // Floors at what was measured; the targets (97 % held out, 99 % on the
    // rest, nothing forced) are in docs/PERCEPTION.md.
    assert!(
        Tally::pct(held.category, held.n) >= FLOOR_HELD,
        "held out fell"
    );
    assert!(Tally::pct(rest.1, rest.0) >= FLOOR_REST, "the rest fell");
    assert_eq!(
        rest.2, 0,
        "a tuned-on string that is no payment failure was forced"
    );
    assert!(held.forced <= FORCED_HELD, "more held-out strings forced");
}

const FLOOR_HELD: f64 = 51.0;
const FLOOR_REST: f64 = 97.5;
const FORCED_HELD: usize = 14;

/// How far two labellers agree: 250 strings of the first 813, sampled at
/// random and labelled again in session 14 by a helper that saw only the
/// text, its library and `corpus/LABELS.md` (the brief the held-out part
/// was labelled by). No classifier can be expected to agree with a
/// labeller more often than two labellers agree with each other.
#[test]
fn labels_agree_with_a_second_opinion() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/corpus_second_opinion.jsonl"
    );
    let by_text: BTreeMap<String, Entry> =
        corpus().into_iter().map(|e| (e.text.clone(), e)).collect();
    let (mut n, mut same, mut sure, mut same_sure) = (0, 0, 0, 0);
    for line in std::fs::read_to_string(path).unwrap().lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let text = v["text"].as_str().unwrap();
        let e = by_text
            .get(text)
            .unwrap_or_else(|| panic!("not in the corpus: {text}"));
        let k: Category = v["category"].as_str().unwrap().parse().unwrap();
        let agree = k == e.category.parse::<Category>().unwrap();
        n += 1;
        same += usize::from(agree);
        if v["unsure"] == false {
            sure += 1;
            same_sure += usize::from(agree);
        }
    }
    println!(
        "a second labeller: {same}/{n} categories agree ({:.1} %); where it was sure, {same_sure}/{sure} ({:.1} %)",
        Tally::pct(same, n),
        Tally::pct(same_sure, sure)
    );
    assert_eq!(n, 250);
    assert!(Tally::pct(same, n) >= 91.0, "agreement measured at 91.6 %");
}
