#!/usr/bin/env bash
# Black-box test: the nine real function binaries, revoke-open-ingress, enforce-cluster-config,
# detach-node-policy, restore-audit-trail, notify-eks-finding, guard-cluster-access,
# audit-workloads, harden-nodes and publish-findings, and the sweep, under `cargo lambda watch`,
# invoked with `cargo lambda invoke`, against moto's server (with scripts/eks_access_standin.py in
# front of it for what moto lacks: EKS access entries, and clusters' deletion protection and
# upgrade policy; guard-cluster-access, enforce-cluster-config, the CLI and the sweep talk to it).
# Checks the remediate and alert-only scenarios of each (notify-eks-finding only alerts: one
# scenario; enforce-cluster-config: a new cluster, and deletion protection turned off;
# audit-workloads: its audit log twice, and CreateLogGroup in both modes; harden-nodes: a node's
# state change to running; publish-findings: revoke-open-ingress's would-remediate and then
# remediated alert about one group, handed on as the alert topic's SNS notifications, giving one
# Security Hub finding, NEW then RESOLVED, and a chat notification each, and a message that is no
# alert document failing the invocation with nothing imported), the CLI's scan and replay, and the
# sweep subscribing a cluster's audit log; see scripts/e2e.py. Exit status: 0 pass, 1 a check
# failed, 2 the run could not be done.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/tools.sh
exec python scripts/e2e.py --check "$@"
