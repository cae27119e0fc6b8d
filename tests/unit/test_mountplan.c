/* The mount data of a plan's mount record (act/mountplan): fstab options plus the subvolume.
 * A list cut to fit once mounted a different subvolume ("subvol=@home" cut to "subvol=@"): it
 * must fail instead, as must a subvolume name that would add options. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "act/mountplan.h"
#include "lib/util.h"
#include "report/record.h"
#include "tests/unit/check.h"

/* A mount record as the scan writes it. */
static int entry_data(const char *options, const char *subvol, unsigned long *flags, char *data,
		      size_t size)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	report_put(f, "mount", "system", "1", "target", "/home", "type", "btrfs", "options", options,
		   "status", "ok", "subvol", subvol, NULL);
	fclose(f);
	struct report rep;
	CHECK_INT(report_parse(&rep, text), 1);
	int r = rep.n == 1 ? mountplan_entry_data(&rep.r[0], flags, data, size) : -EIO;
	report_free(&rep);
	free(text);
	return r;
}

static void test_entry_data(void)
{
	char data[1024];
	unsigned long flags;
	CHECK_INT(entry_data("compress=zstd,noatime", "@home", &flags, data, sizeof(data)), 0);
	CHECK_STR(data, "compress=zstd,subvol=@home");
	CHECK_INT(flags, MS_NOATIME);
	/* The fstab's own subvol= stays the only one. */
	CHECK_INT(entry_data("subvol=/@home,compress=zstd", "@home", &flags, data, sizeof(data)), 0);
	CHECK_STR(data, "subvol=/@home,compress=zstd");
	CHECK_INT(entry_data("defaults", "", &flags, data, sizeof(data)), 0);
	CHECK_STR(data, "");
	CHECK_INT(entry_data("defaults", "a,b", &flags, data, sizeof(data)), -EINVAL);

	/* Options that leave room for "subvol=@" but not "subvol=@home". */
	size_t fill = sizeof(data) - 1 - strlen(",subvol=@");
	char *opts = xmalloc(fill + 1);
	memset(opts, 'x', fill);
	opts[fill] = 0;
	opts[0] = 'a', opts[1] = '=';
	CHECK_INT(entry_data(opts, "@", &flags, data, sizeof(data)), 0);
	CHECK_INT(strlen(data), sizeof(data) - 1);
	CHECK_INT(entry_data(opts, "@home", &flags, data, sizeof(data)), -EINVAL);
	CHECK(!strstr(data, "subvol=@"));
	free(opts);

	/* Options alone too long: refused, not cut after the last word that fitted. */
	char *many = xmalloc(4000);
	many[0] = 0;
	for (int i = 0; i < 300; i++)
		snprintf(many + strlen(many), 4000 - strlen(many), "%so%d", i ? "," : "", i);
	CHECK_INT(mountopts_parse(many, &flags, data, sizeof(data)), -EINVAL);
	CHECK_INT(entry_data(many, NULL, &flags, data, sizeof(data)), -EINVAL);
	free(many);
}

int main(void)
{
	test_entry_data();
	return check_done("test_mountplan");
}
