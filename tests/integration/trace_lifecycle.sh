#!/usr/bin/env bash
# A trace leaves nothing behind: faultlined holds no tracing program before
# a trace is asked for, holds them only while it runs, and after it ends --
# by time, because its process exited, because its client left, or because
# the daemon stopped -- every program and link it loaded is gone from the
# kernel (ids read from the daemon's own fds, then looked up with bpftool).
# At most 4 traces run at once.
. "$(dirname "$0")/../lib/common.sh"

fl_start_daemon

# The BPF program and link ids faultlined holds, from its fdinfo.
daemon_ids() { cat /proc/"$FL_DAEMON_PID"/fdinfo/* 2>/dev/null | awk -v k="$1_id:" '$1 == k {print $2}' | sort -un; }
prog_name() { bpftool prog show id "$1" -j 2>/dev/null | jq -r .name; }
# Ids in $2 (a list) that still exist in the kernel, as "kind id" lines.
still_there() {
	local kind=$1 id
	for id in $2; do bpftool "$kind" show id "$id" >/dev/null 2>&1 && echo "$kind $id"; done
}
# Background CLIs are started as the binary, not through the fl function,
# so that $! is the process holding the connection.
wait_running() {
	local i
	for i in $(seq 1 200); do
		[ "$(fl_json status | jq .traces.running)" -eq "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

progs0=$(daemon_ids prog)
links0=$(daemon_ids link)
names0=$(for id in $progs0; do prog_name "$id"; done | sort | tr '\n' ' ')
check_cmd "no tracing program is loaded before a trace is asked for ($names0)" \
	test -n "$names0" -a -z "$(grep -o 'trace_[a-z_]*' <<<"$names0")"

fl_spawn wl grow_paths --touch 1M
fl_wait_line "$wl_out" '^ARMED' >/dev/null || { not_ok "grow_paths did not arm"; exit 1; }
fl trace "$wl_pid" --for 60s --what faults,brk,mmap,malloc >"$FL_TMP/t1.out" 2>&1 {wl_fd}>&- &
cli=$!
wait_running 1 || { not_ok "the trace did not start"; exit 1; }
new_progs=$(comm -13 <(echo "$progs0") <(daemon_ids prog))
new_links=$(comm -13 <(echo "$links0") <(daemon_ids link))
names=$(for id in $new_progs; do prog_name "$id"; done | sort | tr '\n' ' ')
check_eq "while it runs, the tracing programs are loaded" \
	"trace_alloc_ret trace_brk trace_calloc trace_fault trace_free trace_malloc trace_mmap trace_realloc " "$names"
# fault, brk, mmap, then 7 uprobes on libc: malloc, calloc, realloc (entry
# and return) and free.
check_eq "and attached: 3 syscall/fault links and 7 uprobes" 10 "$(wc -w <<<"$new_links")"
fl_send_line wl go
fl_wait_line "$wl_out" '^READY' >/dev/null
fl_release wl
wait "$cli"
check_eq "the trace ends when its process exits" 0 $?
check_cmd "it says so" grep -q 'ended: all_exited' "$FL_TMP/t1.out"
check_eq "afterwards faultlined holds the programs it held before" "$(echo $progs0)" "$(echo $(daemon_ids prog))"
check_eq "and the links it held before" "$(echo $links0)" "$(echo $(daemon_ids link))"
check_eq "none of the tracing programs or links is left in the kernel" "" \
	"$(still_there prog "$new_progs"; still_there link "$new_links")"

# The client leaves: the trace is cancelled and unloaded.
fl_spawn wl2 grow_paths --touch 1M
fl_wait_line "$wl2_out" '^ARMED' >/dev/null
"$FL_BUILD/faultline" --socket "$FL_SOCK" trace "$wl2_pid" --for 60s --what faults >/dev/null 2>&1 {wl2_fd}>&- &
cli=$!
wait_running 1 || { not_ok "the second trace did not start"; exit 1; }
new_progs=$(comm -13 <(echo "$progs0") <(daemon_ids prog))
check_eq "a faults-only trace loads one program" trace_fault "$(for id in $new_progs; do prog_name "$id"; done)"
kill -TERM "$cli"
wait "$cli" 2>/dev/null
wait_running 0
check_eq "a client that leaves cancels its trace" 1 "$(fl_json status | jq .traces.cancelled)"
check_eq "and its program is gone from the kernel" "" "$(still_there prog "$new_progs")"

# Four at once, not five.
clis=()
for i in 1 2 3 4; do
	"$FL_BUILD/faultline" --socket "$FL_SOCK" trace "$wl2_pid" --for 60s --what faults >/dev/null 2>&1 {wl2_fd}>&- &
	clis+=($!)
done
wait_running 4 || not_ok "four traces did not start"
out=$(fl trace "$wl2_pid" --for 1s 2>&1)
check_eq "a fifth trace is refused: exit 1" 1 $?
check_cmd "as busy ($out)" grep -q "4 traces are running" <<<"$out"
new_progs=$(comm -13 <(echo "$progs0") <(daemon_ids prog))
check_eq "each running trace has its own program" 4 "$(wc -w <<<"$new_progs")"
kill -TERM "${clis[@]}"
wait "${clis[@]}" 2>/dev/null
wait_running 0
check_eq "all four are cancelled" 5 "$(fl_json status | jq .traces.cancelled)"
check_eq "and unloaded" "" "$(still_there prog "$new_progs")"

# The daemon stops in the middle of a trace.
"$FL_BUILD/faultline" --socket "$FL_SOCK" trace "$wl2_pid" --for 60s --what faults,mmap >"$FL_TMP/t3.out" 2>&1 {wl2_fd}>&- &
cli=$!
wait_running 1
new_progs=$(comm -13 <(echo "$progs0") <(daemon_ids prog))
fl_stop_daemon
wait "$cli"
check_eq "when faultlined stops, the waiting client is told (exit 3)" 3 $?
check_cmd "with a sentence" grep -q "closed the connection before the trace ended" "$FL_TMP/t3.out"
check_eq "and the trace's programs are gone" "" "$(still_there prog "$new_progs")"
fl_release wl2
fl_done
