#!/usr/bin/env bash
# A leaker inside a memory cgroup with a limit: the daemon projects its
# exhaustion against that cgroup's limit, and the projection is scored
# against the moment the OOM killer really ends it (within 25 % of the time
# that was left when the prediction was made).
. "$(dirname "$0")/../lib/common.sh"

LIMIT=$((112 << 20))
RATE=2M
cat >"$FL_TMP/leaks.conf" <<EOF
[leaks]
min_duration = 10s
min_growth = 4M
windows = 10s, 1m
EOF
FL_INTERVAL=1s fl_start_daemon -c "$FL_TMP/leaks.conf"
cg=$(fl_make_memcg leaks $LIMIT) || { not_ok "cannot create a memory cgroup"; exit 1; }

# The wrapper notes the moment the leaker dies (ms), as the test saw it.
mkfifo "$FL_TMP/wl.in"
(
	fl_in_memcg "$cg" "$FL_BUILD/workloads/mem_shape" --shape mmap-leak --rate $RATE <"$FL_TMP/wl.in" >"$FL_TMP/wl.out" 2>&1
	echo "$? $(date +%s%3N)" >"$FL_TMP/died"
) &
wrapper=$!
exec {hold}>"$FL_TMP/wl.in"
FL_SPAWNED+=("$wrapper")
line=$(fl_wait_line "$FL_TMP/wl.out" '^READY' 20) || { not_ok "the leaker did not start"; exit 1; }
pid=$(awk '{print $2}' <<<"$line")
FL_SPAWNED+=("$pid")
fl_log "leaker pid $pid in $cg, limit $((LIMIT >> 20)) MiB, $RATE/s"

# Every second until it dies: "poll_ms predicted_death_ms limit_kind cgroup".
: >"$FL_TMP/pred"
while [ ! -s "$FL_TMP/died" ]; do
	now=$(date +%s%3N)
	fl_json leaks -p "$pid" 2>/dev/null | jq -r --argjson p "$pid" --argjson now "$now" \
		'.processes[] | select(.pid == $p and .leak.exhaustion != null) |
		 "\($now) \((.leak.analysed_at + .leak.exhaustion.seconds) * 1000 | floor) \(.leak.exhaustion.limit_kind) \(.leak.exhaustion.cgroup)"' \
		>>"$FL_TMP/pred"
	sleep 1
done
wait "$wrapper"
exec {hold}>&-
read -r rc died <"$FL_TMP/died"
check_eq "the leaker was killed by SIGKILL (the OOM killer)" 137 "$rc"
kernel=$(dmesg | grep -E "Killed process $pid \(" | tail -1)
check_cmd "the kernel logged the OOM kill of pid $pid" test -n "$kernel"
n=$(wc -l <"$FL_TMP/pred")
check_ge "projections made before the kill" 5 "$n"
read -r _ _ kind where < <(head -1 "$FL_TMP/pred")
check_eq "projected against the cgroup's limit" "$(fl_memcg_root | awk '{print $1}' | sed 's/v1/memory.limit_in_bytes/;s/v2/memory.max/')" "$kind"
check_cmd "the limiting cgroup is the test's ($where)" test "${where##*/}" = "${cg##*/}"

# Error of each projection: |predicted - real| / (time left when made).
awk -v d="$died" '{ left = d - $1; err = ($2 - d) / left; if (err < 0) err = -err; printf "%.4f %.1f\n", err * 100, left / 1000 }' \
	"$FL_TMP/pred" >"$FL_TMP/err"
first=$(head -1 "$FL_TMP/err")
median=$(awk '{print $1}' "$FL_TMP/err" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
worst=$(awk '{print $1}' "$FL_TMP/err" | sort -n | tail -1)
fl_log "PREDICTION first: ${first%% *}% error with ${first##* }s left; median ${median}%, worst ${worst}% over $n projections"
check_cmd "the first projection is within 25 % of the real OOM time (${first%% *}%)" \
	awk -v e="${first%% *}" 'BEGIN { exit !(e <= 25) }'
check_cmd "the median projection is within 25 % (${median}%)" awk -v e="$median" 'BEGIN { exit !(e <= 25) }'
check_cmd "the daemon saw the same OOM kill" sh -c \
	"\"$FL_BUILD/faultline\" --json --socket $FL_SOCK events | jq -e --argjson p $pid 'any(.[]; .type == \"oom_kill\" and .victim.pid == \$p)' >/dev/null"
fl_done
