#!/usr/bin/env bash
# The fallback for kernels without the BTF-typed tracepoint: OOM kills from
# the classic oom/mark_victim tracepoint (forced with --oom-tracepoint). A
# real memcg kill, checked against the kernel's line in dmesg; what the
# classic record lacks comes from the process table or is null with a reason.
. "$(dirname "$0")/../lib/common.sh"

LIMIT=$((32 << 20))
IN_MEMCG='echo $$ >"$0/cgroup.procs" && exec "$@"'
fl_start_daemon --oom-tracepoint
check_eq "the oom probe is the classic tracepoint" "tracepoint/oom/mark_victim true" \
	"$(fl_json status | jq -r '.probes[] | select(.name == "oom") | "\(.how) \(.attached)"')"

cg=$(fl_make_memcg oomc "$LIMIT") || { not_ok "cannot create a memory cgroup"; exit 1; }
# Slow enough for snapshots to see it grow (its parent and threads come from them).
sh -c "$IN_MEMCG" "$cg" "$FL_BUILD/workloads/oom_alloc" --mb 200 --step-mb 2 --delay-ms 100 >"$FL_TMP/wl.out" 2>&1 &
wl=$!
FL_SPAWNED+=("$wl")
wait "$wl"
check_eq "the allocator died of SIGKILL" 137 $?
id=
for i in $(seq 1 100); do
	id=$(fl_json oom -n 1000 | jq --argjson p "$wl" '[.kills[] | select(.victim.pid == $p)][0].id // empty')
	[ -n "$id" ] && break
	sleep 0.1
done
check_cmd "a record for pid $wl" test -n "$id"
for i in $(seq 1 100); do
	[ "$(fl_json oom show "$id" | jq -r .outcome.state)" != pending ] && break
	sleep 0.1
done
rec=$(fl_json oom show "$id")
k=$(dmesg | grep -E "Killed process $wl \(" | tail -1)
kf() { sed -n "s/.*[ ,]$1:\([-0-9]*\)\(kB\)\{0,1\}.*/\1/p" <<<"$k"; }
check_cmd "the kernel logged the kill" test -n "$k"
check_eq "record from the classic tracepoint" tracepoint/oom/mark_victim "$(jq -r .probe <<<"$rec")"
check_eq "victim name (from the record's comm)" oom_alloc "$(jq -r .victim.comm <<<"$rec")"
check_eq "anon RSS is the kernel's (kB)" "$(kf anon-rss)" "$(jq '.victim.rss_anon / 1024' <<<"$rec")"
check_eq "file RSS is the kernel's (kB)" "$(kf file-rss)" "$(jq '.victim.rss_file / 1024' <<<"$rec")"
check_eq "shmem RSS is the kernel's (kB)" "$(kf shmem-rss)" "$(jq '.victim.rss_shmem / 1024' <<<"$rec")"
check_eq "page tables are the kernel's (kB)" "$(kf pgtables)" "$(jq '.victim.pgtables / 1024' <<<"$rec")"
check_eq "oom_score_adj and uid are the kernel's" "$(kf oom_score_adj) $(kf UID)" "$(jq -r '"\(.victim.oom_score_adj) \(.victim.uid)"' <<<"$rec")"
rel=${cg#"$(fl_memcg_root | cut -d' ' -f2)"}
check_eq "constraint: the cgroup, its limit (inferred from the allocating task)" "memcg $rel $LIMIT" \
	"$(jq -r '"\(.constraint.kind) \(.constraint.cgroup) \(.constraint.limit)"' <<<"$rec")"
check_eq "parent from the process table" "$$" "$(jq .victim.ppid <<<"$rec")"
check_eq "start time from the process table (the record has none)" true "$(jq '.victim.start_ns > 0' <<<"$rec")"
check_eq "victim's cgroup from the process table" "$rel" "$(jq -r .victim.cgroup <<<"$rec")"
check_eq "outcome: killed" "exited true" "$(jq -r '"\(.outcome.state) \(.outcome.killed)"' <<<"$rec")"
fl_done
