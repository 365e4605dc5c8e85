#!/usr/bin/env bash
# faultline trace names the functions that grow memory, with the amounts the
# workload itself counted: page faults (touch_pages, grow_via_brk, and
# lib_fill_pages in a shared library of its own), brk and mmap growth, and
# malloc'd bytes still outstanding per stack (leak_via_malloc) against none
# (churn_via_malloc). The process exits during the trace, which then ends.
# A stripped copy comes back as module+offset inside the right function.
. "$(dirname "$0")/../lib/common.sh"

fl_start_daemon

# Waits until the private daemon runs N traces.
wait_running() {
	local i
	for i in $(seq 1 200); do
		[ "$(fl_json status | jq .traces.running)" -ge "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

fl_spawn wl grow_paths --malloc 8M --block 64K --churn 500 --mmap 16M --touch 8M --brk 4M --lib 4M --memset 4M
fl_wait_line "$wl_out" '^ARMED' >/dev/null || { not_ok "grow_paths did not arm"; exit 1; }
res=$FL_TMP/trace.json
svg=$FL_TMP/faults.svg
# {wl_fd}>&-: the CLI must not hold the workload's stdin open.
fl_json trace "$wl_pid" --for 60s --what faults,brk,mmap,malloc --svg "$svg" >"$res" 2>"$FL_TMP/trace.err" {wl_fd}>&- &
cli=$!
wait_running 1 || { not_ok "the trace did not start"; cat "$FL_TMP/trace.err"; exit 1; }
fl_send_line wl go
line=$(fl_wait_line "$wl_out" '^READY') || { not_ok "grow_paths did not finish"; exit 1; }
# The process exits: the trace must end on its own, long before 60 s.
fl_release wl
wait "$cli"
check_eq "the trace ends cleanly when its only process exits" 0 $?
check_eq "it says why it ended" all_exited "$(jq -r .ended "$res")"
check_eq "the process is marked as exited" true "$(jq -r '.processes[0].exited' "$res")"
check_eq "symbols were found" ok "$(jq -r '.processes[0].symbols' "$res")"
check_eq "nothing was dropped" 0 "$(jq '.drops.no_stack + .drops.table_full + .drops.allocs_full' "$res")"

page=$(kv "$line" page)
V='.processes[0].views'
# Sum over the stacks whose innermost frame is FN (with a kind, optionally).
inner() { jq --arg f "$2" --arg k "${3:-}" "[$V.$1.stacks[] | select(.frames[0].label == \$f and (\$k == \"\" or .kind == \$k)) | .$4] | add // 0" "$res"; }
# Sum over the stacks that hold FN anywhere.
holding() { jq --arg f "$2" "[$V.$1.stacks[] | select(any(.frames[]; .label == \$f)) | .$3] | add // 0" "$res"; }

check_eq "page faults in touch_pages, anonymous memory: one per page touched" \
	"$(kv "$line" touch_pages)" "$(inner faults touch_pages anon pages)"
check_eq "touch_pages was called from main" main \
	"$(jq -r "[$V.faults.stacks[] | select(.frames[0].label == \"touch_pages\")][0].frames[1].label" "$res")"
check_eq "page faults in grow_via_brk are heap pages" "$(($(kv "$line" brk_bytes) / page))" \
	"$(inner faults grow_via_brk heap pages)"
check_eq "page faults in lib_fill_pages (libgrowpaths.so)" "$(kv "$line" lib_pages)" \
	"$(inner faults lib_fill_pages anon pages)"
# memset (in the C library, without a frame) faults for fill_via_memset:
# the caller comes from the word at the stack pointer, checked to follow a
# call instruction.
check_eq "page faults in memset are attributed to fill_via_memset, its caller" "$(kv "$line" memset_pages)" \
	"$(jq "[$V.faults.stacks[] | select(.kind == \"anon\" and .frames[1].label == \"fill_via_memset\" and .frames[1].module == \"grow_paths\" and .frames[2].label == \"main\") | .pages] | add // 0" "$res")"
check_eq "lib_fill_pages is found in its shared library" libgrowpaths.so \
	"$(jq -r "[$V.faults.stacks[].frames[] | select(.label == \"lib_fill_pages\")][0].module" "$res")"
# leak_via_malloc touches every page of its blocks; malloc itself writes the
# first page of some of them (those frames end in glibc).
got=$(holding faults leak_via_malloc pages)
want=$(($(kv "$line" malloc_bytes) / page))
check_cmd "page faults under leak_via_malloc: most of its $want pages (got $got)" \
	test "$got" -le "$want" -a "$got" -ge $((want * 9 / 10))
total=$(jq "$V.faults.pages" "$res")
touch_share=$(( $(inner faults touch_pages anon pages) * 100 / total ))
want_share=$(( $(kv "$line" touch_pages) * 100 / total ))
check_eq "touch_pages's share of all faults" "$want_share" "$touch_share"

check_eq "brk growth by grow_via_brk, bytes" "$(kv "$line" brk_bytes)" "$(holding brk grow_via_brk bytes)"
check_eq "mmap growth by grow_via_mmap, bytes" "$(kv "$line" mmap_bytes)" "$(holding mmap grow_via_mmap bytes)"
check_eq "grow_via_mmap mapped anonymous memory" anon \
	"$(jq -r "[$V.mmap.stacks[] | select(any(.frames[]; .label == \"grow_via_mmap\"))][0].kind" "$res")"
check_eq "mmap growth by lib_fill_pages, bytes" $(($(kv "$line" lib_pages) * page)) "$(holding mmap lib_fill_pages bytes)"

check_eq "malloc: bytes leak_via_malloc still holds" "$(kv "$line" malloc_bytes)" \
	"$(holding malloc leak_via_malloc outstanding)"
check_eq "malloc: blocks leak_via_malloc allocated" "$(kv "$line" malloc_blocks)" "$(holding malloc leak_via_malloc count)"
check_eq "malloc: churn_via_malloc holds nothing" 0 "$(holding malloc churn_via_malloc outstanding)"
check_eq "malloc: churn_via_malloc's frees" "$(kv "$line" churn)" "$(holding malloc churn_via_malloc frees)"

check_cmd "the flame graph is well-formed XML" xmllint --noout "$svg"
for f in touch_pages leak_via_malloc lib_fill_pages main; do
	check_cmd "the flame graph names $f" grep -q ">$f<" "$svg"
done

# Without symbols: module+offset, and the offset lies inside touch_pages of
# the same binary with symbols.
fl_spawn st grow_paths_stripped --touch 4M
fl_wait_line "$st_out" '^ARMED' >/dev/null || { not_ok "grow_paths_stripped did not arm"; exit 1; }
fl trace "$st_pid" --for 60s --what faults --folded >"$FL_TMP/folded" 2>"$FL_TMP/folded.err" {st_fd}>&- &
cli=$!
wait_running 1 || { not_ok "the stripped trace did not start"; exit 1; }
fl_send_line st go
fl_wait_line "$st_out" '^READY' >/dev/null
fl_release st
wait "$cli"
check_eq "the folded trace of the stripped binary ends cleanly" 0 $?
top=$(sort -t' ' -k2 -n -r "$FL_TMP/folded" | head -1)
check_cmd "folded lines are 'comm;frames... weight' ($top)" grep -Eq '^grow_paths_stri;[^ ].* [0-9]+$' <<<"$top"
leaf=$(sed 's/ [0-9]*$//; s/.*;//' <<<"$top")
check_cmd "its innermost frame is module+offset ($leaf)" grep -Eq '^grow_paths_stripped\+0x[0-9a-f]+$' <<<"$leaf"
off=$((${leaf#*+}))
read -r start size < <(nm -S "$FL_BUILD/workloads/grow_paths" | awk '$4 == "touch_pages" {print "0x"$1, "0x"$2}')
check_cmd "offset $off lies in touch_pages [$((start)), $((start + size)))" \
	test "$off" -ge "$((start))" -a "$off" -lt "$((start + size))"
check_eq "it carries touch_pages's 1024 faults" 1024 "${top##* }"

# Clear errors.
out=$(fl trace 4194000 --for 1s 2>&1)
check_eq "a pid that does not exist: exit 1" 1 $?
check_cmd "and says so ($out)" grep -q "no process 4194000" <<<"$out"
kt=$(awk '{print $1}' /proc/2/stat)
out=$(fl trace "$kt" --for 1s 2>&1)
check_eq "a kernel thread: exit 1" 1 $?
check_cmd "and says so ($out)" grep -q "kernel thread" <<<"$out"
out=$(fl trace $(seq 1 17) --for 1s 2>&1)
check_cmd "more than 16 pids is refused ($out)" grep -q "at most 16" <<<"$out"
out=$(fl trace $$ --what swap 2>&1)
check_cmd "an unknown view is refused ($out)" grep -q "faults, brk, mmap, malloc" <<<"$out"
check_eq "no trace is left running" 0 "$(fl_json status | jq .traces.running)"
fl_done
