#!/usr/bin/env bash
# The daemon's memory under load: VmRSS at start, after 10,000 and 50,000
# short-lived processes seen, with 10,000 live at once; and the exits lost
# when 10,000 processes end at once, with the default 1 MiB ring buffer and
# with 4 MiB. Figures, not pass/fail: the reliability_load suite holds the
# bounds.
#   tests/bench/rss.sh [BUILD_DIR]     (as root)
set -u
cd "$(dirname "$0")/../.."
B=${1:-build}
case $B in /*) ;; *) B=$PWD/$B ;; esac
tmp=$(mktemp -d /tmp/faultline-rss.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

start() { # [config lines]
	printf '%b' "${1:-}" >"$tmp/conf"
	rm -rf "$tmp/state"
	"$B/faultlined" -f -c "$tmp/conf" -s "$tmp/sock" -d "$tmp/state" -i 500ms >"$tmp/log" 2>&1 &
	pid=$!
	for _ in $(seq 100); do "$B/faultline" -s "$tmp/sock" status >/dev/null 2>&1 && break; sleep 0.1; done
	sleep 1
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null; pid=; }
st() { "$B/faultline" --json -s "$tmp/sock" status | jq "$1"; }
rss() { awk '$1 == "VmRSS:" {print $2}' "/proc/$pid/status"; }
settle() { sleep 3; }

start '[daemon]\nsave_interval = 2s\n'
printf 'daemon RSS at start:                      %6d KiB\n' "$(rss)"
"$B/workloads/fork_storm" --children 10000 --parallel 64 --pages 1 >/dev/null
settle
printf 'after %6d processes seen:               %6d KiB\n' "$(st .processes.seen_total)" "$(rss)"
"$B/workloads/fork_storm" --children 40000 --parallel 64 --pages 1 >/dev/null
settle
printf 'after %6d processes seen:               %6d KiB\n' "$(st .processes.seen_total)" "$(rss)"
exec {hold}> >("$B/workloads/many_procs" --procs 10000 >"$tmp/many.out")
for _ in $(seq 600); do grep -q READY "$tmp/many.out" && break; sleep 0.2; done
settle
printf 'with %6d live processes:                %6d KiB (records: %d KiB)\n' "$(st .processes.live)" "$(rss)" \
	"$(( $(st .limits.memory_used) / 1024 ))"
printf 'a save of them: %d KiB on disk (%d KiB before compression), %d ms\n' \
	"$(( $(st .state.last_save_bytes) / 1024 ))" "$(( $(st .state.last_save_raw_bytes) / 1024 ))" \
	"$(( $(st .state.last_save_us) / 1000 ))"
d0=$(st .drops.exit)
exec {hold}>&-
sleep 5
printf '10000 exiting at once, ring 1 MiB: %6d exits dropped (counted)\n' $(( $(st .drops.exit) - d0 ))
stop

start '[events]\nring_buffer = 4M\n'
exec {hold}> >("$B/workloads/many_procs" --procs 10000 >"$tmp/many.out")
for _ in $(seq 600); do grep -q READY "$tmp/many.out" && break; sleep 0.2; done
settle
d0=$(st .drops.exit)
exec {hold}>&-
sleep 5
printf '10000 exiting at once, ring 4 MiB: %6d exits dropped (counted)\n' $(( $(st .drops.exit) - d0 ))
stop
