#!/usr/bin/env bash
# fl-suite: exclusive
# fl-suite: no-sanitize its RSS figures would measure ASan's shadow memory and quarantine
# Bounded under load: two fork storms of 20,000 short-lived processes each and
# 10,000 live processes at once, with the daemon's RSS read before and after;
# every exit recorded or counted as dropped; then a max_memory that bites:
# exited records go first, new processes are counted, not tracked, status
# names the cap, and the table stays within it.
. "$(dirname "$0")/../lib/common.sh"

rss() { proc_status_kb "$FL_DAEMON_PID" VmRSS; }
st() { fl_json status | jq "$1"; }
exits_accounted() { st '.events.exit + .drops.exit + .processes.exits_vanished'; }

FL_INTERVAL=500ms fl_start_daemon
fl_wait_snapshots 2
rss0=$(rss)
fl_log "daemon RSS at start: $rss0 KiB"

storm() { # N: a storm of N children; prints the DONE line
	"$FL_BUILD/workloads/fork_storm" --children "$1" --parallel 64 --pages 1 >"$FL_TMP/storm.out" 2>&1
	cat "$FL_TMP/storm.out"
}

# --- storm 1
acc0=$(exits_accounted)
line=$(storm 20000)
check_eq "storm 1: 20000 children forked and exited 0" 20000 "$(kv "$line" exited_ok)"
fl_wait_snapshots 4
acc1=$(exits_accounted)
check_ge "storm 1: every exit recorded or counted as dropped" 20000 $((acc1 - acc0))
fl_log "storm 1: exits $(st .events.exit), dropped $(st .drops.exit), vanished $(st .processes.exits_vanished)"
rss1=$(rss)
check_eq "storm 1: the exited list stays at exited_keep" 4096 "$(st .processes.exited_kept)"
fl_log "daemon RSS after storm 1: $rss1 KiB"

# --- storm 2: the table is full of exited records already; RSS stays flat
line=$(storm 20000)
check_eq "storm 2: 20000 children forked and exited 0" 20000 "$(kv "$line" exited_ok)"
fl_wait_snapshots 4
acc2=$(exits_accounted)
check_ge "storm 2: every exit recorded or counted as dropped" 20000 $((acc2 - acc1))
rss2=$(rss)
fl_log "daemon RSS after storm 2: $rss2 KiB (seen in all: $(st .processes.seen_total))"
check_cmd "storm 2 grew the RSS by at most 2 MiB more ($rss1 -> $rss2 KiB)" test "$rss2" -le $((rss1 + 2048))
check_eq "the daemon answers after the storms" true "$(st '.snapshots.count > 0')"

# --- 10,000 live processes at once
fl_spawn many many_procs --procs 10000
fl_wait_line "$many_out" '^READY' 120 >/dev/null || { not_ok "many_procs did not start 10000 children"; exit 1; }
fl_wait_snapshots 3
rss_live=$(rss) # before the query below, whose 10000-row reply is big itself
fl_log "daemon RSS with 10000 live processes: $rss_live KiB"
live=$(fl_json top -n 1000000 | jq --argjson p "$many_pid" '[.processes[] | select(.ppid == $p)] | length')
check_eq "all 10000 live children are tracked" 10000 "$live"
mem_live=$(st .limits.memory_used)
fl_release many
fl_wait_snapshots 4
check_cmd "after they exit the table shrinks ($mem_live -> $(st .limits.memory_used) bytes)" \
	test "$(st .limits.memory_used)" -lt "$mem_live"
fl_log "daemon RSS after the 10000 exited: $(rss) KiB"
check_eq "max_memory (160M) was not reached" null "$(st '.limits.caps_reached | index("max_memory")')"
fl_stop_daemon

# --- a max_memory that bites (2 MiB: a few hundred records with history)
printf '[limits]\nmax_memory = 2M\n' >"$FL_TMP/cap.conf"
rm -rf "$FL_STATE"
FL_INTERVAL=500ms fl_start_daemon --config "$FL_TMP/cap.conf"
fl_spawn capped many_procs --procs 3000
fl_wait_line "$capped_out" '^READY' 60 >/dev/null || { not_ok "many_procs did not start"; exit 1; }
fl_wait_snapshots 3
line=$(storm 3000)
fl_wait_snapshots 3
used=$(st .limits.memory_used)
check_cmd "caps_reached names max_memory" sh -c "\"$FL_BUILD/faultline\" --json --socket $FL_SOCK status | jq -e '.limits.caps_reached | index(\"max_memory\")' >/dev/null"
check_ge "new processes were counted, not tracked" 1 "$(st .limits.not_tracked_for_memory)"
check_ge "exited records were evicted for memory first" 1 "$(st .limits.evicted_for_memory)"
# Past the cap no history grows either: at most one new record's first
# slots over it.
check_cmd "the table stays within the cap (used $used bytes of 2 MiB)" test "$used" -le $((2 * 1024 * 1024 + 8192))
check_ge "histories stopped growing at the cap" 1 "$(st .limits.history_growth_capped)"
check_cmd "the daemon still answers queries" fl_json top -n 5
fl_release capped
fl_done
