#!/usr/bin/env bash
# Create .venv and install the project (runtime, or with the `dev` extra).
# Re-installs only when pyproject.toml changed since the last install.
set -euo pipefail
cd "$(dirname "$0")/.."
extra=${1:-}
target="."; [ -n "$extra" ] && target=".[$extra]"

if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  echo "bootstrap: installing python3-venv"
  if [ "$(id -u)" -eq 0 ]; then apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
  else sudo apt-get update -qq && sudo apt-get install -y -qq python3-venv >/dev/null; fi
fi
[ -x .venv/bin/python ] || python3 -m venv .venv

stamp=".venv/.installed-${extra:-runtime}"
digest=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$digest" ]; then
  echo "bootstrap: installing $target into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e "$target" > .venv/install.log 2>&1 || { cat .venv/install.log; exit 1; }
  echo "$digest" > "$stamp"
fi
