#!/usr/bin/env bash
# Minor and major faults: the daemon's per-process counts against /proc and
# against the workload's own getrusage() figures.
. "$(dirname "$0")/../lib/common.sh"

fl_start_daemon

# --- minor faults: 20000 fresh pages touched once each
fl_spawn minor touch_pages --pages 20000
line=$(fl_wait_line "$minor_out" '^READY') || { not_ok "touch_pages did not get ready"; exit 1; }
fl_wait_snapshots 2
proc=$(proc_minflt "$minor_pid")
got=$(fl_json show "$minor_pid" | jq -r .minflt)
check_within_pct "minor faults of touch_pages match /proc/PID/stat" "$proc" "$got" 1
check_ge "minor faults cover the 20000 touched pages" 20000 "$got"
anon_kb=$(proc_status_kb "$minor_pid" RssAnon)
got_anon=$(fl_json show "$minor_pid" | jq -r '.rss_anon / 1024')
check_within_pct "anonymous RSS matches /proc/PID/status RssAnon" "$anon_kb" "$got_anon" 2
rss_kb=$(proc_status_kb "$minor_pid" VmRSS)
got_rss=$(fl_json show "$minor_pid" | jq -r '.rss / 1024')
check_within_pct "RSS matches /proc/PID/status VmRSS" "$rss_kb" "$got_rss" 2
vm_kb=$(proc_status_kb "$minor_pid" VmSize)
check_eq "VM size matches /proc/PID/status VmSize" "$vm_kb" "$(fl_json show "$minor_pid" | jq -r '.vm / 1024')"
fl_release minor

# --- a fault rate: 30 rounds of 2000 pages, 50 ms apart (~40k faults/s)
fl_spawn rate touch_pages --pages 2000 --repeat 30 --interval-ms 50
sleep 1
rate=$(fl_json top --sort minflt-rate -n 50 | jq -r --argjson p "$rate_pid" '.processes[] | select(.pid == $p) | .minflt_rate')
check_ge "a faulting process shows a minor fault rate" 5000 "${rate:-0}"
# Other suites fault too (the daemon sees the whole machine), so check the
# order itself rather than who is first.
sorted=$(fl_json top --sort minflt-rate -n 20 | jq '[.processes[].minflt_rate] | . == (sort | reverse)')
check_eq "'top --sort minflt-rate' is in descending rate order" true "$sorted"
fl_release rate

# --- major faults: a file mapping read after it was evicted from the page cache
datafile=/var/tmp/faultline-majflt.$$
FL_CLEANUPS+=("rm -f $datafile")
fl_spawn major major_faults --file "$datafile" --size 8M
line=$(fl_wait_line "$major_out" '^READY') || { not_ok "major_faults did not get ready"; exit 1; }
fl_wait_snapshots 2
proc=$(proc_majflt "$major_pid")
got=$(fl_json show "$major_pid" | jq -r .majflt)
check_ge "the workload saw major faults itself" 1 "$(kv "$line" majflt)"
check_ge "the daemon counts major faults" 1 "$got"
check_eq "major faults equal /proc/PID/stat" "$proc" "$got"
fl_release major
fl_done
