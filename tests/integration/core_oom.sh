#!/usr/bin/env bash
# A real memcg OOM kill reaches the daemon through oom/mark_victim.
. "$(dirname "$0")/../lib/common.sh"

fl_start_daemon
cg=$(fl_make_memcg core-oom $((32 << 20))) || { not_ok "cannot create a memory cgroup"; exit 1; }
fl_in_memcg "$cg" "$FL_BUILD/workloads/oom_alloc" --mb 200 --step-mb 4 >"$FL_TMP/oom.out" 2>&1 &
wl=$!
FL_SPAWNED+=("$wl")
wait "$wl"
rc=$?
check_eq "the allocator was killed by SIGKILL" 137 "$rc"
pid=$(awk '/^ALLOC/ {print $2; exit}' "$FL_TMP/oom.out")
for i in $(seq 1 50); do
	ev=$(fl_json events | jq -c --argjson p "$pid" '[.[] | select(.type == "oom_kill" and .victim.pid == $p)][0] // empty')
	[ -n "$ev" ] && break
	sleep 0.1
done
check_cmd "the OOM kill of pid $pid reached the daemon" test -n "$ev"
check_eq "victim name" oom_alloc "$(jq -r .victim.comm <<<"$ev")"
check_eq "the victim was also the trigger" "$pid" "$(jq -r .trigger.pid <<<"$ev")"
kernel=$(dmesg | grep -E "Killed process $pid \(" | tail -1)
check_cmd "the kernel logged the same kill" test -n "$kernel"
anon_kb=$(sed -n 's/.*anon-rss:\([0-9]*\)kB.*/\1/p' <<<"$kernel")
check_within_pct "victim anon RSS matches the kernel's line" "$anon_kb" "$(jq -r '.victim.rss_anon / 1024' <<<"$ev")" 5
# >= 1: suites running in parallel (systemd_service, the OOM suites) provoke
# OOM kills of their own, and the daemon sees every one on the machine.
check_ge "status counts the OOM event" 1 "$(fl_json status | jq .events.oom)"
fl_done
