#!/usr/bin/env bash
# The workload zoo: ten memory shapes run at once under one daemon with
# test-sized windows (growth must last 30 s and add 4 MiB). Every leaker
# (steady, slow, through mmap, under a sawtooth) becomes a leak suspect with
# its real rate; no other shape (plateau, sawtooth, churn, big constant,
# reserved address space, page cache) is a suspect at any moment of its life.
. "$(dirname "$0")/../lib/common.sh"

# Every non-leak ramp must end well within MIN_DURATION: on a machine this
# loaded, touching memory was seen to go as slow as 10 MiB/s, so the ramps are
# at most 128 MiB and the workloads print when they ended (FLAT, FALL).
MIN_DURATION=30
RUN_S=${FL_ZOO_SECONDS:-70}
cat >"$FL_TMP/leaks.conf" <<EOF
[leaks]
min_duration = ${MIN_DURATION}s
min_growth = 4M
min_confidence = 80
windows = 10s, 1m
horizon = 1h
EOF
FL_INTERVAL=1s fl_start_daemon -c "$FL_TMP/leaks.conf"

# name, expected verdict(s) (| = either), mem_shape arguments
zoo=(
	"leak      leak-suspect           --shape leak --rate 1M"
	"slow      leak-suspect           --shape leak --rate 256K"
	"mmap      leak-suspect           --shape mmap-leak --rate 1M"
	"gcleak    leak-suspect           --shape gc-leak --rate 16M --size 48M --leak 512K --rest 1.5"
	"plateau   plateau                --shape plateau --rate 16M --size 48M"
	"sawtooth  sawtooth               --shape sawtooth --rate 16M --size 64M"
	"churn     sawtooth|steady|growing --shape churn --size 16M"
	"constant  steady|plateau         --shape constant --size 128M"
	"reserved  reserved-only          --shape reserved --rate 16M"
	"file      steady                 --shape file --rate 4M --size 128M --file $FL_TMP/zoo.file"
)
names=()
declare -A expect start_ms pid
for z in "${zoo[@]}"; do
	read -r name exp args <<<"$z"
	# shellcheck disable=SC2086  # the arguments are words on purpose
	fl_spawn "$name" mem_shape $args
	names+=("$name")
	expect[$name]=$exp
done
for name in "${names[@]}"; do
	out=${name}_out
	line=$(fl_wait_line "${!out}" '^READY' 20) || { not_ok "$name did not start"; continue; }
	pid[$name]=$(awk '{print $2}' <<<"$line")
	start_ms[$name]=$(kv "$line" start_ms)
done

# Ground truth for the leakers' rates: anon RSS from /proc, 25 s apart.
anon_b() { echo $(($(proc_status_kb "$1" RssAnon) * 1024)); }
declare -A truth_a truth_t truth_rate
for name in leak slow mmap; do
	truth_a[$name]=$(anon_b "${pid[$name]}")
	truth_t[$name]=$(date +%s.%N)
done

# Poll every second: one line "seconds_since_start pid class" per process.
pids_json=$(printf '%s\n' "${pid[@]}" | jq -s -c .)
pids_csv=$(printf '%s\n' "${pid[@]}" | paste -sd,)
t_begin=$(date +%s%3N)
: >"$FL_TMP/polls"
truth_done=0
while [ $(($(date +%s%3N) - t_begin)) -lt $((RUN_S * 1000)) ]; do
	now=$(date +%s%3N)
	fl_json leaks --all -p "$pids_csv" >"$FL_TMP/snap.json" 2>/dev/null &&
		jq -r --argjson pids "$pids_json" --argjson now "$now" \
			'.processes[] | select(.pid as $p | $pids | index($p)) | "\($now) \(.pid) \(.leak.class)"' \
			"$FL_TMP/snap.json" >>"$FL_TMP/polls"
	if [ $truth_done = 0 ] && [ $((now - t_begin)) -ge 25000 ]; then
		for name in leak slow mmap; do
			a=$(anon_b "${pid[$name]}")
			t=$(date +%s.%N)
			truth_rate[$name]=$(awk -v a0="${truth_a[$name]}" -v a1="$a" -v t0="${truth_t[$name]}" -v t1="$t" 'BEGIN { printf "%.0f", (a1 - a0) / (t1 - t0) }')
		done
		truth_done=1
	fi
	sleep 1
done
final=$(fl_json leaks --all -p "$pids_csv")
fl_log "polls: $(wc -l <"$FL_TMP/polls") lines over ${RUN_S}s"

for name in plateau constant; do
	out=${name}_out
	flat=$(sed -n 's/^FLAT t_ms=//p' "${!out}" | head -1)
	fl_log "$name: its ramp took $(awk -v f="${flat:-0}" -v s="${start_ms[$name]}" 'BEGIN { printf "%.1f", f ? (f - s) / 1000 : -1 }') s"
done
fl_log "sawtooth: $(grep -c '^FALL' "$sawtooth_out") falls, the first $(awk -v s="${start_ms[sawtooth]}" -F'[= ]' '/^FALL/ { printf "%.1f", ($5 - s) / 1000; exit }' "$sawtooth_out") s after it started"

# The leak under the sawtooth: its own count of what it leaked, at each fall.
truth_rate[gcleak]=$(awk -F'[= ]' '/^FALL/ { t[n] = $5; l[n] = $7; n++ } END {
	if (n >= 3) printf "%.0f", (l[n - 1] - l[1]) / ((t[n - 1] - t[1]) / 1000) }' "$gcleak_out")

verdict() { jq -c --argjson p "${pid[$1]}" '.processes[] | select(.pid == $p) | .leak' <<<"$final"; }

for name in "${names[@]}"; do
	p=${pid[$name]}
	v=$(verdict "$name")
	cls=$(jq -r .class <<<"$v")
	first=$(awk -v p="$p" '$2 == p && $3 == "leak-suspect" { print $1; exit }' "$FL_TMP/polls")
	never=$(awk -v p="$p" '$2 == p && $3 == "leak-suspect"' "$FL_TMP/polls" | wc -l)
	seen=$(awk -v p="$p" '$2 == p' "$FL_TMP/polls" | wc -l)
	# Polls sample the verdicts; the leak_suspect events below cover every
	# interval (the first one of a process is never held back).
	check_ge "$name: analysed in 10 or more polls" 10 "$seen"
	case ${expect[$name]} in
	leak-suspect)
		check_eq "$name (pid $p) is a leak suspect at the end" leak-suspect "$cls"
		check_cmd "$name became a suspect during the run" test -n "$first"
		if [ -n "$first" ]; then
			lat=$(awk -v f="$first" -v s="${start_ms[$name]}" 'BEGIN { printf "%.1f", (f - s) / 1000 }')
			fl_log "DETECTION $name: leak suspect ${lat}s after it started leaking (min_duration ${MIN_DURATION}s)"
			# Not a timing assertion: a suspect sooner than min_duration would be a logic error.
			# (1 s of slack: sample times are whole seconds)
			check_ge "$name: not called a suspect before ${MIN_DURATION}s of growth" $((MIN_DURATION - 1)) "$lat"
		fi
		check_within_pct "$name: slope matches its real growth" "${truth_rate[$name]}" \
			"$(jq -r '.slope | floor' <<<"$v")" 15
		gs=$(jq -r .growth_start <<<"$v")
		# Under a sawtooth the growth is seen from the first trough, a tooth in.
		slack=3
		[ "$name" = gcleak ] && slack=12
		if awk -v g="$gs" -v s="${start_ms[$name]}" -v k=$slack 'BEGIN { d = g - s / 1000; exit !(d > -k && d < k) }'; then
			ok "$name: growth start within $slack s of the real start ($gs, started $((start_ms[$name] / 1000)))"
		else
			not_ok "$name: growth start $gs is not within $slack s of the real start $((start_ms[$name] / 1000))"
			fl_log "its history (t, anon+swap KiB, low, high):"
			fl_json show "$p" | jq -r '.history[] | "# \(.t) \((.anon + .swap) / 1024) \(.owned_min / 1024) \(.owned_max / 1024)"' | head -40
		fi
		check_ge "$name: confidence at least min_confidence" 0.8 "$(jq -r .confidence <<<"$v")"
		check_eq "$name: projected against the system (no cgroup limit)" MemAvailable+SwapFree \
			"$(jq -r .exhaustion.limit_kind <<<"$v")"
		;;
	*)
		check_eq "$name (pid $p) was never a leak suspect ($seen polls)" 0 "$never"
		check_cmd "$name: final class is ${expect[$name]} (got $cls: $(jq -r .reason <<<"$v"))" \
			grep -qxE "${expect[$name]}" <<<"$cls"
		;;
	esac
done

# Evidence: the malloc leaker's heap grew with it, the mmap leaker's did not.
check_ge "leak: brk heap grew (supporting evidence)" $((8 << 20)) "$(verdict leak | jq -r .heap_delta)"
check_eq "mmap: brk heap unchanged" 0 "$(verdict mmap | jq -r .heap_delta)"
# The file reader's RSS grew, all of it file-backed.
check_ge "file: file-backed RSS grew by 32 MiB or more" $((32 << 20)) \
	"$(jq --argjson p "${pid[file]}" '.processes[] | select(.pid == $p) | .rss_file' <<<"$final")"
check_ge "reserved: VM grew by 256 MiB or more" $((256 << 20)) "$(verdict reserved | jq -r .vm_delta)"

# Ranking: suspects first, soonest exhaustion first.
ranked=$(jq -c '[.processes[] | select(.leak.class == "leak-suspect") | .leak.exhaustion.seconds]' <<<"$final")
check_cmd "suspects are ranked by the soonest exhaustion ($ranked)" jq -e '. == (. | sort)' >/dev/null <<<"$ranked"
check_eq "leaks without --all lists suspects only: our four leakers" 4 \
	"$(fl_json leaks -p "$pids_csv" | jq '.processes | length')"
table=$(fl leaks -p "$pids_csv")
for name in leak slow mmap gcleak; do
	check_cmd "the leaks table lists $name (pid ${pid[$name]})" grep -qE "^ *${pid[$name]} +mem_shape" <<<"$table"
done
check_cmd "the leaks table has its columns" grep -qE 'PID +COMMAND +UNIT +ANON\+SWAP +RATE +GROWING FOR +CONFIDENCE +EXHAUSTION +LIMIT' <<<"$table"
show=$(fl show "${pid[leak]}")
check_cmd "show: the class and its reason" grep -qE '^leak analysis +leak-suspect' <<<"$show"
check_cmd "show: the projection" grep -qE '^  exhaustion +in .*MemAvailable\+SwapFree' <<<"$show"
check_cmd "show: the history as a sparkline" grep -qE '^  anon\+swap +[▁▂▃▄▅▆▇█]+' <<<"$show"

# One leak_suspect event per leaker, none for the other shapes.
events=$(fl_json events -n 100000)
for name in "${names[@]}"; do
	n=$(jq --argjson p "${pid[$name]}" '[.[] | select(.type == "leak_suspect" and .pid == $p)] | length' <<<"$events")
	if [ "${expect[$name]}" = leak-suspect ]; then
		check_eq "$name: one leak_suspect event" 1 "$n"
	else
		check_eq "$name: no leak_suspect event" 0 "$n"
		if [ "$n" != 0 ]; then
			out=${name}_out
			fl_log "$name started at ${start_ms[$name]}; its own lines: $(grep -v READY "${!out}" | head -5 | tr '\n' ' ')"
			jq -c --argjson p "${pid[$name]}" '.[] | select(.type == "leak_suspect" and .pid == $p) | .leak | del(.windows)' <<<"$events" | sed 's/^/# /'
			fl_log "its history (t, anon+swap KiB, low, high):"
			fl_json show "${pid[$name]}" | jq -r '.history[] | "# \(.t) \((.anon + .swap) / 1024) \(.owned_min / 1024) \(.owned_max / 1024)"' | head -70
		fi
	fi
done
# Newest first: each workload holds the stdin pipes of those spawned before it.
for ((i = ${#names[@]} - 1; i >= 0; i--)); do fl_release "${names[$i]}"; done
fl_done
