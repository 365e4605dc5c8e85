#!/usr/bin/env bash
# The CLI and the socket: clear errors, exit codes, bad requests, a second
# daemon on a busy socket.
. "$(dirname "$0")/../lib/common.sh"

out=$("$FL_BUILD/faultline" --socket "$FL_TMP/none.sock" status 2>&1)
rc=$?
check_eq "no daemon: exit code 3" 3 "$rc"
check_cmd "no daemon: one sentence saying so" grep -q "faultlined is not running" <<<"$out"
out=$("$FL_BUILD/faultline" --json --socket "$FL_TMP/none.sock" status 2>/dev/null)
check_eq "no daemon, --json: an error object" no_daemon "$(jq -r .error.code <<<"$out")"

fl_start_daemon
check_cmd "status answers" fl status
check_cmd "status lists the attached probes" sh -c "\"$FL_BUILD/faultline\" --socket $FL_SOCK status | grep -q 'exit .*attached'"
check_eq "status --json has a version" 0.1.0 "$(fl_json status | jq -r .version)"
fl show 4194303 >/dev/null 2>&1
check_eq "show of an unknown pid: exit 1" 1 $?
fl show banana >/dev/null 2>&1
check_eq "show of a non-number: exit 2" 2 $?
fl frobnicate >/dev/null 2>&1
check_eq "unknown command: exit 2" 2 $?
check_eq "top --json lists the daemon itself" 1 "$(fl_json top -n 1000 | jq --argjson p "$FL_DAEMON_PID" '[.processes[] | select(.pid == $p)] | length')"
top=$(fl top -n 3)
check_cmd "top prints a header" grep -q '^ *PID  COMMAND' <<<"$top"
check_eq "top -n 3 prints 3 rows" 4 "$(wc -l <<<"$top")"
check_eq "show \$\$ sees this shell" "$(cat /proc/$$/comm)" "$(fl_json show $$ | jq -r .comm)"

# Raw requests over the socket: malformed JSON gets an error, the daemon lives.
raw() { python3 - "$FL_SOCK" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
buf = b""
while not buf.endswith(b"\n"):
    d = s.recv(65536)
    if not d:
        break
    buf += d
print(buf.decode().strip())
PY
}
check_eq "malformed JSON: bad_request" bad_request "$(raw '{"cmd": "top"' | jq -r .error.code)"
check_eq "trailing garbage: bad_request" bad_request "$(raw '{"cmd":"ping"} xyz' | jq -r .error.code)"
check_eq "not an object: bad_request" bad_request "$(raw '[1,2,3]' | jq -r .error.code)"
check_eq "unknown command: unknown_command" unknown_command "$(raw '{"cmd":"rm -rf"}' | jq -r .error.code)"
check_eq "wrong type: bad_argument" bad_argument "$(raw '{"cmd":"show","args":{"pid":[1]}}' | jq -r .error.code)"
check_eq "the daemon still answers" pong "$(raw '{"cmd":"ping"}' | jq -r .data)"

# A second daemon on the same socket refuses to start and says why.
out=$("$FL_BUILD/faultlined" --foreground --socket "$FL_SOCK" --state-dir "$FL_TMP/state2" 2>&1)
rc=$?
check_eq "second daemon: exit 1" 1 "$rc"
check_cmd "second daemon: says another faultlined is running" grep -q "another faultlined is running" <<<"$out"
check_eq "the first one still answers" pong "$(raw '{"cmd":"ping"}' | jq -r .data)"

# Bad options and config are refused with exit 2 and a file:line message.
"$FL_BUILD/faultlined" --interval 5ms --socket "$FL_TMP/x.sock" >/dev/null 2>&1
check_eq "bad --interval: exit 2" 2 $?
printf '[daemon]\ninterval = 1s\nbogus = 1\n' >"$FL_TMP/bad.conf"
out=$("$FL_BUILD/faultlined" --config "$FL_TMP/bad.conf" --check-config 2>&1)
check_eq "bad config key: exit 2" 2 $?
check_cmd "bad config key: file:line in the message" grep -q "bad.conf:3: unknown key 'bogus'" <<<"$out"

# Without privileges: a sentence that says what it needs, before touching anything.
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$FL_BUILD/faultlined" --foreground \
	--socket "$FL_TMP/nobody.sock" --state-dir "$FL_TMP/nobody" 2>&1)
check_eq "unprivileged start: exit 1" 1 $?
check_cmd "unprivileged start: says it needs root or CAP_BPF" grep -q "needs root, or the capabilities CAP_BPF" <<<"$out"
fl_done
