#!/usr/bin/env bash
# Installs what Marina needs when it is missing: Debian packages, pnpm, the workspace's
# dependencies, and the build. Safe to run again: each step checks before it acts.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

# chromium: the dashboard's browser test (playwright-core drives it; no browser download).
PACKAGES=(mariadb-server mariadb-client mariadb-backup nats-server socat pigz zstd openssh-server iproute2 iptables util-linux procps openssl haproxy chromium)

# --containers: the servers come from container images (scripts/containers-env.sh sets up
# the engine), so the Debian server packages are not needed.
if [[ ${1:-} == --containers ]]; then PACKAGES=(); fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    die "Debian packages missing: ${missing[*]}. Run this as root, or install them: apt-get install ${missing[*]}"
  fi
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # The install cannot start services here (no init system); Marina's lab starts its own.
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
elif ((${#PACKAGES[@]})); then
  say "Debian packages present"
fi

command -v node >/dev/null || die "node (>= 20) is required and was not found"
node_major=$(node -p 'process.versions.node.split(".")[0]')
((node_major >= 20)) || die "node >= 20 is required, found $(node -v)"

PNPM_VERSION=$(node -p 'require("./package.json").packageManager.split("@")[1]')
if ! command -v pnpm >/dev/null || [[ $(pnpm -v 2>/dev/null) != "$PNPM_VERSION" ]]; then
  say "installing pnpm $PNPM_VERSION"
  npm install -g "pnpm@$PNPM_VERSION" >/dev/null 2>&1 || die "could not install pnpm with npm"
else
  say "pnpm $PNPM_VERSION present"
fi

stamp=node_modules/.marina-install-stamp
if [[ ! -f $stamp || pnpm-lock.yaml -nt $stamp || package.json -nt $stamp ]]; then
  say "installing dependencies (pnpm install)"
  pnpm install --frozen-lockfile --reporter=append-only 2>&1 | grep -vE '^(Progress|\.\.\.)' | tail -n 5
  touch "$stamp"
else
  say "dependencies present"
fi

say "building (tsc -b)"
pnpm -s build
say "ready"
