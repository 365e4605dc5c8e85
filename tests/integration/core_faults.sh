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

# --- a fault rate: 60 rounds of 2000 pages, 50 ms apart (up to ~40k faults/s;
# a loaded machine makes it slower, so the rate is checked against what /proc
# counted over the same stretch rather than against a fixed figure).
fl_spawn rate touch_pages --pages 2000 --repeat 60 --interval-ms 50
sleep 0.5
t0=$(date +%s.%N) f0=$(proc_minflt "$rate_pid")
sleep 1.5
t1=$(date +%s.%N) f1=$(proc_minflt "$rate_pid")
rate=$(fl_json top --sort minflt-rate -n 50 | jq -r --argjson p "$rate_pid" '.processes[] | select(.pid == $p) | .minflt_rate')
truth=$(awk -v a="$f0" -v b="$f1" -v s="$t0" -v e="$t1" 'BEGIN { printf "%.0f", (b - a) / (e - s) }')
fl_log "minor fault rate: daemon ${rate:-none}/s, /proc over ${t0}..${t1}: ${truth}/s"
check_ge "a faulting process shows a minor fault rate" 1 "${rate:-0}"
check_cmd "its rate is per second, within 0.4x..2.5x of /proc's average over the same 1.5 s ($truth/s)" \
	awk -v r="${rate:-0}" -v t="$truth" 'BEGIN { exit !(t > 0 && r >= 0.4 * t && r <= 2.5 * t) }'
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
