//! Every repair an adapter offers has an executor that ships, or the offer
//! is a promise the product does not keep. The offers are enumerated
//! through the adapters themselves, over every platform, code and category.

use std::collections::BTreeSet;

use helix_core::{
    Adapter, Category, Evidence, Facts, Failure, FailureCode, Platform, Severity, StrategyId,
};
use helix_platforms::kit::{self, Agent, Alternatives};
use helix_platforms::stripe::StripeApi;
use helix_tempo::Wallet;

/// Offered here, executed by a crate above this one, with where.
const ELSEWHERE: &[(StrategyId, &str)] = &[
    (
        StrategyId::RefundWaterfall,
        "helix_mesh::cascade::RefundWaterfall (an agent with a mesh wires it)",
    ),
    (
        StrategyId::RerouteViaAlt,
        "helix_mesh::cascade::RerouteViaAlt (an agent with a mesh wires it)",
    ),
];

fn offered() -> BTreeSet<StrategyId> {
    let adapters = helix_platforms::builtin();
    let mut all = BTreeSet::new();
    for &platform in Platform::ALL {
        for &code in FailureCode::ALL {
            for &category in Category::ALL {
                let f = Failure {
                    code,
                    category,
                    severity: Severity::Medium,
                    platform,
                    evidence: Evidence::Message,
                    facts: Facts::default(),
                };
                all.extend(adapters.construct(&f).into_iter().map(|c| c.strategy));
            }
        }
    }
    all
}

fn shipped() -> BTreeSet<StrategyId> {
    let http = reqwest::Client::new();
    let nowhere = "http://127.0.0.1:9";
    let agent = Agent {
        rpc: nowhere.into(),
        other_rpcs: vec![nowhere.into()],
        wallet: Wallet::random(),
        stablecoins: kit::tempo_stablecoins(),
        reserve: Some((Wallet::random(), 1_000_000)),
    };
    let alternatives = Alternatives {
        endpoints: vec![nowhere.into()],
        providers: vec![nowhere.into()],
        services: vec![nowhere.into()],
        offramps: vec![nowhere.into()],
        payment_methods: vec!["pm_card_visa".into()],
    };
    agent
        .strategies(&http)
        .into_iter()
        .chain(kit::generic(&alternatives, &kit::Timing::default()))
        .chain(kit::stripe(
            StripeApi::new(http.clone(), nowhere, None),
            nowhere,
        ))
        .map(|s| s.id())
        .collect()
}

#[test]
fn every_offered_repair_has_a_shipped_executor() {
    let offered = offered();
    assert!(
        offered.len() > 20,
        "the enumeration found the offers: {offered:?}"
    );
    let shipped = shipped();
    let missing: Vec<_> = offered
        .iter()
        .filter(|s| !shipped.contains(s) && !ELSEWHERE.iter().any(|(w, _)| w == *s))
        .collect();
    assert!(missing.is_empty(), "offered with no executor: {missing:?}");
    for (s, why) in ELSEWHERE {
        assert!(
            !shipped.contains(s),
            "{s} is executed by the platforms kit now: drop it from ELSEWHERE ({why})"
        );
    }
}
