/* cryptsetup luksDump text (it carries the header's label, token types and keyslot fields from
 * the disk) and LUKS2's JSON metadata: parse them, then what the scan and unlock derive. */
#include <stdlib.h>
#include <string.h>

#include "act/unlock.h"
#include "discover/luks.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = 0;
	struct luks_info li;
	luks_dump_parse(text, &li);
	luks_json_parse(text, &li);
	char note[120], name[128];
	luks_token_note(&li, note, sizeof(note));
	int fit[LUKS_MAX_SLOTS];
	unlock_slots_fitting(&li, 1 << 20, fit, LUKS_MAX_SLOTS);
	(void)luks_max_kib(&li);
	unlock_default_name(li.uuid, name, sizeof(name));
	free(text);
	return 0;
}
