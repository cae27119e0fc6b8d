/* fstab text from a disk: parse it and resolve every entry against a small device table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discover/fstab.h"
#include "discover/plan.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = 0;
	struct fstab t;
	fstab_parse(&t, text);
	struct blockdev d[2] = {{.name = "vda1", .path = "/dev/vda1", .disk = "/dev/vda", .uuid = "ABCD",
				 .label = "nixos"},
				{.name = "vdb1", .path = "/dev/vdb1", .disk = "/dev/vdb", .label = "nixos",
				 .partuuid = "p", .partlabel = "x y"}};
	struct devtab dt = {d, 2};
	FILE *null = fopen("/dev/null", "w");
	struct plan_summary s;
	plan_emit(null, "1", 1, &t, &dt, "/dev/vda", &s);
	fclose(null);
	fstab_free(&t);
	free(text);
	return 0;
}
