#!/usr/bin/env bash
# A process shorter than one snapshot interval is still recorded, with its
# final counters, from the sched_process_exit event.
. "$(dirname "$0")/../lib/common.sh"

FL_INTERVAL=2s fl_start_daemon

out=$FL_TMP/short.out
"$FL_BUILD/workloads/short_lived" --ms 50 --pages 3000 >"$out" 2>&1
line=$(grep '^DONE' "$out")
pid=$(awk '{print $2}' <<<"$line")
want=$(kv "$line" minflt)
sleep 0.3
# The exit event wakes nobody: it is drained at the next snapshot (2 s).
for i in $(seq 1 60); do
	rec=$(fl_json exited -n 1000 | jq -c --argjson p "$pid" '.processes[] | select(.pid == $p)')
	[ -n "$rec" ] && break
	sleep 0.1
done
check_cmd "the 50 ms process is in the exited list" test -n "$rec"
got=$(jq -r .minflt <<<"$rec")
# exit() itself may fault a handful of pages after the workload's last getrusage()
check_ge "its final minor faults cover what it counted itself" "$want" "$got"
check_cmd "and not many more (got $got, counted $want)" test "$got" -le $((want + 64))
check_eq "its name" short_lived "$(jq -r .comm <<<"$rec")"
check_eq "its exit status" 0 "$(jq -r .exit_status <<<"$rec")"
check_ge "its peak RSS covers the 3000 pages it touched" $((3000 * 4096)) "$(jq -r .peak_rss <<<"$rec")"
check_eq "status counts no drops" 0 "$(fl_json status | jq .drops.total)"
check_eq "show PID finds the exited process" exited "$(fl_json show "$pid" | jq -r .state)"
fl_done
