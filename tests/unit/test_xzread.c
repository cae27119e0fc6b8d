/* xz_read_all, which the device worker uses to load the image's xz-compressed modules: data
 * round-trips, and damaged, truncated, foreign or oversized input is an error, never a crash
 * or a partial module. The inputs are made here with the host's liblzma encoder. */
#include <errno.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/xzread.h"
#include "tests/unit/check.h"

/* An fd reading these bytes (a pipe written by a child would do; a temp file is simpler). */
static int fd_of(const void *data, size_t n)
{
	FILE *f = tmpfile();
	if (!f || fwrite(data, 1, n, f) != n || fflush(f) || fseek(f, 0, SEEK_SET))
		return -1;
	return dup(fileno(f)); /* the FILE stays open: the temp file lives until exit */
}

static int decode(const void *data, size_t n, size_t max, char **out, size_t *len)
{
	int fd = fd_of(data, n);
	int r = xz_read_all(fd, max, out, len);
	close(fd);
	return r;
}

int main(void)
{
	/* 3 MB of module-like data: compressible, longer than one output step (1 MiB). */
	size_t n = 3u << 20;
	unsigned char *plain = malloc(n);
	for (size_t i = 0; i < n; i++)
		plain[i] = (unsigned char)((i * 2654435761u) >> 24 ^ (i % 251));
	size_t cap = lzma_stream_buffer_bound(n), clen = 0;
	unsigned char *xz = malloc(cap);
	CHECK(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC32, NULL, plain, n, xz, &clen, cap) == LZMA_OK);

	char *out;
	size_t len;
	CHECK_INT(decode(xz, clen, 64u << 20, &out, &len), 0);
	CHECK_INT(len, n);
	CHECK(out && !memcmp(out, plain, n));
	free(out);
	/* Exactly as large as allowed is fine; one byte less is too big. */
	CHECK_INT(decode(xz, clen, n, &out, &len), 0);
	free(out);
	CHECK_INT(decode(xz, clen, n - 1, &out, &len), -EFBIG);
	CHECK(out == NULL);
	/* Truncated, damaged (the check fails), not xz at all, empty. */
	CHECK_INT(decode(xz, clen / 2, 64u << 20, &out, &len), -EBADMSG);
	CHECK(out == NULL);
	xz[clen / 2] ^= 0x55;
	CHECK_INT(decode(xz, clen, 64u << 20, &out, &len), -EBADMSG);
	CHECK_INT(decode(plain, 4096, 64u << 20, &out, &len), -EBADMSG);
	CHECK_INT(decode("", 0, 64u << 20, &out, &len), -EBADMSG);
	/* A read error is its errno. */
	CHECK_INT(xz_read_all(-1, 1 << 20, &out, &len), -EBADF);

	CHECK(xz_path("kernel/fs/ext4/ext4.ko.xz"));
	CHECK(!xz_path("kernel/fs/ext4/ext4.ko"));
	CHECK(!xz_path(".xz"));
	CHECK(!xz_path(NULL));
	free(plain);
	free(xz);
	return check_done("test_xzread");
}
