#!/usr/bin/env bash
# The OOM record survives: a leaking process OOM-killed in a memory cgroup
# (its record carries the leak verdict the daemon gave it before the kill),
# then the daemon is killed with SIGKILL and restarted: `faultline oom`
# still lists the kill. Then the record file gets a torn tail (the last
# record cut in the middle, as a crash during the write leaves it): it is
# read back without the torn record, the damage is reported, and the torn
# record's id is never handed out again. The file's frames are checked with
# an independent reader (python) as ground truth.
. "$(dirname "$0")/../lib/common.sh"

LIMIT=$((32 << 20))
# Short leak-analysis settings, so a 10 s leak gets a verdict.
printf '[leaks]\nmin_duration = 3s\nmin_growth = 4M\nmin_confidence = 50\n' >"$FL_TMP/fl.conf"
fl_start_daemon --config "$FL_TMP/fl.conf"
log=$FL_TMP/daemon.log
store=$FL_STATE/oom.log
IN_MEMCG='echo $$ >"$0/cgroup.procs" && exec "$@"'

# frames FILE [CUT]: one line per complete, checksummed frame: "offset length
# kind id" (kind: record or update); with CUT, only frames ending before it.
# Last line: "end OFFSET SIZE": where the whole frames end, and the file size
# (one read: other suites' kills append to this daemon's file too).
frames() {
	python3 - "$1" "${2:-}" <<'EOF'
import json, struct, sys, zlib
data = open(sys.argv[1], 'rb').read()
cut = int(sys.argv[2]) if sys.argv[2] else len(data)
off = 0
while off + 12 <= len(data) and data[off:off + 4] == b'FLOM':
    n, crc = struct.unpack('<II', data[off + 4:off + 12])
    body = data[off + 12:off + 12 + n]
    if len(body) < n or off + 12 + n > cut or zlib.crc32(struct.pack('<I', n) + body) != crc:
        break
    o = json.loads(body)
    kind, ident = ('record', o['id']) if 'id' in o else ('update', o['update'])
    print(off, 12 + n, kind, ident)
    off += 12 + n
print('end', off, len(data))
EOF
}

# --- a leaking process, OOM-killed ----------------------------------------------
cg=$(fl_make_memcg oomp-leak "$LIMIT") || { not_ok "cannot create a memory cgroup"; exit 1; }
mkfifo "$FL_TMP/leak.in"
exec {leakfd}<>"$FL_TMP/leak.in"
sh -c "$IN_MEMCG" "$cg" "$FL_BUILD/workloads/mem_shape" --shape leak --rate 3M <"$FL_TMP/leak.in" >"$FL_TMP/leak.out" 2>&1 &
leak=$!
FL_SPAWNED+=("$leak")
# What the daemon said of it while it grew: "analysed_at class" lines.
while kill -0 "$leak" 2>/dev/null; do
	fl_json leaks --all 2>/dev/null | jq -r --argjson p "$leak" \
		'.processes[] | select(.pid == $p) | "\(.leak.analysed_at) \(.leak.class)"' >>"$FL_TMP/verdicts"
	sleep 0.2
done
wait "$leak"
check_eq "the leaking process died of SIGKILL" 137 $?
exec {leakfd}>&-
id=$(fl_oom_record_of "$leak")
check_cmd "a record for the leaking process (pid $leak)" test -n "$id"
rec=$(fl_json oom show "$id")
check_cmd "the kernel logged the kill of pid $leak" sh -c "dmesg | grep -q 'Killed process $leak (mem_shape)'"
check_cmd "the daemon gave it leak verdicts while it grew" test -s "$FL_TMP/verdicts"
seen=$(jq -r '"\(.leak.verdict.analysed_at) \(.leak.class)"' <<<"$rec")
newest=$(sort -n "$FL_TMP/verdicts" | tail -1 | cut -d' ' -f1)
if grep -qx "$seen" "$FL_TMP/verdicts"; then
	ok "the record carries a verdict the daemon gave ($seen)"
elif [ "${seen%% *}" -gt "${newest:-0}" ] 2>/dev/null; then
	ok "the record carries the verdict of the last interval before the kill, newer than the last one asked for ($seen)"
else
	not_ok "the record's verdict '$seen' is not one the daemon gave: $(sort -u "$FL_TMP/verdicts" | tr '\n' ';')"
fi
check_eq "suspect is true exactly for a suspect (or one alerted as such)" \
	"$(jq '.leak.class == "leak-suspect" or .leak.alerted_at != null' <<<"$rec")" "$(jq .leak.suspect <<<"$rec")"
check_eq "the verdict is about the victim's owned memory, as at the kill (within 10%)" true \
	"$(jq '(.leak.verdict.owned - .victim.rss_anon - .victim.swap) as $d | (if $d < 0 then -$d else $d end) <= (.victim.rss_anon / 10)' <<<"$rec")"
check_cmd "oom show prints the leak line" sh -c "'$FL_BUILD/faultline' --socket '$FL_SOCK' oom show $id | grep -qE '^leak suspect   (yes|no): '"

# --- SIGKILL, restart ---------------------------------------------------------------
# Once the victim's exit has settled the outcome (an update frame on disk).
for i in $(seq 1 100); do
	[ "$(fl_json oom show "$id" | jq -r .outcome.state)" != pending ] && break
	sleep 0.1
done
kill -KILL "$FL_DAEMON_PID"
wait "$FL_DAEMON_PID" 2>/dev/null
FL_DAEMON_PID=
records_before=$(frames "$store" | awk '$3 == "record"' | wc -l)
check_cmd "record $id is a complete frame in $store" grep -q " record $id\$" <<<"$(frames "$store")"
fl_start_daemon --config "$FL_TMP/fl.conf"
after=$(fl_json oom show "$id")
check_eq "after SIGKILL and restart, oom show $id: same victim" "$leak mem_shape" "$(jq -r '"\(.victim.pid) \(.victim.comm)"' <<<"$after")"
check_eq "same constraint and leak verdict" "$(jq -c '[.constraint, .leak]' <<<"$rec")" "$(jq -c '[.constraint, .leak]' <<<"$after")"
check_eq "its outcome was settled before the SIGKILL (exit seen) and survived" "exited true" \
	"$(jq -r '"\(.outcome.state) \(.outcome.killed)"' <<<"$after")"
check_eq "status: every record on disk read back" "$records_before" "$(fl_json status | jq .oom.store.loaded)"
check_cmd "oom lists it" sh -c "'$FL_BUILD/faultline' --socket '$FL_SOCK' --json oom -n 1000 | jq -e '.kills[] | select(.id == $id)' >/dev/null"

# --- a torn tail ----------------------------------------------------------------------
fl_stop_daemon
last=$(frames "$store" | awk '$3 == "record"' | tail -1)
read -r off len _ torn_id <<<"$last"
# The write of the last record stopped halfway: everything after is gone too.
truncate -s $((off + len / 2)) "$store"
expect=$(frames "$store" | awk '$3 == "record"' | wc -l)
fl_start_daemon --config "$FL_TMP/fl.conf"
check_eq "the torn record (id $torn_id) is not read back; the $expect before it are" "$expect false" \
	"$(fl_json oom -n 100000 | jq -r --argjson t "$torn_id" '"\([.kills[] | select(.id < $t)] | length) \([.kills[].id] | index($t) != null)"')"
check_eq "status reports the bytes cut off" $((len / 2)) "$(fl_json status | jq .oom.store.torn_tail_bytes)"
check_cmd "and the log says so" grep -q "damaged bytes at the end cut off" "$log"
# (Other suites' kills may have appended whole frames since.)
now_frames=$(frames "$store")
if [ "$(stat -c %s "$store")" = "$off" ] || awk -v o="$off" '$1 == o' <<<"$now_frames" | grep -q .; then
	ok "the file was cut back to its last whole frame: what follows starts at byte $off"
else
	not_ok "the file was not cut at byte $off: $(tr '\n' ';' <<<"$now_frames")"
fi
# The next kill gets a new id, never the torn one.
cg2=$(fl_make_memcg oomp-next "$LIMIT") || { not_ok "cannot create a memory cgroup"; exit 1; }
sh -c "$IN_MEMCG" "$cg2" "$FL_BUILD/workloads/oom_alloc" --mb 200 --step-mb 4 >"$FL_TMP/next.out" 2>&1 &
next=$!
FL_SPAWNED+=("$next")
wait "$next"
id2=$(fl_oom_record_of "$next")
check_cmd "the next kill is recorded (pid $next)" test -n "$id2"
check_cmd "with an id above the torn one ($id2 > $torn_id)" test "${id2:-0}" -gt "$torn_id"
check_eq "the file reads back whole (independent reader): whole frames end where the file does" yes \
	"$(frames "$store" | awk '$1 == "end" {print ($2 == $3 ? "yes" : "no: " $2 " of " $3)}')"
fl_done
