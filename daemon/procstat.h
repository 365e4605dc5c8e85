/* The few /proc/PID/stat fields a trace needs to pick, and keep, its
 * processes: comm, state, kernel-thread flag, start time. */
#ifndef FAULTLINE_PROCSTAT_H
#define FAULTLINE_PROCSTAT_H

#include <stdbool.h>
#include <stdint.h>

#define PROCSTAT_PF_KTHREAD 0x00200000u

struct procstat {
	char comm[16];
	char state;         /* R, S, D, Z, X, ... */
	uint32_t flags;     /* PF_* */
	uint64_t starttime; /* clock ticks after boot: with the pid, one process */
};

/* Parses the text of /proc/PID/stat (the comm may hold spaces and ')'). */
int procstat_parse(const char *text, struct procstat *st);
int procstat_read(const char *proc_root, int pid, struct procstat *st);

/* Alive and still the same process (not a zombie, not a reused pid). */
bool procstat_same_alive(const char *proc_root, int pid, uint64_t starttime);

#endif
