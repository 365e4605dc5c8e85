#!/usr/bin/env bash
# [trace] suspect_profile: the first time a process becomes a leak suspect,
# faultlined traces its growth on its own and keeps the result with the
# process (show PID), naming the function that leaks. Once per process; a
# process that does not grow gets none; with the switch off (the default)
# nothing is traced.
. "$(dirname "$0")/../lib/common.sh"

cat >"$FL_TMP/on.conf" <<EOF
[leaks]
min_duration = 2s
min_growth = 4M
min_confidence = 50
windows = 2s

[trace]
suspect_profile = yes
suspect_profile_duration = 1500ms
EOF
fl_start_daemon -c "$FL_TMP/on.conf"

# A steady leak: 1 MiB of pages touched every 100 ms, for 60 s at most.
fl_spawn leak grow_paths --touch 1M --rounds 600 --gap-ms 100
fl_wait_line "$leak_out" '^ARMED' >/dev/null || { not_ok "grow_paths did not arm"; exit 1; }
fl_spawn idle grow_paths --touch 1M
fl_wait_line "$idle_out" '^ARMED' >/dev/null
fl_send_line leak go
prof=
for i in $(seq 1 400); do
	prof=$(fl_json show "$leak_pid" | jq -c '.growth_profile // empty')
	[ -n "$prof" ] && break
	sleep 0.1
done
check_cmd "a growth profile is kept with the leaking process" test -n "$prof"
check_cmd "it was taken because the process became a leak suspect" \
	grep -q "leak suspect grow_paths (pid $leak_pid): profiling its growth for 1500 ms" "$FL_TMP/daemon.log"
check_eq "it traced that process" "$leak_pid" "$(jq '.processes[0].pid' <<<"$prof")"
check_eq "for the configured time" 1500 "$(jq .requested_ms <<<"$prof")"
check_eq "faults, brk and mmap, never malloc" "faults,brk,mmap" "$(jq -r .what <<<"$prof")"
check_eq "its top page-fault stack is the leaking function" touch_pages \
	"$(jq -r '.processes[0].views.faults.stacks[0].frames[0].label' <<<"$prof")"
# 1 MiB every 100 ms over 1.5 s: about 15 rounds of 256 pages each.
pages=$(jq '.processes[0].views.faults.stacks[0].pages' <<<"$prof")
check_cmd "with the pages it touched meanwhile ($pages, at least 5 rounds of 256)" test "$pages" -ge 1280
check_cmd "it has a capture time" test "$(jq .captured_at <<<"$prof")" -gt 0
check_cmd "show prints it, with touch_pages" grep -Eq "^  faults +[0-9]+ pages touch_pages <- main" \
	<(fl show "$leak_pid" | sed -n '/^growth profile (traced [0-9.]*s when it became a leak suspect/,$p')
fl_wait_snapshots 8
# The daemon sees every process on the machine (other suites leak too):
# count the profiles of this one.
check_eq "only once for this process" 1 "$(grep -c "(pid $leak_pid): profiling its growth" "$FL_TMP/daemon.log")"
check_eq "the idle process has no profile" null "$(fl_json show "$idle_pid" | jq -c .growth_profile)"
kill -KILL "$leak_pid" # it would grow for another minute
fl_release leak
fl_release idle
fl_stop_daemon

# Off by default: a leak suspect, and no trace.
sed 's/^suspect_profile = yes/#suspect_profile = yes/' "$FL_TMP/on.conf" >"$FL_TMP/off.conf"
fl_start_daemon -c "$FL_TMP/off.conf"
fl_spawn leak2 grow_paths --touch 1M --rounds 600 --gap-ms 100
fl_wait_line "$leak2_out" '^ARMED' >/dev/null
fl_send_line leak2 go
cls=
for i in $(seq 1 400); do
	cls=$(fl_json show "$leak2_pid" | jq -r '.leak.class // empty')
	[ "$cls" = leak-suspect ] && break
	sleep 0.1
done
check_eq "without the switch the leak is still found" leak-suspect "$cls"
fl_wait_snapshots 4
check_eq "but nothing is traced" 0 "$(fl_json status | jq .traces.started)"
check_eq "and it has no profile" null "$(fl_json show "$leak2_pid" | jq -c .growth_profile)"
kill -KILL "$leak2_pid"
fl_release leak2
fl_done
