/* pump: the threads that move bytes between the child's pipes and the rings.
 *
 * A reader thread drains one output pipe (stdout or stderr) into its ring
 * until EOF, or until the caller closes the FILE (ring consumer closed and
 * the channel's wake descriptor signalled).  The writer thread feeds the
 * input ring to the child's stdin until the caller closed tochild and every
 * byte is delivered, or the child stops reading (EPIPE).  Each thread closes
 * its pipe end when its stream ends, so the child sees EOF or EPIPE then.
 */
#ifndef POPEN2_PUMP_H
#define POPEN2_PUMP_H

struct channel;

/* Starts the channel's thread: a reader for CH_STDOUT / CH_STDERR (joinable),
 * the writer for CH_STDIN (holding a reference on the object; proc_finish
 * detaches it while a child may still read, joins it otherwise).
 * 0 or -errno (EAGAIN, ENOMEM). */
int pump_start(struct channel *ch);

#endif
