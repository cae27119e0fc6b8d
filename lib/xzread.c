#include "lib/xzread.h"

#include <errno.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int xz_path(const char *path)
{
	size_t n = path ? strlen(path) : 0;
	return n > 3 && !strcmp(path + n - 3, ".xz");
}

int xz_read_all(int fd, size_t max, char **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	lzma_stream s = LZMA_STREAM_INIT;
	/* The memory limit bounds what a damaged or hostile header may ask for: modules are
	 * compressed with a 1 MiB dictionary (tools/kernel.sh), and 64 MiB covers xz's presets. */
	if (lzma_stream_decoder(&s, 64u << 20, LZMA_CONCATENATED) != LZMA_OK)
		return -ENOMEM;
	unsigned char in[65536];
	/* One byte past max: a file of exactly max bytes must see its stream end with room left. */
	size_t cap = 0, limit = max + 1;
	char *buf = NULL;
	int r = 0;
	lzma_action action = LZMA_RUN;
	for (;;) {
		if (!s.avail_in && action == LZMA_RUN) {
			ssize_t n = read(fd, in, sizeof(in));
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				r = -errno;
				break;
			}
			s.next_in = in;
			s.avail_in = (size_t)n;
			if (!n)
				action = LZMA_FINISH;
		}
		if (!s.avail_out) {
			size_t ncap = cap ? cap * 2 : 1 << 20;
			if (cap >= limit) {
				r = -EFBIG;
				break;
			}
			if (ncap > limit)
				ncap = limit;
			char *nb = realloc(buf, ncap);
			if (!nb) {
				r = -ENOMEM;
				break;
			}
			buf = nb;
			s.next_out = (unsigned char *)buf + s.total_out;
			s.avail_out = ncap - (size_t)s.total_out;
			cap = ncap;
		}
		lzma_ret ret = lzma_code(&s, action);
		if (ret == LZMA_STREAM_END) {
			if (s.total_out > max)
				r = -EFBIG;
			break;
		}
		if (ret == LZMA_MEM_ERROR) {
			r = -ENOMEM;
			break;
		}
		if (ret != LZMA_OK) {
			r = -EBADMSG; /* not xz, damaged, truncated, or over the memory limit */
			break;
		}
	}
	if (r < 0) {
		free(buf);
	} else {
		*out = buf;
		*len = (size_t)s.total_out;
	}
	lzma_end(&s);
	return r;
}
