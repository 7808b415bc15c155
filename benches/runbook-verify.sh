#!/usr/bin/env bash
# The seed runbook's manual persistence check, scripted with kubectl: the peer of
# `kubectl sts verify-persistence`. Usage: runbook-verify.sh KUBECTL KUBECONFIG POD DIR
# `mark:` lines on stderr let the harness split the sim's waits from kubectl's time.
set -euo pipefail
kubectl=$1 kubeconfig=$2 pod=$3 dir=$4
k() { "$kubectl" --kubeconfig "$kubeconfig" "$@"; }
marker="$dir/.persistence-check-$$"
k exec "$pod" -- touch "$marker"
echo mark:delete >&2
k delete pod "$pod" >/dev/null                 # waits until the old pod is gone
k wait --for=create "pod/$pod" --timeout=120s >/dev/null
k wait --for=condition=Ready "pod/$pod" --timeout=120s >/dev/null
echo mark:ready >&2
k exec "$pod" -- ls "$marker" >/dev/null         # first exec into the new pod
echo mark:first-exec-done >&2
k exec "$pod" -- rm -f "$marker"             # leave the volume as it was
