/* The menu's repair lines: a system page lists the filesystems of its plan with the state the
 * scan read (fsstate records) and the ESP's free space, and offers check and repair; a device
 * that would not mount is offered for check / repair on the main page. */
#include <stdlib.h>

#include "present/menu.h"
#include "present/term.h"
#include "report/found.h"
#include "tests/unit/check.h"
#include "tests/unit/menukeys.h"

static const char report[] =
	"device path=/dev/vda1 disk=/dev/vda type=vfat\n"
	"device path=/dev/vda2 disk=/dev/vda type=ext4\n"
	"device path=/dev/vdb1 disk=/dev/vdb type=ext4\n"
	"device path=/dev/vdc1 disk=/dev/vdc type=xfs\n"
	"fsstate path=/dev/vda1 type=vfat state=clean mounted=1 size=104857600 free=5242880\n"
	"fsstate path=/dev/vda2 type=ext4 state=recover mounted=1 size=900000000 free=400000000\n"
	"fsstate path=/dev/vdb1 type=ext4 state=errors mounted=0 size=- free=-\n"
	"problem path=/dev/vdb1 what=mount msg=read-only%20mount%20failed system=-\n"
	"problem path=/dev/vdc1 what=probe msg=odd system=-\n"
	"system id=1 host=laptop version=24.05 layout=inroot root=/dev/vda2 nix=/dev/vda2 current=3 esp=/dev/vda1\n"
	"generation system=1 profile=system number=3 current=1 specialisation=- status=ok toplevel=/nix/store/x\n"
	"mount system=1 number=3 source=/dev/vda2 target=/ type=ext4 status=ok\n"
	"mount system=1 number=3 source=/dev/vda1 target=/boot type=vfat status=ok\n"
	"mount system=1 number=3 source=/dev/vdc1 target=/srv type=xfs status=ok\n"
	"done devices=4 systems=1 problems=2\n";

int main(void)
{
	static char buf[32768];
	struct found f;
	CHECK_INT(found_load(&f, report), 1);
	struct menu m;
	struct menu_choice c;
	menu_init(&m, &f, "v1");
	menu_render(&m, buf, sizeof(buf));
	/* The device that does not mount is offered; the one with another problem is not. */
	CHECK(strstr(buf, "c1)    check / repair /dev/vdb1 (it does not mount)\n") != NULL);
	CHECK(strstr(buf, "/dev/vdc1 (it does") == NULL);
	CHECK(strstr(buf, "c2)") == NULL);
	type(&m, "c1", &c, EV_CHOSEN);
	CHECK_INT(c.act, ACT_DEVREPAIR);
	CHECK_STR(record_get(found_problem(&f, c.gen), "path"), "/dev/vdb1");

	type(&m, "1", &c, EV_REDRAW);
	menu_render(&m, buf, sizeof(buf));
	CHECK(strstr(buf, "Filesystems:\n") != NULL);
	CHECK(strstr(buf, "  /        ext4   /dev/vda2        needs journal recovery, 381 of 858 MiB free\n") != NULL);
	CHECK(strstr(buf, "  /srv     xfs    /dev/vdc1        state unknown\n") != NULL);
	CHECK(strstr(buf, "  /boot    vfat   /dev/vda1        clean, 5 of 100 MiB free (nearly full)\n") != NULL);
	/* The twin: a roomy filesystem is not called nearly full. */
	CHECK(strstr(buf, "858 MiB free (nearly full)") == NULL);
	CHECK(strstr(buf, "c)     check its filesystems (read-only)\n") != NULL);
	type(&m, "c", &c, EV_CHOSEN);
	CHECK_INT(c.act, ACT_FSCHECK);
	CHECK_INT(c.sys, 0);
	type(&m, "x", &c, EV_CHOSEN);
	CHECK_INT(c.act, ACT_FSREPAIR);
	CHECK_INT(c.sys, 0);
	/* Every line fits 80 columns. */
	for (const char *p = buf; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		CHECK(len <= 80);
		p += len + (nl ? 1 : 0);
	}
	found_free(&f);
	if (getenv("SHOW"))
		fputs(buf, stderr);
	return check_done("test_menu_repair");
}
