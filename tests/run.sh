#!/usr/bin/env bash
# Runs the unit tests (cmocka) and the integration suites (real BPF, real
# workloads), independent suites in parallel, and ends with the summary line
# "N passed, N failed".
#   tests/run.sh [all|unit|integration] [SUITE...]
# Env: BUILD (build dir), FL_JOBS (parallel integration suites, default 3),
#      FL_KEEP_LOGS=1 keeps the per-suite logs.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
mode=${1:-all}
shift || true
jobs=${FL_JOBS:-3}
passed=0
failed=0
failed_names=()
logdir=$(mktemp -d /tmp/faultline-check.XXXXXX)

count_tap() { # log -> adds to passed/failed
	local log=$1 name=$2 rc=$3 p f
	p=$(grep -c '^ok ' "$log" || true)
	f=$(grep -c '^not ok ' "$log" || true)
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $name exited with status $rc" >>"$log"
	fi
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $name ran no checks" >>"$log"
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	[ "$f" -gt 0 ] && failed_names+=("$name")
	return 0
}

run_unit() {
	local t log rc p f
	for t in "$BUILD"/tests/test_*; do
		[ -x "$t" ] || continue
		log=$logdir/$(basename "$t").log
		"$t" >"$log" 2>&1
		rc=$?
		p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
		f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
		p=${p:-0}
		f=${f:-0}
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
		printf '%-40s %3d passed, %d failed\n' "unit/$(basename "$t")" "$p" "$f"
		passed=$((passed + p))
		failed=$((failed + f))
		if [ "$f" -gt 0 ]; then
			failed_names+=("unit/$(basename "$t")")
			sed 's/^/    /' "$log"
		fi
	done
}

run_integration() {
	local suites=("$@") s name pids=() names=() i rc
	if [ ${#suites[@]} -eq 0 ]; then
		suites=(tests/integration/*.sh)
	fi
	if [ "$(id -u)" != 0 ]; then
		echo "not ok - integration suites need root (BPF, cgroups, tracefs): run 'make check' as root"
		failed=$((failed + 1))
		failed_names+=("integration (not root)")
		return
	fi
	# A bounded pool: start up to $jobs suites, reap in order.
	i=0
	while [ $i -lt ${#suites[@]} ] || [ ${#pids[@]} -gt 0 ]; do
		while [ $i -lt ${#suites[@]} ] && [ ${#pids[@]} -lt "$jobs" ]; do
			s=${suites[$i]}
			name=$(basename "$s" .sh)
			BUILD=$BUILD timeout --kill-after=10 600 bash "$s" >"$logdir/$name.log" 2>&1 &
			pids+=($!)
			names+=("$name")
			i=$((i + 1))
		done
		wait "${pids[0]}"
		rc=$?
		name=${names[0]}
		pids=("${pids[@]:1}")
		names=("${names[@]:1}")
		local before=$failed
		count_tap "$logdir/$name.log" "$name" "$rc"
		printf '%-40s %3d passed, %d failed\n' "integration/$name" \
			"$(grep -c '^ok ' "$logdir/$name.log")" "$((failed - before))"
		if [ $failed -gt $before ]; then
			sed 's/^/    /' "$logdir/$name.log" | tail -60
		fi
	done
}

case $mode in
all)
	run_unit
	run_integration "$@"
	;;
unit) run_unit ;;
integration) run_integration "$@" ;;
*)
	echo "usage: tests/run.sh [all|unit|integration] [SUITE...]" >&2
	exit 2
	;;
esac

[ -n "${FL_KEEP_LOGS:-}" ] && echo "logs kept in $logdir" || rm -rf "$logdir"
if [ ${#failed_names[@]} -gt 0 ]; then
	echo "failed: ${failed_names[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
