#!/usr/bin/env bash
# Throwaway MariaDB server for Coherent's tests.
#
#   scripts/mariadb.sh [start]   install (if needed), init (if needed), start (if
#                                not running), create database `coherent` (utf8mb4)
#                                and a password-less root@127.0.0.1, then print ONE
#                                line on stdout:
#                                  DATABASE_URL=mysql://root@127.0.0.1:<port>/coherent
#   scripts/mariadb.sh stop      stop the server (data is kept)
#   scripts/mariadb.sh status    report whether it is running (exit 0 if so, 3 if not)
#
# Environment:
#   COHERENT_DB_DIR   state directory (default /tmp/coherent-db); data in $COHERENT_DB_DIR/mariadb
#   MYPORT_COHERENT   TCP port on 127.0.0.1 (default 53306)
#
# The server listens on loopback only, root has no password and
# innodb_flush_log_at_trx_commit=2: for tests, never for real data.
# Needs root (apt-get, mariadbd --user=mysql); does not need systemd.
# Everything except the final DATABASE_URL line goes to stderr.
set -euo pipefail

# Keep the caller's stdout on fd 3 for the single result line; everything else -> stderr.
exec 3>&1 1>&2

readonly PROG=mariadb.sh
readonly STATE_DIR="${COHERENT_DB_DIR:-/tmp/coherent-db}"
readonly DATA_DIR="$STATE_DIR/mariadb"
readonly LOG_FILE="$STATE_DIR/mariadb.log"
readonly LOCK_FILE="$STATE_DIR/mariadb.lock"
readonly SOCKET="$STATE_DIR/mariadb.sock"
readonly PID_FILE="$STATE_DIR/mariadb.pid"
readonly PORT="${MYPORT_COHERENT:-53306}"
readonly DB_NAME=coherent
readonly MY_USER=mysql
readonly WAIT_SECONDS=60

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    printf 'usage: %s [start|stop|status]\n' "$0" >&2
    exit 2
}

check_port_and_state_dir MYPORT_COHERENT
# sun_path is 108 bytes including the terminating NUL.
((${#SOCKET} <= 107)) || die "socket path $SOCKET is too long for a Unix socket; use a shorter COHERENT_DB_DIR"
((EUID == 0)) || die "must run as root (installs packages and starts mariadbd --user=$MY_USER)"

# Locate a program in PATH or the usual sbin/bin directories (root's PATH may lack sbin).
find_prog() {
    local name dir
    for name in "$@"; do
        if command -v "$name" >/dev/null 2>&1; then
            command -v "$name"
            return 0
        fi
        for dir in /usr/sbin /usr/bin /usr/local/sbin /usr/local/bin; do
            if [[ -x "$dir/$name" ]]; then
                printf '%s\n' "$dir/$name"
                return 0
            fi
        done
    done
    return 1
}

locate_binaries() {
    MARIADBD="$(find_prog mariadbd mysqld)" || return 1
    INSTALL_DB="$(find_prog mariadb-install-db mysql_install_db)" || return 1
    ADMIN="$(find_prog mariadb-admin mysqladmin)" || return 1
    CLIENT="$(find_prog mariadb mysql)" || return 1
}

install_mariadb() {
    apt_install_server mariadb-server MariaDB
}

binaries_or_install() {
    if ! locate_binaries; then
        install_mariadb
        locate_binaries || die "installed 'mariadb-server' but cannot find mariadbd/mariadb-install-db/mariadb-admin/mariadb"
    fi
    id "$MY_USER" >/dev/null 2>&1 || die "user '$MY_USER' does not exist (normally created by the mariadb-server package)"
}

# Make the state dir usable by the service users (postgres and mysql share it:
# sockets, logs, pid files), then take the per-server lock.

check_state_dir_access() {
    (close_extra_fds && cd / && exec runuser -u "$MY_USER" -- test -w "$STATE_DIR" -a -x "$STATE_DIR") ||
        die "user '$MY_USER' cannot write to $STATE_DIR (socket and pid file live there);" \
            "fix its permissions (e.g. chmod 1777) or choose another COHERENT_DB_DIR"
}

# Prints the pid of our running server (from the pid file) or fails.
server_pid() {
    local pid
    [[ -s "$PID_FILE" ]] || return 1
    pid="$(<"$PID_FILE")"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    # Guard against pid reuse after a crash/reboot.
    [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" =~ ^(mariadbd|mysqld)$ ]] || return 1
    printf '%s\n' "$pid"
}

# True when a MariaDB server answers on 127.0.0.1:$PORT. `mariadb-admin ping` exits 0
# even on "Access denied", but not when root@127.0.0.1 is missing (error 1130 comes
# before authentication), so treat that answer as "alive" too.
admin_ping() {
    local out
    out="$("$ADMIN" --no-defaults --protocol=TCP -h127.0.0.1 -P"$PORT" -uroot --connect-timeout=2 ping 2>&1)" && return 0
    [[ "$out" == *"is not allowed to connect to this MariaDB server"* ]]
}

init_datadir() {
    if [[ -d "$DATA_DIR/mysql" ]]; then
        return 0
    fi
    if [[ -d "$DATA_DIR" ]] && [[ -n "$(ls -A "$DATA_DIR")" ]]; then
        die "$DATA_DIR exists, is not empty and has no 'mysql' system schema; remove it to start over"
    fi
    log "initialising data directory $DATA_DIR"
    mkdir -p "$DATA_DIR"
    chown "$MY_USER:" "$DATA_DIR"
    chmod 0750 "$DATA_DIR"
    # 'normal' auth: root@localhost/127.0.0.1/::1 with an empty password (no unix_socket plugin).
    if ! (close_extra_fds && cd / && exec "$INSTALL_DB" --no-defaults --datadir="$DATA_DIR" --user="$MY_USER" \
        --auth-root-authentication-method=normal --skip-test-db) >&2; then
        rm -rf "$DATA_DIR"
        die "mariadb-install-db failed for $DATA_DIR (removed the partial data directory)"
    fi
}

start_server() {
    local pid
    if pid="$(server_pid)"; then
        if ! admin_ping; then
            die "mariadbd (pid $pid, data $DATA_DIR) is running but does not answer on 127.0.0.1:$PORT;" \
                "it may use another port: run 'scripts/mariadb.sh stop' first"
        fi
        log "already running on 127.0.0.1:$PORT (pid $pid, data: $DATA_DIR)"
        return 0
    fi
    rm -f "$PID_FILE"
    if port_in_use; then
        die "port $PORT on 127.0.0.1 is already in use by another process; set MYPORT_COHERENT to a free port"
    fi
    log "starting MariaDB on 127.0.0.1:$PORT (log: $LOG_FILE)"
    (
        close_extra_fds
        cd /
        exec setsid "$MARIADBD" --no-defaults \
            --datadir="$DATA_DIR" \
            --bind-address=127.0.0.1 \
            --port="$PORT" \
            --socket="$SOCKET" \
            --pid-file="$PID_FILE" \
            --user="$MY_USER" \
            --character-set-server=utf8mb4 \
            --collation-server=utf8mb4_unicode_ci \
            --max-connections=200 \
            --innodb-flush-log-at-trx-commit=2 \
            --skip-name-resolve
    ) </dev/null >>"$LOG_FILE" 2>&1 &
    local child=$! deadline=$((SECONDS + WAIT_SECONDS))
    until admin_ping; do
        if ! kill -0 "$child" 2>/dev/null; then
            show_log_tail
            die "mariadbd exited during startup"
        fi
        if ((SECONDS >= deadline)); then
            show_log_tail
            die "mariadbd did not answer on 127.0.0.1:$PORT within ${WAIT_SECONDS}s (pid $child still running; see $LOG_FILE)"
        fi
        sleep 0.5
    done
}

sql_tcp() {
    "$CLIENT" --no-defaults --protocol=TCP -h127.0.0.1 -P"$PORT" -uroot --connect-timeout=5 "$@"
}
sql_socket() {
    "$CLIENT" --no-defaults --protocol=SOCKET --socket="$SOCKET" -uroot --connect-timeout=5 "$@"
}

ensure_root_and_database() {
    if ! sql_tcp -e 'SELECT 1' >/dev/null 2>&1; then
        log "root cannot log in over TCP without a password; creating/granting 'root'@'127.0.0.1' via the socket"
        sql_socket -e "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';
                       ALTER USER 'root'@'127.0.0.1' IDENTIFIED VIA mysql_native_password USING '';
                       GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
                       FLUSH PRIVILEGES;" ||
            die "could not set up root@127.0.0.1 through $SOCKET"
        sql_tcp -e 'SELECT 1' >/dev/null ||
            die "root still cannot connect over TCP to 127.0.0.1:$PORT"
    fi
    sql_tcp -e "CREATE DATABASE IF NOT EXISTS \`$DB_NAME\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci" ||
        die "CREATE DATABASE $DB_NAME failed"
}

cmd_start() {
    local t0=$SECONDS
    binaries_or_install
    prepare_state_dir
    check_state_dir_access
    init_datadir
    start_server
    ensure_root_and_database
    log "ready in $((SECONDS - t0))s ($("$MARIADBD" --version 2>/dev/null || true))"
    printf 'DATABASE_URL=mysql://root@127.0.0.1:%s/%s\n' "$PORT" "$DB_NAME" >&3
}

cmd_stop() {
    if [[ ! -d "$STATE_DIR" ]]; then
        log "nothing to stop (no state directory $STATE_DIR)"
        return 0
    fi
    prepare_state_dir
    local pid
    if ! pid="$(server_pid)"; then
        log "not running (data: $DATA_DIR)"
        rm -f "$PID_FILE"
        return 0
    fi
    log "stopping MariaDB (pid $pid)"
    kill -TERM "$pid"
    local deadline=$((SECONDS + WAIT_SECONDS))
    while kill -0 "$pid" 2>/dev/null; do
        if ((SECONDS >= deadline)); then
            die "mariadbd (pid $pid) did not exit within ${WAIT_SECONDS}s of SIGTERM; see $LOG_FILE"
        fi
        sleep 0.2
    done
    rm -f "$PID_FILE"
    log "stopped"
}

cmd_status() {
    local pid
    if pid="$(server_pid)"; then
        log "running (pid $pid, data: $DATA_DIR)"
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
