#!/usr/bin/env bash
# Installs a built Marina from this checkout:
#   - the services (monitor, decider, executor, agent), the `marina` command line and
#     marina-nats-config into a prefix (default /opt/marina; both commands in its bin/),
#     each package's dist/ with its production dependencies only, installed offline from
#     the pnpm store `bash scripts/setup.sh` filled;
#   - config and env files from the examples into the config dir (default /etc/marina),
#     never over an existing file;
#   - the systemd units (default /etc/systemd/system), pointing at the prefix and the
#     config dir.
# Needs no root when every directory it writes is the user's own. See deploy/README.md.
set -euo pipefail
# Bash 5.2 expands '&' in a ${var//pattern/replacement}; the replacements here are paths.
shopt -u patsub_replacement 2>/dev/null || true

say() { printf '[install] %s\n' "$*"; }
die() { printf '[install] error: %s\n' "$*" >&2; exit 1; }

usage() {
  cat <<'EOF'
usage: deploy/install.sh [--prefix DIR] [--config-dir DIR] [--systemd-dir DIR] [--node PATH]
  --prefix DIR       where the code goes (default /opt/marina); replaced on every run
  --config-dir DIR   config and env files (default /etc/marina); existing files are kept
  --systemd-dir DIR  unit files (default /etc/systemd/system); replaced on every run
  --node PATH        the node binary the units run (default: the node on PATH)
Run `bash scripts/setup.sh` first (dependencies and the build).
EOF
}

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
prefix=/opt/marina
config_dir=/etc/marina
systemd_dir=/etc/systemd/system
node_bin=""

while (($#)); do
  case $1 in
    -h | --help) usage; exit 0 ;;
    --prefix | --config-dir | --systemd-dir | --node)
      if (($# < 2)) || [[ -z $2 ]]; then die "$1 needs a value (see --help)"; fi
      case $1 in
        --prefix) prefix=$2 ;;
        --config-dir) config_dir=$2 ;;
        --systemd-dir) systemd_dir=$2 ;;
        --node) node_bin=$2 ;;
      esac
      shift 2
      ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done

# Every path ends up in unit files (ExecStart, EnvironmentFile), where spaces, quotes and
# '%' have meanings: only plain absolute paths are accepted.
checked_path() {
  local flag=$1 path=$2
  [[ $path == /* ]] || path="$PWD/$path"
  path=$(realpath -m -- "$path")
  [[ $path =~ ^/[A-Za-z0-9._/-]+$ ]] ||
    die "$flag $path: use only letters, digits, '.', '_', '-' and '/' (it goes into unit files)"
  printf '%s\n' "$path"
}
prefix=$(checked_path --prefix "$prefix")
config_dir=$(checked_path --config-dir "$config_dir")
systemd_dir=$(checked_path --systemd-dir "$systemd_dir")
[[ -n $node_bin ]] || node_bin=$(command -v node) || die "node (>= 20) not found; give --node PATH"
node_bin=$(checked_path --node "$node_bin")
[[ -x $node_bin ]] || die "--node $node_bin is not an executable"
command -v pnpm >/dev/null || die "pnpm not found: run 'bash scripts/setup.sh' first"

# --- what to install -------------------------------------------------------------------
services=(monitor decider executor agent)
for s in "${services[@]}"; do
  [[ -f $repo/services/$s/dist/main.js ]] ||
    die "services/$s is not built: run 'bash scripts/setup.sh' (or 'pnpm -s build') in $repo"
done
[[ -f $repo/packages/deploy-tools/dist/nats-config-main.js ]] ||
  die "packages/deploy-tools is not built: run 'bash scripts/setup.sh' in $repo"
[[ -f $repo/packages/cli/dist/main.js ]] ||
  die "packages/cli is not built: run 'bash scripts/setup.sh' in $repo"

# The workspace packages the services need at run time (devDependencies left out).
filters=()
for p in "${services[@]/#/@marina/}" @marina/deploy-tools @marina/cli; do filters+=(--filter-prod "$p..."); done
mapfile -t packages < <(
  cd "$repo" &&
    pnpm ls -r --depth -1 --json "${filters[@]}" |
    node -e '
      const path = require("node:path");
      const list = JSON.parse(require("node:fs").readFileSync(0, "utf8"));
      for (const p of list) console.log(path.relative(process.argv[1], p.path));
    ' "$repo"
)
((${#packages[@]} > 0)) || die "pnpm found no workspace packages to install"
for d in "${packages[@]}"; do
  [[ $d =~ ^(packages|services)/[A-Za-z0-9._-]+$ ]] || die "unexpected workspace package: $d"
  [[ -d $repo/$d/dist ]] || die "$d is not built: run 'bash scripts/setup.sh' in $repo"
done

# --- the code: staged in the prefix, then swapped in ---------------------------------------
marker=$prefix/.marina-install
[[ ! -e $prefix || -d $prefix ]] || die "--prefix $prefix is not a directory"
if [[ -d $prefix && ! -f $marker && -n $(ls -A -- "$prefix") ]]; then
  die "--prefix $prefix is not empty and holds no Marina install ($marker): not touching it"
fi
mkdir -p -- "$prefix"
[[ -f $marker ]] || printf 'installing\n' >"$marker"

stage=$prefix/.staging
rm -rf -- "$stage"
mkdir -- "$stage"
cp -- "$repo/package.json" "$repo/pnpm-lock.yaml" "$stage/"
{
  printf '# The packages installed here (deploy/install.sh); the lockfile is the checkout'"'"'s.\n'
  printf 'packages:\n'
  printf '  - "%s"\n' "${packages[@]}"
} >"$stage/pnpm-workspace.yaml"
for d in "${packages[@]}"; do
  mkdir -p -- "$stage/$d"
  cp -- "$repo/$d/package.json" "$stage/$d/"
  cp -R -- "$repo/$d/dist" "$stage/$d/dist"
  rm -f -- "$stage/$d/dist/.tsbuildinfo"
done
cp -R -- "$repo/deploy" "$stage/deploy"

say "installing production dependencies into $prefix (offline, from the pnpm store)"
store=$(cd "$repo" && pnpm store path)
pnpm_log=$stage/pnpm-install.log
if ! (cd "$stage" && pnpm install --prod --frozen-lockfile --offline --ignore-scripts \
  --store-dir "$store" --reporter=append-only) >"$pnpm_log" 2>&1; then
  tail -n 20 -- "$pnpm_log" >&2
  die "pnpm install failed (log: $pnpm_log); is the store filled? run 'bash scripts/setup.sh'"
fi
rm -f -- "$pnpm_log"

mkdir -- "$stage/bin"
chmod +x -- "$stage/packages/deploy-tools/dist/nats-config-main.js" "$stage/packages/cli/dist/main.js"
ln -s -- ../packages/deploy-tools/dist/nats-config-main.js "$stage/bin/marina-nats-config"
ln -s -- ../packages/cli/dist/main.js "$stage/bin/marina"

items=(package.json pnpm-lock.yaml pnpm-workspace.yaml node_modules packages services bin deploy)
previous=$prefix/.previous
rm -rf -- "$previous"
mkdir -- "$previous"
for i in "${items[@]}"; do
  if [[ -e $prefix/$i || -L $prefix/$i ]]; then mv -- "$prefix/$i" "$previous/"; fi
done
for i in "${items[@]}"; do mv -- "$stage/$i" "$prefix/"; done
rm -rf -- "$previous" "$stage"
commit=$(git -C "$repo" rev-parse HEAD 2>/dev/null || echo unknown)
printf 'Marina installed by deploy/install.sh\nfrom: %s\ncommit: %s\nat: %s\n' \
  "$repo" "$commit" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$marker"
say "installed the code in $prefix (${#packages[@]} packages; commit $commit)"

# --- config and env files: created once, never overwritten ------------------------------
mkdir -p -- "$config_dir"
create_once() {
  local src=$repo/deploy/$1 dest=$config_dir/$2 mode=$3
  [[ -f $src ]] || die "missing $src"
  # noclobber: the file is created only if it does not exist, in one step.
  if (umask 077 && set -C && cat -- "$src" >"$dest") 2>/dev/null; then
    chmod -- "$mode" "$dest"
    say "created $dest from deploy/$1: edit it"
  elif [[ -e $dest ]]; then
    say "kept $dest (it exists; not overwritten)"
  else
    die "cannot create $dest"
  fi
}
create_once marina.example.yaml marina.yaml 0644
create_once marina.env.example marina.env 0600
create_once agent.example.yaml agent.yaml 0644
create_once agent.env.example agent.env 0600

# --- systemd units: always the current ones, pointing here -----------------------------
# Local changes belong in drop-ins (systemctl edit UNIT), which this never touches.
mkdir -p -- "$systemd_dir"
render_unit() {
  local line
  while IFS= read -r line || [[ -n $line ]]; do
    # Placeholders first, so a chosen path that contains another default is left alone.
    line=${line//"/opt/marina"/$'\x01P'}
    line=${line//"/etc/marina"/$'\x01C'}
    line=${line//"/usr/bin/node"/$'\x01N'}
    line=${line//$'\x01P'/"$prefix"}
    line=${line//$'\x01C'/"$config_dir"}
    line=${line//$'\x01N'/"$node_bin"}
    printf '%s\n' "$line"
  done <"$1"
}
for unit in "$repo"/deploy/systemd/*.service; do
  name=$(basename -- "$unit")
  tmp=$systemd_dir/.$name.tmp
  render_unit "$unit" >"$tmp"
  chmod 0644 -- "$tmp"
  mv -f -- "$tmp" "$systemd_dir/$name"
  say "installed $systemd_dir/$name"
done
if [[ $systemd_dir == /etc/systemd/system && -d /run/systemd/system ]] && command -v systemctl >/dev/null; then
  systemctl daemon-reload
  say "systemctl daemon-reload done"
fi

if ! id marina >/dev/null 2>&1; then
  say "note: the units run as user 'marina', which does not exist here:"
  say "  adduser --system --group --no-create-home --home /nonexistent marina"
fi
say "next: deploy/README.md (accounts, env files, marina-nats-config, enabling the units)"
