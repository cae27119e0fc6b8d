/* A scan report read back (by the menu, enter, boot): parse, look keys up, write again; the
 * model built from it and every system and generation chosen by the names it holds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discover/json.h"
#include "lib/escape.h"
#include "report/found.h"
#include "report/record.h"
#include "report/select.h"

/* `scan --json`'s strings: always valid JSON, and read back as the same bytes whenever the
 * writer says it was exact (else its hex, checked here too, holds them). */
static void json_roundtrip(const char *v)
{
	int exact;
	char *q = json_quote(v, &exact);
	struct json *j = json_parse(q, strlen(q), NULL, NULL);
	if (!j || j->type != JSON_STRING || (exact && strcmp(j->str, v)) || (!exact && !strcmp(j->str, v)))
		abort();
	json_free(j);
	char *hex = hex_bytes(v);
	for (size_t i = 0; v[i]; i++) {
		unsigned b;
		if (sscanf(hex + 2 * i, "%2x", &b) != 1 || b != (unsigned char)v[i])
			abort();
	}
	free(hex);
	free(q);
}

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
		for (int k = 0; k < rep.r[i].n; k++)
			json_roundtrip(rep.r[i].val[k]);
		const char *v = record_get(&rep.r[i], "host");
		report_put(null, rep.r[i].kind, "host", v, "k", rep.r[i].n ? rep.r[i].val[0] : NULL, NULL);
	}
	fclose(null);
	report_free(&rep);
	struct found f;
	found_load(&f, text);
	char why[700];
	for (int i = 0; i < f.n_sys; i++) {
		const struct found_sys *s = &f.sys[i];
		char *uuid = malloc(strlen(s->root) + 8);
		sprintf(uuid, "UUID=%s", s->root);
		select_system(&f, s->host, why, sizeof(why));
		select_system(&f, uuid, why, sizeof(why));
		select_system(&f, "/dev/disk/by-label/\\x2", why, sizeof(why));
		free(uuid);
		select_generation(s, NULL, NULL, NULL, why, sizeof(why));
		select_generation(s, s->n_named ? s->named[0].profile : NULL, s->host, s->version, why, sizeof(why));
		select_generation(s, NULL, s->n_specs ? s->specs[0].spec : "1", NULL, why, sizeof(why));
	}
	found_free(&f);
	free(text);
	return 0;
}
