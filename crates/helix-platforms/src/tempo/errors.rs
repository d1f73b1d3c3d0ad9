//! Every custom error the Tempo chain's precompiles and system contracts
//! define (tempo-contracts 1.11, as tempo-alloy exposes them), each read
//! into the taxonomy or listed, with the reason, as not a payment failure.
//! `tests/tempo_abi.rs` enumerates the definitions and fails on any error
//! missing here, or whose selector differs.
//!
//! Arguments a repair needs are decoded from the revert data into facts:
//! `InsufficientBalance(available, required, token)` gives the payer's
//! balance, the amount needed and the token.

use helix_core::{Category as K, Facts, FailureCode as C};

use crate::perception::selectors::selector;
use crate::perception::words::WordIndex;

/// What an error means for a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meaning {
    /// A payment failure, classified.
    Payment(C, K),
    /// Not a payment failure Helix repairs, and why.
    NotPayment(&'static str),
}

/// What an argument of an error is, for the facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg {
    /// The balance the payer has.
    Available,
    /// The amount the call needed.
    Required,
    /// The token concerned.
    Token,
}

/// One custom error.
#[derive(Debug, Clone, Copy)]
pub struct ChainError {
    /// Its Solidity signature, e.g. `InsufficientBalance(uint256,uint256,address)`.
    pub signature: &'static str,
    /// What it means.
    pub meaning: Meaning,
    /// The roles of its leading arguments (all static, one word each).
    pub args: &'static [Arg],
}

const fn e(signature: &'static str, meaning: Meaning, args: &'static [Arg]) -> ChainError {
    ChainError {
        signature,
        meaning,
        args,
    }
}

const CALLER: &str = "a mistake in the call itself (arguments, target, encoding): no repair changes it, and Helix never changes a recipient or an amount to get past it";
const ADMIN: &str = "administration of a token, the DEX, the fee AMM or a policy: an agent paying does not make this call";
const VALIDATOR: &str = "validator, committee and zone configuration: not a payment";
const REGISTRY: &str = "address-registry and receive-policy bookkeeping of the recipient side: not the payer's to repair";
const CHANNEL: &str = "payment-channel bookkeeping the client library gets wrong: not a state a retry or a repair fixes";
const KEY: &str = "account-key administration (adding or authorising keys): not a payment";

/// Every custom error the precompiles define, by signature.
pub const ERRORS: &[ChainError] = &[
    e(
        "AddressAlreadyHasValidator()",
        Meaning::NotPayment(VALIDATOR),
        &[],
    ), // IValidatorConfigV2
    e("AddressNotReserved()", Meaning::NotPayment(REGISTRY), &[]), // ITIP20Factory
    e("AddressReserved()", Meaning::NotPayment(REGISTRY), &[]), // IReceivePolicyGuard, ITIP20Factory
    e("AlreadyInitialized()", Meaning::NotPayment(ADMIN), &[]), // IValidatorConfigV2, IZoneFactory
    e(
        "AmountExceedsDeposit()",
        Meaning::Payment(C::PaymentInsufficient, K::Balance),
        &[],
    ), // ITIP20ChannelReserve
    e("AmountNotIncreasing()", Meaning::NotPayment(CHANNEL), &[]), // ITIP20ChannelReserve
    e(
        "BelowMinimumOrderSize(uint128)",
        Meaning::Payment(C::SwapReverted, K::Dex),
        &[Arg::Required],
    ), // IStablecoinDEX
    e(
        "CallNotAllowed()",
        Meaning::Payment(C::PolicyViolation, K::Policy),
        &[],
    ), // IAccountKeychain
    e(
        "CannotChangeWithinBlock()",
        Meaning::Payment(C::RateLimited, K::Throttle),
        &[],
    ), // IFeeManager
    e("CaptureAmountInvalid()", Meaning::NotPayment(CHANNEL), &[]), // ITIP20ChannelReserve
    e("ChannelAlreadyExists()", Meaning::NotPayment(CHANNEL), &[]), // ITIP20ChannelReserve
    e(
        "ChannelNotFound()",
        Meaning::Payment(C::InvalidChallenge, K::Session),
        &[],
    ), // ITIP20ChannelReserve
    e("CloseNotReady()", Meaning::NotPayment(CHANNEL), &[]),    // ITIP20ChannelReserve
    e(
        "ContractPaused()",
        Meaning::Payment(C::Tip403, K::Compliance),
        &[],
    ), // ITIP20
    e("DepositOverflow()", Meaning::NotPayment(CHANNEL), &[]),  // ITIP20ChannelReserve
    e("DivisionByZero()", Meaning::NotPayment(ADMIN), &[]),     // ITIPFeeAMM
    e("EmptyV1ValidatorSet()", Meaning::NotPayment(VALIDATOR), &[]), // IValidatorConfigV2
    e(
        "ExpiringNonceHashNotSet()",
        Meaning::NotPayment(CHANNEL),
        &[],
    ), // ITIP20ChannelReserve
    e(
        "ExpiringNonceReplay()",
        Meaning::Payment(C::OutcomeUnknown, K::Service),
        &[],
    ), // INonce
    e(
        "ExpiringNonceSetFull()",
        Meaning::Payment(C::ServerError, K::Service),
        &[],
    ), // INonce
    e("ExpiryInPast()", Meaning::NotPayment(KEY), &[]),         // IAccountKeychain
    e("IdenticalAddresses()", Meaning::NotPayment(CALLER), &[]), // ITIPFeeAMM
    e("IdenticalTokens()", Meaning::NotPayment(CALLER), &[]),   // IStablecoinDEX
    e("IncompatiblePolicyType()", Meaning::NotPayment(ADMIN), &[]), // ITIP403Registry
    e("IndexAlreadySet()", Meaning::NotPayment(ADMIN), &[]),    // IStablecoinDEX
    e(
        "IngressAlreadyExists(string)",
        Meaning::NotPayment(VALIDATOR),
        &[],
    ), // IValidatorConfigV2
    e(
        "InsufficientAllowance()",
        Meaning::Payment(C::PaymentInsufficient, K::Balance),
        &[],
    ), // ITIP20: a transferFrom the payer approved too little for
    e(
        "InsufficientBalance()",
        Meaning::Payment(C::PaymentInsufficient, K::Balance),
        &[],
    ), // IStablecoinDEX
    e(
        "InsufficientBalance(uint256,uint256,address)",
        Meaning::Payment(C::PaymentInsufficient, K::Balance),
        &[Arg::Available, Arg::Required, Arg::Token],
    ), // ITIP20
    e(
        "InsufficientFeeTokenBalance()",
        Meaning::Payment(C::PaymentInsufficient, K::Fee),
        &[],
    ), // IFeeManager
    e(
        "InsufficientLiquidity()",
        Meaning::Payment(C::SwapReverted, K::Dex),
        &[],
    ), // IStablecoinDEX, ITIPFeeAMM
    e(
        "InsufficientOutput()",
        Meaning::Payment(C::SwapReverted, K::Dex),
        &[],
    ), // IStablecoinDEX
    e(
        "InsufficientReserves()",
        Meaning::Payment(C::SwapReverted, K::Dex),
        &[],
    ), // ITIPFeeAMM
    e("InvalidAdmin()", Meaning::NotPayment(ADMIN), &[]),       // IZoneFactory
    e("InvalidAmount()", Meaning::NotPayment(CALLER), &[]),     // ITIP20, ITIPFeeAMM
    e("InvalidBaseToken()", Meaning::NotPayment(ADMIN), &[]),   // IStablecoinDEX
    e(
        "InvalidCallScope()",
        Meaning::Payment(C::PolicyViolation, K::Policy),
        &[],
    ), // IAccountKeychain
    e("InvalidClaimAddress()", Meaning::NotPayment(REGISTRY), &[]), // IReceivePolicyGuard
    e(
        "InvalidClosedLoopConfig()",
        Meaning::NotPayment(VALIDATOR),
        &[],
    ), // IZoneFactory
    e(
        "InvalidCurrency()",
        Meaning::Payment(C::MethodUnsupported, K::Currency),
        &[],
    ), // ITIP20
    e(
        "InvalidExpiringNonceExpiry()",
        Meaning::Payment(C::PaymentExpired, K::Session),
        &[],
    ), // INonce
    e("InvalidFlipTick()", Meaning::NotPayment(ADMIN), &[]),    // IStablecoinDEX
    e("InvalidFormat()", Meaning::NotPayment(CALLER), &[]),     // ISignatureVerifier
    e(
        "InvalidKeyAuthorizationWitness()",
        Meaning::NotPayment(KEY),
        &[],
    ), // IAccountKeychain
    e(
        "InvalidKeyId()",
        Meaning::Payment(C::VerificationFailed, K::Signature),
        &[],
    ), // IAccountKeychain
    e("InvalidLogoURI()", Meaning::NotPayment(ADMIN), &[]),     // ITIP20
    e("InvalidMasterAddress()", Meaning::NotPayment(REGISTRY), &[]), // IAddressRegistry
    e(
        "InvalidMigrationIndex()",
        Meaning::NotPayment(VALIDATOR),
        &[],
    ), // IValidatorConfigV2
    e("InvalidMode()", Meaning::NotPayment(ADMIN), &[]),        // IStorageCredits
    e(
        "InvalidNonceKey()",
        Meaning::Payment(C::VerificationFailed, K::Signature),
        &[],
    ), // INonce
    e("InvalidOwner()", Meaning::NotPayment(VALIDATOR), &[]),   // IValidatorConfigV2
    e("InvalidPayee()", Meaning::NotPayment(CHANNEL), &[]),     // ITIP20ChannelReserve
    e("InvalidPayload()", Meaning::NotPayment(CALLER), &[]),    // ITIP20
    e("InvalidPolicyType()", Meaning::NotPayment(ADMIN), &[]),  // ITIP403Registry
    e("InvalidPublicKey()", Meaning::NotPayment(VALIDATOR), &[]), // IValidatorConfig, IValidatorConfigV2
    e("InvalidQuoteToken()", Meaning::NotPayment(ADMIN), &[]),    // ITIP20, ITIP20Factory
    e("InvalidReceipt()", Meaning::NotPayment(REGISTRY), &[]),    // IReceivePolicyGuard
    e(
        "InvalidReceivePolicyType()",
        Meaning::NotPayment(ADMIN),
        &[],
    ), // ITIP403Registry
    e("InvalidRecipient()", Meaning::NotPayment(CALLER), &[]),    // ITIP20
    e(
        "InvalidRecoveryAuthority()",
        Meaning::NotPayment(ADMIN),
        &[],
    ), // ITIP403Registry
    e("InvalidSequencerSet()", Meaning::NotPayment(VALIDATOR), &[]), // IZoneFactory
    e(
        "InvalidSignature()",
        Meaning::Payment(C::VerificationFailed, K::Signature),
        &[],
    ), // ISignatureVerifier, ITIP20, ITIP20ChannelReserve, IValidatorConfigV2
    e(
        "InvalidSignatureFormat()",
        Meaning::NotPayment(VALIDATOR),
        &[],
    ), // IValidatorConfigV2
    e(
        "InvalidSignatureType()",
        Meaning::Payment(C::VerificationFailed, K::Signature),
        &[],
    ), // IAccountKeychain
    e("InvalidSpendingLimit()", Meaning::NotPayment(KEY), &[]),   // IAccountKeychain
    e("InvalidSupplyCap()", Meaning::NotPayment(ADMIN), &[]),     // ITIP20
    e(
        "InvalidSwapCalculation()",
        Meaning::Payment(C::SwapReverted, K::Dex),
        &[],
    ), // ITIPFeeAMM
    e("InvalidTick()", Meaning::NotPayment(ADMIN), &[]),          // IStablecoinDEX
    e(
        "InvalidToken()",
        Meaning::Payment(C::MethodUnsupported, K::Currency),
        &[],
    ), // IFeeManager, IStablecoinDEX, ITIP20, ITIPFeeAMM, IZoneFactory
    e("InvalidTransferPolicyId()", Meaning::NotPayment(ADMIN), &[]), // ITIP20
    e(
        "InvalidValidatorAddress()",
        Meaning::NotPayment(VALIDATOR),
        &[],
    ), // IValidatorConfigV2
    e("KeyAlreadyExists()", Meaning::NotPayment(KEY), &[]),       // IAccountKeychain
    e(
        "KeyAlreadyRevoked()",
        Meaning::Payment(C::VerificationFailed, K::Signature),
        &[],
    ), // IAccountKeychain
    e(
        "KeyAuthorizationWitnessAlreadyBurned()",
        Meaning::NotPayment(KEY),
        &[],
    ), // IAccountKeychain
    e(
        "KeyExpired()",
        Meaning::Payment(C::PaymentExpired, K::Session),
        &[],
    ), // IAccountKeychain
    e(
        "KeyNotFound()",
        Meaning::Payment(C::VerificationFailed, K::Signature),
        &[],
    ), // IAccountKeychain
    e(
        "LegacyAuthorizeKeySelectorChanged(bytes4)",
        Meaning::NotPayment(KEY),
        &[],
    ), // IAccountKeychain
    e("LogoURITooLong()", Meaning::NotPayment(ADMIN), &[]),       // ITIP20
    e(
        "MasterIdCollision(address)",
        Meaning::NotPayment(REGISTRY),
        &[],
    ), // IAddressRegistry
    e(
        "MaxInputExceeded()",
        Meaning::Payment(C::SwapReverted, K::Dex),
        &[],
    ), // IStablecoinDEX
    e(
        "MigrationNotComplete()",
        Meaning::NotPayment(VALIDATOR),
        &[],
    ), // IValidatorConfigV2
    e("NoOptedInSupply()", Meaning::NotPayment(ADMIN), &[]),      // ITIP20
    e(
        "NonceOverflow()",
        Meaning::Payment(C::VerificationFailed, K::Signature),
        &[],
    ), // INonce
    e(
        "NotHostPort(string,string,string)",
        Meaning::NotPayment(VALIDATOR),
        &[],
    ), // IValidatorConfig
    e("NotInitialized()", Meaning::NotPayment(VALIDATOR), &[]),   // IValidatorConfigV2
    e("NotIp(string,string)", Meaning::NotPayment(VALIDATOR), &[]), // IValidatorConfigV2
    e(
        "NotIpPort(string,string)",
        Meaning::NotPayment(VALIDATOR),
        &[],
    ), // IValidatorConfigV2
    e(
        "NotIpPort(string,string,string)",
        Meaning::NotPayment(VALIDATOR),
        &[],
    ), // IValidatorConfig
    e("NotOwner()", Meaning::NotPayment(ADMIN), &[]),             // IZoneFactory
    e("NotPayeeOrOperator()", Meaning::NotPayment(CHANNEL), &[]), // ITIP20ChannelReserve
    e("NotPayer()", Meaning::NotPayment(CHANNEL), &[]),           // ITIP20ChannelReserve
    e("OnlyDirectCall()", Meaning::NotPayment(CALLER), &[]),      // IStorageCredits
    e("OrderDoesNotExist()", Meaning::NotPayment(ADMIN), &[]),    // IStablecoinDEX
    e("OrderNotStale()", Meaning::NotPayment(ADMIN), &[]),        // IStablecoinDEX
    e("PairAlreadyExists()", Meaning::NotPayment(ADMIN), &[]),    // IStablecoinDEX
    e(
        "PairDoesNotExist()",
        // No route from the payer's token to the one charged: the
        // currency, not the swap, is what must change.
        Meaning::Payment(C::MethodUnsupported, K::Currency),
        &[],
    ), // IStablecoinDEX
    e(
        "PermitExpired()",
        Meaning::Payment(C::PaymentExpired, K::Session),
        &[],
    ), // ITIP20
    e(
        "PolicyForbids()",
        Meaning::Payment(C::Tip403, K::Compliance),
        &[],
    ), // ITIP20
    e(
        "PolicyNotFound()",
        Meaning::Payment(C::Tip403, K::Compliance),
        &[],
    ), // ITIP403Registry: the token's transfer policy cannot be checked
    e("PolicyNotSimple()", Meaning::NotPayment(ADMIN), &[]),      // ITIP403Registry
    e("ProofOfWorkFailed()", Meaning::NotPayment(REGISTRY), &[]), // IAddressRegistry
    e("ProtectedAddress()", Meaning::NotPayment(CALLER), &[]),    // ITIP20
    e(
        "ProtocolNonceNotSupported()",
        Meaning::Payment(C::VerificationFailed, K::Signature),
        &[],
    ), // INonce
    e(
        "PublicKeyAlreadyExists()",
        Meaning::NotPayment(VALIDATOR),
        &[],
    ), // IValidatorConfigV2
    e(
        "SignatureTypeMismatch(uint8,uint8)",
        Meaning::Payment(C::VerificationFailed, K::Signature),
        &[],
    ), // IAccountKeychain
    e(
        "SpendingLimitExceeded()",
        Meaning::Payment(C::PolicyViolation, K::Policy),
        &[],
    ), // IAccountKeychain
    e("SupplyCapExceeded()", Meaning::NotPayment(ADMIN), &[]),    // ITIP20
    e("TickOutOfBounds(int16)", Meaning::NotPayment(ADMIN), &[]), // IStablecoinDEX
    e(
        "TokenAlreadyExists(address)",
        Meaning::NotPayment(ADMIN),
        &[],
    ), // ITIP20Factory
    e("TokenMetadataTooLong()", Meaning::NotPayment(ADMIN), &[]), // IZoneFactory
    e(
        "TokenTransferPolicyNotSet()",
        Meaning::NotPayment(ADMIN),
        &[],
    ), // IZoneFactory
    e("Unauthorized()", Meaning::NotPayment(ADMIN), &[]), // ICurrentCommittee, IRolesAuth, IStablecoinDEX, ITIP20, ITIP403Registry, IValidatorConfig, IValidatorConfigV2
    e("UnauthorizedCaller()", Meaning::NotPayment(KEY), &[]), // IAccountKeychain
    e("UnauthorizedClaimer()", Meaning::NotPayment(REGISTRY), &[]), // IReceivePolicyGuard
    e(
        "Uninitialized()",
        Meaning::Payment(C::TokenUninitialized, K::Network),
        &[],
    ), // ITIP20
    e(
        "UnknownFunctionSelector(bytes4)",
        Meaning::NotPayment(CALLER),
        &[],
    ), // common
    e(
        "ValidatorAlreadyDeactivated()",
        Meaning::NotPayment(VALIDATOR),
        &[],
    ), // IValidatorConfigV2
    e(
        "ValidatorAlreadyExists()",
        Meaning::NotPayment(VALIDATOR),
        &[],
    ), // IValidatorConfig
    e("ValidatorNotFound()", Meaning::NotPayment(VALIDATOR), &[]), // IValidatorConfig, IValidatorConfigV2
    e(
        "VirtualAddressNotAllowed()",
        Meaning::NotPayment(CALLER),
        &[],
    ), // ITIP403Registry
    e(
        "VirtualAddressUnregistered()",
        Meaning::NotPayment(CALLER),
        &[],
    ), // IAddressRegistry
    e("ZeroDeposit()", Meaning::NotPayment(CHANNEL), &[]),         // ITIP20ChannelReserve
    e("ZeroPublicKey()", Meaning::NotPayment(KEY), &[]),           // IAccountKeychain
];

/// The error a selector names, if the chain defines it.
pub fn by_selector(sel: [u8; 4]) -> Option<&'static ChainError> {
    static TABLE: std::sync::LazyLock<Vec<([u8; 4], &'static ChainError)>> =
        std::sync::LazyLock::new(|| {
            let mut v: Vec<_> = ERRORS.iter().map(|e| (selector(e.signature), e)).collect();
            v.sort_by_key(|(s, _)| *s);
            v
        });
    TABLE
        .binary_search_by_key(&sel, |(s, _)| *s)
        .ok()
        .map(|i| TABLE[i].1)
}

/// The error a name written in a message names ("TIP20 token error:
/// PolicyForbids(PolicyForbids)"): the first signature with that name.
pub fn by_name(name: &str) -> Option<&'static ChainError> {
    static NAMES: std::sync::LazyLock<WordIndex> = std::sync::LazyLock::new(|| {
        WordIndex::new(
            ERRORS
                .iter()
                .map(|e| e.signature.split('(').next().unwrap_or(e.signature)),
        )
    });
    NAMES.get(name).map(|i| &ERRORS[i])
}

/// The first chain error a message names as `Name(`, a Rust or Solidity
/// rendering of the error. The search starts at `from`, where the first
/// `(` is known to be, or earlier.
pub fn named_in(msg: &str, from: usize) -> Option<&'static ChainError> {
    let b = msg.as_bytes();
    let mut from = from;
    while let Some(p) = b.get(from..).and_then(|rest| memchr::memchr(b'(', rest)) {
        let open = from + p;
        from = open + 1;
        let start = b[..open]
            .iter()
            .rposition(|c| !c.is_ascii_alphanumeric())
            .map_or(0, |i| i + 1);
        let name = &msg[start..open];
        if name.len() >= 6
            && name.as_bytes()[0].is_ascii_uppercase()
            && let Some(e) = by_name(name)
        {
            return Some(e);
        }
    }
    None
}

/// Puts the decoded arguments of `data` (selector, then ABI words) into
/// `facts`; arguments missing from short data are left alone.
pub fn decode_args(err: &ChainError, data: &[u8], facts: &mut Facts) {
    for (i, role) in err.args.iter().enumerate() {
        let Some(word) = data.get(4 + 32 * i..4 + 32 * (i + 1)) else {
            return;
        };
        match role {
            Arg::Available | Arg::Required => {
                // Amounts beyond u128 are not TIP-20 amounts: left out.
                if word[..16].iter().all(|b| *b == 0) {
                    let v = u128::from_be_bytes(word[16..].try_into().unwrap_or([0; 16]));
                    if *role == Arg::Available {
                        facts.payer_balance = Some(v);
                    } else {
                        facts.required_amount = Some(v);
                    }
                }
            }
            Arg::Token => {
                if word[..12].iter().all(|b| *b == 0) {
                    facts.currency = Some(format!("0x{}", hex::encode(&word[12..])));
                }
            }
        }
    }
}
