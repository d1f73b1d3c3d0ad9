#!/usr/bin/env bash
# The Foundry project in contracts/, offline: forge 1.7.1 and solcjs 0.8.30
# from .tools/ (scripts/tools.sh installs them).
#   scripts/contracts.sh test     forge test (unit, fuzz, invariant)
#   scripts/contracts.sh gas      the gas report the docs quote
#   scripts/contracts.sh build    compile to contracts/out/
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
  *) echo "usage: $0 test|gas|build" >&2; exit 2 ;;
esac
