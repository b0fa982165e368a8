#!/usr/bin/env bash
# Make the services the test-suite talks to reachable, installing them where missing:
#   postgres  - a PostgreSQL server; uses 127.0.0.1:5432 (database test, trust auth) when one
#               answers there, otherwise installs Debian's postgresql and starts a private
#               trust-auth cluster on 127.0.0.1:55432 under var/ (no system config is changed;
#               SAFETWIN_PRIVATE_PG=1 forces this path).
#   mosquitto - an MQTT broker on 127.0.0.1:1883; installs Debian's mosquitto where missing.
#   chromium  - Debian's Chromium (and CJK fonts) for the browser tests of the UI.
#   cluster   - nats-server and iproute2 for the broker-cluster tests (they start their own
#               3-node NATS JetStream cluster in network namespaces; docs/cluster.md).
# Writes the URLs it settled on to var/services.env (sourced by `make test`).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p var
ENV_FILE=var/services.env
: > "$ENV_FILE"

port_open() { python3 - "$1" "$2" <<'PY'
import socket, sys
s = socket.socket(); s.settimeout(1)
sys.exit(0 if s.connect_ex((sys.argv[1], int(sys.argv[2]))) == 0 else 1)
PY
}

apt_install() {
  if ! command -v apt-get >/dev/null; then echo "ensure_services: apt-get not found; install $* by hand" >&2; return 1; fi
  if [ ! -f var/.apt-updated ]; then apt-get update -qq >/dev/null && touch var/.apt-updated; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_postgres() {
  if [ -z "${SAFETWIN_PRIVATE_PG:-}" ] && port_open 127.0.0.1 5432 && command -v psql >/dev/null && \
     psql -h 127.0.0.1 -U postgres -d test -Atc 'select 1' >/dev/null 2>&1; then
    echo "SAFETWIN_TEST_PG_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test" >> "$ENV_FILE"
    echo "postgres: using 127.0.0.1:5432"; return
  fi
  local port=55432 dir; dir="$(pwd)/var/pg"
  if ! port_open 127.0.0.1 $port; then
    ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || apt_install postgresql
    local bin; bin=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")
    local run="" ; [ "$(id -u)" = 0 ] && run="runuser -u postgres --"
    if [ ! -f "$dir/PG_VERSION" ]; then
      mkdir -p "$dir"; [ -n "$run" ] && chown postgres "$dir"
      $run "$bin/initdb" -D "$dir" -U postgres --auth=trust >/dev/null
    fi
    $run "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -o "-p $port -k /tmp -c listen_addresses=127.0.0.1" -w start >/dev/null
    $run "$bin/createdb" -h 127.0.0.1 -p $port -U postgres test 2>/dev/null || true
  fi
  echo "SAFETWIN_TEST_PG_URL=postgresql+psycopg://postgres@127.0.0.1:$port/test" >> "$ENV_FILE"
  echo "postgres: using private cluster on 127.0.0.1:$port"
}

ensure_mosquitto() {
  # the binary is needed even when a broker already runs: the no-loss test restarts its own
  command -v mosquitto >/dev/null || apt_install mosquitto
  # the MQTT client factory's TLS test makes its own CA and broker certificate with openssl
  command -v openssl >/dev/null || apt_install openssl
  if port_open 127.0.0.1 1883; then echo "mosquitto: using 127.0.0.1:1883"; return; fi
  mosquitto -d -p 1883 2>/dev/null || mosquitto -d -c /etc/mosquitto/mosquitto.conf
  for _ in $(seq 50); do port_open 127.0.0.1 1883 && break; sleep 0.1; done
  echo "mosquitto: started on 127.0.0.1:1883"
}

ensure_chromium() {
  # headless browser for the UI tests (Playwright drives Debian's Chromium; no browser download)
  if [ -x /usr/bin/chromium ]; then echo "chromium: $(/usr/bin/chromium --version 2>/dev/null | head -1)"; return; fi
  apt_install chromium fonts-noto-cjk
  echo "chromium: installed $(/usr/bin/chromium --version 2>/dev/null | head -1)"
}

ensure_cluster() {
  # binaries only: the cluster tests create their namespaces and nodes and remove them again
  command -v ip >/dev/null || [ -x /usr/sbin/ip ] || apt_install iproute2
  command -v nats-server >/dev/null || [ -x /usr/sbin/nats-server ] || apt_install nats-server
  echo "cluster: $( (command -v nats-server || echo /usr/sbin/nats-server) ) $(/usr/sbin/nats-server --version 2>/dev/null || nats-server --version)"
}

for svc in "${@:-postgres mosquitto chromium cluster}"; do
  for s in $svc; do "ensure_$s"; done
done
