/* Reading an xz-compressed file whole into memory: the image's kernel modules are xz files
 * (smaller unpacked and in the image), and Debian's kernel takes only plain modules. */
#ifndef LB_XZREAD_H
#define LB_XZREAD_H

#include <stddef.h>

/* Decode the xz file open at fd into a malloc'd buffer (*out, *len). More than max bytes of
 * output gives -EFBIG, data that is not xz or is damaged -EBADMSG, a read error its -errno.
 * Returns 0 or -errno; *out is NULL on error. */
int xz_read_all(int fd, size_t max, char **out, size_t *len);

/* Does path name an xz file (ends in ".xz")? */
int xz_path(const char *path);

#endif
