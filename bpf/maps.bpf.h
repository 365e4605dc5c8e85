/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Maps shared between the always-on objects. events.bpf.c owns them;
 * snapshot.bpf.c declares mm_stats too and faultlined hands it the same fd
 * (bpf_map__reuse_fd) before loading.
 */
#ifndef FAULTLINE_MAPS_BPF_H
#define FAULTLINE_MAPS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "faultline.h"

/* Mapping-syscall totals per tgid; sized by faultlined before load. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768);
	__type(key, __u32);
	__type(value, struct fl_mm_stats);
} mm_stats SEC(".maps");

#endif
