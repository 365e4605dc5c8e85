/* libFuzzer: a config file through the INI parser, every key's value parser
 * and the cross-key checks. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fl_config c;
	char err[512];
	FILE *f;

	if (size == 0)
		return 0;
	f = fmemopen((void *)data, size, "r");
	if (!f)
		return 0;
	config_defaults(&c);
	if (config_load_file(&c, f, "fuzz.conf", err, sizeof(err)) == 0) {
		config_validate(&c, err, sizeof(err));
		struct fl_config d;
		config_defaults(&d);
		config_restart_keys(&d, &c, err, sizeof(err));
	}
	fclose(f);
	return 0;
}
