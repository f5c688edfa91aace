/* stream: the FILE* face of a channel (fopencookie, or funopen on the BSDs). */
#ifndef POPEN2_STREAM_H
#define POPEN2_STREAM_H

#include <stdio.h>

struct channel;

/* Opens the channel's FILE: read-only for stdout/stderr, write-only for
 * stdin, buffered as Python's bufsize says (-1 default, 0 none, 1 line,
 * N > 1 about N bytes).  NULL with errno on failure. */
FILE *stream_open(struct channel *ch, int bufsize);

#endif
