#!/usr/bin/env bash
# fl-suite: no-sanitize the harnesses carry ASan+UBSan themselves
# The fuzz smoke of `make check`: each libFuzzer harness (request parser and
# handlers, config parser, state file reader) replays its checked-in corpus,
# every input, then fuzzes for FL_FUZZ_SECONDS (default 10) from there. A
# crash, a leak or a sanitizer report fails it; `make fuzz` runs longer.
. "$(dirname "$0")/../lib/common.sh"

secs=${FL_FUZZ_SECONDS:-10}
for n in request config statefile; do
	bin=$FL_BUILD/fuzz/fuzz_$n
	corpus=$FL_ROOT/tests/fuzz/corpus/$n
	if [ ! -x "$bin" ]; then
		not_ok "$n: $bin is not built (make check builds it; needs clang and libclang-rt-14-dev)"
		continue
	fi
	seeds=$(find "$corpus" -type f | wc -l)
	check_ge "$n: a checked-in corpus" 3 "$seeds"
	# -runs=0 executes every corpus input once and stops.
	"$bin" -runs=0 "$corpus" >"$FL_TMP/$n.replay" 2>&1
	check_eq "$n: every corpus input replays without a finding" 0 $?
	mkdir -p "$FL_TMP/work-$n"
	"$bin" -max_total_time="$secs" -rss_limit_mb=1024 -print_final_stats=1 \
		-artifact_prefix="$FL_TMP/$n-" "$FL_TMP/work-$n" "$corpus" >"$FL_TMP/$n.log" 2>&1
	rc=$?
	check_eq "$n: $secs s of fuzzing find nothing" 0 "$rc"
	[ "$rc" -ne 0 ] && grep -A20 -m1 'ERROR\|runtime error' "$FL_TMP/$n.log" | sed 's/^/# /'
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$FL_TMP/$n.log")
	check_ge "$n: inputs executed" 1000 "${runs:-0}"
	fl_log "$n: $runs executions in $secs s"
done
fl_done
