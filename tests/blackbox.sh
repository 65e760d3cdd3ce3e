#!/usr/bin/env bash
# Black-box test: the three real function binaries, revoke-open-ingress, enforce-cluster-config
# and detach-node-policy, under `cargo lambda watch`, invoked with `cargo lambda invoke`,
# against moto's server. Checks the remediate and alert-only scenarios of each (see
# scripts/e2e.py). Exit status: 0 pass, 1 a check failed, 2 the run could not be done.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/tools.sh
exec python scripts/e2e.py --check "$@"
