#!/usr/bin/env bash
# Nothing lost across restarts: history, exited records and events come back
# after a stop; a process that ended while the daemon was down is recorded so,
# not merged; SIGKILL in the middle of a save keeps the previous save; a
# damaged, truncated or newer state file is set aside and the daemon starts
# fresh; the state dir and file let no other user in.
. "$(dirname "$0")/../lib/common.sh"

conf=$FL_TMP/persist.conf
printf '[daemon]\nsave_interval = 1s\n' >"$conf"
state=$FL_STATE/state
hist_len() { fl_json show "$1" | jq '.history | length'; }
wait_saves() { # N: until status says N saves have been written
	local i
	for i in $(seq 1 100); do
		[ "$(fl_json status | jq .state.saves)" -ge "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# A state dir that exists with loose modes is tightened before use.
mkdir -p "$FL_STATE" && chmod 0777 "$FL_STATE"
fl_start_daemon --config "$conf"
check_eq "state dir: nothing for others, no writing for the group" 750 "$(stat -c %a "$FL_STATE")"
fl_spawn held touch_pages --pages 2000
fl_wait_line "$held_out" '^READY' >/dev/null || { not_ok "touch_pages did not get ready"; exit 1; }
"$FL_BUILD/workloads/short_lived" --ms 20 --pages 100 >"$FL_TMP/short.out"
short_pid=$(awk '{print $2}' "$FL_TMP/short.out")
sleep 3 # a few seconds of history (one sample per second in `show`)
check_cmd "an interval save is written" wait_saves 1
check_eq "state file mode 0600" 600 "$(stat -c %a "$state")"
check_cmd "the state file is zlib-compressed behind its header" sh -c "head -c 8 '$state' | grep -q FLSTATE"
first_seen=$(fl_json show "$held_pid" | jq .first_seen)
h_before=$(hist_len "$held_pid")
fl_stop_daemon
check_cmd "a final save at stop" test -s "$state"

# --- restart: the history continues where it was
fl_start_daemon --config "$conf"
check_ge "the restart restored live processes" 1 "$(fl_json status | jq .state.restored.live)"
h_after=$(hist_len "$held_pid")
fl_wait_snapshots 2
check_ge "the held process's history survived the restart" "$h_before" "$h_after"
sleep 1.1
check_ge "and grows on from there" $((h_after + 1)) "$(hist_len "$held_pid")"
check_eq "its first_seen is the one from before the restart" "$first_seen" "$(fl_json show "$held_pid" | jq .first_seen)"
check_eq "the short-lived process's exit record survived" exit-event \
	"$(fl_json show "$short_pid" | jq -r .exit.how)"
fl_stop_daemon

# --- a process that ends while the daemon is down
fl_release held
fl_start_daemon --config "$conf"
fl_wait_snapshots 1
rec=$(fl_json show "$held_pid")
check_eq "the process that ended while the daemon was down is exited" exited "$(jq -r .state <<<"$rec")"
check_eq "recorded as ended while the daemon was down" while-daemon-down "$(jq -r .exit.how <<<"$rec")"
check_ge "with the history it had" $((h_after + 1)) "$(jq '.history | length' <<<"$rec")"
check_ge "status counts it" 1 "$(fl_json status | jq .processes.exited_while_down)"
check_cmd "a new save is written" wait_saves 1
fl_stop_daemon
good_size=$(stat -c %s "$state")
cp "$state" "$FL_TMP/good.state"

# --- SIGKILL in the middle of a save: the previous save stays
FAULTLINE_TEST_SAVE_STALL=1 fl_start_daemon --config "$conf"
fl_wait_line "$FL_TMP/daemon.log" 'save stalled before rename' 30 >/dev/null
check_cmd "the save stalled with its temp file written" test -s "$state.tmp"
kill -KILL "$FL_DAEMON_PID"
wait "$FL_DAEMON_PID" 2>/dev/null
FL_DAEMON_PID=
check_cmd "the previous save is intact" cmp -s "$state" "$FL_TMP/good.state"
fl_start_daemon --config "$conf"
check_eq "restarted after the kill: the previous save was loaded" null "$(fl_json status | jq .state.load_error)"
check_eq "the held process's record is there" while-daemon-down "$(fl_json show "$held_pid" | jq -r .exit.how)"
check_cmd "a save after the kill replaces the leftover temp file" wait_saves 1
check_cmd "no temp file left" test ! -e "$state.tmp"
fl_stop_daemon

# --- damaged files are set aside, never a crash, never a refusal to start
bad_case() { # NAME: the file is in place; start, check, clean up
	rm -f "$FL_STATE"/state.bad-*
	fl_start_daemon --config "$conf"
	check_cmd "$1: the daemon starts and answers" fl_json status >/dev/null
	local aside
	aside=$(fl_json status | jq -r .state.set_aside)
	check_cmd "$1: set aside as $aside, not deleted" test -f "$aside"
	check_cmd "$1: status says why ($(fl_json status | jq -r .state.load_error))" \
		test "$(fl_json status | jq -r .state.load_error)" != null
	check_cmd "$1: the journal/log says so" grep -q "state file .* unusable" "$FL_TMP/daemon.log"
	check_eq "$1: fresh start, nothing restored" null "$(fl_json status | jq .state.restored)"
	fl_stop_daemon
}
head -c $((good_size / 2)) "$FL_TMP/good.state" >"$state"
bad_case truncated
: >"$state"
bad_case empty
head -c 4096 /dev/urandom >"$state"
bad_case garbage
cp "$FL_TMP/good.state" "$state"
printf '\x55' | dd of="$state" bs=1 seek=$((good_size - 10)) conv=notrunc 2>/dev/null
bad_case "one byte changed"
# A newer format with a valid header checksum: the reason names it.
python3 - "$FL_TMP/good.state" "$state" <<'PY'
import sys, zlib, struct
b = bytearray(open(sys.argv[1], "rb").read())
b[8:12] = struct.pack("<I", 99)
b[12:16] = struct.pack("<I", zlib.crc32(bytes(b[0:12]) + bytes(b[16:40])))
open(sys.argv[2], "wb").write(b)
PY
rm -f "$FL_STATE"/state.bad-*
fl_start_daemon --config "$conf"
check_cmd "newer format: named in status" sh -c "\"$FL_BUILD/faultline\" --json --socket $FL_SOCK status | jq -r .state.load_error | grep -q 'newer faultlined'"
check_cmd "newer format: set aside" test -f "$(fl_json status | jq -r .state.set_aside)"
fl_stop_daemon
fl_done
