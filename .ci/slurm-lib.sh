# shellcheck shell=bash
# Helpers shared by .ci/slurm-up and .ci/slurm-down (sourced, never run). Nothing here needs root,
# so tests/test_ci_scripts.py runs the parts that read a previous configuration without it.
#
# The caller defines say() (its own log prefix) and may set CURRENT_LOG, the daemon log whose
# tail an error shows.

# slurm_conf_dir: the folder for slurm.conf and slurmdbd.conf. The client commands (sbatch, squeue,
# sacct, ...) read /etc/slurm without SLURM_CONF set; REGLAB_SLURM_CONF_DIR moves it (then export
# SLURM_CONF for the clients).
slurm_conf_dir() {
  printf '%s\n' "${REGLAB_SLURM_CONF_DIR:-/etc/slurm}"
}

# previous_base FILE: the base folder named by a slurm.conf that .ci/slurm-up wrote, or nothing
# (status 0) where FILE is missing, unreadable or was written by something else. Plain bash, no
# pipeline: a missing file must not fail the caller under `set -euo pipefail`.
SLURM_UP_MARK='# Written by .ci/slurm-up; base folder '
previous_base() {
  local file=$1 line
  [ -f "$file" ] && [ -r "$file" ] || return 0
  while IFS= read -r line || [ -n "$line" ]; do
    if [[ $line == "$SLURM_UP_MARK"* ]]; then
      printf '%s\n' "${line#"$SLURM_UP_MARK"}"
      return 0
    fi
  done <"$file"
  return 0
}

# on_error STATUS LINE COMMAND: the ERR trap. Names the failing line, command and status, shows the
# tail of CURRENT_LOG where there is one, and exits with the command's status.
on_error() {
  local status=$1 line=$2 cmd=$3
  trap - ERR
  printf '[%s] ERROR: line %s: [%s] exited with status %s\n' "${SCRIPT_NAME:-ci}" "$line" "$cmd" "$status" >&2
  if [ -n "${CURRENT_LOG:-}" ] && [ -s "$CURRENT_LOG" ]; then
    printf '[%s] last lines of %s:\n' "${SCRIPT_NAME:-ci}" "$CURRENT_LOG" >&2
    tail -n 25 "$CURRENT_LOG" | sed 's/^/    /' >&2 || true
  fi
  exit "$status"
}

# alive PID: the process exists and is not a zombie (an orphaned daemon that was killed can linger
# as a zombie where PID 1 is slow to reap it).
alive() {
  local st
  st=$(sed -E 's/.*\) ([A-Za-z]).*/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# pid_alive PIDFILE NAME: the PID file names a live process whose command is NAME.
pid_alive() {
  local pidfile=$1 name=$2 pid comm=""
  [ -s "$pidfile" ] || return 1
  pid=$(tr -dc '0-9' <"$pidfile")
  [ -n "$pid" ] && alive "$pid" || return 1
  [ -r "/proc/$pid/comm" ] && read -r comm <"/proc/$pid/comm"
  [ "$comm" = "$name" ]
}

# stop_pid PIDFILE NAME TIMEOUT: SIGTERM, wait up to TIMEOUT seconds, then SIGKILL; removes the
# PID file (also a stale one).
stop_pid() {
  local pidfile=$1 name=$2 timeout=$3 pid i
  if ! pid_alive "$pidfile" "$name"; then
    [ -e "$pidfile" ] && say "$name: stale PID file $pidfile; removing it"
    rm -f "$pidfile"
    return 0
  fi
  pid=$(tr -dc '0-9' <"$pidfile")
  say "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < timeout * 5; i++)); do
    if ! alive "$pid"; then
      rm -f "$pidfile"
      return 0
    fi
    sleep 0.2
  done
  say "WARNING: $name (pid $pid) did not exit within ${timeout}s; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    alive "$pid" || break
    sleep 0.2
  done
  rm -f "$pidfile"
}

# contains TEXT WORD / has_line TEXT LINE: substring and whole-line tests on a command's captured
# output, instead of `cmd | grep -q`, which under pipefail can fail with 141 when grep exits first.
contains() { [[ $1 == *"$2"* ]]; }
has_line() {
  local l
  while IFS= read -r l; do [ "$l" = "$2" ] && return 0; done <<<"$1"
  return 1
}
