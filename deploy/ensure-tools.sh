#!/usr/bin/env bash
# Make sure the tools the deploy checks (tests/deploy) need are installed:
# kubectl with its built-in `kustomize` (offline builds of the overlays).
# Python tools (kubernetes, kubernetes-validate) come with the `dev` extra.
# Installs Debian's kubernetes-client (kubectl 1.20, kustomize v2.0.3) when no kubectl
# is found; the rendered kustomizations build with it and with kustomize v5 alike.
set -euo pipefail

if command -v kubectl >/dev/null 2>&1 && kubectl kustomize --help >/dev/null 2>&1; then
  exit 0
fi

echo "ensure-tools: installing kubectl (Debian package kubernetes-client)"
if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq kubernetes-client >/dev/null
kubectl kustomize --help >/dev/null
