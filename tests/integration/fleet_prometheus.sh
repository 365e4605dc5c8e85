#!/usr/bin/env bash
# The fleet view against a real Prometheus (Debian's prometheus package): a
# private server on loopback scrapes faultlined's /metrics and, through a
# private node_exporter, its textfile. A growing workload in one memory
# cgroup and a memcg OOM kill in another must arrive as series with the
# values /proc, the cgroup and the kernel report, and the shipped OOM alert
# must fire.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/fleet.sh"

for b in prometheus prometheus-node-exporter promtool curl; do
	command -v "$b" >/dev/null || { not_ok "$b is missing (make deps installs it)"; exit 1; }
done
read -r cgkind cgroot < <(fl_memcg_root) || { not_ok "no memory cgroup hierarchy"; exit 1; }

textdir=$FL_TMP/textfile
mkdir -p "$textdir"
fl_metrics_daemon "textfile = $textdir/faultline.prom" "top_processes = 50"
fl_log "faultlined metrics at $FL_METRICS"
fl_start_node_exporter "$textdir"
fl_start_prometheus "faultline=$FL_METRICS" "node=$FL_NODE"
fl_log "prometheus at $FL_PROM, node_exporter at $FL_NODE"
# Both targets scraped once before anything is measured.
check_eq "Prometheus scrapes faultlined" 1 "$(fl_prom_value 'up{job="faultline"} == 1')"
check_eq "Prometheus scrapes node_exporter" 1 "$(fl_prom_value 'up{job="node"} == 1')"

# --- the exposition itself ---------------------------------------------------
curl -sf "http://$FL_METRICS/metrics" >"$FL_TMP/endpoint.txt"
check_cmd "promtool check metrics passes on the endpoint" sh -c "promtool check metrics <'$FL_TMP/endpoint.txt'"
check_cmd "the endpoint has HELP and TYPE lines" grep -q '^# TYPE faultline_unit_minor_faults_total counter$' "$FL_TMP/endpoint.txt"
fl_wait_snapshots 2
check_cmd "promtool check metrics passes on the textfile" sh -c "promtool check metrics <'$textdir/faultline.prom'"
check_eq "no temporary file left next to the textfile" "faultline.prom" "$(ls "$textdir")"
check_eq "the textfile is readable by node_exporter's user (0644)" 644 "$(stat -c %a "$textdir/faultline.prom")"
check_cmd "faultline status names the endpoint" grep -q "^metrics     http://$FL_METRICS/metrics" <<<"$(fl status)"
check_cmd "and the textfile" grep -q "^textfile    $textdir/faultline.prom" <<<"$(fl status)"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://$FL_METRICS/nothing")
check_eq "other paths are 404" 404 "$code"

# --- a growing workload in its own unit --------------------------------------
leak_cg=$(fl_make_memcg fleet-leak $((512 << 20))) || { not_ok "cannot create a memory cgroup"; exit 1; }
leak_rel=${leak_cg#"$cgroot"}
mkfifo "$FL_TMP/leak.in"
# About 24 MiB/s for 4 s: several scrapes see it grow.
fl_in_memcg "$leak_cg" "$FL_BUILD/workloads/oom_alloc" --mb 96 --step-mb 1 --delay-ms 40 <"$FL_TMP/leak.in" >"$FL_TMP/leak.out" 2>&1 &
leak_job=$!
FL_SPAWNED+=("$leak_job")
exec {leak_fd}>"$FL_TMP/leak.in"
line=$(fl_wait_line "$FL_TMP/leak.out" '^READY' 60) || { not_ok "the growing workload did not finish growing"; exit 1; }
leak_pid=$(awk '{print $2}' <<<"$line")
FL_SPAWNED+=("$leak_pid")
fl_wait_snapshots 3

sel="cgroup=\"$leak_rel\""
v=$(fl_prom_value "faultline_unit_processes{job=\"faultline\",$sel}") || true
check_eq "Prometheus has the unit with its one process" 1 "$v"
labels=$(fl_prom_query "faultline_unit_processes{job=\"faultline\",$sel}" | jq -r '.[0].metric | "\(.unit) \(.slice)"')
check_eq "unit and slice labels" "$(basename "$leak_rel") -.slice" "$labels"
# Wait until a scrape taken after the growth stopped is the newest sample.
sleep 2
anon_kb=$(proc_status_kb "$leak_pid" RssAnon)
got=$(fl_prom_value "faultline_unit_rss_bytes{job=\"faultline\",$sel,kind=\"anon\"} / 1024")
check_within_pct "unit anon RSS in Prometheus matches /proc/PID/status RssAnon" "$anon_kb" "$got" 3
if [ "$cgkind" = v1 ]; then
	cg_rss=$(awk '$1 == "total_rss" {print $2}' "$leak_cg/memory.stat")
else
	cg_rss=$(awk '$1 == "anon" {print $2}' "$leak_cg/memory.stat")
fi
got=$(fl_prom_value "faultline_unit_rss_bytes{job=\"faultline\",$sel,kind=\"anon\"}")
check_within_pct "unit anon RSS matches the cgroup's own memory.stat" "$cg_rss" "$got" 5
minflt=$(proc_minflt "$leak_pid")
got=$(fl_prom_value "faultline_unit_minor_faults_total{job=\"faultline\",$sel}")
check_within_pct "unit minor faults match /proc/PID/stat" "$minflt" "$got" 1
check_ge "the unit's faults cover the 96 MiB it touched" $((96 * 256)) "$got"
got=$(fl_prom_value "max_over_time(faultline_unit_rss_growth_bytes_per_second{job=\"faultline\",$sel}[5m])")
check_ge "Prometheus saw the unit grow (bytes/s)" $((4 << 20)) "${got%.*}"
got=$(fl_prom_value "max_over_time(faultline_process_rss_bytes{job=\"faultline\",pid=\"$leak_pid\"}[5m]) / 1024")
check_within_pct "the process series of the grower carries its RSS" "$(proc_status_kb "$leak_pid" VmRSS)" "$got" 3
comm=$(fl_prom_query "faultline_process_rss_bytes{job=\"faultline\",pid=\"$leak_pid\"}" | jq -r '.[0].metric.comm // empty')
check_eq "and its comm label" oom_alloc "$comm"
v=$(fl_prom_value "faultline_unit_processes{job=\"node\",$sel}") || true
check_eq "the textfile reached Prometheus through node_exporter" 1 "$v"
eval "exec $leak_fd>&-"
wait "$leak_job" 2>/dev/null
# Gone, but its faults stay in its unit: the counter never goes back.
fl_wait_snapshots 4
unit_line() { curl -sf "http://$FL_METRICS/metrics" | grep -F "$1{unit=\"$(basename "$leak_rel")\"" | awk '{print $NF}'; }
check_eq "the unit has no process left" 0 "$(unit_line faultline_unit_processes)"
check_ge "its minor faults still count the exited process ($minflt)" "$minflt" "$(unit_line faultline_unit_minor_faults_total)"

# --- a memcg OOM kill ----------------------------------------------------------
oom_cg=$(fl_make_memcg fleet-oom $((32 << 20))) || { not_ok "cannot create a memory cgroup"; exit 1; }
oom_rel=${oom_cg#"$cgroot"}
fl_in_memcg "$oom_cg" "$FL_BUILD/workloads/oom_alloc" --mb 200 --step-mb 4 >"$FL_TMP/oom.out" 2>&1 &
wl=$!
FL_SPAWNED+=("$wl")
wait "$wl"
check_eq "the allocator was OOM-killed (SIGKILL)" 137 $?
oom_pid=$(awk '/^ALLOC/ {print $2; exit}' "$FL_TMP/oom.out")
kernel=$(dmesg | grep -E "oom-kill:.*,task=oom_alloc,pid=$oom_pid," | tail -1)
check_cmd "the kernel logged the kill of pid $oom_pid" test -n "$kernel"
task_memcg=$(sed -n 's/.*task_memcg=\([^,]*\),.*/\1/p' <<<"$kernel")
check_eq "the kernel's victim cgroup is ours" "$oom_rel" "$task_memcg"
osel="cgroup=\"$task_memcg\""
v=$(fl_prom_value "faultline_oom_kills_total{job=\"faultline\",$osel}") || true
check_eq "Prometheus counts one OOM kill for the victim's unit" 1 "$v"
olabels=$(fl_prom_query "faultline_oom_kills_total{job=\"faultline\",$osel}" | jq -r '.[0].metric | "\(.unit) \(.slice)"')
check_eq "with the victim's unit and slice" "$(basename "$task_memcg") -.slice" "$olabels"
# The kernel says constraint=CONSTRAINT_MEMCG for a cgroup limit,
# CONSTRAINT_NONE for the whole machine.
kc=$(sed -n 's/.*constraint=CONSTRAINT_\([A-Z_]*\),.*/\1/p' <<<"$kernel")
case $kc in MEMCG) want_c=memcg ;; NONE) want_c=global ;; *) want_c="kernel said '$kc'" ;; esac
got_c=$(fl_prom_query "faultline_oom_kills_total{job=\"faultline\",$osel}" | jq -r '.[0].metric.constraint')
check_eq "the constraint label matches the kernel's constraint=CONSTRAINT_$kc" "$want_c" "$got_c"
v=$(fl_prom_value "faultline_oom_kills_total{job=\"node\",$osel}") || true
check_eq "the kill arrived through the textfile too" 1 "$v"
# The shipped rule fires on the unit's first kill (a series that appears at 1).
alert=
for i in $(seq 1 100); do
	alert=$(curl -sf "http://$FL_PROM/api/v1/alerts" | jq -r --arg c "$task_memcg" \
		'[.data.alerts[] | select(.labels.alertname == "FaultlineOOMKill" and .labels.cgroup == $c and .state == "firing")] | length')
	[ "${alert:-0}" -ge 1 ] && break
	sleep 0.2
done
check_ge "the FaultlineOOMKill alert fires in Prometheus for that unit" 1 "${alert:-0}"

# --- the daemon's health -------------------------------------------------------
v=$(fl_prom_value "faultline_events_total{job=\"faultline\",kind=\"oom\"}") || true
check_ge "the health series count the OOM event" 1 "$v"
v=$(fl_prom_value "up{job=\"faultline\"}") || true
check_eq "Prometheus still scrapes faultlined without errors" 1 "$v"
# Prometheus first: the daemon's own count, read after, can only be ahead.
v=$(fl_prom_value "faultline_snapshots_total{job=\"faultline\"}") || true
snaps=$(fl_json status | jq .snapshots.count)
check_cmd "snapshots_total ($v) is the daemon's own count ($snaps) or a few behind" \
	awk -v a="$v" -v b="$snaps" 'BEGIN { exit !(a <= b && a >= b - 20) }'
check_ge "status counts the scrapes" 5 "$(fl_json status | jq .metrics.scrapes)"

# --- a textfile that cannot be written: counted, said once, resumed ------------
rm -rf "$textdir"
e0=$(fl_json status | jq .metrics.textfile_errors)
fl_wait_snapshots 4
e1=$(fl_json status | jq .metrics.textfile_errors)
check_ge "failed textfile writes are counted" $((e0 + 3)) "$e1"
check_eq "and said once in the log, with the path" 1 "$(grep -c "cannot write the textfile $textdir/faultline.prom" "$FL_TMP/daemon.log")"
check_cmd "the endpoint still answers" curl -sf -o /dev/null "http://$FL_METRICS/metrics"
mkdir -p "$textdir"
fl_wait_snapshots 2
check_cmd "writing resumes once the directory is back" test -s "$textdir/faultline.prom"
check_cmd "and says so" grep -q "writing $textdir/faultline.prom again" "$FL_TMP/daemon.log"
v=$(curl -sf "http://$FL_METRICS/metrics" | awk '$1 == "faultline_metrics_textfile_errors_total" {print $2}')
check_ge "faultline_metrics_textfile_errors_total shows them" 3 "$v"
fl_done
