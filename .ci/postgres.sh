#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster on 127.0.0.1 for the case-store tests and prints the
# connection URL on stdout (for BRIDLE_TEST_POSTGRES). Debian's postgresql package must be
# installed (apt-get install -y postgresql). As root, the cluster runs as the `postgres`
# user (PostgreSQL refuses to run as root); otherwise as the current user. fsync is off
# (a throwaway test cluster) unless BRIDLE_PG_FSYNC=on; BRIDLE_PG_PORT and BRIDLE_PG_DIR
# choose the port (55432) and folder.
#
#   export BRIDLE_TEST_POSTGRES="$(.ci/postgres.sh start)"
#   .ci/postgres.sh stop
set -euo pipefail
action="${1:-start}"
port="${BRIDLE_PG_PORT:-55432}"
base="${BRIDLE_PG_DIR:-${TMPDIR:-/tmp}/bridle-pg-$port}"
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    echo "error: PostgreSQL server binaries not found under /usr/lib/postgresql (apt-get install -y postgresql)" >&2
    exit 1
fi
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}
case "$action" in
start)
    if [ ! -f "$base/data/PG_VERSION" ]; then
        mkdir -p "$base"
        [ "$(id -u)" = 0 ] && chown postgres "$base"
        as_owner "$bin/initdb" -D "$base/data" -U postgres --auth=trust -E UTF8 --no-locale >"$base/initdb.log" 2>&1 \
            || { cat "$base/initdb.log" >&2; exit 1; }
    fi
    if ! as_owner "$bin/pg_ctl" -D "$base/data" status >/dev/null 2>&1; then
        as_owner "$bin/pg_ctl" -D "$base/data" -l "$base/server.log" -w \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $base -c fsync=${BRIDLE_PG_FSYNC:-off} -c max_connections=200" start >/dev/null \
            || { cat "$base/server.log" >&2; exit 1; }
    fi
    echo "postgres://postgres@127.0.0.1:$port/postgres"
    ;;
stop)
    as_owner "$bin/pg_ctl" -D "$base/data" -m fast stop >/dev/null 2>&1 || true
    ;;
*)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
