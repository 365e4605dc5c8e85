# Shared helpers for the integration suites. Source it, then use:
#   fl_start_daemon [faultlined options]   private socket + state dir, waits until it answers
#   fl ARGS / fl_json ARGS                 the CLI against that daemon
#   fl_spawn VAR WORKLOAD ARGS             start tests/workloads/WORKLOAD; sets VAR_pid VAR_out VAR_fd
#   fl_wait_line FILE REGEX [TIMEOUT]      wait for a line in a workload's output, print it
#   fl_release VAR                         close the workload's stdin (it exits) and reap it
#   fl_oom_record_of PID                   wait for the OOM record whose victim is PID, print its id
#   ok / not_ok / check_eq / check_within_pct / check_cmd   TAP lines counted by tests/run.sh
# Everything started here is stopped by pid on exit; never by name.
set -u
FL_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
FL_BUILD=${BUILD:-build}
case $FL_BUILD in /*) ;; *) FL_BUILD=$FL_ROOT/$FL_BUILD ;; esac
FL_TMP=$(mktemp -d /tmp/faultline-test.XXXXXX)
FL_SOCK=$FL_TMP/faultline.sock
FL_STATE=$FL_TMP/state
FL_DAEMON_PID=
FL_SPAWNED=()
FL_CLEANUPS=()
FL_FAILS=0

fl_log() { echo "# $*"; }
ok() { echo "ok - $*"; }
not_ok() {
	echo "not ok - $*"
	FL_FAILS=$((FL_FAILS + 1))
}

# check_eq DESC EXPECTED ACTUAL
check_eq() {
	if [ "$2" == "$3" ]; then ok "$1 ($3)"; else not_ok "$1: expected '$2', got '$3'"; fi
}
# check_within_pct DESC EXPECTED ACTUAL PCT
check_within_pct() {
	if awk -v e="$2" -v a="$3" -v p="$4" 'BEGIN { d = a - e; if (d < 0) d = -d; exit !(e != "" && a != "" && d <= (e < 0 ? -e : e) * p / 100) }'; then
		ok "$1 (expected $2, got $3, within $4%)"
	else
		not_ok "$1: expected $2 within $4%, got '$3'"
	fi
}
# check_ge DESC MIN ACTUAL
check_ge() {
	if awk -v m="$2" -v a="$3" 'BEGIN { exit !(a != "" && a + 0 >= m + 0) }'; then ok "$1 ($3 >= $2)"; else not_ok "$1: expected >= $2, got '$3'"; fi
}
# check_cmd DESC CMD...   passes when the command succeeds
check_cmd() {
	local d=$1
	shift
	if "$@"; then ok "$d"; else not_ok "$d (command failed: $*)"; fi
}

fl() { "$FL_BUILD/faultline" --socket "$FL_SOCK" "$@"; }
fl_json() { "$FL_BUILD/faultline" --json --socket "$FL_SOCK" "$@"; }

fl_cleanup() {
	local p f
	for f in "${FL_CLEANUPS[@]}"; do eval "$f" || true; done
	for p in "${FL_SPAWNED[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	if [ -f "$FL_TMP/memcgs" ]; then
		while read -r f; do fl_remove_memcg "$f"; done <"$FL_TMP/memcgs"
	fi
	if [ -n "$FL_DAEMON_PID" ]; then
		kill -TERM "$FL_DAEMON_PID" 2>/dev/null && wait "$FL_DAEMON_PID" 2>/dev/null
	fi
	rm -rf "$FL_TMP"
}
trap fl_cleanup EXIT

# fl_start_daemon [options]: a private daemon with a short interval.
fl_start_daemon() {
	"$FL_BUILD/faultlined" --foreground --socket "$FL_SOCK" --state-dir "$FL_STATE" \
		--interval "${FL_INTERVAL:-250ms}" "$@" >"$FL_TMP/daemon.log" 2>&1 &
	FL_DAEMON_PID=$!
	local i
	for i in $(seq 1 100); do
		if fl status >/dev/null 2>&1; then return 0; fi
		if ! kill -0 "$FL_DAEMON_PID" 2>/dev/null; then break; fi
		sleep 0.1
	done
	echo "Bail out! faultlined did not start:"
	sed 's/^/# /' "$FL_TMP/daemon.log"
	exit 1
}

fl_stop_daemon() {
	if [ -n "$FL_DAEMON_PID" ]; then
		kill -TERM "$FL_DAEMON_PID" 2>/dev/null
		wait "$FL_DAEMON_PID" 2>/dev/null
		FL_DAEMON_PID=
	fi
}

# Wait for the daemon to take N more snapshots (default 2).
fl_wait_snapshots() {
	local n=${1:-2} start now i
	start=$(fl_json status | jq .snapshots.count)
	for i in $(seq 1 200); do
		now=$(fl_json status | jq .snapshots.count)
		[ "$now" -ge $((start + n)) ] && return 0
		sleep 0.05
	done
	return 1
}

# fl_spawn VAR WORKLOAD ARGS...
fl_spawn() {
	local var=$1 wl=$2
	shift 2
	local out=$FL_TMP/$var.out fifo=$FL_TMP/$var.in fd
	rm -f "$fifo"
	mkfifo "$fifo"
	"$FL_BUILD/workloads/$wl" "$@" <"$fifo" >"$out" 2>&1 &
	local pid=$!
	exec {fd}>"$fifo"
	FL_SPAWNED+=("$pid")
	printf -v "${var}_pid" %s "$pid"
	printf -v "${var}_out" %s "$out"
	printf -v "${var}_fd" %s "$fd"
}

# fl_wait_line FILE REGEX [TIMEOUT_S]: prints the first matching line.
fl_wait_line() {
	local file=$1 re=$2 t=${3:-20} i line
	for i in $(seq 1 $((t * 20))); do
		line=$(grep -m1 -E "$re" "$file" 2>/dev/null) && {
			echo "$line"
			return 0
		}
		sleep 0.05
	done
	echo "# timed out waiting for /$re/ in $file:" >&2
	sed 's/^/# /' "$file" >&2
	return 1
}

# kv LINE KEY: value of key=value in a workload's line
kv() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }

fl_send_line() { # VAR TEXT: one line to the workload's stdin
	local fdv=${1}_fd
	echo "$2" >&"${!fdv}"
}

fl_release() {
	local fdv=${1}_fd pidv=${1}_pid
	eval "exec ${!fdv}>&-"
	wait "${!pidv}" 2>/dev/null
}

# /proc/PID/stat fields after the comm: minflt is field 10, majflt 12.
proc_minflt() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $8}'; }
proc_majflt() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $10}'; }
proc_status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

# The memory cgroup root: v1 controller if mounted, else a v2 hierarchy
# with the memory controller enabled. Prints "v1 PATH" or "v2 PATH".
fl_memcg_root() {
	if [ -d /sys/fs/cgroup/memory ] && [ -f /sys/fs/cgroup/memory/memory.limit_in_bytes ]; then
		echo "v1 /sys/fs/cgroup/memory"
		return 0
	fi
	local m
	for m in /sys/fs/cgroup /sys/fs/cgroup/unified; do
		if grep -qw memory "$m/cgroup.controllers" 2>/dev/null; then
			echo "v2 $m"
			return 0
		fi
	done
	return 1
}

# fl_make_memcg NAME LIMIT_BYTES: creates a memory cgroup; prints its path.
# It is removed on exit (its processes must be gone by then).
fl_make_memcg() {
	local kind root path
	read -r kind root < <(fl_memcg_root) || return 1
	path=$root/faultline-test-$1-$$
	mkdir -p "$path" || return 1
	if [ "$kind" = v1 ]; then
		echo "$2" >"$path/memory.limit_in_bytes" || return 1
		echo 0 >"$path/memory.swappiness" 2>/dev/null || true
	else
		grep -qw memory "$root/cgroup.subtree_control" || echo +memory >"$root/cgroup.subtree_control"
		echo "$2" >"$path/memory.max" || return 1
		echo 0 >"$path/memory.swap.max" 2>/dev/null || true
	fi
	# Recorded in a file, not only in FL_CLEANUPS: callers use $(...), a
	# subshell whose FL_CLEANUPS is lost, and the cgroup must still go.
	echo "$path" >>"$FL_TMP/memcgs"
	echo "$path"
}

fl_remove_memcg() {
	local path=$1 p i
	for i in 1 2 3 4 5 6 7 8 9 10; do
		[ -d "$path" ] || return 0
		while read -r p; do kill -KILL "$p" 2>/dev/null; done <"$path/cgroup.procs"
		rmdir "$path" 2>/dev/null && return 0
		sleep 0.2
	done
}

# fl_in_memcg PATH CMD...: run CMD inside the cgroup (exec in a subshell).
fl_in_memcg() {
	local path=$1
	shift
	sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$path" "$@"
}

fl_done() {
	[ "$FL_FAILS" -eq 0 ]
}

# fl_oom_record_of PID: waits up to 10 s for the OOM record whose victim is
# PID; prints its id.
fl_oom_record_of() {
	local i id
	for i in $(seq 1 100); do
		id=$(fl_json oom -n 1000 | jq --argjson p "$1" '[.kills[] | select(.victim.pid == $p)][0].id // empty')
		[ -n "$id" ] && { echo "$id"; return 0; }
		sleep 0.1
	done
	return 1
}
