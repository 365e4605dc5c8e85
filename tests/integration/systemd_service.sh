#!/usr/bin/env bash
# fl-suite: no-sanitize runs the installed unit under a real systemd (its MemoryMax and syscall filter are made for the real build)
# faultlined under a real systemd (PID 1 of a private PID + mount namespace):
# make install, the hardened unit and its socket, READY only after the probes
# attach, access for root / group members / others, reload (good and broken
# config), restart after SIGKILL, the watchdog restarting a hung loop, an OOM
# kill reaching the journal.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/systemd.sh"

if ! why=$(sd_can_boot); then
	echo "# SKIP: cannot boot systemd in a namespace here: $why"
	ok "# SKIP systemd suite: $why"
	exit 0
fi
sd_boot || { not_ok "systemd boots in a PID + mount namespace"; exit 1; }
ok "systemd $(sd systemctl --version | awk 'NR == 1 {print $2}') booted as PID 1 of a namespace (pid $SD_PID outside)"

unit=faultlined.service
show() { sd systemctl show -P "$1" "$unit"; }
# Pids from systemctl are the namespace's: read /proc and send signals inside
# it (sd ...), never from outside. Never 0 or empty either: `kill 0` would
# hit this script's own process group.
mainpid() {
	local p
	p=$(show MainPID)
	[ -n "$p" ] && [ "$p" -gt 1 ] 2>/dev/null && echo "$p" || echo none
}
jctl() { sd journalctl --no-pager "$@"; }
# jwait ERE: waits (5 s at most) for a line of the unit's journal to match;
# journald takes the lines from the service's stream asynchronously.
jwait() {
	local i
	for i in $(seq 1 50); do
		jctl -u $unit -o cat | grep -Eq "$1" && return 0
		sleep 0.1
	done
	return 1
}
# Run the installed CLI as some user inside the namespace.
as_user() {
	local u=$1
	shift
	sd setpriv --reuid="$u" --regid="$(sd id -g "$u")" --init-groups /usr/local/bin/faultline "$@"
}

# --- install -------------------------------------------------------------
out=$(sd make -s -C "$FL_ROOT" BUILD="$FL_BUILD" install 2>&1)
check_eq "make install (PREFIX=/usr/local) inside the namespace" 0 $?
sd test -x /usr/local/sbin/faultlined && sd test -f /usr/local/lib/systemd/system/faultlined.socket &&
	sd test -f /etc/faultline/faultlined.conf && sd test -f /usr/local/share/man/man5/faultlined.conf.5
check_eq "binaries, units, default config and man pages are in place" 0 $?
check_cmd "the machine's own /etc was not touched" test ! -e /etc/faultline/faultlined.conf
check_eq "make install created the faultline user (sysusers.d)" faultline "$(sd id -nu faultline 2>/dev/null)"
check_cmd "the installed unit runs the installed binary" sd grep -q '^ExecStart=/usr/local/sbin/faultlined --foreground' /usr/local/lib/systemd/system/$unit
echo 'keep me' | sd tee -a /etc/faultline/faultlined.conf >/dev/null
sd make -s -C "$FL_ROOT" BUILD="$FL_BUILD" install >/dev/null 2>&1
check_cmd "a second make install keeps an edited config" sd grep -q 'keep me' /etc/faultline/faultlined.conf
out=$(sd systemd-analyze verify /usr/local/lib/systemd/system/faultlined.service /usr/local/lib/systemd/system/faultlined.socket 2>&1)
check_eq "systemd-analyze verify: both units clean" "" "$out"
exposure=$(systemd-analyze security --offline=true "$FL_ROOT/systemd/faultlined.service" 2>/dev/null | sed -n 's/.*exposure level for .*: \([0-9.]*\).*/\1/p')
echo "# systemd-analyze security --offline=true systemd/faultlined.service: exposure $exposure"
check_cmd "exposure $exposure is at most 1.5" awk -v e="$exposure" 'BEGIN { exit !(e != "" && e <= 1.5) }'

# Users: one in the faultline group, one not.
sd useradd -M -s /usr/sbin/nologin flmember && sd usermod -aG faultline flmember &&
	sd useradd -M -s /usr/sbin/nologin flother
check_eq "test users created inside the namespace only" "0 no" "$? $(grep -q '^flmember:' /etc/passwd && echo yes || echo no)"

# Test settings: a short interval, a short watchdog and restart delay, and the
# test-only hang switch. Everything else is the shipped unit.
printf '[daemon]\ninterval = 500ms\n' | sd tee /etc/faultline/faultlined.conf >/dev/null
sd mkdir -p /etc/systemd/system/$unit.d
printf '[Service]\nWatchdogSec=2s\nRestartSec=300ms\nEnvironment=FAULTLINE_TEST_HANG=1\n' |
	sd tee /etc/systemd/system/$unit.d/test.conf >/dev/null
sd systemctl daemon-reload

# --- READY only after the probes attach ------------------------------------
# Without CAP_BPF the probes cannot load: the unit must never become active.
printf '[Service]\nAmbientCapabilities=\nAmbientCapabilities=CAP_PERFMON CAP_DAC_READ_SEARCH\nCapabilityBoundingSet=CAP_PERFMON CAP_DAC_READ_SEARCH\nRestart=no\n' |
	sd tee /etc/systemd/system/$unit.d/nobpf.conf >/dev/null
sd systemctl daemon-reload
sd systemctl start $unit >/dev/null 2>&1
rc=$?
st=$(sd systemctl is-active $unit)
check_eq "without CAP_BPF the start fails and the unit is not active" "1 failed" "$rc $st"
check_cmd "the journal says why (CAP_BPF)" jwait 'needs root, or the capabilities CAP_BPF|loading the event programs failed'
sd rm /etc/systemd/system/$unit.d/nobpf.conf
sd systemctl daemon-reload
sd systemctl reset-failed $unit

# tracefs comes from sys-kernel-tracing.mount (the daemon may not mount it).
sd systemctl stop sys-kernel-tracing.mount
check_cmd "tracefs unmounted inside the namespace before the start" sd sh -c '! mountpoint -q /sys/kernel/tracing'
sd systemctl enable faultlined.socket >/dev/null 2>&1
sd systemctl start faultlined.socket
check_eq "the socket unit listens as root:faultline 0660" "root:faultline 660" "$(sd stat -c '%U:%G %a' /run/faultline/faultline.sock)"
t0=$(date +%s.%N)
sd systemctl start $unit
rc=$?
# Right after `systemctl start` returns, without any retry: Type=notify
# means the daemon already said READY=1.
st=$(sd /usr/local/bin/faultline --json status)
t1=$(date +%s.%N)
check_eq "systemctl start returns once active" "0 active" "$rc $(sd systemctl is-active $unit)"
echo "# start took $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s"
check_eq "status answers at once, every probe attached" "true" "$(jq '[.probes[].attached] | all and length >= 4' <<<"$st")"
check_cmd "sys-kernel-tracing.mount was pulled in (Requires=)" sd mountpoint -q /sys/kernel/tracing
jwait '^Started faultline' && jwait 'probes attached'
log=$(jctl -u $unit -o cat)
l_att=$(grep -n 'probes attached' <<<"$log" | tail -1 | cut -d: -f1)
l_act=$(grep -n '^Started faultline' <<<"$log" | tail -1 | cut -d: -f1)
check_cmd "the journal has 'probes attached' (line $l_att) before 'Started' (line $l_act)" test -n "$l_att" -a -n "$l_act" -a "${l_att:-0}" -lt "${l_act:-0}"
check_cmd "STATUS= shows processes, events/s, drops" sh -c "nsenter -t $SD_PID -m -p -C systemctl show -P StatusText $unit | grep -Eq '^tracking [0-9]+ processes, [0-9.]+ events/s, [0-9]+ events dropped'"
check_eq "the socket it serves is the activated one" /run/faultline/faultline.sock "$(jq -r .socket <<<"$st")"

# --- least privilege, actually in force ----------------------------------
pid=$(mainpid)
check_eq "runs as user faultline" faultline "$(sd ps -o user= -p "$pid")"
pstatus=$(sd cat /proc/$pid/status)
capeff=$(awk '/^CapEff/ {print $2}' <<<"$pstatus")
check_eq "effective capabilities: CAP_BPF CAP_PERFMON CAP_DAC_READ_SEARCH only" \
	"$(printf '%016x' $(((1 << 39) | (1 << 38) | (1 << 2))))" "$capeff"
check_eq "OOMScoreAdjust" -900 "$(show OOMScoreAdjust)"
if (echo -1 >/proc/self/oom_score_adj) 2>/dev/null; then
	check_eq "oom_score_adj in force" -900 "$(sd cat /proc/$pid/oom_score_adj)"
else
	# This machine's bounding set has no CAP_SYS_RESOURCE: nobody, not even
	# PID 1, may lower an oom_score_adj here.
	echo "# SKIP oom_score_adj in force: lowering oom_score_adj is impossible on this machine (no CAP_SYS_RESOURCE in the bounding set)"
fi
check_eq "MemoryMax" 268435456 "$(show MemoryMax)"
memcg=$(sd cat /proc/$pid/cgroup | awk -F: '$2 == "memory" {print $3}')
lim=$(sd cat "/sys/fs/cgroup/memory$memcg/memory.limit_in_bytes" 2>/dev/null || sd cat "/sys/fs/cgroup$memcg/memory.max" 2>/dev/null)
check_eq "the kernel enforces the memory cap on its cgroup ($memcg)" 268435456 "$lim"
check_cmd "NoNewPrivs is set" grep -q '^NoNewPrivs:[[:space:]]*1' <<<"$pstatus"
check_cmd "seccomp filter in force" grep -q '^Seccomp:[[:space:]]*2' <<<"$pstatus"
# It still sees what it must: other users' processes (the task iterator sees
# this PID namespace: systemd and journald, both root), and the
# mapping-syscall tracepoints work (a 96 MiB mmap is an event).
check_cmd "top lists root's processes (systemd, journald)" sh -c \
	"nsenter -t $SD_PID -m -p -C /usr/local/bin/faultline --json top -n 10000 | jq -e '[.processes[].comm] | index(\"systemd\") and index(\"systemd-journal\")' >/dev/null"
sd python3 -c 'import mmap, time; m = mmap.mmap(-1, 96 << 20); print(m[0]); time.sleep(0.3)' >/dev/null
big=
for i in $(seq 1 40); do
	big=$(sd /usr/local/bin/faultline --json events | jq -c '[.[] | select(.type == "big_mapping" and .comm == "python3" and .bytes == 100663296)][0] // empty')
	[ -n "$big" ] && break
	sleep 0.1
done
check_cmd "a 96 MiB mmap inside the sandboxed service's view shows up as an event" test -n "$big"
# An on-demand trace works under the sandbox: its programs load and attach
# with the unit's capabilities, and the pids it is given are this pid
# namespace's. Where a process's maps are closed to the faultline user, the
# frames stay addresses and the reply says why. The grower waits on a file
# so the trace is on first.
sd sh -c 'python3 -c "
import mmap, os, time
while not os.path.exists(\"/tmp/trace-go\"): time.sleep(0.05)
m = mmap.mmap(-1, 16 << 20)
for i in range(0, 16 << 20, 4096): m[i] = 1
time.sleep(0.3)" >/dev/null 2>&1 & echo $! >/tmp/trace-pid'
tpid=$(sd cat /tmp/trace-pid)
sd /usr/local/bin/faultline --json trace "$tpid" --for 20s --what faults,mmap >"$FL_TMP/sd-trace.json" 2>&1 &
tcli=$!
for i in $(seq 1 100); do
	[ "$(sd /usr/local/bin/faultline --json status | jq .traces.running)" = 1 ] && break
	sleep 0.1
done
sd touch /tmp/trace-go
wait "$tcli"
check_eq "faultline trace under the hardened unit: it ends when the process exits" all_exited \
	"$(jq -r .ended "$FL_TMP/sd-trace.json")"
check_cmd "its page faults were traced (16 MiB is 4096 pages: $(jq '.processes[0].views.faults.pages' "$FL_TMP/sd-trace.json"))" \
	test "$(jq '.processes[0].views.faults.pages' "$FL_TMP/sd-trace.json")" -ge 4096
check_cmd "and its 16 MiB mmap" test "$(jq '.processes[0].views.mmap.bytes' "$FL_TMP/sd-trace.json")" -ge $((16 << 20))
check_cmd "its mmap's frames are symbolized, or the reply says why not ($(jq -r '.processes[0].symbols' "$FL_TMP/sd-trace.json"))" \
	jq -e '(.processes[0].symbols == "ok" and ([.processes[0].views.mmap.stacks[].frames[] | select(.symbol)] | length > 0))
		or (.processes[0].symbols | startswith("addresses only")) and (.warnings | any(test("CAP_SYS_PTRACE")))' \
	"$FL_TMP/sd-trace.json"

# --- access ----------------------------------------------------------------
check_cmd "status works for root" sd /usr/local/bin/faultline status >/dev/null
out=$(as_user flmember status 2>&1)
check_eq "status works for a member of group faultline" 0 $?
out=$(as_user flother status 2>&1)
rc=$?
check_eq "status is refused for another user: exit 4" 4 "$rc"
check_cmd "with a sentence that says what to do ($out)" grep -q "member of the 'faultline' group" <<<"$out"

# --- reload ----------------------------------------------------------------
pid=$(mainpid)
printf '[daemon]\ninterval = 250ms\nmax_clients = 32\n' | sd tee /etc/faultline/faultlined.conf >/dev/null
sd systemctl reload $unit
check_eq "systemctl reload succeeds" 0 $?
for i in $(seq 1 50); do
	iv=$(sd /usr/local/bin/faultline --json status | jq .interval_ms)
	[ "$iv" = 250 ] && break
	sleep 0.1
done
check_eq "reload applies the new interval" 250 "$iv"
check_cmd "and says which changed keys wait for a restart" jwait 'reload: max_clients changed; that takes effect at the next restart'
printf '[daemon]\ninterval = 2s\nintervall = 3s\n' | sd tee /etc/faultline/faultlined.conf >/dev/null
sd systemctl reload $unit
refused=
for i in $(seq 1 50); do
	refused=$(jctl -u $unit -o cat | grep 'reload refused' | tail -1)
	[ -n "$refused" ] && break
	sleep 0.1
done
check_cmd "a broken config is refused with file:line ($refused)" grep -q 'faultlined.conf:3: unknown key' <<<"$refused"
check_eq "the old interval stays" 250 "$(sd /usr/local/bin/faultline --json status | jq .interval_ms)"
check_eq "same process, still active" "$pid active" "$(mainpid) $(sd systemctl is-active $unit)"
# From the restarts on, an OOM hook too: it runs inside the sandbox, as the
# service user, where the state directory is the one place it may write.
printf '[daemon]\ninterval = 250ms\n[oom]\nhook = echo "$FAULTLINE_ID $FAULTLINE_VICTIM_PID $(id -un)" >>/var/lib/faultline/hook-ran\n' |
	sd tee /etc/faultline/faultlined.conf >/dev/null

# --- restarts --------------------------------------------------------------
# wait_restart OLD_PID: a new main pid, active, answering.
wait_restart() {
	local old=$1 i p
	for i in $(seq 1 150); do
		p=$(mainpid)
		if [ "$p" != none ] && [ "$p" != "$old" ] && [ "$(sd systemctl is-active $unit)" = active ] &&
			sd /usr/local/bin/faultline status >/dev/null 2>&1; then
			echo "$p"
			return 0
		fi
		sleep 0.1
	done
	return 1
}
n0=$(show NRestarts)
pid=$(mainpid)
[ "$pid" != none ] && sd kill -KILL "$pid"
new=$(wait_restart "$pid")
check_cmd "SIGKILL of the daemon: systemd restarts it ($pid -> ${new:-none})" test -n "$new"
check_eq "NRestarts counts it" $((n0 + 1)) "$(show NRestarts)"

pid=$(mainpid)
[ "$pid" != none ] && sd kill -USR2 "$pid" # FAULTLINE_TEST_HANG=1: the main loop stops, pings stop
new=$(wait_restart "$pid")
check_cmd "a hung main loop: the watchdog restarts it ($pid -> ${new:-none})" test -n "$new"
check_cmd "the journal names the watchdog" jwait 'Watchdog timeout'
check_eq "NRestarts counts it" $((n0 + 2)) "$(show NRestarts)"

# --- an OOM kill reaches the journal -----------------------------------------
sd systemd-run --quiet --unit=fl-oom-victim -p MemoryMax=32M -p MemorySwapMax=0 \
	python3 -c 'import time; b = bytearray(b"\x01") * (200 << 20); time.sleep(5)'
oom=
for i in $(seq 1 100); do
	oom=$(jctl -u $unit -o json -p crit | jq -c 'select(.MESSAGE | test("OOM killer: killed python3"))' | tail -1)
	[ -n "$oom" ] && break
	sleep 0.1
done
check_cmd "the OOM kill is in the journal at priority crit" test -n "$oom"
# The BPF side reports global pids, as the kernel's own log does.
victim=$(jq -r .MESSAGE <<<"$oom" | sed -n 's/.*(pid \([0-9]*\).*/\1/p')
check_cmd "the kernel logged the same kill (pid $victim)" sh -c "dmesg | grep -q 'Killed process $victim (python3)'"
fields=$(jq -r 'keys[] | select(startswith("FAULTLINE_"))' <<<"$oom" | wc -l)
echo "# $fields FAULTLINE_* fields in the entry"
check_eq "the entry: stable MESSAGE_ID, priority crit" "024dfbaec32d4a85a9bd633d92ce81f4 2" \
	"$(jq -r '"\(.MESSAGE_ID) \(.PRIORITY)"' <<<"$oom")"
check_eq "the entry: the record's fields (victim, constraint and its limit)" "$victim python3 memcg 33554432" \
	"$(jq -r '"\(.FAULTLINE_VICTIM_PID) \(.FAULTLINE_VICTIM_COMM) \(.FAULTLINE_CONSTRAINT_KIND) \(.FAULTLINE_CONSTRAINT_LIMIT)"' <<<"$oom")"
check_cmd "the message names the cgroup and its limit" grep -q "in /system.slice/fl-oom-victim.service, limit 32 MiB, triggered by python3" <<<"$(jq -r .MESSAGE <<<"$oom")"
echo "# MESSAGE=$(jq -r .MESSAGE <<<"$oom")"
oomid=$(jq -r .FAULTLINE_ID <<<"$oom")
check_eq "faultline oom inside lists the same record" "$victim" \
	"$(sd /usr/local/bin/faultline --json oom show "$oomid" | jq .victim.pid)"
check_cmd "the record file is in the state directory" sd test -s /var/lib/faultline/oom.log
for i in $(seq 1 50); do sd grep -q "^$oomid $victim " /var/lib/faultline/hook-ran 2>/dev/null && break; sleep 0.1; done
check_eq "the hook ran inside the sandbox as the service user, with the record" "$oomid $victim faultline" \
	"$(sd grep "^$oomid $victim " /var/lib/faultline/hook-ran 2>/dev/null)"
check_cmd "its exit status is in the journal" jwait "hook for OOM record $oomid \(pid [0-9]+\) exited with status 0"
sd systemctl reset-failed fl-oom-victim.service 2>/dev/null

# --- socket activation on demand ------------------------------------------
sd systemctl stop $unit 2>/dev/null
check_eq "service stopped, socket still listening" "inactive active" "$(sd systemctl is-active $unit faultlined.socket | tr '\n' ' ' | sed 's/ $//')"
out=$(sd /usr/local/bin/faultline --json status)
check_eq "a query starts it through the socket and gets its answer" "true active" \
	"$(jq '[.probes[].attached] | all' <<<"$out") $(sd systemctl is-active $unit)"

# --- a self-bound socket (no socket unit) ----------------------------------
sd systemctl stop faultlined.socket $unit
sd systemctl mask --runtime faultlined.socket >/dev/null 2>&1
sd systemctl start $unit
check_eq "without the socket unit it binds the socket itself: faultline:faultline 0660" \
	"faultline:faultline 660" "$(sd stat -c '%U:%G %a' /run/faultline/faultline.sock 2>&1)"
out=$(as_user flmember status 2>&1)
check_eq "a group member can query it" 0 $?
out=$(as_user flother status 2>&1)
check_eq "another user cannot: exit 4" 4 $?

# --- the metrics drop-in (loopback for the optional Prometheus endpoint) -----
sd cp /usr/local/share/doc/faultline/faultlined-metrics.conf /etc/systemd/system/$unit.d/metrics.conf
sd systemctl daemon-reload
sd systemctl restart $unit
check_eq "with the metrics drop-in it starts and answers" "active 0" "$(sd systemctl is-active $unit) $(sd /usr/local/bin/faultline status >/dev/null 2>&1; echo $?)"
check_eq "and shares the host's network (PrivateNetwork=no)" no "$(show PrivateNetwork)"
out=$(sd systemd-analyze verify /usr/local/lib/systemd/system/$unit 2>&1)
check_eq "systemd-analyze verify with the drop-in" "" "$out"
# The endpoint and the textfile under the sandbox: the libmicrohttpd thread
# passes the syscall filter, and the textfile directory (Debian's, root's)
# is made writable for the faultline group as the drop-in says.
tdir=/var/lib/prometheus/node-exporter
sd mkdir -p $tdir
sd chgrp faultline $tdir
sd chmod 0775 $tdir
printf '[daemon]\ninterval = 250ms\n[metrics]\nlisten = 127.0.0.1:0\ntextfile = %s/faultline.prom\n' $tdir |
	sd tee /etc/faultline/faultlined.conf >/dev/null
sd systemctl restart $unit
maddr=$(sd /usr/local/bin/faultline --json status 2>/dev/null | jq -r '.metrics.listen // empty')
check_cmd "the endpoint listens on loopback under the unit ($maddr)" test -n "$maddr"
curl -sf "http://$maddr/metrics" >"$FL_TMP/sd-metrics.txt"
check_cmd "GET /metrics answers under the hardened unit" grep -q '^faultline_build_info{' "$FL_TMP/sd-metrics.txt"
check_cmd "and promtool check metrics passes on it" sh -c "promtool check metrics <'$FL_TMP/sd-metrics.txt'"
for i in $(seq 1 40); do sd test -s $tdir/faultline.prom && break; sleep 0.1; done
check_cmd "the textfile is written under ProtectSystem=strict" sd grep -q '^faultline_build_info{' $tdir/faultline.prom
check_eq "readable by node_exporter's user despite UMask=0077" 644 "$(sd stat -c %a $tdir/faultline.prom)"
printf '[daemon]\ninterval = 250ms\n' | sd tee /etc/faultline/faultlined.conf >/dev/null
sd rm /etc/systemd/system/$unit.d/metrics.conf
sd systemctl daemon-reload

# --- stop ------------------------------------------------------------------
sd systemctl stop $unit
check_eq "stops cleanly" inactive "$(sd systemctl is-active $unit)"
check_cmd "its socket is gone" sd test ! -e /run/faultline/faultline.sock
check_cmd "and it logged stopping" jwait '^stopping$'
fl_done
