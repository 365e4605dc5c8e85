#!/usr/bin/env bash
# fl-suite: no-sanitize runs the installed unit under a real systemd (its MemoryMax and syscall filter are made for the real build)
# Leak warnings in a real journal: the installed, hardened faultlined.service
# under a systemd booted in a namespace warns once when a leaker becomes a
# suspect (its own MESSAGE_ID, structured fields), warns about exhaustion
# within the horizon no more often than alert_interval, and after a reload
# with alerts = no warns about nothing.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/systemd.sh"

MSGID_SUSPECT=9d545cad34644e0f842475c3ff2d64e5
MSGID_EXHAUSTION=34e77993ccf6463da54a7be0f97bd11a
INTERVAL_S=4

if ! why=$(sd_can_boot); then
	echo "# SKIP: cannot boot systemd in a namespace here: $why"
	ok "# SKIP leak journal suite: $why"
	exit 0
fi
sd_boot || { not_ok "systemd boots in a PID + mount namespace"; exit 1; }
sd make -s -C "$FL_ROOT" BUILD="$FL_BUILD" install >/dev/null 2>&1
check_eq "make install inside the namespace" 0 $?

conf() { # alerts=yes|no
	printf '[daemon]\ninterval = 500ms\n[leaks]\nmin_duration = 10s\nmin_growth = 4M\nwindows = 10s\n'\
'horizon = 365d\nalert_interval = %ss\nalerts = %s\n' "$INTERVAL_S" "$1" | sd tee /etc/faultline/faultlined.conf >/dev/null
}
conf yes
sd systemctl start faultlined.service
check_eq "faultlined.service is active with the test config" active "$(sd systemctl is-active faultlined.service)"

# A leaker as a service inside the namespace (the daemon's task iterator sees
# that PID namespace); the daemon and the journal name it by its global pid.
tag=$$
leaker() { # UNIT
	sd systemd-run --quiet --unit="$1" "$FL_BUILD/workloads/mem_shape" --shape mmap-leak --rate 2M --detached \
		--hold "600.$tag"
	FL_CLEANUPS+=("sd systemctl stop '$1' 2>/dev/null")
	local i p
	for i in $(seq 1 50); do
		p=$(pgrep -f "mem_shape --shape mmap-leak --rate 2M --detached --hold 600.$tag" | sort -n | tail -1)
		[ -n "$p" ] && [ "$p" != "${pid1:-}" ] && break
		p=
		sleep 0.1
	done
	echo "$p"
}
jq_entries() { # MSGID PID
	sd journalctl --no-pager -o json "MESSAGE_ID=$1" "FAULTLINE_PID=$2" 2>/dev/null
}
wait_entries() { # MSGID PID COUNT TIMEOUT_S
	local i
	for i in $(seq 1 $(($4 * 5))); do
		[ "$(jq_entries "$1" "$2" | grep -c .)" -ge "$3" ] && return 0
		sleep 0.2
	done
	return 1
}

pid1=$(leaker fl-leaker1)
check_cmd "the leaker runs (global pid ${pid1:-none})" test -n "$pid1"
check_cmd "a leak-suspect warning reaches the journal" wait_entries $MSGID_SUSPECT "$pid1" 1 60
e=$(jq_entries $MSGID_SUSPECT "$pid1" | head -1)
check_eq "priority warning" 4 "$(jq -r .PRIORITY <<<"$e")"
check_eq "logged by the service" faultlined.service "$(jq -r ._SYSTEMD_UNIT <<<"$e")"
check_eq "FAULTLINE_COMM" mem_shape "$(jq -r .FAULTLINE_COMM <<<"$e")"
check_eq "FAULTLINE_CLASS" leak-suspect "$(jq -r .FAULTLINE_CLASS <<<"$e")"
# The daemon runs in the harness's PID namespace, where /proc/<global pid> is
# another process or none: the unit must still be the leaker's own service.
check_eq "FAULTLINE_UNIT is the leaker's service" fl-leaker1.service "$(jq -r .FAULTLINE_UNIT <<<"$e")"
check_eq "and the unit the CLI shows" fl-leaker1.service \
	"$(sd /usr/local/bin/faultline --json leaks --all -p "$pid1" | jq -r '.processes[0].unit // ""')"
check_within_pct "FAULTLINE_SLOPE_BYTES_PER_S is the leaker's 2 MiB/s" $((2 << 20)) \
	"$(jq -r .FAULTLINE_SLOPE_BYTES_PER_S <<<"$e")" 15
check_cmd "the message says who and how fast ($(jq -r .MESSAGE <<<"$e"))" \
	grep -qE "^leak suspect: mem_shape \(pid $pid1\) grows [0-9.]+ MiB/s" <<<"$(jq -r .MESSAGE <<<"$e")"
check_cmd "FAULTLINE_REASON explains the confidence" grep -q 'slices' <<<"$(jq -r .FAULTLINE_REASON <<<"$e")"
cli=$(sd /usr/local/bin/faultline --json leaks -p "$pid1")
check_eq "the CLI inside names the same pid a suspect" leak-suspect "$(jq -r '.processes[0].leak.class' <<<"$cli")"

# Exhaustion (the horizon is a year, so any projection is inside it): warned
# again only after alert_interval.
check_cmd "exhaustion warnings reach the journal (two of them)" wait_entries $MSGID_EXHAUSTION "$pid1" 2 30
x=$(jq_entries $MSGID_EXHAUSTION "$pid1")
check_cmd "FAULTLINE_LIMIT says which limit ($(jq -r .FAULTLINE_LIMIT <<<"$x" | head -1))" \
	grep -qE '^(MemAvailable\+SwapFree|memory\.(max|limit_in_bytes) of /.*)$' <<<"$(jq -r .FAULTLINE_LIMIT <<<"$x" | head -1)"
gaps=$(jq -r .__REALTIME_TIMESTAMP <<<"$x" | awk 'NR > 1 { printf "%.1f\n", ($1 - p) / 1e6 } { p = $1 }')
fl_log "gaps between exhaustion warnings: $(echo $gaps)"
check_cmd "no two exhaustion warnings closer than alert_interval (${INTERVAL_S}s)" \
	awk -v m=$INTERVAL_S '$1 < m - 0.6 { bad = 1 } END { exit bad }' <<<"$gaps"
check_eq "still only one leak-suspect warning for it" 1 "$(jq_entries $MSGID_SUSPECT "$pid1" | grep -c .)"

# Reload with alerts = no: a new leaker is a suspect, and no warning comes.
conf no
sd systemctl reload faultlined.service
check_eq "reload keeps the service active" active "$(sd systemctl is-active faultlined.service)"
pid2=$(leaker fl-leaker2)
check_cmd "a second leaker runs (global pid ${pid2:-none})" test -n "$pid2"
for i in $(seq 1 150); do
	c=$(sd /usr/local/bin/faultline --json leaks -p "$pid2" | jq -r '.processes[0].leak.class // empty')
	[ "$c" = leak-suspect ] && break
	sleep 0.2
done
check_eq "the second leaker became a suspect" leak-suspect "$c"
n1=$(jq_entries $MSGID_EXHAUSTION "$pid1" | grep -c .)
sd /usr/local/bin/faultline status >/dev/null # one more interval at least
sleep 1
check_eq "alerts = no: no warning for it" 0 "$(jq_entries $MSGID_SUSPECT "$pid2" | grep -c .)"
check_eq "alerts = no: no exhaustion warning either" 0 "$(jq_entries $MSGID_EXHAUSTION "$pid2" | grep -c .)"
check_eq "alerts = no: the first leaker's warnings stopped too" "$n1" "$(jq_entries $MSGID_EXHAUSTION "$pid1" | grep -c .)"
sd systemctl stop fl-leaker1 fl-leaker2 faultlined.socket faultlined.service
fl_done
