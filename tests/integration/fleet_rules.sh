#!/usr/bin/env bash
# The shipped alert rules: valid for promtool, their unit tests pass, and
# each unit test bites: a rule file with one deliberate mistake must fail.
. "$(dirname "$0")/../lib/common.sh"

src=$FL_ROOT/docs/prometheus
command -v promtool >/dev/null || { not_ok "promtool is missing (make deps installs the prometheus package)"; exit 1; }

check_cmd "promtool check rules accepts faultline-alerts.yml" promtool check rules "$src/faultline-alerts.yml"
n=$(promtool check rules "$src/faultline-alerts.yml" 2>&1 | sed -n 's/.*SUCCESS: \([0-9]*\) rules found.*/\1/p')
check_eq "five alert rules" 5 "$n"
for a in FaultlineOOMKill FaultlineLeakExhaustsWithinHour FaultlineEventsDropped FaultlineProcessTableFull FaultlineDown; do
	check_cmd "rule $a has a unit test" grep -q "alertname: $a\$" "$src/faultline-alerts.test.yml"
done
check_cmd "promtool test rules passes" promtool test rules "$src/faultline-alerts.test.yml"
cp "$src/prometheus.yml" "$src/faultline-alerts.yml" "$FL_TMP/"
check_cmd "the example scrape config is valid (promtool check config)" promtool check config "$FL_TMP/prometheus.yml"

# mutate DESCRIPTION PYTHON-REGEX REPLACEMENT: the tests must catch it.
mutate() {
	local desc=$1 dir
	dir=$(mktemp -d "$FL_TMP/mut.XXXXXX")
	cp "$src/faultline-alerts.test.yml" "$dir/"
	python3 - "$src/faultline-alerts.yml" "$dir/faultline-alerts.yml" "$2" "$3" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
new, n = re.subn(sys.argv[3], sys.argv[4], text, count=1, flags=re.S)
if n != 1:
    sys.exit("mutation did not apply: " + sys.argv[3])
open(sys.argv[2], "w").write(new)
PY
	[ $? -eq 0 ] || { not_ok "$desc: the mutation did not apply"; return; }
	if promtool test rules "$dir/faultline-alerts.test.yml" >"$dir/out" 2>&1; then
		not_ok "$desc: promtool test rules still passes"
	else
		ok "$desc: caught by the rule tests"
	fi
}
mutate "OOM rule without the first-kill branch" '\s*or\s*\(faultline_oom_kills_total unless faultline_oom_kills_total offset 10m\)' ''
mutate "leak rule with a 6-minute threshold" 'seconds_to_exhaustion < 3600' 'seconds_to_exhaustion < 360'
mutate "leak rule without its hold time" '(LeakExhaustsWithinHour.*?)for: 5m' '\1for: 1m'
mutate "drop rule that needs more than 5 drops" 'events_dropped_total\[10m\]\) > 0' 'events_dropped_total[10m]) > 5'
mutate "down rule for any job" 'up\{job="faultline"\}' 'up{job=~".+"}'
mutate "table-full rule on a misspelt metric" 'faultline_processes_not_tracked_total' 'faultline_process_not_tracked_total'
fl_done
