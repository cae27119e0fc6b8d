/* The bzImage header check that stops a truncated kernel from being loaded: the input is the
 * file's head, its claimed size is taken from the input's first bytes. The verdict must agree
 * with the size it says is needed, and the check of a real file (a memfd) must give the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "act/kexec.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	if (size < 4)
		return 0;
	uint32_t extra;
	memcpy(&extra, data, 4);
	const unsigned char *hdr = data + 4;
	size_t len = size - 4;
	unsigned long long file = (unsigned long long)len + (extra & 0xffffff), need = 0;
	int r = kexec_check_bzimage(hdr, len, file, &need);
	if (r != 0 && r != 1 && r != -22)
		abort();
	if (r == 0 && need > file)
		abort();
	if (r == -22 && need <= file)
		abort();
	if (r == 1 && len >= 0x206 + 1 && len >= 0x208 && !memcmp(hdr + 0x202, "HdrS", 4))
		abort();
	/* The same bytes as a file of exactly len bytes. */
	int fd = memfd_create("bz", 0);
	if (fd < 0)
		abort();
	if (len && write(fd, hdr, len) != (ssize_t)len)
		abort();
	unsigned long long need2 = 0;
	int r2 = kexec_check_kernel_fd(fd, &need2);
	close(fd);
	unsigned long long need3 = 0;
	/* The fd check reads at most 1 KiB of the head, which holds every field checked. */
	int r3 = kexec_check_bzimage(hdr, len < 1024 ? len : 1024, len, &need3);
	if (r2 != r3 || (r2 != 1 && need2 != need3))
		abort();
	return 0;
}
