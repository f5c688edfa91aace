/* spill: the unlinked temporary file behind a ring with the SPILL policy.
 *
 * The file never has a name a second process could open: O_TMPFILE where the
 * kernel and file system support it, else mkostemp + unlink at once.  It is
 * close-on-exec and numbered 3 or above like every library descriptor.  The
 * ring owns it and calls these helpers under its mutex.
 */
#ifndef POPEN2_SPILL_H
#define POPEN2_SPILL_H

#include <stddef.h>
#include <sys/types.h>

/* Creates the file in $TMPDIR (or /tmp); the descriptor or -errno. */
int spill_open(void);
/* Writes all n bytes at offset off; 0 or -errno (ENOSPC, EIO ...). */
int spill_write(int fd, unsigned long long off, const void *buf, size_t n);
/* Reads up to n bytes at offset off; the count (> 0) or -errno (-EIO for a
 * file shorter than the ring believes). */
ssize_t spill_read(int fd, unsigned long long off, void *buf, size_t n);
/* Gives the disk space back once every byte was read; best effort. */
void spill_reset(int fd);

#endif
