/* active: Python's popen2._active, the freed objects whose child is not yet
 * reaped.  A global list of pids under one mutex; nothing else in the library
 * takes that mutex, so it nests under any other lock. */
#ifndef POPEN2_ACTIVE_H
#define POPEN2_ACTIVE_H

#include <sys/types.h>

struct active_node {
    pid_t pid;
    struct active_node *next;
};

/* Takes ownership of node (allocated when the object was made, so that a free
 * can never fail for want of memory) and reaps its child later. */
void active_add(struct active_node *node);

#endif
