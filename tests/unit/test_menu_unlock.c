/* The menu's unlock lines: each locked LUKS device gets a line (u1, u2...) naming its path,
 * version, size, label and UUID, and "u" unlocks them all; one locked device is "u" alone; an
 * open one gets no line; a FIDO2/TPM2 token's note is shown in the header. */
#include <stdlib.h>

#include "present/menu.h"
#include "present/term.h"
#include "report/found.h"
#include "tests/unit/check.h"
#include "tests/unit/menukeys.h"

static const char two[] =
	"device path=/dev/vda2 disk=/dev/vda type=crypto_LUKS size=209715200\n"
	"device path=/dev/vdb1 disk=/dev/vdb type=crypto_LUKS size=104857600\n"
	"device path=/dev/vdc1 disk=/dev/vdc type=crypto_LUKS size=104857600\n"
	"luks path=/dev/vda2 version=2 uuid=1feb0a70-0000-4000-8000-000000000001 label=cryptroot size=209715200 "
	"tokens=systemd-fido2 note=FIDO2%20token:%20not%20usable%20here,%20use%20a%20passphrase%20or%20recovery%20key "
	"state=locked\n"
	"luks path=/dev/vdb1 version=1 uuid=1feb0a70-0000-4000-8000-000000000002 label=- size=104857600 state=locked\n"
	"luks path=/dev/vdc1 version=2 uuid=1feb0a70-0000-4000-8000-000000000003 size=104857600 state=open "
	"mapper=/dev/mapper/data dm=/dev/dm-0\n"
	"problem path=/dev/vda2 what=locked msg=encrypted system=-\n"
	"problem path=/dev/vdb1 what=locked msg=encrypted system=-\n"
	"done devices=3 systems=0 problems=2\n";

static const char one[] =
	"luks path=/dev/nvme0n1p2 version=2 uuid=aaaa label=\x1b[31mevil size=1048576 state=locked\n"
	"done devices=1 systems=0 problems=1\n";

int main(void)
{
	static char buf[32768];
	struct found f;
	struct menu m;
	struct menu_choice c;
	CHECK_INT(found_load(&f, two), 0);
	menu_init(&m, &f, "v1");
	menu_render(&m, buf, sizeof(buf));
	CHECK(strstr(buf, "u1)  > unlock /dev/vda2 (LUKS2, 200 MiB, 'cryptroot')\n") != NULL);
	CHECK(strstr(buf, "u2)    unlock /dev/vdb1 (LUKS1, 100 MiB)\n") != NULL);
	CHECK(strstr(buf, "Locked: /dev/vda2 LUKS2 UUID 1feb0a70-0000-4000-8000-000000000001\n"
			  "        FIDO2 token: not usable here, use a passphrase or recovery key\n"
			  "Locked: /dev/vdb1 LUKS1 UUID 1feb0a70-0000-4000-8000-000000000002\n") != NULL);
	CHECK(strstr(buf, "/dev/vdc1 LUKS2") == NULL);
	CHECK(strstr(buf, "u)     unlock all 2 locked devices (a passphrase is tried on each)\n") != NULL);
	/* The open one has no line. */
	CHECK(strstr(buf, "/dev/vdc1 LUKS") == NULL);
	CHECK(strstr(buf, "u3)") == NULL);
	type(&m, "u2", &c, EV_CHOSEN);
	CHECK_INT(c.act, ACT_UNLOCK);
	CHECK_STR(record_get(&f.rep.r[c.gen], "path"), "/dev/vdb1");
	type(&m, "u", &c, EV_CHOSEN);
	CHECK_INT(c.act, ACT_UNLOCK);
	CHECK_INT(c.gen, -1);
	found_free(&f);

	CHECK_INT(found_load(&f, one), 0);
	menu_init(&m, &f, "v1");
	menu_render(&m, buf, sizeof(buf));
	CHECK(strstr(buf, "u)   > unlock /dev/nvme0n1p2 (LUKS2, 1 MiB, '") != NULL);
	CHECK(strstr(buf, "\x1b") == NULL);
	CHECK(strstr(buf, "u1)") == NULL);
	type(&m, "u", &c, EV_CHOSEN);
	CHECK_STR(record_get(&f.rep.r[c.gen], "path"), "/dev/nvme0n1p2");
	found_free(&f);
	return check_done("test_menu_unlock");
}
