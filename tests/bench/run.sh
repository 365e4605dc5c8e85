#!/usr/bin/env bash
# Overhead of faultlined on fault-heavy and mapping-syscall-heavy workloads,
# as ratios of "with daemon" to "without daemon" samples taken in this same
# run. Absolute times say nothing across machines; ratios of interleaved
# samples cancel most of the machine and most of its drift.
#
#   tests/bench/run.sh [BUILD_DIR]        (make bench; BUILD_DIR defaults to build)
#
# Env: BENCH_PAIRS        with/without pairs per benchmark (default 7)
#      BENCH_FAULT_ARGS   fault_storm arguments (default "--mb 256 --rounds 8")
#      BENCH_SYSCALL_ARGS syscall_storm arguments (default "--calls 200000")
#      BENCH_SETTLE_S     seconds between daemon readiness and a sample (default 1)
# The defaults make one sample take about 1.5 s on a 2-core VM.
#
# Exit status is 0 unless something failed to run; a ratio above its target
# is reported, not fatal, because one noisy machine must not break a build.
set -u

BUILD_DIR=${1:-build}
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$PWD/$BUILD_DIR ;; esac
PAIRS=${BENCH_PAIRS:-7}
FAULT_ARGS=${BENCH_FAULT_ARGS:---mb 256 --rounds 8}
SYSCALL_ARGS=${BENCH_SYSCALL_ARGS:---calls 200000}
SETTLE_S=${BENCH_SETTLE_S:-1}
FAULT_TARGET=1.01
SYSCALL_TARGET=1.05
READY_TIMEOUT_S=20
STOP_TIMEOUT_S=10

die() {
	echo "bench: $*" >&2
	exit 1
}

case $PAIRS in '' | *[!0-9]* | 0) die "BENCH_PAIRS must be a positive integer, got '$PAIRS'" ;; esac
for f in faultlined faultline workloads/fault_storm workloads/syscall_storm; do
	[ -x "$BUILD_DIR/$f" ] || die "$BUILD_DIR/$f is missing or not executable (run make first)"
done

tmp=$(mktemp -d /tmp/faultline-bench.XXXXXX) || die "cannot create a temp dir"
sock=$tmp/faultline.sock
daemon_pid=

# Stops our daemon, by the pid we started it with and nothing else.
stop_daemon() {
	local i
	[ -n "$daemon_pid" ] || return 0
	kill -TERM "$daemon_pid" 2>/dev/null
	for ((i = 0; i < STOP_TIMEOUT_S * 10; i++)); do
		kill -0 "$daemon_pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$daemon_pid" 2>/dev/null; then
		echo "bench: faultlined (pid $daemon_pid) ignored SIGTERM for ${STOP_TIMEOUT_S}s; killing it" >&2
		kill -KILL "$daemon_pid" 2>/dev/null
	fi
	wait "$daemon_pid" 2>/dev/null
	daemon_pid=
}

# shellcheck disable=SC2317  # reached through the trap
cleanup() {
	stop_daemon
	rm -rf "$tmp"
}
trap cleanup EXIT
# Turn signals into a normal exit so the EXIT trap still stops the daemon.
trap 'exit 130' INT
trap 'exit 143' TERM

daemon_failed() {
	echo "bench: $*" >&2
	echo "--- faultlined stderr ---" >&2
	cat "$tmp/daemon.err" >&2
	echo "---" >&2
	exit 1
}

start_daemon() {
	local deadline=$((SECONDS + READY_TIMEOUT_S))
	rm -rf "$sock" "$tmp/state"
	"$BUILD_DIR/faultlined" --foreground --socket "$sock" --state-dir "$tmp/state" --interval 1 \
		>"$tmp/daemon.out" 2>"$tmp/daemon.err" &
	daemon_pid=$!
	while ((SECONDS < deadline)); do
		if "$BUILD_DIR/faultline" --socket "$sock" status >/dev/null 2>&1; then
			return 0
		fi
		if ! kill -0 "$daemon_pid" 2>/dev/null; then
			wait "$daemon_pid" 2>/dev/null
			daemon_pid=
			daemon_failed "faultlined exited before it answered on $sock"
		fi
		sleep 0.1
	done
	daemon_failed "faultlined did not answer 'faultline status' within ${READY_TIMEOUT_S}s"
}

# The workload is pinned to CPU 1 so that both samples of a pair run the
# same way: no migrations halfway through one sample and not the other, and
# the daemon's user-space side (left unpinned) normally gets CPU 0 to itself
# instead of time-slicing with the workload. What remains in the 'with'
# sample is then what we want to measure: the BPF programs running in the
# workload's own context, plus cache and memory-bandwidth interference.
# On a single-CPU machine there is no CPU 1, so nothing is pinned.
runner=()
if command -v taskset >/dev/null 2>&1 && taskset -c 1 true 2>/dev/null; then
	runner=(taskset -c 1)
fi

# run_sample PROGRAM ARGS...: runs one sample; sets sample_ns to the
# program's own figure. Results go through globals, not $(...), because a
# subshell would own the daemon's pid and the EXIT trap could not stop it.
sample_ns=
run_sample() {
	sample_ns=
	if ! "${runner[@]}" "$@" >"$tmp/sample.out" 2>"$tmp/sample.err"; then
		echo "bench: '$*' failed:" >&2
		cat "$tmp/sample.out" "$tmp/sample.err" >&2
		exit 1
	fi
	sample_ns=$(sed -n 's/^RESULT .*\bns=\([0-9][0-9]*\).*/\1/p' "$tmp/sample.out")
	if [ -z "$sample_ns" ] || [ "$sample_ns" -le 0 ]; then
		echo "bench: no 'RESULT ... ns=N' line from '$*', got:" >&2
		cat "$tmp/sample.out" >&2
		exit 1
	fi
}

# run_sample_with_daemon PROGRAM ARGS...: one sample while the daemon runs.
run_sample_with_daemon() {
	start_daemon
	# Let the start-up work (first full process scan, first snapshot) pass
	# so the sample sees the daemon's steady state, as a user's would.
	sleep "$SETTLE_S"
	run_sample "$@"
	# A daemon that died during the sample would make it a 'without' sample.
	if ! kill -0 "$daemon_pid" 2>/dev/null; then
		wait "$daemon_pid" 2>/dev/null
		daemon_pid=
		daemon_failed "faultlined died during a sample"
	fi
	stop_daemon
}

median() {
	sort -n | awk '{ v[NR] = $1 } END {
		if (NR == 0) exit 1
		if (NR % 2) m = v[(NR + 1) / 2]; else m = (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.3f\n", m
	}'
}

# bench NAME TARGET PROGRAM ARGS...: prints the pairs and the verdict line.
bench() {
	local name=$1 target=$2 i first without with ratio m verdict
	local -a ratios=()
	shift 2
	echo "== $name: $* ($PAIRS pairs${runner:+, ${runner[*]}})"
	# One unrecorded run first: page cache, CPU frequency and the first
	# touches of the binary would otherwise all land on pair 1.
	run_sample "$@"
	for ((i = 1; i <= PAIRS; i++)); do
		# Alternate which sample goes first so a slow drift of the machine
		# (thermal, background load) favours neither side.
		if ((i % 2)); then
			first=without
			run_sample "$@"
			without=$sample_ns
			run_sample_with_daemon "$@"
			with=$sample_ns
		else
			first=with
			run_sample_with_daemon "$@"
			with=$sample_ns
			run_sample "$@"
			without=$sample_ns
		fi
		# Kept unrounded for the median; rounded only for display.
		ratio=$(awk -v w="$with" -v o="$without" 'BEGIN { printf "%.6f", w / o }')
		ratios+=("$ratio")
		awk -v i="$i" -v f="$first" -v o="$without" -v w="$with" -v r="$ratio" 'BEGIN {
			printf "  pair %d (%s first): without %.3f s, with %.3f s, ratio %.3f\n", i, f, o / 1e9, w / 1e9, r
		}'
	done
	m=$(printf '%s\n' "${ratios[@]}" | median) || die "no ratios for $name"
	if awk -v m="$m" -v t="$target" 'BEGIN { exit !(m <= t) }'; then verdict=PASS; else verdict="ABOVE TARGET"; fi
	echo "$name overhead ratio: $m"
	echo "  target <= $target: $verdict"
	results+=("$name overhead ratio: $m (target <= $target: $verdict)")
}

read -r -a fault_args <<<"$FAULT_ARGS"
read -r -a syscall_args <<<"$SYSCALL_ARGS"
results=()
bench fault-storm "$FAULT_TARGET" "$BUILD_DIR/workloads/fault_storm" "${fault_args[@]}"
bench syscall-storm "$SYSCALL_TARGET" "$BUILD_DIR/workloads/syscall_storm" "${syscall_args[@]}"

# The leak analysis runs for every live process once per interval: its cost
# per process, as CPU time (a figure, not a verdict).
echo "== leak analysis (tests/bench/bench_leaks.c)"
if [ -x "$BUILD_DIR/bench/bench_leaks" ]; then
	"$BUILD_DIR/bench/bench_leaks" | tee "$tmp/leaks.out"
	results+=("$(sed -n 's/^RESULT /leak analysis: /p' "$tmp/leaks.out")")
else
	results+=("leak analysis: $BUILD_DIR/bench/bench_leaks not built (make bench builds it)")
fi

echo "== summary (median of per-pair with/without ratios)"
printf '  %s\n' "${results[@]}"
exit 0
