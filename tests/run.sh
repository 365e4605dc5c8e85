#!/usr/bin/env bash
# Runs the unit tests (cmocka) and the integration suites (real BPF, real
# workloads), independent suites in parallel, and ends with the summary line
# "N passed, N failed".
#   tests/run.sh [all|unit|integration] [SUITE...]
# Env: BUILD (build dir), FL_JOBS (parallel integration suites, default 3),
#      FL_KEEP_LOGS=1 keeps the per-suite logs, FL_SANITIZED=1 for a build
#      with ASan/UBSan: any sanitizer report fails the test that caused it.
# A suite's header may say
#   # fl-suite: exclusive          it loads the machine: run it alone
#   # fl-suite: no-sanitize WHY    not run against a sanitized build (WHY is printed)
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
sanitized=${FL_SANITIZED:-}
[ "$sanitized" = 1 ] || sanitized=

# Sanitizer reports go to files named after the test (log_path appends the
# pid), so a report from a daemon a suite started is still seen.
san_env() { # NAME: prints the env assignments for one test
	[ -n "$sanitized" ] || return 0
	mkdir -p "$logdir/san"
	echo "ASAN_OPTIONS=log_path=$logdir/san/$1:detect_leaks=1:abort_on_error=0"
	echo "UBSAN_OPTIONS=log_path=$logdir/san/$1:print_stacktrace=1:halt_on_error=1"
	echo "LSAN_OPTIONS=log_path=$logdir/san/$1"
}
san_reports() { # NAME LOG: a failing TAP line per report, appended to LOG
	[ -n "$sanitized" ] || return 0
	local f
	for f in "$logdir/san/$1".*; do
		[ -e "$f" ] || continue
		echo "not ok - sanitizer report from pid ${f##*.}:" >>"$2"
		sed 's/^/# /' "$f" | head -60 >>"$2"
	done
}
count_tap() { # log -> adds to passed/failed
	local log=$1 name=$2 rc=$3 p f
	# A log that vanished (a stray rm of /tmp) must count as a failure, not
	# as a suite with nothing to say: grep prints nothing for a missing file.
	if [ ! -f "$log" ]; then
		echo "not ok - $name left no log ($log is gone)" >"$log"
	fi
	p=$(grep -c '^ok ' "$log" || true)
	f=$(grep -c '^not ok ' "$log" || true)
	p=${p:-0}
	f=${f:-0}
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
		env $(san_env "$(basename "$t")") "$t" >"$log" 2>&1
		rc=$?
		p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
		f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
		p=${p:-0}
		f=${f:-0}
		san_reports "$(basename "$t")" "$log"
		if grep -q '^not ok - sanitizer' "$log"; then f=$((f + 1)); fi
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

suite_tag() { # FILE TAG: the rest of a "# fl-suite: TAG ..." header line
	sed -n "s/^# fl-suite: $2 *//p" "$1" | head -1
}

start_suite() { # FILE: in the background; status into $logdir/NAME.rc
	local s=$1 name
	name=$(basename "$s" .sh)
	rm -f "$logdir/$name.rc"
	(
		env BUILD="$BUILD" $(san_env "$name") timeout --kill-after=10 600 bash "$s" >"$logdir/$name.log" 2>&1
		echo $? >"$logdir/$name.rc"
	) &
	pids+=($!)
	names+=("$name")
}

reap_first() {
	local name rc before
	# The status comes from the file, not from `wait`: with pid_max low
	# and suites forking thousands of processes, the pid may already be
	# reused and `wait` answers 127.
	wait "${pids[0]}" 2>/dev/null
	name=${names[0]}
	pids=("${pids[@]:1}")
	names=("${names[@]:1}")
	rc=$(cat "$logdir/$name.rc" 2>/dev/null || echo 99)
	san_reports "$name" "$logdir/$name.log"
	before=$failed
	count_tap "$logdir/$name.log" "$name" "$rc"
	printf '%-40s %3d passed, %d failed\n' "integration/$name" \
		"$(grep -c '^ok ' "$logdir/$name.log")" "$((failed - before))"
	if [ $failed -gt $before ]; then
		sed 's/^/    /' "$logdir/$name.log" | tail -60
	fi
}

run_integration() {
	local suites=("$@") s pids=() names=() i why excl=
	if [ ${#suites[@]} -eq 0 ]; then
		suites=(tests/integration/*.sh)
	fi
	if [ "$(id -u)" != 0 ]; then
		echo "not ok - integration suites need root (BPF, cgroups, tracefs): run 'make check' as root"
		failed=$((failed + 1))
		failed_names+=("integration (not root)")
		return
	fi
	# A bounded pool: start up to $jobs suites, reap in order. An exclusive
	# suite waits for the pool to drain and runs alone.
	i=0
	while [ $i -lt ${#suites[@]} ] || [ ${#pids[@]} -gt 0 ]; do
		while [ $i -lt ${#suites[@]} ] && [ ${#pids[@]} -lt "$jobs" ] && [ -z "$excl" ]; do
			s=${suites[$i]}
			if [ -n "$sanitized" ] && why=$(suite_tag "$s" no-sanitize) && [ -n "$why" ]; then
				printf '%-40s not run against the sanitized build: %s\n' "integration/$(basename "$s" .sh)" "$why"
				i=$((i + 1))
				continue
			fi
			if grep -q '^# fl-suite: exclusive' "$s"; then
				[ ${#pids[@]} -gt 0 ] && break
				start_suite "$s"
				excl=1
				i=$((i + 1))
				break
			fi
			start_suite "$s"
			i=$((i + 1))
		done
		[ ${#pids[@]} -gt 0 ] && reap_first
		[ ${#pids[@]} -eq 0 ] && excl=
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
