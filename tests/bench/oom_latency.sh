#!/usr/bin/env bash
# How long after the OOM killer picks a victim the person on call hears of
# it: from the kernel's own timestamp at oom/mark_victim (boot clock, in the
# record as boot_ns) to
#   read      faultlined has the event from the ring buffer
#   on disk   the record is in STATE_DIR/oom.log, fdatasync'd
#   journald  journald received the entry (its __MONOTONIC_TIMESTAMP)
#   hook      faultlined started the hook (fork returned), and the hook's
#             first command ran (`date +%s%N` in the hook)
# over N real memcg kills (32 MiB limit). journald is a private instance in
# a private mount namespace (tmpfs /run and journal directories), so the
# machine's own logs are never touched.
#
#   tests/bench/oom_latency.sh [BUILD_DIR]     (make bench; BUILD_DIR defaults to build)
# Env: BENCH_OOM_KILLS (default 20)
#
# Absolute times: they depend on the machine's load; the figures are
# reported (median, p90), never asserted.
set -u

BUILD_DIR=${1:-build}
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$PWD/$BUILD_DIR ;; esac
KILLS=${BENCH_OOM_KILLS:-20}
JOURNALD=/lib/systemd/systemd-journald

die() {
	echo "oom_latency: $*" >&2
	exit 1
}
case $KILLS in '' | *[!0-9]* | 0) die "BENCH_OOM_KILLS must be a positive integer, got '$KILLS'" ;; esac
[ "$(id -u)" = 0 ] || die "needs root (BPF, memory cgroups, a private mount namespace)"
[ -x "$JOURNALD" ] || die "no $JOURNALD (package systemd)"
for f in faultlined faultline workloads/oom_alloc; do
	[ -x "$BUILD_DIR/$f" ] || die "$BUILD_DIR/$f is missing (run make first)"
done

# Re-run inside a private mount namespace; everything below runs there.
if [ -z "${FL_OOM_BENCH_INNER:-}" ]; then
	exec env FL_OOM_BENCH_INNER=1 unshare --mount --propagation private bash "$0" "$BUILD_DIR"
fi

tmp=$(mktemp -d /tmp/faultline-oombench.XXXXXX) || die "cannot create a temp dir"
mount -t tmpfs tmpfs /run || die "cannot mount a private /run"
for d in /var/log/journal /run/log/journal; do
	[ -d "$d" ] && mount -t tmpfs tmpfs "$d"
done
mkdir -p /run/systemd/journal
"$JOURNALD" >"$tmp/journald.log" 2>&1 &
jpid=$!
daemon_pid=
cg=
cleanup() {
	[ -n "$daemon_pid" ] && kill -TERM "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
	kill -TERM "$jpid" 2>/dev/null
	wait "$jpid" 2>/dev/null
	[ -n "$cg" ] && [ -d "$cg" ] && rmdir "$cg" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
for i in $(seq 1 50); do [ -S /run/systemd/journal/socket ] && break; sleep 0.1; done
[ -S /run/systemd/journal/socket ] || die "journald did not start: $(cat "$tmp/journald.log")"

root=/sys/fs/cgroup/memory
if [ -f $root/memory.limit_in_bytes ]; then
	cg=$root/faultline-oombench-$$
	mkdir "$cg" && echo $((32 << 20)) >"$cg/memory.limit_in_bytes" && echo 0 >"$cg/memory.swappiness" ||
		die "cannot create $cg"
else
	root=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/self/mounts)
	grep -qw memory "$root/cgroup.controllers" 2>/dev/null || die "no memory controller mounted"
	cg=$root/faultline-oombench-$$
	mkdir "$cg" && echo $((32 << 20)) >"$cg/memory.max" && echo 0 >"$cg/memory.swap.max" || die "cannot create $cg"
fi

printf '[oom]\nhook = date +%%s%%N >%s/hook.$FAULTLINE_ID\n' "$tmp" >"$tmp/fl.conf"
"$BUILD_DIR/faultlined" --foreground --config "$tmp/fl.conf" --socket "$tmp/sock" --state-dir "$tmp/state" \
	>"$tmp/daemon.log" 2>&1 &
daemon_pid=$!
fl() { "$BUILD_DIR/faultline" --socket "$tmp/sock" "$@"; }
for i in $(seq 1 100); do fl status >/dev/null 2>&1 && break; sleep 0.1; done
fl status >/dev/null 2>&1 || die "faultlined did not start: $(cat "$tmp/daemon.log")"

echo "oom_latency: $KILLS memcg kills, times after the kernel's mark_victim"
: >"$tmp/rows"
for k in $(seq 1 "$KILLS"); do
	sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$cg" "$BUILD_DIR/workloads/oom_alloc" --mb 200 --step-mb 4 \
		>"$tmp/wl.out" 2>&1 &
	wl=$!
	wait "$wl" 2>/dev/null
	id=
	for i in $(seq 1 100); do
		id=$(fl --json oom -n 1000 | jq --argjson p "$wl" '[.kills[] | select(.victim.pid == $p)][0].id // empty')
		[ -n "$id" ] && break
		sleep 0.05
	done
	[ -n "$id" ] || die "no record for the kill of pid $wl"
	for i in $(seq 1 100); do [ -s "$tmp/hook.$id" ] && break; sleep 0.05; done
	boot_ns=$(fl --json oom show "$id" | jq .boot_ns)
	# The journal's monotonic clock is the boot clock without suspend time
	# (none on a running server): the same origin as boot_ns.
	jmono=
	for i in $(seq 1 100); do
		jmono=$(journalctl --no-pager -o json MESSAGE_ID=024dfbaec32d4a85a9bd633d92ce81f4 FAULTLINE_ID="$id" |
			jq -r '.__MONOTONIC_TIMESTAMP' | tail -1)
		[ -n "$jmono" ] && break
		sleep 0.05
	done
	[ -n "$jmono" ] || die "no journal entry for record $id"
	line=$(grep "OOM record $id, after mark_victim" "$tmp/daemon.log")
	read_us=$(sed -n 's/.*read \([0-9]*\) us.*/\1/p' <<<"$line")
	disk_us=$(sed -n 's/.*on disk \([0-9]*\) us.*/\1/p' <<<"$line")
	spawn_us=$(sed -n 's/.*hooks started \([0-9]*\) us.*/\1/p' <<<"$line")
	# The hook's wall time against the kill's: boot and wall clocks read
	# together here give the offset between them.
	hook_wall=$(cat "$tmp/hook.$id")
	offset=$(python3 -c 'import time; print(time.clock_gettime_ns(time.CLOCK_REALTIME) - time.clock_gettime_ns(time.CLOCK_BOOTTIME))')
	echo "$read_us $disk_us $((jmono - boot_ns / 1000)) $spawn_us $(((hook_wall - offset - boot_ns) / 1000))" >>"$tmp/rows"
done

stats() { # column name
	sort -n -k"$1" "$tmp/rows" | awk -v c="$1" -v name="$2" '{v[NR] = $c} END {
		m = v[int((NR + 1) / 2)]; p = v[int(NR * 0.9 + 0.999)]
		printf "  %-28s median %6.1f ms   p90 %6.1f ms   (n=%d)\n", name, m / 1000, p / 1000, NR }'
}
stats 1 "event read by faultlined"
stats 2 "record on disk (fdatasync)"
stats 3 "journald received the entry"
stats 4 "hook started (fork returned)"
stats 5 "hook running (its first command)"
