#!/usr/bin/env bash
# fl-suite: exclusive
# Cardinality: 5,000 live processes in one unit. Every one is summed into
# its unit, yet the endpoint's series stay under the stated bound, because
# per-process series exist only for the top N. The time to answer GET
# /metrics is printed as a figure (timing is not asserted: the machine is
# shared; tests/bench/metrics.sh measures cost).
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/fleet.sh"

NPROCS=${FL_CARDINALITY_PROCS:-5000}
MAX_UNITS=30
TOP=10
# The stated bound (daemon/metrics.c): 26 health series + 9 per unit + one
# per (unit, OOM constraint) + 5 per process for at most 2*TOP processes + 2
# per leak suspect for at most TOP suspects.
bound_without_oom=$((26 + 9 * MAX_UNITS + 5 * 2 * TOP + 2 * TOP))
FIXED_LIMIT=600

command -v promtool >/dev/null || { not_ok "promtool is missing (make deps installs the prometheus package)"; exit 1; }
read -r cgkind cgroot < <(fl_memcg_root) || { not_ok "no memory cgroup hierarchy"; exit 1; }
fl_metrics_daemon "max_units = $MAX_UNITS" "top_processes = $TOP"

series() { curl -sf "http://$FL_METRICS/metrics" | grep -vc '^#'; }
before=$(series)

cg=$(fl_make_memcg fleet-many $((2 << 30))) || { not_ok "cannot create a memory cgroup"; exit 1; }
rel=${cg#"$cgroot"}
mkfifo "$FL_TMP/many.in"
fl_in_memcg "$cg" "$FL_BUILD/workloads/many_procs" --procs "$NPROCS" --hold 300 <"$FL_TMP/many.in" >"$FL_TMP/many.out" 2>&1 &
job=$!
FL_SPAWNED+=("$job")
exec {many_fd}>"$FL_TMP/many.in"
line=$(fl_wait_line "$FL_TMP/many.out" '^READY' 90) || { not_ok "many_procs did not start $NPROCS processes"; exit 1; }
check_eq "the workload started its children" "$NPROCS" "$(kv "$line" children)"
in_cgroup=$(wc -l <"$cg/cgroup.procs")
check_eq "the cgroup holds them all" $((NPROCS + 1)) "$in_cgroup"

# Every process summed into its unit.
want=$((NPROCS + 1))
for i in $(seq 1 100); do
	got=$(fl_json top --by unit -n 1000 | jq --arg c "$rel" '[.units[] | select(.cgroup == $c)][0].processes // 0')
	[ "$got" -eq "$want" ] && break
	sleep 0.2
done
check_eq "all $want processes are counted in their unit" "$want" "$got"
fl_wait_snapshots 2
curl -sf "http://$FL_METRICS/metrics" >"$FL_TMP/metrics.txt"
got=$(grep -F "faultline_unit_processes{unit=\"$(basename "$rel")\"" "$FL_TMP/metrics.txt" | awk '{print $NF}')
check_eq "and in the unit's series" "$want" "$got"
check_cmd "promtool check metrics passes with $NPROCS processes" sh -c "promtool check metrics <'$FL_TMP/metrics.txt'"

n=$(grep -vc '^#' "$FL_TMP/metrics.txt")
oom=$(grep -c '^faultline_oom_kills_total{' "$FL_TMP/metrics.txt")
bound=$((bound_without_oom + oom))
fl_log "series: $before before, $n with $NPROCS more processes; bound $bound (26 + 9*$MAX_UNITS + $oom OOM + 5*2*$TOP + 2*$TOP)"
check_cmd "series ($n) stay under the stated bound ($bound)" test "$n" -le "$bound"
check_cmd "series ($n) stay under $FIXED_LIMIT" test "$n" -lt "$FIXED_LIMIT"
procs=$(grep -c '^faultline_process_rss_bytes{' "$FL_TMP/metrics.txt")
check_cmd "per-process series for at most 2*$TOP processes ($procs)" test "$procs" -le $((2 * TOP))
units=$(grep -c '^faultline_unit_processes{' "$FL_TMP/metrics.txt")
check_cmd "per-unit series for at most $MAX_UNITS units ($units)" test "$units" -le "$MAX_UNITS"
live=$(fl_json status | jq .processes.live)
check_ge "the daemon tracks them all" "$want" "$live"

# A figure, not an assertion: GET /metrics with this many processes.
times=$(for i in $(seq 1 21); do curl -sf -o /dev/null -w '%{time_total}\n' "http://$FL_METRICS/metrics"; done | sort -n)
fl_log "GET /metrics with $live processes tracked: median $(sed -n 11p <<<"$times" | awk '{printf "%.2f", $1 * 1000}') ms, max $(tail -1 <<<"$times" | awk '{printf "%.2f", $1 * 1000}') ms (21 requests)"
fl_log "rendering: $(fl_json status | jq .metrics.render_us) us per interval; snapshot $(fl_json status | jq .snapshots.last_us) us"

# The caps apply on reload (SIGHUP), without a restart.
sed -i -e 's/^max_units = .*/max_units = 2/' -e 's/^top_processes = .*/top_processes = 1/' "$FL_TMP/faultlined.conf"
kill -HUP "$FL_DAEMON_PID"
for i in $(seq 1 100); do
	curl -sf "http://$FL_METRICS/metrics" >"$FL_TMP/metrics2.txt"
	# Both caps show from the first interval rendered wholly after the
	# reload (the top-N list is picked during the snapshot, which takes
	# over a second with 5,000 processes under ASan).
	[ "$(grep -c '^faultline_unit_processes{' "$FL_TMP/metrics2.txt")" -le 2 ] &&
		[ "$(grep -c '^faultline_process_rss_bytes{' "$FL_TMP/metrics2.txt")" -le 2 ] && break
	sleep 0.2
done
check_eq "after a reload with max_units = 2: two units" 2 "$(grep -c '^faultline_unit_processes{' "$FL_TMP/metrics2.txt")"
check_cmd "and top_processes = 1: at most 2 processes" test "$(grep -c '^faultline_process_rss_bytes{' "$FL_TMP/metrics2.txt")" -le 2
check_eq "the endpoint kept its address" 1 "$(curl -sf "http://$FL_METRICS/metrics" | grep -c '^faultline_build_info{')"

eval "exec $many_fd>&-"
wait "$job" 2>/dev/null
for i in $(seq 1 100); do
	[ "$(wc -l <"$cg/cgroup.procs")" -eq 0 ] && break
	sleep 0.1
done
check_eq "the workload took its children with it" 0 "$(wc -l <"$cg/cgroup.procs")"
fl_done
