# Sourced (not run) by scripts/test-containers.sh and scripts/sandbox.sh --containers:
# makes a container engine available to the lab's containers backend and exports what
# testcontainers needs. With Docker (DOCKER_HOST set, or /var/run/docker.sock), nothing is
# installed and the official images are used (mariadb:10.11, nats:2.9, pulled on first
# use). Without Docker: Debian's Podman serves the Docker API on a socket of this run
# (settings from scripts/containers/containers.conf, not the machine's), and equivalent
# local images are built once from Debian's packages, without any registry
# (shared/LAB.md, "Containers without Docker"). Call marina_containers_stop when done.

marina_containers_say() { printf '[containers] %s\n' "$*"; }
marina_containers_die() { printf '[containers] error: %s\n' "$*" >&2; return 1; }

MARINA_CONTAINERS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/containers" && pwd)"
MARINA_PODMAN_PID=""
MARINA_PODMAN_DIR=""

# The local images' names (what MARINA_MARIADB_IMAGE / MARINA_NATS_IMAGE get on Podman).
MARINA_LOCAL_BASE_IMAGE="localhost/marina-debian-base:bookworm"
MARINA_LOCAL_MARIADB_IMAGE="localhost/marina-mariadb:10.11"
MARINA_LOCAL_NATS_IMAGE="localhost/marina-nats:2.9"

marina_docker_available() {
  [[ -n ${DOCKER_HOST:-} ]] && return 0
  [[ -S /var/run/docker.sock ]] && command -v docker >/dev/null && docker info >/dev/null 2>&1
}

marina_podman_install() {
  local packages=(podman runc debootstrap) missing=() p
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]})) || { marina_containers_say "Podman present"; return 0; }
  [[ $(id -u) -eq 0 ]] || { marina_containers_die "Debian packages missing: ${missing[*]}. Run as root, or: apt-get install ${missing[*]}"; return 1; }
  marina_containers_say "installing Debian packages: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

marina_image_exists() { podman image exists "$1"; }

# debootstrap into a directory with the host's apt sources (MariaDB then matches the
# host's), imported as the base of both local images.
marina_build_base_image() {
  marina_image_exists "$MARINA_LOCAL_BASE_IMAGE" && return 0
  local root
  root=$(mktemp -d /tmp/marina-rootfs-XXXXXX)
  marina_containers_say "building $MARINA_LOCAL_BASE_IMAGE (debootstrap, about a minute)"
  if ! debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >"$root.log" 2>&1; then
    tail -n 20 "$root.log" >&2
    rm -rf "$root" "$root.log"
    marina_containers_die "debootstrap failed"
    return 1
  fi
  rm -f "$root/etc/apt/sources.list"
  cp -a /etc/apt/sources.list.d/. "$root/etc/apt/sources.list.d/" 2>/dev/null || true
  if [[ -f /etc/apt/sources.list ]]; then cp /etc/apt/sources.list "$root/etc/apt/sources.list"; fi
  rm -rf "$root/var/cache/apt/archives/"*.deb
  tar -C "$root" -c . | podman import - "$MARINA_LOCAL_BASE_IMAGE" >/dev/null
  rm -rf "$root" "$root.log"
}

# Built again when its Containerfile changed (the file's hash is a label of the image).
marina_build_image() {
  local image=$1 file=$2 hash have
  hash=$(sha256sum "$MARINA_CONTAINERS_DIR/$file" | cut -c1-16)
  have=$(podman image inspect --format '{{ index .Labels "org.marina.containerfile" }}' "$image" 2>/dev/null || true)
  [[ $have == "$hash" ]] && return 0
  marina_containers_say "building $image"
  podman build -q --label "org.marina.containerfile=$hash" -t "$image" \
    -f "$MARINA_CONTAINERS_DIR/$file" "$MARINA_CONTAINERS_DIR" >/dev/null
}

marina_podman_start() {
  MARINA_PODMAN_DIR=$(mktemp -d /tmp/marina-podman-XXXXXX)
  local sock="$MARINA_PODMAN_DIR/podman.sock"
  # A session of its own: Ctrl-C in the terminal must not stop the engine before the lab
  # has removed its containers through it.
  setsid podman system service --time=0 "unix://$sock" >"$MARINA_PODMAN_DIR/service.log" 2>&1 &
  MARINA_PODMAN_PID=$!
  local i
  for i in $(seq 1 100); do
    [[ -S $sock ]] && break
    kill -0 "$MARINA_PODMAN_PID" 2>/dev/null || { cat "$MARINA_PODMAN_DIR/service.log" >&2; marina_containers_die "podman system service exited"; return 1; }
    sleep 0.1
  done
  [[ -S $sock ]] || { marina_containers_die "podman's socket did not appear in 10 s"; return 1; }
  export DOCKER_HOST="unix://$sock"
}

# Stops the Podman service this run started (containers are the lab's to remove).
marina_containers_stop() {
  if [[ -n $MARINA_PODMAN_PID ]]; then
    kill "$MARINA_PODMAN_PID" 2>/dev/null || true
    wait "$MARINA_PODMAN_PID" 2>/dev/null || true
    MARINA_PODMAN_PID=""
  fi
  [[ -n $MARINA_PODMAN_DIR ]] && rm -rf "$MARINA_PODMAN_DIR"
  MARINA_PODMAN_DIR=""
}

marina_containers_setup() {
  export MARINA_LAB_BACKEND=containers
  # No Ryuk: the lab removes its own containers, and sweeps those of dead runs by label.
  export TESTCONTAINERS_RYUK_DISABLED=true
  if marina_docker_available; then
    marina_containers_say "using Docker (${DOCKER_HOST:-/var/run/docker.sock})"
    return 0
  fi
  marina_podman_install || return 1
  export CONTAINERS_CONF="$MARINA_CONTAINERS_DIR/containers.conf"
  if [[ -z ${MARINA_MARIADB_IMAGE:-} || -z ${MARINA_NATS_IMAGE:-} ]]; then
    marina_build_base_image || return 1
    marina_build_image "$MARINA_LOCAL_MARIADB_IMAGE" mariadb.Containerfile || return 1
    marina_build_image "$MARINA_LOCAL_NATS_IMAGE" nats.Containerfile || return 1
    export MARINA_MARIADB_IMAGE="${MARINA_MARIADB_IMAGE:-$MARINA_LOCAL_MARIADB_IMAGE}"
    export MARINA_NATS_IMAGE="${MARINA_NATS_IMAGE:-$MARINA_LOCAL_NATS_IMAGE}"
  fi
  marina_podman_start || return 1
  # A VM with /.dockerenv makes testcontainers look for the engine's gateway instead.
  export TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1
  marina_containers_say "using Podman ($DOCKER_HOST), images $MARINA_MARIADB_IMAGE, $MARINA_NATS_IMAGE"
}
