#!/usr/bin/env bash
# Black-box test: the five real function binaries, revoke-open-ingress, enforce-cluster-config,
# detach-node-policy, restore-audit-trail and notify-eks-finding, under `cargo lambda watch`,
# invoked with `cargo lambda invoke`, against moto's server. Checks the remediate and
# alert-only scenarios of each (notify-eks-finding only alerts: one scenario; see
# scripts/e2e.py). Exit status: 0 pass, 1 a check failed, 2 the run could not be done.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/tools.sh
exec python scripts/e2e.py --check "$@"
