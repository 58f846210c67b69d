#!/usr/bin/env bash
# Make sure the tools the deploy checks (tests/deploy) need are installed:
# kubectl with its built-in `kustomize` (offline builds of the overlays), and the
# oldest kubectl the overlays must build with: Debian's kubernetes-client (kubectl
# 1.20, kustomize v2.0.3), unpacked into .venv/kubectl-debian so the checks build
# with it even where a newer kubectl is on PATH.
# Python tools (kubernetes, kubernetes-validate) come with the `dev` extra.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
oldest=.venv/kubectl-debian/usr/bin/kubectl

if ! { command -v kubectl >/dev/null 2>&1 && kubectl kustomize --help >/dev/null 2>&1; }; then
  echo "ensure-tools: installing kubectl (Debian package kubernetes-client)"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq kubernetes-client >/dev/null
  kubectl kustomize --help >/dev/null
fi

if [ ! -x "$oldest" ]; then
  echo "ensure-tools: unpacking Debian's kubectl 1.20 into .venv/kubectl-debian"
  download=$(mktemp -d)
  ( cd "$download" && { apt-get download kubernetes-client >/dev/null 2>&1 \
      || { $sudo apt-get update -qq && apt-get download kubernetes-client >/dev/null; }; } )
  mkdir -p .venv/kubectl-debian
  dpkg-deb -x "$download"/kubernetes-client_*.deb .venv/kubectl-debian
  rm -rf "$download"
  "$oldest" kustomize --help >/dev/null
fi
