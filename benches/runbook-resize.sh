#!/usr/bin/env bash
# The manual StatefulSet volume resize, scripted with kubectl: the peer of
# `kubectl sts resize`. Usage: runbook-resize.sh KUBECTL KUBECONFIG STS TEMPLATE SIZE DIR
# Patch every claim of the template, wait for each to grow, save the StatefulSet, delete
# it with --cascade=orphan, create it again with the bigger template, and wait until
# every pod names the new StatefulSet as its controller.
set -euo pipefail
kubectl=$1 kubeconfig=$2 sts=$3 template=$4 size=$5 dir=$6
k() { "$kubectl" --kubeconfig "$kubeconfig" "$@"; }
mapfile -t claims < <(k get pvc -o name | grep -E "^persistentvolumeclaim/$template-$sts-[0-9]+$")
for c in "${claims[@]}"; do
  k patch "$c" -p "{\"spec\":{\"resources\":{\"requests\":{\"storage\":\"$size\"}}}}" >/dev/null
done
for c in "${claims[@]}"; do
  k wait "$c" --for=jsonpath='{.status.capacity.storage}'="$size" --timeout=300s >/dev/null
done
k get sts "$sts" -o json >"$dir/backup.json"
k delete sts "$sts" --cascade=orphan --wait=true >/dev/null
python3 - "$dir/backup.json" "$template" "$size" >"$dir/new.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
for f in ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields"):
    s["metadata"].pop(f, None)
s.pop("status", None)
for t in s["spec"]["volumeClaimTemplates"]:
    if t["metadata"]["name"] == sys.argv[2]:
        t["spec"]["resources"]["requests"]["storage"] = sys.argv[3]
json.dump(s, sys.stdout)
PY
k create -f "$dir/new.json" >/dev/null
uid=$(k get sts "$sts" -o jsonpath='{.metadata.uid}')
mapfile -t pods < <(k get pods -l "app=nginx" -o name)
for p in "${pods[@]}"; do
  k wait "$p" --for=jsonpath='{.metadata.ownerReferences[0].uid}'="$uid" --timeout=300s >/dev/null
done
