#include <stdlib.h>

#include "discover/json.h"
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

/* What a JSON reader gets back from json_quote's text: the decoded string (malloc'd). */
static char *json_back(const char *quoted)
{
	const char *err = NULL;
	struct json *j = json_parse(quoted, strlen(quoted), &err, NULL);
	if (!j || j->type != JSON_STRING) {
		fprintf(stderr, "not a JSON string (%s): %s\n", err ? err : "type", quoted);
		json_free(j);
		return NULL;
	}
	char *s = strdup(j->str);
	json_free(j);
	return s;
}

static int printable_ascii(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			return 0;
	return 1;
}

static void test_json_quote(void)
{
	static const struct {
		const char *in, *json, *back;
		int exact;
	} cases[] = {
		{"plain host", "\"plain host\"", "plain host", 1},
		{"q\"b\\", "\"q\\\"b\\\\\"", "q\"b\\", 1},
		/* C0, DEL and C1 controls, valid UTF-8 or not, never appear raw. */
		{"a\x1b[2J\n\x7f", "\"a\\u001b[2J\\u000a\\u007f\"", "a\x1b[2J\n\x7f", 1},
		{"\xc2\x9b" "31m", "\"\\u009b31m\"", "\xc2\x9b" "31m", 1},
		/* The point of the encoding: U+00E9 written as UTF-8, and a lone byte 0xe9 (latin-1)
		 * give different documents; the lone byte is U+FFFD plus its hex beside it. */
		{"caf\xc3\xa9", "\"caf\\u00e9\"", "caf\xc3\xa9", 1},
		{"caf\xe9", "\"caf\\ufffd\"", "caf\xef\xbf\xbd", 0},
		/* Maximal subparts: a cut 3-byte sequence is one U+FFFD, a stray continuation one each. */
		{"\xe2\x82x", "\"\\ufffdx\"", "\xef\xbf\xbdx", 0},
		{"\x80\x80", "\"\\ufffd\\ufffd\"", "\xef\xbf\xbd\xef\xbf\xbd", 0},
		/* Overlong, surrogate, beyond U+10FFFF: not UTF-8. */
		{"\xc0\xaf", "\"\\ufffd\\ufffd\"", "\xef\xbf\xbd\xef\xbf\xbd", 0},
		{"\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 0},
		{"\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"", NULL, 0},
		/* Above U+FFFF: a surrogate pair. */
		{"\xf0\x9f\x9b\x9f", "\"\\ud83d\\udedf\"", "\xf0\x9f\x9b\x9f", 1},
		{"", "\"\"", "", 1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int exact = -1;
		char *q = json_quote(cases[i].in, &exact);
		CHECK_STR(q, cases[i].json);
		CHECK_INT(exact, cases[i].exact);
		char *back = json_back(q);
		if (cases[i].back)
			CHECK_STR(back, cases[i].back);
		free(back);
		free(q);
	}
	char *h = hex_bytes("caf\xe9\x01");
	CHECK_STR(h, "636166e901");
	free(h);
	/* Random byte strings: always a valid, printable-ASCII JSON string; exact exactly when the
	 * reader gets the same bytes back (so a lossy one always comes with its hex). */
	srand(18);
	for (int n = 0; n < 20000; n++) {
		char in[24];
		int len = rand() % (int)(sizeof(in) - 1);
		for (int k = 0; k < len; k++) {
			int r = rand() % 8;
			in[k] = (char)(r < 3 ? 0x80 + rand() % 0x80 : r < 5 ? 0xc0 + rand() % 0x40 : 1 + rand() % 0x7f);
		}
		in[len] = 0;
		int exact;
		char *q = json_quote(in, &exact);
		char *back = json_back(q);
		CHECK(back != NULL);
		CHECK(printable_ascii(q));
		CHECK_INT(back && !strcmp(back, in), exact);
		free(back);
		free(q);
	}
}

int main(void)
{
	test_json_quote();
	test_escape_roundtrip();
	test_term_escape();
	test_report();
	return check_done("test_escape");
}
