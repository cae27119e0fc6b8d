#include <stdlib.h>

#include "discover/bootspec.h"
#include "discover/json.h"
#include "tests/unit/check.h"

static const char *good =
	"{\"org.nixos.bootspec.v1\": {\"system\": \"x86_64-linux\", \"init\": \"/nix/store/t/init\",\n"
	" \"initrd\": \"/nix/store/i/initrd\", \"kernel\": \"/nix/store/k/bzImage\",\n"
	" \"kernelParams\": [\"loglevel=4\", \"quiet\", \"x=\\u00e9\\ud83d\\ude00\"],\n"
	" \"label\": \"NixOS 24.05 (Linux 6.6)\", \"toplevel\": \"/nix/store/t\"},\n"
	" \"org.nixos.specialisation.v1\": {\"safe\": {\"org.nixos.bootspec.v1\": {}}}}";

static int json_ok(const char *s)
{
	struct json *j = json_parse(s, strlen(s), NULL, NULL);
	json_free(j);
	return j != NULL;
}

static void test_json(void)
{
	CHECK(json_ok("{}") && json_ok("[]") && json_ok(" [1, -0.5e+3, true, false, null, \"\"] "));
	CHECK(json_ok("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\""));
	/* Strict: each of these is refused. */
	const char *bad[] = {"", "{", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "01", "1.", "-",
			     ".5", "1e", "tru", "nul", "\"\\x\"", "\"a\nb\"", "\"\\ud800\"", "\"\\udc00\"",
			     "\"\\u0000\"", "\"\xff\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "{} x", "[] []",
			     "{\"a\":1,\"a\":2}", "'a'", "[\"unterminated]", "\"\\u12\""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ok = json_ok(bad[i]);
		if (ok)
			fprintf(stderr, "accepted: %s\n", bad[i]);
		CHECK(!ok);
	}
	/* Depth is bounded: a deep nest is refused, not a stack overflow. */
	char deep[2001];
	memset(deep, '[', 1000);
	memset(deep + 1000, ']', 1000);
	deep[2000] = 0;
	CHECK(!json_ok(deep));
	const char *err = NULL;
	size_t where = 0;
	CHECK(json_parse("[1, 2 3]", 8, &err, &where) == NULL);
	CHECK_STR(err, "expected ',' or ']'");
	CHECK_INT(where, 6);
	/* An embedded NUL byte ends nothing early: it is an error. */
	CHECK(json_parse("[1]\0", 4, &err, NULL) == NULL);
}

static void test_bootspec(void)
{
	struct bootspec b;
	const char *err = NULL;
	CHECK_INT(bootspec_parse(&b, good, strlen(good), &err), 0);
	CHECK_STR(b.kernel, "/nix/store/k/bzImage");
	CHECK_STR(b.initrd, "/nix/store/i/initrd");
	CHECK_STR(b.init, "/nix/store/t/init");
	CHECK_STR(b.params, "loglevel=4 quiet x=\xc3\xa9\xf0\x9f\x98\x80");
	CHECK_STR(b.label, "NixOS 24.05 (Linux 6.6)");
	CHECK(b.initrd_secrets == NULL);
	bootspec_free(&b);
	const char *bad[] = {
		"{}",
		"{\"org.nixos.bootspec.v1\": []}",
		"{\"org.nixos.bootspec.v1\": {\"init\": \"/i\", \"kernel\": 5, \"kernelParams\": [], "
		"\"label\": \"l\", \"system\": \"s\", \"toplevel\": \"/t\"}}",
		"{\"org.nixos.bootspec.v1\": {\"init\": \"/i\", \"kernel\": \"/k\", \"kernelParams\": "
		"[1], \"label\": \"l\", \"system\": \"s\", \"toplevel\": \"/t\"}}",
		"{\"org.nixos.bootspec.v1\": {\"init\": \"/i\", \"kernel\": \"/k\", \"label\": \"l\", "
		"\"system\": \"s\", \"toplevel\": \"/t\"}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_INT(bootspec_parse(&b, bad[i], strlen(bad[i]), &err), -22);
	const char *noinitrd = "{\"org.nixos.bootspec.v1\": {\"init\": \"/i\", \"kernel\": \"/k\", "
			       "\"kernelParams\": [], \"label\": \"l\", \"system\": \"s\", \"toplevel\": "
			       "\"/t\", \"initrdSecrets\": \"/s\"}}";
	CHECK_INT(bootspec_parse(&b, noinitrd, strlen(noinitrd), &err), 0);
	CHECK(b.initrd == NULL);
	CHECK_STR(b.initrd_secrets, "/s");
	CHECK_STR(b.params, "");
	bootspec_free(&b);
}

int main(void)
{
	test_json();
	test_bootspec();
	return check_done("test_bootspec");
}
