/* Logging: to journald when started by systemd (JOURNAL_STREAM is set),
 * else to stderr with a level prefix. */
#ifndef FAULTLINE_LOG_H
#define FAULTLINE_LOG_H

#include <stdbool.h>
#include <syslog.h>

extern int log_max_level; /* LOG_INFO by default, LOG_DEBUG with -v */

void log_init(void);
/* True when log lines go to journald (started by systemd). */
bool log_to_journal(void);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
