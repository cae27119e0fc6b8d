#include <stdlib.h>

#include "report/record.h"
#include "lib/escape.h"
#include "tests/unit/check.h"

static void test_escape_roundtrip(void)
{
	const char *nasty = "my disk\n\x1b[2Jhost%name=\x01\xff";
	char *e = escape_value(nasty);
	CHECK(!strchr(e, ' ') && !strchr(e, '\n') && !strchr(e, '\x1b'));
	CHECK_STR(e, "my%20disk%0A%1B%5B2Jhost%25name=%01%FF");
	CHECK_STR(unescape_value(e), nasty);
	free(e);
	char bad[] = "100%zz%0";
	CHECK_STR(unescape_value(bad), "100%zz%0");
	/* %00 never becomes a NUL that would cut the value short. */
	char nul[] = "a%00b";
	CHECK_STR(unescape_value(nul), "a%00b");
}

static void test_term_escape(void)
{
	char buf[64];
	CHECK_STR(term_escape("host\x1b]0;pwned\x07", buf, sizeof(buf), 60), "host\\x1b]0;pwned\\x07");
	CHECK_STR(term_escape("abcdefghij", buf, sizeof(buf), 8), "abcde...");
	CHECK_STR(term_escape("caf\xc3\xa9", buf, sizeof(buf), 60), "caf\\xc3\\xa9");
	CHECK_STR(term_escape("", buf, sizeof(buf), 10), "");
}

static void test_report(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	report_put(f, "system", "id", "1", "host", "bad host\n", "empty", "", "none", NULL, NULL);
	report_put(f, "generation", "system", "1", "number", "42", NULL);
	fputs("# a comment\n\ngarbage\n", f);
	fclose(f);
	struct report rep;
	CHECK_INT(report_parse(&rep, text), 3);
	int s = report_next(&rep, "system", -1);
	CHECK_INT(s, 0);
	CHECK_STR(record_get(&rep.r[s], "host"), "bad host\n");
	CHECK_STR(record_get(&rep.r[s], "empty"), "");
	CHECK_STR(record_get(&rep.r[s], "none"), "");
	CHECK(record_get(&rep.r[s], "missing") == NULL);
	int g = report_next(&rep, "generation", s);
	CHECK_INT(record_int(&rep.r[g], "number", -1), 42);
	CHECK_INT(record_int(&rep.r[g], "system", -1), 1);
	CHECK_INT(record_int(&rep.r[s], "host", -7), -7);
	CHECK_INT(report_next(&rep, "generation", g), -1);
	report_free(&rep);
	free(text);
}

int main(void)
{
	test_escape_roundtrip();
	test_term_escape();
	test_report();
	return check_done("test_escape");
}
