#!/usr/bin/env bash
# A throw-away PostgreSQL from Debian's package for tests and benchmarks (issue 20: replicas on a
# shared store): a cluster initialised in a temporary directory by an unprivileged user,
# listening on a free loopback port, stopped and removed at the end.
#
#   scripts/postgres.sh with COMMAND...   runs COMMAND with INTERAREC_TEST_POSTGRES set to the
#                                         cluster's URL (postgres://USER@127.0.0.1:PORT/interarec)
#
# Needs Debian's `postgresql` package (`.ci/run` installs it). As root, the cluster runs as the
# package's `postgres` user (initdb refuses root); otherwise as the calling user.
set -euo pipefail

bin_dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [[ -z "$bin_dir" || ! -x "$bin_dir/initdb" ]]; then
    echo "error: PostgreSQL's server programs are missing; install Debian's package: apt-get install -y postgresql" >&2
    exit 1
fi

as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

start() {
    local dir=$1
    local user
    user=$([[ $(id -u) -eq 0 ]] && echo postgres || id -un)
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    mkdir -p "$dir"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$dir"
    as_owner "$bin_dir/initdb" --pgdata "$dir/data" --username "$user" --auth trust --encoding UTF8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; return 1; }
    as_owner "$bin_dir/pg_ctl" --pgdata "$dir/data" --log "$dir/server.log" --wait \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off" start >/dev/null \
        || { cat "$dir/server.log" >&2; return 1; }
    as_owner "$bin_dir/createdb" --host 127.0.0.1 --port "$port" --username "$user" interarec
    url="postgres://$user@127.0.0.1:$port/interarec"
}

stop() {
    local dir=$1
    as_owner "$bin_dir/pg_ctl" --pgdata "$dir/data" --mode fast --wait stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}

case "${1:-}" in
    with)
        shift
        [[ $# -gt 0 ]] || { echo "usage: scripts/postgres.sh with COMMAND..." >&2; exit 2; }
        dir=$(mktemp -d /tmp/interarec-postgres.XXXXXX)
        trap 'stop "$dir"' EXIT
        start "$dir"
        echo "postgres: $url (data in $dir)" >&2
        INTERAREC_TEST_POSTGRES=$url "$@"
        ;;
    *)
        echo "usage: scripts/postgres.sh with COMMAND..." >&2
        exit 2
        ;;
esac
