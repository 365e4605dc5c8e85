#!/usr/bin/env bash
# brk/mmap/munmap/mremap totals per process against what the workload did,
# exactly; and a big mapping raises an event.
. "$(dirname "$0")/../lib/common.sh"

fl_start_daemon

mm() { fl_json show "$heap_pid" | jq -r ".mapping_syscalls.$1 // 0"; }
fl_spawn heap heap_grow --brk 8M --mmap 96M --chunks 4 --munmap 48M --mremap-grow 4M
fl_wait_line "$heap_out" '^ARMED' >/dev/null || { not_ok "heap_grow did not arm"; exit 1; }
fl_wait_snapshots 2
declare -A before
for k in brk_calls brk_grow_bytes mmap_calls mmap_anon_bytes munmap_calls munmap_bytes mremap_calls mremap_grow_bytes; do
	before[$k]=$(mm $k)
done
fl_send_line heap go
line=$(fl_wait_line "$heap_out" '^READY') || { not_ok "heap_grow did not finish"; exit 1; }
fl_wait_snapshots 2
delta() { echo $(($(mm "$1") - ${before[$1]})); }
check_eq "brk calls" "$(kv "$line" brk_calls)" "$(delta brk_calls)"
check_eq "heap growth by brk, bytes" "$(kv "$line" brk_bytes)" "$(delta brk_grow_bytes)"
check_eq "mmap calls" "$(kv "$line" mmap_calls)" "$(delta mmap_calls)"
check_eq "anonymous bytes mapped" "$(kv "$line" mmap_bytes)" "$(delta mmap_anon_bytes)"
check_eq "munmap calls" "$(kv "$line" munmap_calls)" "$(delta munmap_calls)"
check_eq "bytes unmapped" "$(kv "$line" munmap_bytes)" "$(delta munmap_bytes)"
check_eq "mremap calls" "$(kv "$line" mremap_calls)" "$(delta mremap_calls)"
check_eq "bytes grown by mremap" 4194304 "$(delta mremap_grow_bytes)"
heap_kb=$(fl_json show "$heap_pid" | jq -r '.heap')
start=$(kv "$line" start_brk)
end=$(kv "$line" end_brk)
check_eq "heap size is brk - start_brk" "$((end - start))" "$heap_kb"
fl_release heap

# 96M in 4 chunks is 24M each: below the 64M default threshold. One 80M
# mapping must raise exactly one big-mapping event for this pid.
fl_spawn big heap_grow --brk 0 --mmap 80M --chunks 1
fl_wait_line "$big_out" '^ARMED' >/dev/null
fl_send_line big go
fl_wait_line "$big_out" '^READY' >/dev/null
fl_wait_snapshots 2
n=$(fl_json events | jq --argjson p "$big_pid" '[.[] | select(.type == "big_mapping" and .pid == $p and .bytes == 83886080)] | length')
check_eq "one big-mapping event for an 80 MiB mmap" 1 "$n"
fl_release big
fl_done
