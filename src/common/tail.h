/* The end of a child process's output (its stderr), kept while it is forwarded, so that an error
 * about the child can quote its own last words. Internal. */
#ifndef MF_COMMON_TAIL_H
#define MF_COMMON_TAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Bytes of output kept (the last ones). */
#define MF_TAIL_BYTES 4096

typedef struct mf_tail {
  char buf[MF_TAIL_BYTES];
  size_t len;
} mf_tail;

/* Appends n bytes of output, dropping the oldest beyond MF_TAIL_BYTES. */
void mf_tail_add(mf_tail *t, const char *data, size_t n);

/* Forgets everything kept. */
void mf_tail_clear(mf_tail *t);

/* The last `max_lines` non-blank lines kept (an unfinished last line counts), each cut to 300
 * bytes, joined by " | " into out (size bytes, NUL-terminated; "" when nothing was written). */
void mf_tail_lines(const mf_tail *t, size_t max_lines, char *out, size_t size);

/* Reads what is available on fd (non-blocking or after poll()) into t, copying it to `echo`
 * (a file descriptor, -1 = none). Returns false at end of file or on a read error (EAGAIN
 * excepted). */
bool mf_tail_read(mf_tail *t, int fd, int echo);

/* Runs `/bin/sh -c cmd` with its stdout and stderr copied to our stderr and their end kept in
 * `tail`; waits for it and stores its wait status in *status. After the shell has exited, output
 * still pending is read for at most a moment (a background child keeping the pipe open does not
 * block). Returns false (errno set) when it could not be started or waited for. */
bool mf_tail_run(const char *cmd, mf_tail *tail, int *status);

#endif
