/* A scan report read back (by the menu, enter, boot): parse, look keys up, write again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/record.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = 0;
	struct report rep;
	report_parse(&rep, text);
	FILE *null = fopen("/dev/null", "w");
	for (int i = 0; i < rep.n; i++) {
		record_int(&rep.r[i], "id", 0);
		const char *v = record_get(&rep.r[i], "host");
		report_put(null, rep.r[i].kind, "host", v, "k", rep.r[i].n ? rep.r[i].val[0] : NULL, NULL);
	}
	fclose(null);
	report_free(&rep);
	free(text);
	return 0;
}
