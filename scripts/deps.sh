#!/usr/bin/env bash
# Install what paved needs to build and test on Debian 12. Idempotent:
# packages already present are not touched, so a warm machine pays nothing.
# Usage: scripts/deps.sh [build|run|test|demo|bench]   (default: build)
set -euo pipefail

want=(build-essential cmake pkg-config git
      libevent-dev libgit2-dev libjansson-dev libssl-dev
      libcurl4-openssl-dev libyaml-dev libsqlite3-dev libpq-dev)
case "${1:-build}" in
build) ;;
# golang-go, python3 and prometheus (promtool): the golden paths' own
# `make test` and alert rules are checked by the integration suite.
# nginx-light and prometheus: the local deploy driver and the canary
# analysis; podman, buildah, runc (named: apt would pick crun, which
# paved's containers.conf does not use) and docker-registry: images.
test)  want+=(libcmocka-dev clang sqlite3 nodejs npm curl openssl valgrind
              golang-go python3 prometheus nginx-light
              podman buildah runc docker-registry) ;;
# make run: the local driver's nginx and Prometheus for the analysis;
# make demo: those and the sample service's python3
run)   want+=(nginx-light prometheus) ;;
demo)  want+=(nginx-light prometheus python3) ;;
bench) want+=(libcmocka-dev clang sqlite3 nodejs npm curl openssl valgrind
              golang-go python3 prometheus nginx-light
              podman buildah runc docker-registry
              wrk webhook procps yamllint time util-linux cookiecutter) ;;
*) echo "usage: $0 [build|run|test|demo|bench]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
    # node/npm may come from outside Debian (an image's own node): accept it
    case "$p" in
    nodejs) command -v node >/dev/null 2>&1 && continue ;;
    npm)    command -v npm  >/dev/null 2>&1 && continue ;;
    esac
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' \
        || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
