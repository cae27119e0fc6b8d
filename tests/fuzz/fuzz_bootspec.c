/* boot.json from a disk: the strict JSON reader and the bootspec fields. */
#include <stddef.h>

#include "discover/bootspec.h"
#include "discover/json.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct bootspec b;
	const char *err;
	if (bootspec_parse(&b, (const char *)data, size, &err) == 0)
		bootspec_free(&b);
	json_free(json_parse((const char *)data, size, &err, NULL));
	return 0;
}
