/* fd: descriptor helpers.  Every descriptor the library makes is
 * close-on-exec from birth and numbered 3 or above, so posix_spawn's dup2
 * actions onto 0, 1 and 2 can never clobber one another. */
#ifndef POPEN2_FD_H
#define POPEN2_FD_H

/* A way to interrupt a thread blocked in poll(): an eventfd where the system
 * has one, else a pipe.  rfd is polled, wfd written. */
struct wake {
    int rfd;
    int wfd;
};

/* pipe2(O_CLOEXEC) with both ends moved to 3 or above; 0 or -errno. */
int fd_pipe(int fds[2]);
/* Puts fd in non-blocking mode; 0 or -errno. */
int fd_set_nonblock(int fd);
/* Raises a pipe's capacity to 1 MiB (capped by the system's limit).  Best
 * effort: a refusal (EPERM past pipe-user-pages-soft) is not an error. */
void fd_grow_pipe(int fd);
/* close() that keeps errno and ignores -1; returns -1 to reset the caller's copy. */
int fd_close(int fd);

/* Beyond popen2: moves a descriptor the library just got from open(),
 * eventfd(), pidfd_open() ... to 3 or above, close-on-exec (closing the
 * original); the new descriptor, or -errno (closing it too). */
int fd_lift(int fd);

/* Opens a wake-up descriptor (close-on-exec, non-blocking); 0 or -errno. */
int wake_open(struct wake *w);
/* Makes rfd readable for good; async-signal-safe. */
void wake_signal(struct wake *w);
/* Closes it; accepts a wake that was never opened ({-1, -1}). */
void wake_close(struct wake *w);

#endif
