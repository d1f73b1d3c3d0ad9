use helix_core::{
    Category as K, ErrorSignal, Evidence as E, Facts, FailureCode as C, Platform, Severity,
};

use crate::perception::extract::{Extractor, Located};
use crate::perception::rules::Rule;
use crate::perception::selectors::revert_bytes;
use crate::perception::{Mark, Marks, Verdict};
use crate::tempo::errors::{Meaning, by_selector, decode_args, named_in};

/// Where MPP problem types live.
pub const MPP_PROBLEM_BASE: &str = "https://paymentauth.org/problems/";

pub fn structured(s: &ErrorSignal, m: &Marks) -> Option<Verdict> {
    let t = s
        .problem_type
        .as_deref()
        .or_else(|| problem_in_message(&s.message, m));
    if let Some(t) = t
        && let Some(v) = problem(t, &s.message)
    {
        return Some(v);
    }
    // A generic verification failure whose document names the relay's
    // reason (`details.code`).
    if t.is_some_and(|t| t.ends_with("/verification-failed"))
        && let Some(v) = s.platform_code.as_deref().and_then(relay_reason)
    {
        return Some(v);
    }
    if let Some(v) = revert(s, m) {
        return Some(v);
    }
    if let Some(v) = named_error(s, m) {
        return Some(v);
    }
    if let (Some(b), Some(r)) = (s.facts.payer_balance, s.facts.required_amount)
        && b < r
    {
        return Some(Verdict::new(C::PaymentInsufficient, K::Balance, E::Probe));
    }
    if s.http_status.is_some_and(|st| st >= 500) && s.facts.payment_receipt.is_some() {
        // The server issued a receipt and then failed: paid, not served.
        return Some(Verdict::new(C::PaymentRequired, K::Service, E::Status));
    }
    None
}

/// A problem document handed over as text (the body of an
/// `application/problem+json` answer): its `type`, when it names one of
/// MPP's problems.
fn problem_in_message<'a>(msg: &'a str, m: &Marks) -> Option<&'a str> {
    static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"/problems/"));
    let from = m.from(Mark::Problem)?;
    let at = from + FINDER.find(msg.as_bytes().get(from..)?)?;
    let rest = &msg[at + "/problems/".len()..];
    // Session problems nest one level: `problems/session/channel-not-found`.
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '/'))
        .unwrap_or(rest.len());
    (end > 0).then(|| &rest[..end])
}

/// Read when no message rule matched: a `verification-failed` problem says
/// little by itself (amount, recipient, expiry and balance failures all
/// arrive as one), so its detail's words go first and the type is the
/// last resort.
pub fn fallback(s: &ErrorSignal, m: &Marks) -> Option<Verdict> {
    if s.rpc_code == Some(-32003) && says_funds(&s.message) {
        // "Insufficient funds for gas * price + value": on Tempo the fee is
        // paid in a TIP-20, often the charged one. Nodes answer other
        // rejections with -32003 too (a fee token that is no TIP-20, a
        // paused one, a sender with code, a gas limit over the block's),
        // so the message's words go first and the code decides only a
        // message about funds, or none at all.
        return Some(Verdict::new(C::PaymentInsufficient, K::Fee, E::Rpc));
    }
    let t = s
        .problem_type
        .as_deref()
        .or_else(|| problem_in_message(&s.message, m))?;
    (t.rsplit('/').next() == Some("verification-failed"))
        .then(|| Verdict::new(C::VerificationFailed, K::Signature, E::ProblemType))
}

/// Whether `msg` has one of `words` as a whole word.
fn has_word(msg: &str, words: &[&str]) -> bool {
    msg.split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| words.iter().any(|k| w.eq_ignore_ascii_case(k)))
}

/// A message about funds or fees, or one with no words at all.
fn says_funds(msg: &str) -> bool {
    !msg.bytes().any(|b| b.is_ascii_alphanumeric())
        || has_word(msg, &["fund", "funds", "insufficient", "balance", "fee"])
}

fn mentions_fee(msg: &str) -> bool {
    has_word(msg, &["fee", "gas"])
}

fn problem(t: &str, msg: &str) -> Option<Verdict> {
    let name = t.rsplit('/').next().unwrap_or(t);
    Some(match name {
        "payment-insufficient" if mentions_fee(msg) => {
            Verdict::new(C::PaymentInsufficient, K::Fee, E::ProblemType)
        }
        "payment-insufficient" => Verdict::new(C::PaymentInsufficient, K::Balance, E::ProblemType),
        "invalid-challenge" | "malformed-credential" => {
            Verdict::new(C::InvalidChallenge, K::Session, E::ProblemType)
        }
        "payment-expired" => Verdict::new(C::PaymentExpired, K::Session, E::ProblemType),
        "method-unsupported" => Verdict::new(C::MethodUnsupported, K::Currency, E::ProblemType),
        // Generic: decided by the detail's words, else by `fallback`.
        "verification-failed" => return None,
        "signer-mismatch" => Verdict::new(C::VerificationFailed, K::Signature, E::ProblemType),
        "amount-exceeds-deposit" | "delta-too-small" => {
            Verdict::new(C::PaymentInsufficient, K::Balance, E::ProblemType)
        }
        "channel-not-found" | "channel-finalized" => {
            Verdict::new(C::InvalidChallenge, K::Session, E::ProblemType)
        }
        // Asked to pay again: the same reading as a bare "payment
        // required" (the safe side: nothing is paid twice on its word).
        "payment-required" => Verdict::new(C::PaymentRequired, K::Service, E::ProblemType),
        _ => return None,
    })
}

/// Tempo's payment relay's reasons for refusing a credential, as MPP
/// servers pass them on in a problem's `details.code`.
fn relay_reason(code: &str) -> Option<Verdict> {
    let (c, k) = match code {
        "insufficient_funds" => (C::PaymentInsufficient, K::Balance),
        "already_used" => (C::InvalidChallenge, K::Session),
        "simulation_failed" => (C::TxReverted, K::Batch),
        "broadcast_failed" | "temporarily_unavailable" => (C::ServerError, K::Service),
        "unsupported" => (C::MethodUnsupported, K::Currency),
        _ => return None,
    };
    Some(Verdict::new(c, k, E::PlatformCode))
}

fn revert(s: &ErrorSignal, m: &Marks) -> Option<Verdict> {
    // This also finds a bare selector in the message.
    let d = revert_bytes(s.revert_data.as_deref(), &s.message, m.from(Mark::Hex))?;
    let sel: [u8; 4] = [d[0], d[1], d[2], d[3]];
    // An error the chain defines as no payment failure is not forced into
    // one by the message's words.
    let Meaning::Payment(code, category) = by_selector(sel)?.meaning else {
        return Some(Verdict::not_a_payment_failure(E::Rpc));
    };
    let mut v = Verdict::new(code, category, E::Rpc);
    if code == C::Tip403 {
        v.severity = Severity::High;
    }
    Some(v)
}

/// A chain error the node names in words ("TIP20 token error:
/// PolicyForbids(PolicyForbids)"), read as its definition says.
fn named_error(s: &ErrorSignal, m: &Marks) -> Option<Verdict> {
    let from = m.from(Mark::Paren)?;
    let Meaning::Payment(code, category) = named_in(&s.message, from)?.meaning else {
        return Some(Verdict::not_a_payment_failure(E::Message));
    };
    let mut v = Verdict::new(code, category, E::Message);
    if code == C::Tip403 {
        v.severity = Severity::High;
    }
    Some(v)
}

/// The decoded arguments of a revert the chain defines, where the signal
/// does not already say them.
pub fn revert_facts(s: &ErrorSignal, v: &Verdict, facts: &mut Facts) {
    // Only a verdict the revert data decided has arguments to read, and
    // only these codes carry ones worth reading (balances, amounts): the
    // data is not scanned again for anything else.
    if v.evidence != E::Rpc || !matches!(v.code, C::PaymentInsufficient | C::SwapReverted) {
        return;
    }
    let Some(data) = revert_bytes(s.revert_data.as_deref(), &s.message, Some(0)) else {
        return;
    };
    let Some(err) = data.get(..4).and_then(|d| by_selector(d.try_into().ok()?)) else {
        return;
    };
    let mut read = Facts::default();
    decode_args(err, &data, &mut read);
    facts.payer_balance = facts.payer_balance.or(read.payer_balance);
    facts.required_amount = facts.required_amount.or(read.required_amount);
    if facts.currency.is_none() {
        facts.currency = read.currency;
    }
}

const NONCE_KEYS: &[&str] = &[
    "next nonce",
    "chain nonce",
    "expected nonce",
    "expected",
    "state:",
    "account nonce",
];

/// Reads the nonce the chain expects from the usual phrasings.
pub const EXTRACT_NONCE: Extractor = Extractor {
    keys: &[NONCE_KEYS],
    run: |m: &Located<'_>, f: &mut Facts| {
        f.expected_nonce = NONCE_KEYS.iter().find_map(|k| m.int_after(k));
    },
};

const CHAIN_KEYS: &[&str] = &["chainid", "chain id", "chain_id"];

/// Reads a chain id ("chainId: 42069", "chain id 42431").
pub const EXTRACT_CHAIN_ID: Extractor = Extractor {
    keys: &[CHAIN_KEYS],
    run: |m: &Located<'_>, f: &mut Facts| {
        f.expected_chain_id = CHAIN_KEYS.iter().find_map(|k| m.int_after(k));
    },
};

const HAVE_KEYS: &[&str] = &["balance", "have", "available"];
const WANT_KEYS: &[&str] = &["want", "need", "required", "requested"];

const EXTRACT_BALANCE: Extractor = Extractor {
    keys: &[HAVE_KEYS, WANT_KEYS],
    run: |m: &Located<'_>, f: &mut Facts| {
        f.payer_balance = HAVE_KEYS.iter().find_map(|k| m.amount_after(k));
        f.required_amount = WANT_KEYS.iter().find_map(|k| m.amount_after(k));
    },
};

const CALL_KEYS: &[&str] = &["call index", "call #", "call", "index"];

const EXTRACT_CALL: Extractor = Extractor {
    keys: &[CALL_KEYS],
    run: |m: &Located<'_>, f: &mut Facts| {
        f.failing_call = CALL_KEYS
            .iter()
            .find_map(|k| m.int_after(k))
            .map(|i| i as usize);
    },
};

const fn rule(
    name: &'static str,
    code: C,
    category: K,
    all: &'static [&'static [&'static str]],
    none: &'static [&'static str],
) -> Rule {
    Rule::new(Platform::Tempo, name, code, category, all).unless(none)
}

const fn with(r: Rule, x: &'static Extractor) -> Rule {
    r.extract(x)
}

const fn severe(r: Rule) -> Rule {
    r.severity(Severity::High)
}

const FAILED: &[&str] = &[
    "fail*",
    "error",
    "unavailable",
    "down",
    "rejected",
    "could not",
    "unable",
    "503",
    "500",
];

pub const RULES: &[Rule] = &[
    // Said outright: whether the money moved is not known.
    severe(rule(
        "outcome-unknown",
        C::OutcomeUnknown,
        K::Service,
        &[&[
            "outcome unknown",
            "outcome is unknown",
            "reconciliation required",
            "settlement reconciliation",
            "reconcile the pending",
            "not yet mined",
            "transaction indexing is in progress",
            "wasn't confirmed within",
            "was not confirmed within",
        ]],
        &[],
    )),
    // The client's own limits refused what the server asked for.
    rule(
        "client-limit",
        C::PolicyViolation,
        K::Policy,
        &[&[
            "exceeds max_amount",
            "exceeds max_atomic_amount",
            "exceeds maximum allowed",
            "charge currency is not allowed",
            "filtered out by policies",
            "cannot authorize other keys",
            "exceeds maxamount",
            "exceeds max amount",
            "exceeds the configured cap",
            "currency is not allowed",
            "chain id is not allowed",
        ]],
        // The chain's own bounds on a transaction's shape.
        &["too many calls"],
    ),
    rule(
        "cascade",
        C::CascadeFailure,
        K::Cascade,
        &[
            &[
                "cascade",
                "cascading",
                "downstream agent",
                "upstream agent",
                "dependent agent",
                "sub-agent",
                "subagent",
            ],
            FAILED,
        ],
        &[],
    ),
    rule(
        "tx-expiry",
        C::PaymentExpired,
        K::Session,
        &[&[
            "valid_before",
            "validbefore",
            "valid before",
            "valid_after",
            "validafter",
            "valid after",
            "expiring nonce",
            "access key expired",
            "access key expiry",
            "key has expired",
            "key is expired",
            "authorization is expired",
            "authorization has expired",
            "keyauthorization expired",
            "transaction expired",
            "not valid yet",
            "not yet valid",
            "blockhash not found",
        ]],
        // "requires valid_before to be set" is a malformed transaction; a
        // wallet app's login key is no payment's.
        &["replay", "requires", "user signing key"],
    ),
    rule(
        "already-pending",
        C::OutcomeUnknown,
        K::Service,
        &[&[
            "already known",
            "replacement transaction underpriced",
            "replacement underpriced",
            "replacement fee too low",
            "expiringnoncereplay",
            "nonce replay",
            "transaction was replaced",
            "tries to replace pending",
            "already reserved",
        ]],
        &[],
    ),
    rule(
        "tx-not-found",
        C::OutcomeUnknown,
        K::Service,
        &[
            &["transaction", "receipt", "bundle"],
            &[
                "could not be found",
                "has not been submitted",
                "not found",
                "not found or not yet",
                "register pending transaction",
            ],
        ],
        &[],
    ),
    rule(
        "fee-token-invalid",
        C::MethodUnsupported,
        K::Currency,
        &[
            &["fee token", "fee tokens", "feetoken"],
            &[
                "is invalid",
                "invalid fee token",
                "not a tip-20",
                "not a tip20",
                "denominated",
                "is not allowed",
            ],
        ],
        &["paused"],
    ),
    rule(
        "fee-sponsorship-unavailable",
        C::MethodUnsupported,
        K::Currency,
        &[&[
            "fee sponsorship is not configured",
            "sponsorship is not configured",
            "value transfer not allowed",
            "value transfer in tempo transaction not allowed",
        ]],
        &[],
    ),
    severe(rule(
        "fee-token-paused",
        C::Tip403,
        K::Compliance,
        &[&["fee token"], &["paused"]],
        &[],
    )),
    rule(
        "access-key-expired",
        C::PaymentExpired,
        K::Session,
        &[
            &["access key", "key authorization", "keyauthorization"],
            &["expired", "has expired", "is expired"],
        ],
        &["revoked"],
    ),
    // Access keys (Tempo's account keychain): a key that cannot sign for
    // the account.
    rule(
        "access-key",
        C::VerificationFailed,
        K::Signature,
        &[
            &[
                "access key",
                "access keys",
                "keychain",
                "keyauthorization",
                "key authorization",
            ],
            &[
                "revoked",
                "not provisioned",
                "must be signed",
                "does not match",
                "no longer accepted",
                "validation failed",
            ],
        ],
        // A key's scope the transaction outgrew is its own mistake.
        &["call scopes"],
    ),
    // EIP-3009: the authorisation's nonce was spent or cancelled.
    rule(
        "authorization-used",
        C::VerificationFailed,
        K::Signature,
        &[&["authorization is used", "authorization is canceled"]],
        &[],
    ),
    rule(
        "non-payment-limit",
        C::RateLimited,
        K::Throttle,
        &[&[
            "non payment gas limit",
            "non-payment gas limit",
            "exceedsnonpaymentlimit",
        ]],
        &[],
    ),
    // A fee-payer relay (tempo-alloy's sponsor transport).
    rule(
        "sponsor-payload",
        C::VerificationFailed,
        K::Signature,
        &[&["sponsor returned"], &["different payload"]],
        &[],
    ),
    rule(
        "sponsor-broken",
        C::ServerError,
        K::Service,
        &[&["sponsor returned"]],
        &[],
    ),
    // A server that offers sponsored fees without a fee payer to pay them.
    rule(
        "no-fee-payer",
        C::ServerError,
        K::Service,
        &[&[
            "no configured fee payer",
            "no fee payer configured",
            "fee payer signing failed",
        ]],
        &[],
    ),
    // Tempo's payment relay names why it refused a credential.
    rule(
        "relay-replayed",
        C::InvalidChallenge,
        K::Session,
        &[&["already_used"]],
        &[],
    ),
    rule(
        "relay-simulation",
        C::TxReverted,
        K::Batch,
        &[&["simulation_failed"]],
        &[],
    ),
    rule(
        "relay-broadcast",
        C::ServerError,
        K::Service,
        &[&["broadcast_failed"]],
        &[],
    ),
    rule(
        "relay-insufficient",
        C::PaymentInsufficient,
        K::Balance,
        &[&["rejected credential"], &["insufficient_funds"]],
        &[],
    ),
    rule(
        "relay-unsupported",
        C::MethodUnsupported,
        K::Currency,
        &[&["rejected credential"], &["unsupported"]],
        &[],
    ),
    rule(
        "no-contract",
        C::TokenUninitialized,
        K::Network,
        &[&[
            "returned no data",
            "might not be a contract",
            "does not support contract",
            "not connected to the requested chain",
            "does not support the requested chain",
            "switch chain",
            "could not decode result data",
        ]],
        &[],
    ),
    // A payment that does not bind to what the challenge asked: another
    // amount, resource or route, or calls it did not ask for.
    rule(
        "binding",
        C::InvalidChallenge,
        K::Session,
        &[&[
            "amount mismatch",
            "recipient mismatch",
            "does not match route binding",
            "does not match payment amount",
            "does not match response url",
            "transfer log matching",
            "unauthorized extra calls",
            "invalid charge request",
        ]],
        &[],
    ),
    with(
        rule(
            "nonce",
            C::VerificationFailed,
            K::Signature,
            &[
                &["nonce"],
                &[
                    "too low",
                    "too high",
                    "mismatch*",
                    "already used",
                    "invalid",
                    "expected",
                    "gap",
                    "out of sync",
                    "desync*",
                    "stale",
                    "lower than",
                    "higher than",
                    "has already been",
                    "conflict*",
                    "does not match",
                    "exceeds the maximum",
                    "max value",
                ],
            ],
            &[],
        ),
        &EXTRACT_NONCE,
    ),
    // A credential the server has seen before, or one that pays for
    // something other than this challenge.
    rule(
        "credential-replayed",
        C::InvalidChallenge,
        K::Session,
        &[&[
            "has already been used",
            "has already been submitted",
            "has already been processed",
            "no matching transfer",
            "hash already used",
            "no matching payment call",
            "disallowed call pattern",
            "require a proof credential",
            "not bound to this challenge",
        ]],
        &["nonce"],
    ),
    rule(
        "signature",
        C::VerificationFailed,
        K::Signature,
        &[
            &["signature", "signer", "sig"],
            &[
                "invalid",
                "verification failed",
                "mismatch*",
                "does not match",
                "could not be verified",
                "recover*",
                "malformed",
                "s value",
            ],
        ],
        // A wallet app's own quorum of request signers is no payment's.
        &["permit", "chain", "network", "authorization threshold"],
    ),
    rule(
        "sender",
        C::VerificationFailed,
        K::Signature,
        &[&["invalid sender", "sender mismatch"]],
        &["chain id"],
    ),
    // A payment channel's voucher that does not move forward.
    rule(
        "voucher",
        C::VerificationFailed,
        K::Signature,
        &[&["highest accepted voucher", "cumulativeamount must be"]],
        &[],
    ),
    // A server's verdict on the request it issued: its validity ran out.
    rule(
        "request-expired",
        C::PaymentExpired,
        K::Session,
        &[&["request has expired", "request expired"]],
        // A request issued without an expiry is malformed, not late.
        &["no expires"],
    ),
    rule(
        "subscription-renewal",
        C::PaymentExpired,
        K::Session,
        &[&["subscription"], &["renewal", "expired", "lapsed"]],
        &[],
    ),
    with(
        rule(
            "batch",
            C::TxReverted,
            K::Batch,
            &[
                &[
                    "batch",
                    "batched",
                    "multicall",
                    "0x76",
                    "calls list",
                    "aa batch",
                    "call bundle",
                ],
                &["revert*", "fail*"],
            ],
            &[],
        ),
        &EXTRACT_CALL,
    ),
    rule(
        "slippage",
        C::SwapReverted,
        K::Dex,
        &[&[
            "slippage",
            "insufficientoutput",
            "insufficient output",
            "insufficient_output_amount",
            "min out",
            "minimum output",
            "min amount out",
            "minamountout",
            "price impact",
            "too little received",
            "output below minimum",
            "amountout",
            "uniswapv2router",
            "toolittlereceived",
            "v2toolittlereceived",
            "v3toolittlereceived",
            "insufficient_liquidity",
            "insufficient liquidity",
            "insufficientliquidity",
        ]],
        // The fee AMM's liquidity is the fee's problem, not a swap's.
        &["feeamm", "fee token", "fee tokens"],
    ),
    severe(rule(
        "tip-403",
        C::Tip403,
        K::Compliance,
        &[&[
            "policyforbids",
            "policy forbids",
            "tip-403",
            "tip403",
            "transfer policy",
            "blacklisted",
            "blocklisted",
            "blacklist",
            "blocklist",
            "not whitelisted",
            "not allowlisted",
            "compliance",
            "sanctioned",
        ]],
        &[],
    )),
    severe(rule(
        "paused-selector",
        C::Tip403,
        K::Compliance,
        &[&["contractpaused", "enforcedpause"]],
        &[],
    )),
    severe(rule(
        "paused",
        C::Tip403,
        K::Compliance,
        &[
            &["paused", "pause"],
            &[
                "token",
                "contract",
                "transfer*",
                "tip-20",
                "tip20",
                "stablecoin",
                "issuer",
                "asset",
            ],
        ],
        &["subscription", "unpause*"],
    )),
    rule(
        "payment-after-accept",
        C::PaymentRequired,
        K::Service,
        &[
            &[
                "payment",
                "paid",
                "charge",
                "charged",
                "credential",
                "receipt",
            ],
            &[
                "accepted",
                "succeeded",
                "settled",
                "verified",
                "went through",
                "received",
                "captured",
                "was taken",
                "confirmed",
                "issued",
            ],
            &[
                "internal server error",
                "500",
                "fail*",
                "error",
                "crash*",
                "not delivered",
                "did not deliver",
                "no content",
                "unavailable",
            ],
        ],
        &["declin*", "refund*", "voucher"],
    ),
    rule(
        "offramp",
        C::OfframpFailed,
        K::Offramp,
        &[
            &[
                "off-ramp",
                "offramp",
                "off ramp",
                "payout",
                "fiat withdrawal",
                "bank withdrawal",
                "cash out",
                "cash-out",
                "withdrawal to bank",
                "sepa",
                "ach",
            ],
            FAILED,
        ],
        &[],
    ),
    with(
        rule(
            "fee",
            C::PaymentInsufficient,
            K::Fee,
            &[
                &[
                    "gas",
                    "fee",
                    "fees",
                    "fee token",
                    "fee tokens",
                    "fee payer",
                    "feepayer",
                    "sponsor",
                    "sponsorship",
                    "sponsored",
                ],
                &[
                    "insufficient",
                    "insufficient_funds",
                    "enough funds",
                    "exceeds the balance",
                    "exhausted",
                    "depleted",
                    "not enough",
                    "cannot pay",
                    "can't pay",
                    "unable to pay",
                    "empty",
                    "ran out",
                    "out of",
                    "too low",
                    "cannot be lower",
                    "underpriced",
                    "exceeds allowance",
                    "less than block base fee",
                    "below minimum",
                    "below the minimum",
                    "budget",
                ],
            ],
            // The gas limit the caller set is its own mistake.
            &["card", "intrinsic gas", "amount of gas", "out of gas"],
        ),
        &EXTRACT_BALANCE,
    ),
    rule(
        "fee-underpriced",
        C::PaymentInsufficient,
        K::Fee,
        &[&["transaction underpriced"]],
        &[],
    ),
    with(
        rule(
            "balance",
            C::PaymentInsufficient,
            K::Balance,
            &[&[
                "insufficient balance",
                "insufficient funds",
                "balance too low",
                "not enough balance",
                "not enough funds",
                "exceeds balance",
                "insufficientbalance",
                "balance is insufficient",
                "balance is too low",
                "insufficient token balance",
                "lacks funds",
                "underfunded",
                "insufficient allowance",
                "insufficientallowance",
                "erc20insufficientbalance",
                "erc20insufficientallowance",
                "transfer amount exceeds balance",
                "transfer amount exceeds allowance",
                "exceeds channel deposit",
                "no record of a prior credit",
                "insufficient_funds",
            ]],
            &["card"],
        ),
        &EXTRACT_BALANCE,
    ),
    // The words apart: "Insufficient 0x20c0… balance: have 5, need 10".
    with(
        rule(
            "balance-words",
            C::PaymentInsufficient,
            K::Balance,
            &[&["insufficient"], &["balance"]],
            &["card", "gas", "fee"],
        ),
        &EXTRACT_BALANCE,
    ),
    rule(
        "payment-expired",
        C::PaymentExpired,
        K::Session,
        &[&["payment", "invoice", "quote"], &["expir*"]],
        &["card", "challenge", "session", "credential"],
    ),
    rule(
        "challenge",
        C::InvalidChallenge,
        K::Session,
        &[
            &[
                "challenge",
                "session",
                "credential",
                "www-authenticate",
                "payment request",
            ],
            &[
                "expir*",
                "stale",
                "no longer valid",
                "invalid",
                "unknown",
                "not found",
                "mismatch*",
                "already used",
                "replay*",
                "consumed",
                "malformed",
                "no valid",
            ],
        ],
        // A client's own transport limit is no challenge's fault.
        &[
            "card",
            "chain id",
            "chainid",
            "chain_id",
            "network",
            "request bodies",
        ],
    ),
    rule(
        "currency",
        C::MethodUnsupported,
        K::Currency,
        &[
            &[
                "currency",
                "currencies",
                "token",
                "asset",
                "method",
                "stablecoin",
            ],
            &[
                "not accepted",
                "unsupported",
                "not supported",
                "does not accept",
                "doesn't accept",
                "only accepts",
                "accepts only",
                "not allowed for this",
                "not enabled",
            ],
        ],
        // A JSON-RPC method the wallet lacks is no payment method.
        &["chain", "network", "card", "eth_*", "wallet_*"],
    ),
    rule(
        "accepts-only",
        C::MethodUnsupported,
        K::Currency,
        &[&[
            "only accepts",
            "accepts only",
            "accepted currencies are",
            "only supports payment in",
            // Tempo's Rust mpp client, when no offered challenge is in a
            // currency it may pay in.
            "no supported challenge",
            "rejected all supported payment challenges",
        ]],
        &["chain", "network", "card"],
    ),
    with(
        rule(
            "uninitialized",
            C::TokenUninitialized,
            K::Network,
            &[&[
                "uninitialized",
                "not initialized",
                "uninitialised",
                "not deployed",
                "no code at",
                "does not exist on",
            ]],
            &[],
        ),
        &EXTRACT_CHAIN_ID,
    ),
    with(
        rule(
            "chain-mismatch",
            C::TokenUninitialized,
            K::Network,
            &[
                &["chain id", "chainid", "chain_id", "network", "chain"],
                &[
                    "mismatch*",
                    "wrong",
                    "does not match",
                    "doesn't match",
                    "different",
                    "unsupported",
                    "incorrect",
                    "invalid",
                    "expected",
                    "changed",
                    "not authorized to transact",
                ],
            ],
            &["nonce", "card"],
        ),
        &EXTRACT_CHAIN_ID,
    ),
    // Last: a revert no rule above explains.
    rule(
        "reverted",
        C::TxReverted,
        K::Batch,
        &[&["revert*", "call failed", "out of gas"]],
        // An unknown custom error stays unknown: its selector says more
        // than the word, and we cannot read it.
        &["custom error"],
    ),
];
