/* [trace] suspect_profile: the first time a process becomes a leak suspect,
 * trace its growth (faults, brk, mmap; never malloc, whose uprobes cost too
 * much to run unasked) for suspect_profile_duration, and keep the result with
 * the process's record (`faultline show PID`). Once per process. */
#ifndef FAULTLINE_SUSPECT_PROFILE_H
#define FAULTLINE_SUSPECT_PROFILE_H

struct daemon;

/* After each leak analysis round: start the profiles that are due. */
void suspect_profile_round(struct daemon *d);

#endif
