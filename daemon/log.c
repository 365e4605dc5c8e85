#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-journal.h>

int log_max_level = LOG_INFO;
static bool to_journal;

void log_init(void)
{
	to_journal = getenv("JOURNAL_STREAM") != NULL;
}

bool log_to_journal(void)
{
	return to_journal;
}

void log_msg(int level, const char *fmt, ...)
{
	static const char *const names[] = { "emerg", "alert", "crit", "error",
					     "warning", "notice", "info", "debug" };
	va_list ap;

	if (level > log_max_level)
		return;
	va_start(ap, fmt);
	if (to_journal) {
		sd_journal_printv(level, fmt, ap);
	} else {
		fprintf(stderr, "faultlined: %s: ", names[level & 7]);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
	va_end(ap);
}
