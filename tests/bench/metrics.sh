#!/usr/bin/env bash
# Cost of the metrics: faultlined's CPU time with the endpoint and textfile
# on (and scraped every second, as Prometheus would) against the same daemon
# with them off, both running at the same time over the same processes; and
# how long GET /metrics takes with many processes tracked. The interval is
# 250 ms, four times the default, so the per-interval work shows in ticks.
#
#   tests/bench/metrics.sh [BUILD_DIR]      (make bench runs it)
#
# Env: BENCH_METRICS_PAIRS    on/off pairs (default 5)
#      BENCH_METRICS_SECONDS  seconds per sample (default 10)
#      BENCH_METRICS_PROCS    extra live processes during the samples (default 5000, as the
#                         cardinality suite: GET /metrics must stay under 100 ms there)
# Targets (reported, not fatal): CPU ratio <= 1.10, GET /metrics median < 100 ms.
set -u
BUILD_DIR=${1:-build}
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$PWD/$BUILD_DIR ;; esac
PAIRS=${BENCH_METRICS_PAIRS:-5}
SECONDS_PER=${BENCH_METRICS_SECONDS:-10}
PROCS=${BENCH_METRICS_PROCS:-5000}
CPU_TARGET=1.10
GET_TARGET_MS=100

die() {
	echo "bench/metrics: $*" >&2
	exit 1
}
for f in faultlined faultline workloads/many_procs; do
	[ -x "$BUILD_DIR/$f" ] || die "$BUILD_DIR/$f is missing (run make first)"
done
command -v curl >/dev/null || die "curl is missing (make deps installs it)"
tmp=$(mktemp -d /tmp/faultline-bench-metrics.XXXXXX) || die "cannot create a temp dir"
daemon_pid= many_pid= many_fd=
cleanup() {
	if [ -n "$daemon_pid" ]; then
		kill -TERM $daemon_pid 2>/dev/null
		wait $daemon_pid 2>/dev/null
	fi
	if [ -n "$many_fd" ]; then eval "exec $many_fd>&-"; fi
	[ -n "$many_pid" ] && wait "$many_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# The same extra processes for every sample.
mkfifo "$tmp/many.in"
"$BUILD_DIR/workloads/many_procs" --procs "$PROCS" <"$tmp/many.in" >"$tmp/many.out" 2>&1 &
many_pid=$!
exec {many_fd}>"$tmp/many.in"
for i in $(seq 1 600); do grep -q '^READY' "$tmp/many.out" && break; sleep 0.1; done
grep -q '^READY' "$tmp/many.out" || die "many_procs did not start $PROCS processes"

cpu_ticks() { awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$1/stat"; }

start_daemon() { # MODE -> sets started_pid
	local mode=$1 conf=$tmp/$1.conf i
	: >"$conf"
	if [ "$mode" = on ]; then
		printf '[metrics]\nlisten = 127.0.0.1:0\ntextfile = %s/faultline.prom\n' "$tmp" >"$conf"
	fi
	"$BUILD_DIR/faultlined" --foreground --config "$conf" --socket "$tmp/$mode.sock" --state-dir "$tmp/$mode.state" \
		--interval 250ms >"$tmp/$mode.log" 2>&1 &
	started_pid=$!
	for i in $(seq 1 200); do
		"$BUILD_DIR/faultline" --socket "$tmp/$mode.sock" status >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	die "faultlined ($mode) did not answer: $(cat "$tmp/$mode.log")"
}

# One pair: both daemons at once over the same processes, so the machine's
# noise falls on both alike; the "on" one is scraped every second.
on_total=0 off_total=0
for p in $(seq 1 "$PAIRS"); do
	start_daemon on
	on_pid=$started_pid
	start_daemon off
	off_pid=$started_pid
	daemon_pid="$on_pid $off_pid"
	sleep 2 # past the first snapshots of every process
	addr=$("$BUILD_DIR/faultline" --json --socket "$tmp/on.sock" status | jq -r '.metrics.listen // empty')
	[ -n "$addr" ] || die "the metrics endpoint did not start"
	on0=$(cpu_ticks "$on_pid")
	off0=$(cpu_ticks "$off_pid")
	end=$((SECONDS + SECONDS_PER))
	while [ $SECONDS -lt $end ]; do
		curl -sf -o /dev/null "http://$addr/metrics"
		sleep 1
	done
	on=$(($(cpu_ticks "$on_pid") - on0))
	off=$(($(cpu_ticks "$off_pid") - off0))
	for i in $(seq 1 21); do curl -sf -o /dev/null -w '%{time_total}\n' "http://$addr/metrics"; done |
		sort -n | sed -n 11p >>"$tmp/get_times"
	"$BUILD_DIR/faultline" --json --socket "$tmp/on.sock" status | jq .metrics.render_us >>"$tmp/render_us"
	kill -TERM $on_pid $off_pid
	wait $on_pid $off_pid 2>/dev/null
	daemon_pid=
	echo "pair $p: CPU ticks off $off, on $on"
	off_total=$((off_total + off))
	on_total=$((on_total + on))
done
ratio=$(awk -v a="$on_total" -v b="$off_total" 'BEGIN { printf "%.3f", b ? a / b : 0 }')
get_ms=$(sort -n "$tmp/get_times" | awk '{a[NR] = $1} END {printf "%.2f", a[int((NR + 1) / 2)] * 1000}')
render=$(sort -n "$tmp/render_us" | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
echo "metrics: daemon CPU with metrics on / off = $ratio (target <= $CPU_TARGET; $PAIRS pairs of ${SECONDS_PER}s, $PROCS extra processes, scraped every second)"
echo "metrics: GET /metrics median $get_ms ms (target < $GET_TARGET_MS ms); rendering $render us per interval"
awk -v r="$ratio" -v t="$CPU_TARGET" 'BEGIN { exit !(r > t) }' && echo "metrics: CPU ratio above target"
awk -v g="$get_ms" -v t="$GET_TARGET_MS" 'BEGIN { exit !(g >= t) }' && echo "metrics: GET /metrics above target"
exit 0
