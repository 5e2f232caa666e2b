#!/usr/bin/env bash
# Installs the Debian packages the tests run for real: Prometheus and promtool,
# Alertmanager and amtool, headless Chromium, PostgreSQL, npm (the dashboard schema check), Go
# (its text/template runs the Alloy pipeline's templates, tests/deploy/alloy_template).
# Does nothing when all are there.
set -euo pipefail

declare -A needed=(
  [prometheus]=prometheus
  [promtool]=prometheus
  [prometheus-alertmanager]=prometheus-alertmanager
  [amtool]=prometheus-alertmanager
  [chromium]=chromium
  [/usr/lib/postgresql/15/bin/initdb]=postgresql
  [npm]=npm
  [go]=golang-go
)

missing=()
for binary in "${!needed[@]}"; do
  if ! command -v "$binary" >/dev/null 2>&1 && [ ! -x "$binary" ]; then
    missing+=("${needed[$binary]}")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0
packages=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')

if [ "$(id -u)" -eq 0 ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1; then
  sudo="sudo"
else
  echo "Missing Debian packages: $packages" >&2
  echo "Install them as root: apt-get install --no-install-recommends $packages" >&2
  exit 1
fi

echo "Installing Debian packages: $packages"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
# --no-install-recommends keeps node-exporter and friends out: the tests start their own processes.
$sudo apt-get install -y -q --no-install-recommends $packages
