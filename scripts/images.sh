#!/usr/bin/env bash
# Builds both connector images on a machine that reaches package registries but no image registry.
#
#   scripts/images.sh [engine|base|build]...     (no argument: all three, in that order)
#
# engine  a Docker engine that answers `docker info`; without one, Debian's docker.io is installed (apt-get, as root)
#         and dockerd started without touching the host network (no iptables, no bridge; containers use
#         --network=host). Exits non-zero, saying why, when no engine can run.
# base    the image each Dockerfile's BASE_IMAGE names, when it cannot be pulled: a stand-in built from Debian
#         packages (debootstrap: bookworm, Python 3.11, pip) and tagged with the Dockerfile's base name without its
#         digest. Saved as a tarball under ~/.cache/salesforce-connectors/images, so later runs load it in seconds.
# build   each connector image from its own folder, symlinks (the shared client, the pinned constraints) resolved
#         into the build context, tagged <dockerRepository>:<dockerImageTag> from metadata.yaml and :dev.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/salesforce-connectors/images"
CONNECTORS=(source-salesforce destination-salesforce)
# Bump when the stand-in recipe below changes, so a cached tarball of the old recipe is not reused.
STAND_IN_RECIPE=1

say() { echo "images: $*" >&2; }
die() { say "$*"; exit 1; }

apt_install() {  # apt_install PACKAGE: from Debian, as root; the package lists are refreshed when it is not found
    [ "$(id -u)" = 0 ] || die "$1 is missing, and installing it (apt-get install $1) needs root"
    say "installing Debian's $1"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$1" >/dev/null 2>&1 \
        || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$1" >/dev/null; } \
        || die "apt-get install $1 failed"
}

base_image() {  # the Dockerfile's default BASE_IMAGE, e.g. docker.io/airbyte/python-connector-base:4.0.2@sha256:...
    sed -n 's/^ARG BASE_IMAGE=//p' "$ROOT/$1/Dockerfile"
}

metadata_field() {  # metadata_field CONNECTOR FIELD: a top-level scalar of metadata.yaml's data block
    sed -n "s/^  $2: *//p" "$ROOT/$1/metadata.yaml" | head -n 1
}

engine() {
    if docker info >/dev/null 2>&1; then
        return
    fi
    command -v dockerd >/dev/null || apt_install docker.io
    [ "$(id -u)" = 0 ] || die "no Docker engine answers, and starting dockerd needs root"
    mkdir -p "$CACHE"
    # overlay2 where the kernel and filesystem allow it; vfs (a full copy of the image per build step, many times
    # slower) where they do not.
    start_dockerd overlay2 || start_dockerd vfs || die "dockerd did not start (log: $CACHE/dockerd.log)"
}

start_dockerd() {  # start_dockerd DRIVER: true once the engine answers
    say "starting dockerd with the $1 storage driver (log: $CACHE/dockerd.log)"
    setsid dockerd --iptables=false --bridge=none --storage-driver="$1" >"$CACHE/dockerd.log" 2>&1 </dev/null &
    local pid=$!
    for _ in $(seq 60); do
        docker info >/dev/null 2>&1 && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 1
    done
    tail -n 5 "$CACHE/dockerd.log" >&2 || true
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    return 1
}

base() {
    local wanted name tarball
    wanted="$(for c in "${CONNECTORS[@]}"; do base_image "$c"; done | sort -u)"
    [ "$(echo "$wanted" | wc -l)" = 1 ] || die "the Dockerfiles name different base images: $wanted"
    name="${wanted%@*}"
    if docker image inspect "$name" >/dev/null 2>&1 || docker image inspect "$wanted" >/dev/null 2>&1; then
        return
    fi
    tarball="$CACHE/stand-in-$(echo "$name" | tr '/:' '__')-r$STAND_IN_RECIPE.tar"
    if [ -f "$tarball" ]; then
        say "loading the cached stand-in for $name"
        docker load -q -i "$tarball" >/dev/null
        return
    fi
    if docker pull -q "$wanted" >/dev/null 2>&1; then
        docker tag "$wanted" "$name"
        return
    fi
    say "$wanted cannot be pulled: building a stand-in from Debian packages (about 5 minutes, once)"
    command -v debootstrap >/dev/null || apt_install debootstrap
    local work
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' RETURN
    debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
        bookworm "$work/rootfs" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 \
        || { tail -n 20 "$work/debootstrap.log" >&2; die "debootstrap failed"; }
    tar -C "$work/rootfs" -c . | docker import - salesforce-connectors/bookworm-python:base >/dev/null
    rm -rf "$work/rootfs"
    mkdir "$work/stand-in"
    cp /etc/ssl/certs/ca-certificates.crt "$work/stand-in/"
    # Like the official Python images: python and pip first on PATH, installs into /usr/local.
    cat >"$work/stand-in/Dockerfile" <<'EOF'
FROM salesforce-connectors/bookworm-python:base
RUN python3 -m venv /usr/local/pyenv
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
ENV PATH=/usr/local/pyenv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt
EOF
    docker build -q --network=host -t "$name" "$work/stand-in" >/dev/null
    mkdir -p "$CACHE"
    docker save -o "$tarball.partial" "$name" && mv "$tarball.partial" "$tarball"
    say "stand-in cached in $tarball"
}

build() {
    local c repo tag name
    for c in "${CONNECTORS[@]}"; do
        repo="$(metadata_field "$c" dockerRepository)"
        tag="$(metadata_field "$c" dockerImageTag)"
        name="$(base_image "$c")"
        docker image inspect "$name" >/dev/null 2>&1 || name="${name%@*}"
        say "building $repo:$tag from $c/"
        # The connector folder is the build context, as in Airbyte's own build; -h puts the files the symlinks
        # point at (the shared client, the constraints) into it.
        tar -C "$ROOT/$c" -ch --exclude=./build --exclude='*.egg-info' --exclude=__pycache__ \
            --exclude=./unit_tests --exclude=./integration_tests . \
            | docker build --network=host --build-arg "BASE_IMAGE=$name" -t "$repo:$tag" -t "$repo:dev" - \
                >"$CACHE/build-$c.log" 2>&1 \
            || { tail -n 40 "$CACHE/build-$c.log" >&2; die "building $repo:$tag failed (log: $CACHE/build-$c.log)"; }
    done
}

steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(engine base build)
for step in "${steps[@]}"; do
    case "$step" in
        engine | base | build) SECONDS=0; "$step"; say "$step: ${SECONDS}s" ;;
        *) die "unknown step $step (engine, base or build)" ;;
    esac
done
