#!/usr/bin/env bash
# The Foundry project in contracts/, offline: forge 1.7.1 and solcjs 0.8.30
# from .tools/ (scripts/tools.sh installs them).
#   scripts/contracts.sh test     forge test (unit, fuzz, invariant)
#   scripts/contracts.sh gas      the gas report the docs quote
#   scripts/contracts.sh build    compile to contracts/out/
#   scripts/contracts.sh abi      rebuild and refresh the committed artifacts the Rust bindings use
#   scripts/contracts.sh deploy RPC [helix-lab deploy-contracts options]
#                                 deploy the four contracts (0x76, fee token named); prints addresses
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/tools.sh >/dev/null
FORGE=$PWD/.tools/node_modules/@foundry-rs/forge-linux-amd64/bin/forge
command -v node >/dev/null || { echo "contracts: node is required for solcjs" >&2; exit 1; }
cd contracts
case "${1:-test}" in
  test) "$FORGE" test ;;
  gas) "$FORGE" test --gas-report --match-contract 'AnchorTest|StakingTest|GovernanceTest' ;;
  build) "$FORGE" build ;;
  abi)
    "$FORGE" build
    for n in GeneAnchor GeneStaking Governance HelixToken; do
      node -e '
        const a = require(process.argv[1]);
        const out = { abi: a.abi, bytecode: { object: a.bytecode.object } };
        const sort = v => Array.isArray(v) ? v.map(sort) : v && typeof v === "object"
          ? Object.fromEntries(Object.keys(v).sort().map(k => [k, sort(v[k])])) : v;
        process.stdout.write(JSON.stringify(sort(out), null, 1) + "\n");
      ' "$PWD/out/$n.sol/$n.json" > "../crates/helix-registry/abi/$n.json"
    done ;;
  deploy)
    shift
    rpc=${1:?usage: scripts/contracts.sh deploy RPC [options]}; shift
    cd .. && cargo run --locked -q -p helix-lab --bin helix-lab -- deploy-contracts --rpc "$rpc" "$@" ;;
  *) echo "usage: $0 test|gas|build|abi|deploy RPC" >&2; exit 2 ;;
esac
