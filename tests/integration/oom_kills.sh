#!/usr/bin/env bash
# Real OOM kills in memory cgroups with a 32 MiB limit, each record checked
# against the kernel's own "Killed process" line in dmesg, the cgroup and the
# workloads: a single allocator; a victim that is not the trigger (the larger
# of two is killed when the smaller allocates); a child killed while its
# parent lives. Hooks: one that records its environment and stdin, one that
# fails, one that hangs past its time limit (45 s), none of which stops tracing.
# Every daemon sees every kill on the machine (parallel suites provoke their
# own): records are matched by this suite's pids and cgroups only.
. "$(dirname "$0")/../lib/common.sh"

LIMIT=$((32 << 20))
cat >"$FL_TMP/fl.conf" <<EOF
[oom]
hook = env | grep '^FAULTLINE_' | sort >"$FL_TMP/hook-env.\$FAULTLINE_ID"; cat >"$FL_TMP/hook-stdin.\$FAULTLINE_ID"
hook = echo "failing hook for \$FAULTLINE_VICTIM_COMM"; exit 3
hook = case \$FAULTLINE_VICTIM_CGROUP in */faultline-test-oomk-single-$$) echo "hang \$FAULTLINE_ID \$\$" >>"$FL_TMP/hang-pids"; sleep 1000;; esac
hook_timeout = 45s
EOF
fl_start_daemon --config "$FL_TMP/fl.conf"

# settled ID: waits for the record's outcome to leave "pending".
settled() {
	local i
	for i in $(seq 1 100); do
		[ "$(fl_json oom show "$1" | jq -r .outcome.state)" != pending ] && return 0
		sleep 0.1
	done
	return 1
}
# sh -c "$IN_MEMCG" CGROUP CMD... &: CMD in the cgroup, and $! is CMD itself
# (sh execs into it; a shell function run with & would add a subshell).
IN_MEMCG='echo $$ >"$0/cgroup.procs" && exec "$@"'

# kernel_line PID: the kernel's own line for the kill of PID.
kernel_line() { dmesg | grep -E "Killed process $1 \(" | tail -1; }
kfield() { sed -n "s/.*[ ,]$2:\([-0-9]*\)\(kB\)\{0,1\}.*/\1/p" <<<"$1"; }

# check_against_kernel NAME REC PID COMM: the record's victim is the kernel's.
check_against_kernel() {
	local name=$1 rec=$2 pid=$3 comm=$4 k
	k=$(kernel_line "$pid")
	check_cmd "$name: the kernel logged the kill of pid $pid" test -n "$k"
	check_eq "$name: victim name is the kernel's" "$comm" "$(sed -n 's/.*Killed process [0-9]* (\([^)]*\)).*/\1/p' <<<"$k")"
	check_eq "$name: record victim name" "$comm" "$(jq -r .victim.comm <<<"$rec")"
	check_within_pct "$name: anon RSS is the kernel's (kB)" "$(kfield "$k" anon-rss)" "$(jq '.victim.rss_anon / 1024' <<<"$rec")" 1
	check_within_pct "$name: file RSS is the kernel's (kB)" "$(kfield "$k" file-rss)" "$(jq '.victim.rss_file / 1024' <<<"$rec")" 2
	check_eq "$name: shmem RSS is the kernel's (kB)" "$(kfield "$k" shmem-rss)" "$(jq '.victim.rss_shmem / 1024' <<<"$rec")"
	check_eq "$name: oom_score_adj is the kernel's" "$(kfield "$k" oom_score_adj)" "$(jq .victim.oom_score_adj <<<"$rec")"
	check_eq "$name: uid is the kernel's" "$(kfield "$k" UID)" "$(jq .victim.uid <<<"$rec")"
	check_within_pct "$name: page tables are the kernel's (kB)" "$(kfield "$k" pgtables)" "$(jq '.victim.pgtables / 1024' <<<"$rec")" 10
	check_within_pct "$name: total VM is the kernel's (kB)" "$(kfield "$k" total-vm)" "$(jq '.victim.total_vm / 1024' <<<"$rec")" 1
}

# check_constraint NAME REC CGPATH: a memcg kill under this suite's cgroup.
check_constraint() {
	local name=$1 rec=$2 cg=$3 rel kind root
	read -r kind root < <(fl_memcg_root)
	rel=${cg#"$root"}
	check_eq "$name: constraint is the memory cgroup" "memcg $rel" "$(jq -r '.constraint.kind + " " + .constraint.cgroup' <<<"$rec")"
	check_eq "$name: its limit is the cgroup's" "$LIMIT" "$(jq .constraint.limit <<<"$rec")"
	check_eq "$name: its memcg id is the cgroup directory's inode" "$(stat -c %i "$cg")" "$(jq .constraint.memcg_id <<<"$rec")"
	check_ge "$name: usage at the kill was within 64 pages of the limit" $((LIMIT - 64 * 4096)) "$(jq .constraint.usage <<<"$rec")"
	check_eq "$name: victim's cgroup" "$rel" "$(jq -r .victim.cgroup <<<"$rec")"
}

# `faultline watch`, readable and JSON, from before the first kill.
"$FL_BUILD/faultline" --socket "$FL_SOCK" watch >"$FL_TMP/watch.txt" 2>/dev/null &
FL_SPAWNED+=("$!")
"$FL_BUILD/faultline" --socket "$FL_SOCK" --json watch >"$FL_TMP/watch.json" 2>/dev/null &
FL_SPAWNED+=("$!")
for i in $(seq 1 50); do [ "$(fl_json status | jq .clients.connected)" -ge 2 ] 2>/dev/null && break; sleep 0.1; done

# --- 1. a single allocator: victim and trigger --------------------------------
cg1=$(fl_make_memcg oomk-single "$LIMIT") || { not_ok "cannot create a memory cgroup"; exit 1; }
sh -c "$IN_MEMCG" "$cg1" "$FL_BUILD/workloads/oom_alloc" --mb 200 --step-mb 2 --delay-ms 200 >"$FL_TMP/single.out" 2>&1 &
wl=$!
FL_SPAWNED+=("$wl")
wait "$wl"
check_eq "single: the allocator died of SIGKILL" 137 $?
id1=$(fl_oom_record_of "$wl")
check_cmd "single: a record for pid $wl" test -n "$id1"
settled "$id1"
r1=$(fl_json oom show "$id1")
check_against_kernel single "$r1" "$wl" oom_alloc
check_constraint single "$r1" "$cg1"
check_eq "single: the victim was the trigger" "$wl true" "$(jq -r '"\(.trigger.pid) \(.trigger.is_victim)"' <<<"$r1")"
check_eq "single: victim's parent is this shell" "$$" "$(jq .victim.ppid <<<"$r1")"
check_cmd "single: command line" grep -q "oom_alloc --mb 200 --step-mb 2" <<<"$(jq -r .victim.cmdline <<<"$r1")"
check_eq "single: outcome: killed (SIGKILL seen at exit)" "exited 9 true" "$(jq -r '"\(.outcome.state) \(.outcome.signal) \(.outcome.killed)"' <<<"$r1")"
last_mb=$(awk '/^ALLOC/ {m = $3} END {sub("mb=", "", m); print m}' "$FL_TMP/single.out")
check_ge "single: peak RSS covers what the workload last reported (${last_mb} MiB)" $((last_mb << 20)) "$(jq .victim.peak_rss <<<"$r1")"
check_ge "single: history has samples of the growth" 3 "$(jq .history.samples <<<"$r1")"
check_eq "single: history grows and never passes the victim's anon RSS" true \
	"$(jq '.history.anon as $a | ($a | length) > 2 and $a[-1] > $a[0] and ($a | max) <= .victim.rss_anon' <<<"$r1")"
check_eq "single: top consumers in scope: the victim, inside the cgroup only" "$wl true" \
	"$(jq -r --arg c "$(jq -r .constraint.cgroup <<<"$r1")" '"\(.top[0].pid) \([.top[].cgroup] | all(. == $c))"' <<<"$r1")"
# Three seconds of history is short for a leak verdict: the record says what
# the analysis last said (oom_persist checks it against the daemon's answers).
check_eq "single: the victim's last leak verdict, with its history's samples" "true true" \
	"$(jq -r '"\(.leak.class == .leak.verdict.class) \(.leak.verdict.samples >= 1)"' <<<"$r1")"

# --- 2. a victim that is not the trigger ----------------------------------------
cg2=$(fl_make_memcg oomk-pair "$LIMIT") || { not_ok "cannot create a memory cgroup"; exit 1; }
# It holds until its stdin ends: a fifo this shell keeps open.
mkfifo "$FL_TMP/holder.in"
exec {holdfd}<>"$FL_TMP/holder.in"
sh -c "$IN_MEMCG" "$cg2" "$FL_BUILD/workloads/oom_alloc" --mb 20 --step-mb 20 --hold 60 <"$FL_TMP/holder.in" >"$FL_TMP/holder.out" 2>&1 &
holder=$!
FL_SPAWNED+=("$holder")
fl_wait_line "$FL_TMP/holder.out" '^READY' >/dev/null
fl_wait_snapshots 2
sh -c "$IN_MEMCG" "$cg2" "$FL_BUILD/workloads/oom_alloc" --mb 24 --step-mb 1 --delay-ms 100 --hold 0 >"$FL_TMP/alloc.out" 2>&1 &
alloc=$!
FL_SPAWNED+=("$alloc")
wait "$holder"
check_eq "pair: the 20 MiB holder died of SIGKILL" 137 $?
exec {holdfd}>&-
wait "$alloc"
# On a loaded machine the holder's memory may go too slowly for the
# allocator, which is then killed too: a second kill, after the first.
id2=$(fl_oom_record_of "$holder")
check_cmd "pair: a record for the holder (pid $holder)" test -n "$id2"
hangpid=$(awk -v id="$id1" '$1 == "hang" && $2 == id {print $3}' "$FL_TMP/hang-pids" 2>/dev/null)
check_cmd "tracing went on while kill $id1's hook hung: kill $id2 is recorded and that hook (pid $hangpid) still runs" \
	sh -c "[ -n '$hangpid' ] && kill -0 '$hangpid'"
settled "$id2"
r2=$(fl_json oom show "$id2")
check_against_kernel pair "$r2" "$holder" oom_alloc
check_constraint pair "$r2" "$cg2"
check_eq "pair: the trigger is the allocator, not the victim" "$alloc false" "$(jq -r '"\(.trigger.pid) \(.trigger.is_victim)"' <<<"$r2")"
check_eq "pair: trigger's cgroup" "$(jq -r .victim.cgroup <<<"$r2")" "$(jq -r .trigger.cgroup <<<"$r2")"
check_eq "pair: both are among the top consumers, the holder first" "$holder true" \
	"$(jq -r --argjson a "$alloc" '"\(.top[0].pid) \([.top[].pid] | index($a) != null)"' <<<"$r2")"
check_eq "pair: outcome killed" "exited true" "$(jq -r '"\(.outcome.state) \(.outcome.killed)"' <<<"$r2")"

# --- 3. a child killed while its parent lives -------------------------------------
cg3=$(fl_make_memcg oomk-child "$LIMIT") || { not_ok "cannot create a memory cgroup"; exit 1; }
sh -c "$IN_MEMCG" "$cg3" sh -c "\"$FL_BUILD/workloads/oom_alloc\" --mb 200 --step-mb 4 & echo CHILD \$!; wait \$!; echo STATUS \$?; exec sleep 60" \
	>"$FL_TMP/parent.out" 2>&1 &
parent=$!
FL_SPAWNED+=("$parent")
child=$(fl_wait_line "$FL_TMP/parent.out" '^CHILD' | awk '{print $2}')
status=$(fl_wait_line "$FL_TMP/parent.out" '^STATUS' | awk '{print $2}')
check_eq "child: killed by SIGKILL, as its parent saw" 137 "$status"
check_cmd "child: the parent (pid $parent) lives on" kill -0 "$parent"
id3=$(fl_oom_record_of "$child")
check_cmd "child: a record for the child (pid $child)" test -n "$id3"
settled "$id3"
r3=$(fl_json oom show "$id3")
check_against_kernel child "$r3" "$child" oom_alloc
check_constraint child "$r3" "$cg3"
check_eq "child: its parent is the living shell" "$parent" "$(jq .victim.ppid <<<"$r3")"
check_eq "child: killed while allocating itself" "$child" "$(jq .trigger.pid <<<"$r3")"
kill -KILL "$parent" 2>/dev/null
wait "$parent" 2>/dev/null

# --- the list, newest first -------------------------------------------------------
ids=$(fl_json oom -n 1000 | jq -c --argjson a "$id1" --argjson b "$id2" --argjson c "$id3" '[.kills[].id | select(. == $a or . == $b or . == $c)]')
check_eq "oom lists the three kills newest first" "[$id3,$id2,$id1]" "$ids"
out=$(fl oom -n 1000)
check_cmd "the table shows the pair's trigger by name and pid" grep -qE "^ *$id2 .* oom_alloc \($alloc\) +killed" <<<"$out"
out=$(fl oom show "$id1")
check_cmd "oom show: victim line" grep -q "^victim         oom_alloc (pid $wl" <<<"$out"
check_cmd "oom show: constraint line with the limit" grep -q "^constraint     memory cgroup .*limit 32 MiB" <<<"$out"
check_cmd "oom show: a sparkline of the victim's history" grep -qE '^  rss +[▁▂▃▄▅▆▇█]+ ' <<<"$out"
fl oom show 999999999 >/dev/null 2>&1
check_eq "oom show of an unknown id: exit 1" 1 $?

# --- watch --------------------------------------------------------------------------
check_eq "watch --json streamed the three kills, with their record ids" "$id1 $id2 $id3" \
	"$(jq -r --argjson a "$wl" --argjson b "$holder" --argjson c "$child" \
		'select(.type == "oom_kill" and (.victim.pid == $a or .victim.pid == $b or .victim.pid == $c)) | .id' \
		"$FL_TMP/watch.json" | tr '\n' ' ' | sed 's/ $//')"
check_cmd "watch printed a readable line for the pair's kill" grep -qE \
	"OOM kill $id2: oom_alloc \(pid $holder, [0-9.]+ MiB anon\) in /[^ ]*oomk-pair[^ ]*, limit 32 MiB, triggered by oom_alloc \(pid $alloc\)" \
	"$FL_TMP/watch.txt"

# --- hooks ------------------------------------------------------------------------
for id in "$id1" "$id2" "$id3"; do
	for i in $(seq 1 50); do [ -s "$FL_TMP/hook-stdin.$id" ] && break; sleep 0.1; done
done
env1=$(cat "$FL_TMP/hook-env.$id1" 2>/dev/null)
check_cmd "hook: ran with the record in its environment" grep -qx "FAULTLINE_VICTIM_PID=$wl" <<<"$env1"
check_cmd "hook: FAULTLINE_ID" grep -qx "FAULTLINE_ID=$id1" <<<"$env1"
check_cmd "hook: FAULTLINE_CONSTRAINT_LIMIT" grep -qx "FAULTLINE_CONSTRAINT_LIMIT=$LIMIT" <<<"$env1"
check_cmd "hook: FAULTLINE_TRIGGER_COMM" grep -qx "FAULTLINE_TRIGGER_COMM=oom_alloc" <<<"$(cat "$FL_TMP/hook-env.$id2")"
check_cmd "hook: FAULTLINE_TRIGGER_PID of the pair is the allocator" grep -qx "FAULTLINE_TRIGGER_PID=$alloc" <<<"$(cat "$FL_TMP/hook-env.$id2")"
check_cmd "hook: history as comma-joined numbers" grep -qE "^FAULTLINE_HISTORY_ANON=[0-9]+(,[0-9]+)+$" <<<"$env1"
check_eq "hook: the JSON on stdin is the whole record" "$(jq -c 'del(.outcome)' <<<"$r1")" \
	"$(jq -c 'del(.outcome)' "$FL_TMP/hook-stdin.$id1" 2>/dev/null)"
log=$FL_TMP/daemon.log
for i in $(seq 1 600); do grep -q "hook for OOM record $id1 (pid [0-9]*) killed at its time limit" "$log" && break; sleep 0.1; done
check_cmd "hook: the failing one's status and output are logged" \
	grep -qE "hook for OOM record $id1 \(pid [0-9]+\) exited with status 3 after [0-9]+ ms: .*output: failing hook for oom_alloc" "$log"
check_cmd "hook: the hanging one was killed at its limit and logged" \
	grep -q "hook for OOM record $id1 (pid [0-9]*) killed at its time limit of 45000 ms" "$log"
# Its sleep, killed with the group, is reaped by init a moment later.
for i in $(seq 1 50); do ps -e -o sid= | grep -qx " *$hangpid" || break; sleep 0.1; done
check_cmd "hook: nothing of the hanging hook's session is left (sid $hangpid)" \
	sh -c "[ -n '$hangpid' ] && ! ps -e -o sid= | grep -qx ' *$hangpid'"
check_cmd "the daemon is still answering" fl status >/dev/null
fl_done
