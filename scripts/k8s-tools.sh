#!/usr/bin/env bash
# Installs the offline Kubernetes checks deploy/kubernetes/check/ runs:
# the kubernetes-models and yaml npm packages pinned in its
# package-lock.json, into its node_modules/, when they are missing there;
# and the Go modules of its strict/ checker (k8s.io/api), into the module
# cache. The deploy tests call this script themselves.
set -euo pipefail
cd "$(dirname "$0")/../deploy/kubernetes/check"

go -C strict mod download

command -v node >/dev/null 2>&1 || { echo "k8s-tools: Node.js is not on PATH (Debian: nodejs, npm)" >&2; exit 1; }
# npm ci leaves node_modules/.package-lock.json equal to the lock file's
# packages; any difference (a version bump) installs again.
if [ -f node_modules/.package-lock.json ] &&
   [ "$(grep -c '"version"' node_modules/.package-lock.json)" = "$(grep -c '"version"' package-lock.json)" ] &&
   [ -f node_modules/kubernetes-models/package.json ]; then
  exit 0
fi
echo "== installing the Kubernetes schema check (npm ci)" >&2
npm ci --no-audit --no-fund --loglevel=error >&2
