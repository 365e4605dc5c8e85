#!/usr/bin/env bash
# Leak suspects reach a real Prometheus: a steady leak in its own memory
# cgroup becomes a suspect, and its series carry the growth rate /proc shows
# and a time to exhaustion that matches the cgroup's headroom; the shipped
# FaultlineLeakExhaustsWithinHour rule picks it up (pending: it holds 5 min).
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/fleet.sh"

for b in prometheus promtool curl; do
	command -v "$b" >/dev/null || { not_ok "$b is missing (make deps installs it)"; exit 1; }
done
read -r cgkind cgroot < <(fl_memcg_root) || { not_ok "no memory cgroup hierarchy"; exit 1; }

# The leak analysis needs whole seconds of history; short test windows.
FL_INTERVAL=1s fl_metrics_daemon "top_processes = 50" "[leaks]" "min_duration = 4s" "min_growth = 16M" \
	"min_confidence = 50" "windows = 5s"
fl_start_prometheus "faultline=$FL_METRICS"
check_eq "Prometheus scrapes faultlined" 1 "$(fl_prom_value 'up{job="faultline"} == 1')"

limit=$((512 << 20))
cg=$(fl_make_memcg fleet-leaks $limit) || { not_ok "cannot create a memory cgroup"; exit 1; }
rel=${cg#"$cgroot"}
mkfifo "$FL_TMP/leak.in"
fl_in_memcg "$cg" "$FL_BUILD/workloads/mem_shape" --shape leak --rate 8M --hold 120 <"$FL_TMP/leak.in" >"$FL_TMP/leak.out" 2>&1 &
job=$!
FL_SPAWNED+=("$job")
exec {leak_fd}>"$FL_TMP/leak.in"
line=$(fl_wait_line "$FL_TMP/leak.out" '^READY' 20) || { not_ok "mem_shape did not start"; exit 1; }
pid=$(awk '{print $2}' <<<"$line")
FL_SPAWNED+=("$pid")

rate=$(fl_prom_value "faultline_leak_suspect_bytes_per_second{job=\"faultline\",pid=\"$pid\"}" 60) || true
check_cmd "the leak became a suspect series in Prometheus" test -n "$rate"
# Ground truth: the workload's owned memory over 4 s of /proc, and the
# cgroup's headroom now.
a0=$(proc_status_kb "$pid" RssAnon)
t0=$(date +%s.%N)
sleep 4
a1=$(proc_status_kb "$pid" RssAnon)
t1=$(date +%s.%N)
true_rate=$(awk -v a="$a0" -v b="$a1" -v s="$t0" -v e="$t1" 'BEGIN { printf "%.0f", (b - a) * 1024 / (e - s) }')
rate=$(fl_prom_value "faultline_leak_suspect_bytes_per_second{job=\"faultline\",pid=\"$pid\"}")
check_within_pct "its rate matches the growth /proc shows (bytes/s)" "$true_rate" "$rate" 30
if [ "$cgkind" = v1 ]; then usage=$(cat "$cg/memory.usage_in_bytes"); else usage=$(cat "$cg/memory.current"); fi
true_tte=$(awk -v l="$limit" -v u="$usage" -v r="$true_rate" 'BEGIN { printf "%.0f", (l - u) / r }')
tte=$(fl_prom_value "faultline_leak_suspect_seconds_to_exhaustion{job=\"faultline\",pid=\"$pid\"}")
check_within_pct "its time to exhaustion matches the cgroup's headroom / rate (s)" "$true_tte" "$tte" 40
lbl=$(fl_prom_query "faultline_leak_suspect_seconds_to_exhaustion{job=\"faultline\",pid=\"$pid\"}" | jq -r '.[0].metric | "\(.comm) \(.unit)"')
check_eq "with the process's comm and unit" "mem_shape $(basename "$rel")" "$lbl"
v=$(fl_prom_value "faultline_unit_leak_suspects{job=\"faultline\",cgroup=\"$rel\"}") || true
check_eq "the unit counts one suspect" 1 "$v"
state=
for i in $(seq 1 50); do
	state=$(curl -sf "http://$FL_PROM/api/v1/alerts" | jq -r --arg p "$pid" \
		'[.data.alerts[] | select(.labels.alertname == "FaultlineLeakExhaustsWithinHour" and .labels.pid == $p)][0].state // empty')
	[ -n "$state" ] && break
	sleep 0.2
done
check_eq "FaultlineLeakExhaustsWithinHour is pending for it in Prometheus" pending "$state"
eval "exec $leak_fd>&-"
wait "$job" 2>/dev/null
fl_done
