#!/usr/bin/env bash
# What an on-demand trace costs, as ratios of samples taken in this same run
# with one faultlined running throughout (its always-on cost is measured by
# tests/bench/run.sh; this isolates the trace):
#   storm-other   a fault storm in another process while one process is
#                 traced for faults / no trace            (target <= 1.05);
#                 also, exactly, what the page-fault program costs per
#                 fault of an untraced process (kernel.bpf_stats_enabled for
#                 the duration: run time / runs), against a fault's own cost
#   after-trace   a fault storm after a trace ended / before it ran (~1.0:
#                 nothing stays attached)
#   traced-self   the traced process's own fault storm / untraced (reported)
#   malloc        microseconds added per malloc/free pair by malloc tracing,
#                 recording every call and 1 in 100 (reported)
#
#   tests/bench/trace.sh [BUILD_DIR]      (make bench)
# Env: BENCH_PAIRS (default 7), BENCH_FAULT_ARGS (default "--mb 256 --rounds 8"),
#      BENCH_CHURN (malloc/free pairs per malloc sample, default 20000),
#      BENCH_CLOCK cpu (default) or wall
# Samples are the workload's own CPU time by default: what a trace adds runs
# in the traced (or merely faulting) process's context, so it is there,
# while time spent waiting for a CPU that other work holds is not -- on a
# shared machine wall time mostly measures the neighbours.
set -u

BUILD_DIR=${1:-build}
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$PWD/$BUILD_DIR ;; esac
PAIRS=${BENCH_PAIRS:-7}
FAULT_ARGS=${BENCH_FAULT_ARGS:---mb 256 --rounds 8}
CHURN=${BENCH_CHURN:-20000}
CLOCK=${BENCH_CLOCK:-cpu}
case $CLOCK in cpu) NS_KEY=cpu_ns CHURN_KEY=churn_cpu_ns ;; wall) NS_KEY=ns CHURN_KEY=churn_ns ;; *) echo "bench: BENCH_CLOCK is cpu or wall" >&2; exit 1 ;; esac
OTHER_TARGET=1.05

die() {
	echo "bench: $*" >&2
	exit 1
}
case $PAIRS in '' | *[!0-9]* | 0) die "BENCH_PAIRS must be a positive integer, got '$PAIRS'" ;; esac
for f in faultlined faultline workloads/fault_storm workloads/grow_paths; do
	[ -x "$BUILD_DIR/$f" ] || die "$BUILD_DIR/$f is missing or not executable (run make first)"
done

tmp=$(mktemp -d /tmp/faultline-bench-trace.XXXXXX) || die "cannot create a temp dir"
sock=$tmp/faultline.sock
daemon_pid=
idle_pid=
cli_pid=

stats_was=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null)
# Everything is stopped by the pid we started it with, nothing else.
cleanup() {
	[ -n "$stats_was" ] && sysctl -q -w kernel.bpf_stats_enabled="$stats_was" 2>/dev/null
	[ -n "$cli_pid" ] && kill -TERM "$cli_pid" 2>/dev/null
	[ -n "$idle_pid" ] && kill -TERM "$idle_pid" 2>/dev/null
	if [ -n "$daemon_pid" ]; then
		kill -TERM "$daemon_pid" 2>/dev/null
		wait "$daemon_pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fl() { "$BUILD_DIR/faultline" --socket "$sock" "$@"; }

"$BUILD_DIR/faultlined" --foreground --socket "$sock" --state-dir "$tmp/state" >"$tmp/daemon.log" 2>&1 &
daemon_pid=$!
for i in $(seq 1 200); do
	fl status >/dev/null 2>&1 && break
	kill -0 "$daemon_pid" 2>/dev/null || { cat "$tmp/daemon.log" >&2; die "faultlined did not start"; }
	sleep 0.1
done

runner=()
if command -v taskset >/dev/null 2>&1 && taskset -c 1 true 2>/dev/null; then
	runner=(taskset -c 1)
fi
read -r -a fault_args <<<"$FAULT_ARGS"

running() { fl --json status | jq .traces.running; }
wait_running() {
	local i
	for i in $(seq 1 400); do
		[ "$(running)" -eq "$1" ] && return 0
		sleep 0.05
	done
	die "the number of running traces did not reach $1"
}

# trace_start PID ARGS...: a trace in the background (cancelled by
# trace_stop), once faultlined says it runs.
trace_start() {
	local pid=$1
	shift
	"$BUILD_DIR/faultline" --socket "$sock" trace "$pid" --for 10m "$@" >"$tmp/trace.out" 2>&1 &
	cli_pid=$!
	wait_running 1
}
trace_stop() {
	kill -TERM "$cli_pid" 2>/dev/null
	wait "$cli_pid" 2>/dev/null
	cli_pid=
	wait_running 0
}

sample_ns=
storm() {
	"${runner[@]}" "$BUILD_DIR/workloads/fault_storm" "${fault_args[@]}" >"$tmp/sample.out" 2>&1 ||
		die "fault_storm failed: $(cat "$tmp/sample.out")"
	sample_ns=$(sed -n "s/^RESULT .*\b$NS_KEY=\([0-9][0-9]*\).*/\1/p" "$tmp/sample.out")
	[ -n "$sample_ns" ] || die "no RESULT line from fault_storm"
}

# A fault storm that waits on a fifo before it starts, so it can be traced
# from its first fault (exec keeps the pid).
storm_traced() {
	rm -f "$tmp/go"
	mkfifo "$tmp/go"
	bash -c 'read -r _ < "$0"; exec "$@"' "$tmp/go" "${runner[@]}" "$BUILD_DIR/workloads/fault_storm" \
		"${fault_args[@]}" >"$tmp/sample.out" 2>&1 &
	local pid=$!
	trace_start "$pid" --what faults
	echo go >"$tmp/go"
	wait "$pid" || die "fault_storm failed: $(cat "$tmp/sample.out")"
	# Its exit ends the trace.
	wait "$cli_pid" 2>/dev/null
	cli_pid=
	wait_running 0
	sample_ns=$(sed -n "s/^RESULT .*\b$NS_KEY=\([0-9][0-9]*\).*/\1/p" "$tmp/sample.out")
	[ -n "$sample_ns" ] || die "no RESULT line from the traced fault_storm"
}

median() {
	sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) exit 1
		if (NR % 2) m = v[(NR + 1) / 2]; else m = (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.3f\n", m }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", a / b }'; }

# An idle process to trace while the storm runs elsewhere.
mkfifo "$tmp/idle.in"
"$BUILD_DIR/workloads/grow_paths" --touch 4K <"$tmp/idle.in" >/dev/null 2>&1 &
idle_pid=$!
exec {idle_fd}>"$tmp/idle.in"

results=()
storm # warm-up, unrecorded

# The trace_fault program of our daemon (its fds name it), and its counters.
trace_fault_id() {
	local id
	for id in $(cat /proc/"$daemon_pid"/fdinfo/* 2>/dev/null | awk '$1 == "prog_id:" {print $2}' | sort -u); do
		[ "$(bpftool prog show id "$id" -j 2>/dev/null | jq -r .name)" = trace_fault ] && echo "$id" && return
	done
}
prog_stats() { bpftool prog show id "$1" -j | jq -r '"\(.run_time_ns // 0) \(.run_cnt // 0)"'; }
faults_of_sample() { sed -n 's/^RESULT faults=\([0-9]*\).*/\1/p' "$tmp/sample.out"; }

echo "== clock: $CLOCK time of the workload"
echo "== storm-other: fault_storm ${fault_args[*]} while pid $idle_pid is traced for faults ($PAIRS pairs)"
r=()
per_run=()
per_fault=()
[ -n "$stats_was" ] && sysctl -q -w kernel.bpf_stats_enabled=1
for ((i = 1; i <= PAIRS; i++)); do
	storm
	base=$sample_ns
	per_fault+=("$(awk -v n="$base" -v f="$(faults_of_sample)" 'BEGIN { printf "%.1f", n / f }')")
	trace_start "$idle_pid" --what faults
	id=$(trace_fault_id)
	read -r t0 c0 < <(prog_stats "$id")
	storm
	with=$sample_ns
	read -r t1 c1 < <(prog_stats "$id")
	[ "$c1" -gt "$c0" ] && per_run+=("$(awk -v t=$((t1 - t0)) -v c=$((c1 - c0)) 'BEGIN { printf "%.1f", t / c }')")
	trace_stop
	r+=("$(ratio "$with" "$base")")
	printf '  pair %d: no trace %.3f s, another process traced %.3f s, ratio %.3f\n' "$i" \
		"$(awk -v n="$base" 'BEGIN{print n/1e9}')" "$(awk -v n="$with" 'BEGIN{print n/1e9}')" "${r[-1]}"
done
m=$(printf '%s\n' "${r[@]}" | median)
v=$(awk -v m="$m" -v t="$OTHER_TARGET" 'BEGIN { print (m <= t) ? "PASS" : "ABOVE TARGET" }')
results+=("storm-other ratio: $m (target <= $OTHER_TARGET: $v)")
[ "$stats_was" = 0 ] && sysctl -q -w kernel.bpf_stats_enabled=0
if [ ${#per_run[@]} -gt 0 ]; then
	pr=$(printf '%s\n' "${per_run[@]}" | median)
	pf=$(printf '%s\n' "${per_fault[@]}" | median)
	results+=("trace_fault program: $pr ns per fault of an untraced process, $(awk -v a="$pr" -v b="$pf" 'BEGIN { printf "%.1f", 100 * a / b }')% of a fault's $pf ns ($CLOCK time)")
fi

echo "== after-trace: fault_storm before a trace / after it ended ($PAIRS pairs)"
r=()
for ((i = 1; i <= PAIRS; i++)); do
	storm
	before=$sample_ns
	trace_start "$idle_pid" --what faults,brk,mmap,malloc
	trace_stop
	storm
	r+=("$(ratio "$sample_ns" "$before")")
	printf '  pair %d: ratio %.3f\n' "$i" "${r[-1]}"
done
results+=("after-trace ratio: $(printf '%s\n' "${r[@]}" | median) (nothing stays attached: ~1.0)")

echo "== traced-self: fault_storm traced for faults / untraced ($PAIRS pairs)"
r=()
for ((i = 1; i <= PAIRS; i++)); do
	storm
	base=$sample_ns
	storm_traced
	r+=("$(ratio "$sample_ns" "$base")")
	printf '  pair %d: ratio %.3f\n' "$i" "${r[-1]}"
done
results+=("traced-self ratio: $(printf '%s\n' "${r[@]}" | median) (the traced process's own slowdown)")

# grow_paths --churn N times N malloc/free pairs; READY carries churn_ns.
churn() { # [TRACE ARGS...]: sets sample_ns
	local out=$tmp/churn.out pid i cfd
	rm -f "$tmp/churn.in"
	mkfifo "$tmp/churn.in"
	"${runner[@]}" "$BUILD_DIR/workloads/grow_paths" --churn "$CHURN" --block 64 <"$tmp/churn.in" >"$out" 2>&1 &
	pid=$!
	exec {cfd}>"$tmp/churn.in"
	for i in $(seq 1 100); do grep -q ARMED "$out" && break; sleep 0.05; done
	[ $# -gt 0 ] && trace_start "$pid" "$@" {cfd}>&-
	echo go >&$cfd
	for i in $(seq 1 600); do grep -q READY "$out" && break; sleep 0.05; done
	sample_ns=$(sed -n "s/.* $CHURN_KEY=\([0-9]*\).*/\1/p" "$out")
	exec {cfd}>&-
	wait "$pid"
	if [ $# -gt 0 ]; then
		wait "$cli_pid" 2>/dev/null
		cli_pid=
		wait_running 0
	fi
	[ -n "$sample_ns" ] || die "no churn_ns from grow_paths"
}
echo "== malloc: $CHURN malloc/free pairs, untraced / traced (every call, and 1 in 100) ($PAIRS pairs)"
r1=()
r100=()
for ((i = 1; i <= PAIRS; i++)); do
	churn
	base=$sample_ns
	churn --what malloc
	all=$sample_ns
	churn --what malloc --sample 100
	s100=$sample_ns
	r1+=("$(awk -v a="$all" -v b="$base" -v n="$CHURN" 'BEGIN { printf "%.3f", (a - b) / n / 1000 }')")
	r100+=("$(awk -v a="$s100" -v b="$base" -v n="$CHURN" 'BEGIN { printf "%.3f", (a - b) / n / 1000 }')")
	printf '  pair %d: untraced %.3f us/pair, +%s us traced, +%s us at 1 in 100\n' "$i" \
		"$(awk -v b="$base" -v n="$CHURN" 'BEGIN { print b / n / 1000 }')" "${r1[-1]}" "${r100[-1]}"
done
results+=("malloc tracing: +$(printf '%s\n' "${r1[@]}" | median) us per malloc/free pair, +$(printf '%s\n' "${r100[@]}" | median) us at 1 in 100")

echo "== summary (medians)"
printf '  %s\n' "${results[@]}"
exit 0
