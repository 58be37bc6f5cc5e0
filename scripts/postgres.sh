#!/usr/bin/env bash
# Throwaway PostgreSQL server for Coherent's tests.
#
#   scripts/postgres.sh [start]   install (if needed), init (if needed), start (if
#                                 not running), create database `coherent`, then
#                                 print ONE line on stdout:
#                                   DATABASE_URL=postgres://postgres@127.0.0.1:<port>/coherent
#   scripts/postgres.sh stop      stop the server (data is kept)
#   scripts/postgres.sh status    report whether it is running (exit 0 if so, 3 if not)
#
# Environment:
#   COHERENT_DB_DIR   state directory (default /tmp/coherent-db); data in $COHERENT_DB_DIR/postgres
#   PGPORT_COHERENT   TCP port on 127.0.0.1 (default 55432)
#
# The server listens on loopback only, uses trust authentication and runs with
# fsync/synchronous_commit/full_page_writes off: for tests, never for real data.
# Needs root (apt-get, running as the `postgres` user); does not need systemd.
# Everything except the final DATABASE_URL line goes to stderr, so
#   eval "export $(scripts/postgres.sh)"   or   url=$(scripts/postgres.sh)
# both work.
set -euo pipefail

# Keep the caller's stdout on fd 3 for the single result line; everything else -> stderr.
exec 3>&1 1>&2

readonly PROG=postgres.sh
readonly STATE_DIR="${COHERENT_DB_DIR:-/tmp/coherent-db}"
readonly DATA_DIR="$STATE_DIR/postgres"
readonly LOG_FILE="$STATE_DIR/postgres.log"
readonly LOCK_FILE="$STATE_DIR/postgres.lock"
readonly PORT="${PGPORT_COHERENT:-55432}"
readonly DB_NAME=coherent
readonly PG_USER=postgres
readonly WAIT_SECONDS=60

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    printf 'usage: %s [start|stop|status]\n' "$0" >&2
    exit 2
}

check_port_and_state_dir PGPORT_COHERENT
((EUID == 0)) || die "must run as root (installs packages and runs the server as the '$PG_USER' user)"

# Run a command as the postgres user, from a directory it can read.
as_pg() {
    (close_extra_fds && cd / && exec runuser -u "$PG_USER" -- "$@")
}

# Newest /usr/lib/postgresql/<version>/bin that has initdb and pg_ctl (empty if none).
find_pg_bin() {
    local dir best=""
    while IFS= read -r dir; do
        if [[ -x "$dir/initdb" && -x "$dir/pg_ctl" && -x "$dir/postgres" ]]; then
            best="$dir"
        fi
    done < <(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -type d -name bin 2>/dev/null | sort -V)
    printf '%s' "$best"
}

install_postgres() {
    apt_install_server postgresql PostgreSQL
}

pg_bin_or_install() {
    PG_BIN="$(find_pg_bin)"
    if [[ -z "$PG_BIN" ]]; then
        install_postgres
        PG_BIN="$(find_pg_bin)"
        [[ -n "$PG_BIN" ]] || die "installed 'postgresql' but found no initdb/pg_ctl under /usr/lib/postgresql/*/bin"
    fi
    id "$PG_USER" >/dev/null 2>&1 || die "user '$PG_USER' does not exist (normally created by the postgresql package)"
}

# Make the state dir usable by the service users (postgres and mysql share it:
# sockets, logs, pid files), then take the per-server lock.

check_state_dir_access() {
    as_pg test -w "$STATE_DIR" -a -x "$STATE_DIR" ||
        die "user '$PG_USER' cannot write to $STATE_DIR (sockets and logs live there);" \
            "fix its permissions (e.g. chmod 1777) or choose another COHERENT_DB_DIR"
}

pg_status() {
    # pg_ctl status: 0 = running, 3 = not running, 4 = no usable data directory.
    local rc=0
    as_pg "$PG_BIN/pg_ctl" -D "$DATA_DIR" status >/dev/null 2>&1 || rc=$?
    return "$rc"
}

running_port() {
    # Line 4 of postmaster.pid is the port the running server listens on.
    sed -n 4p "$DATA_DIR/postmaster.pid" 2>/dev/null || true
}

init_cluster() {
    if [[ -s "$DATA_DIR/PG_VERSION" ]]; then
        local have want
        have="$(<"$DATA_DIR/PG_VERSION")"
        want="$(basename "$(dirname "$PG_BIN")")"
        [[ "$have" == "$want" ]] ||
            die "$DATA_DIR was initialised by PostgreSQL $have but this machine has $want;" \
                "remove it (scripts/postgres.sh stop; rm -rf $DATA_DIR) to start over"
        return 0
    fi
    if [[ -d "$DATA_DIR" ]] && [[ -n "$(ls -A "$DATA_DIR")" ]]; then
        die "$DATA_DIR exists, is not empty and is not a PostgreSQL data directory; remove it to start over"
    fi
    log "initialising data directory $DATA_DIR"
    mkdir -p "$DATA_DIR"
    chown "$PG_USER:" "$DATA_DIR"
    chmod 0700 "$DATA_DIR"
    # C.UTF-8: byte-order collation (deterministic, like C) with Unicode-aware ctype.
    as_pg "$PG_BIN/initdb" -D "$DATA_DIR" --auth=trust --username=postgres -E UTF8 \
        --locale=C.UTF-8 >&2 ||
        die "initdb failed for $DATA_DIR"
}

start_server() {
    local rc=0
    pg_status || rc=$?
    if ((rc == 0)); then
        local rport
        rport="$(running_port)"
        if [[ -n "$rport" && "$rport" != "$PORT" ]]; then
            die "the server for $DATA_DIR is already running on port $rport, not $PORT;" \
                "run 'scripts/postgres.sh stop' first or set PGPORT_COHERENT=$rport"
        fi
        log "already running on 127.0.0.1:$PORT (data: $DATA_DIR)"
        return 0
    fi
    if port_in_use; then
        die "port $PORT on 127.0.0.1 is already in use by another process; set PGPORT_COHERENT to a free port"
    fi
    # Log file is created by root in a sticky dir; hand it to postgres so pg_ctl can append.
    touch "$LOG_FILE" && chown "$PG_USER:" "$LOG_FILE"
    log "starting PostgreSQL on 127.0.0.1:$PORT (log: $LOG_FILE)"
    if ! as_pg "$PG_BIN/pg_ctl" -D "$DATA_DIR" -l "$LOG_FILE" -w -t "$WAIT_SECONDS" \
        -o "-c listen_addresses=127.0.0.1 -c port=$PORT -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 -c unix_socket_directories=$STATE_DIR" \
        start >&2; then
        show_log_tail
        die "pg_ctl start failed (or did not finish within ${WAIT_SECONDS}s)"
    fi
}

psql_tcp() {
    "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres "$@"
}

create_database() {
    local exists
    exists="$(psql_tcp -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" ||
        die "cannot connect to PostgreSQL over TCP at 127.0.0.1:$PORT"
    if [[ "$exists" != 1 ]]; then
        log "creating database $DB_NAME"
        psql_tcp -d postgres -c "CREATE DATABASE \"$DB_NAME\"" >&2 ||
            die "CREATE DATABASE $DB_NAME failed"
    fi
}

cmd_start() {
    local t0=$SECONDS
    pg_bin_or_install
    prepare_state_dir
    check_state_dir_access
    init_cluster
    start_server
    create_database
    log "ready in $((SECONDS - t0))s ($("$PG_BIN/postgres" --version))"
    printf 'DATABASE_URL=postgres://postgres@127.0.0.1:%s/%s\n' "$PORT" "$DB_NAME" >&3
}

cmd_stop() {
    PG_BIN="$(find_pg_bin)"
    if [[ -z "$PG_BIN" || ! -s "$DATA_DIR/PG_VERSION" ]]; then
        log "nothing to stop (no PostgreSQL installation or no data directory at $DATA_DIR)"
        return 0
    fi
    prepare_state_dir
    local rc=0
    pg_status || rc=$?
    if ((rc != 0)); then
        log "not running (data: $DATA_DIR)"
        return 0
    fi
    log "stopping PostgreSQL (data: $DATA_DIR)"
    as_pg "$PG_BIN/pg_ctl" -D "$DATA_DIR" -m fast -w -t "$WAIT_SECONDS" stop >&2 ||
        die "pg_ctl stop failed (or did not finish within ${WAIT_SECONDS}s)"
}

cmd_status() {
    PG_BIN="$(find_pg_bin)"
    [[ -n "$PG_BIN" && -s "$DATA_DIR/PG_VERSION" ]] || {
        log "not initialised ($DATA_DIR)"
        return 3
    }
    if pg_status; then
        log "running on 127.0.0.1:$(running_port) (data: $DATA_DIR)"
    else
        log "not running (data: $DATA_DIR)"
        return 3
    fi
}

case "${1:-start}" in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
-h | --help | help) usage ;;
*) usage ;;
esac
