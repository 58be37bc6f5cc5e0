#!/usr/bin/env bash
# Helpers shared by scripts/postgres.sh and scripts/mariadb.sh (sourced, not run).
# The sourcing script defines PROG, STATE_DIR, LOG_FILE, LOCK_FILE and PORT first.

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
    printf '%s: error: %s\n' "$PROG" "$*" >&2
    exit 1
}
show_log_tail() {
    if [[ -s "$LOG_FILE" ]]; then
        log "last lines of $LOG_FILE:"
        tail -n 25 "$LOG_FILE" >&2 || true
    fi
}

# Close every fd above 2 in the current (sub)shell, so a long-lived server never
# holds our lock (fd 9), the caller's stdout (fd 3) or any pipe inherited from
# whoever called us (a held pipe would make `$(scripts/<server>.sh)` hang).
close_extra_fds() {
    local fd
    for fd in /proc/"$BASHPID"/fd/*; do
        fd="${fd##*/}"
        if [[ "$fd" =~ ^[0-9]+$ ]] && ((fd > 2)); then
            eval "exec $fd>&-"
        fi
    done
}

# Creates the state directory (shared by both servers, hence 1777) and takes this
# script's lock on fd 9.
prepare_state_dir() {
    if [[ ! -d "$STATE_DIR" ]]; then
        mkdir -p "$STATE_DIR" || die "cannot create state directory $STATE_DIR"
        chmod 1777 "$STATE_DIR"
    fi
    exec 9>>"$LOCK_FILE" || die "cannot open lock file $LOCK_FILE"
    flock -w 300 9 || die "timed out waiting for lock $LOCK_FILE (another $PROG running?)"
}

port_in_use() {
    (: <>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null
}

# Exits unless PORT is a TCP port number and STATE_DIR an absolute path; `$1` names the
# variable that sets the port.
check_port_and_state_dir() {
    if ! [[ "$PORT" =~ ^[0-9]{1,5}$ ]] || ((10#$PORT < 1 || 10#$PORT > 65535)); then
        die "$1 must be a TCP port number (1-65535), got '$PORT'"
    fi
    [[ "$STATE_DIR" == /* ]] || die "COHERENT_DB_DIR must be an absolute path, got '$STATE_DIR'"
}

# Installs Debian package `$1` (`$2` names the server in messages) without letting the
# package start a system-wide server of its own (no systemd here anyway).
apt_install_server() {
    local package="$1" what="$2"
    command -v apt-get >/dev/null || die "$what is not installed and apt-get is not available"
    log "$what server binaries not found; installing Debian's '$package' package"
    export DEBIAN_FRONTEND=noninteractive
    local policy=/usr/sbin/policy-rc.d created_policy=""
    if [[ ! -e "$policy" ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 0755 "$policy" && created_policy=1
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    apt-get -o DPkg::Lock::Timeout=300 update -q >&2 ||
        die "apt-get update failed"
    apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends "$package" >&2 ||
        die "apt-get install $package failed"
    if [[ -n "$created_policy" ]]; then
        rm -f "$policy"
        trap - EXIT
    fi
}
