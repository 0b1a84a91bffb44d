/* Child processes: run a program without a shell, feed its stdin, collect
 * stdout and stderr within size and time bounds. How the child ended is
 * data; only failing to start or watch it is an error. */
#ifndef ML_PROC_H
#define ML_PROC_H

#include <stddef.h>

#include "util.h"

typedef struct ml__proc_spec {
    /* NULL-terminated; argv[0] is looked up in PATH. */
    const char *const *argv;
    /* Written to its stdin before it starts: at most PIPE_BUF bytes (512
     * on any POSIX system), which the pipe holds whole. */
    const char *input;
    size_t input_len;
    int timeout_ms;
    size_t output_max; /* per stream */
} ml__proc_spec;

typedef enum ml__proc_end {
    ML__PROC_EXITED,    /* code: its exit status */
    ML__PROC_SIGNALED,  /* code: the signal */
    ML__PROC_TIMED_OUT, /* no end of its output by the deadline: killed */
    ML__PROC_TOO_BIG,   /* a stream went past output_max: killed */
    ML__PROC_UNKNOWN,   /* reaped elsewhere (SIGCHLD ignored by the application) */
} ml__proc_end;

typedef struct ml__proc_result {
    ml__proc_end end;
    int code;
    ml__buf out; /* what it wrote, up to the limit */
    ml__buf err;
} ml__proc_result;

/* Runs the program in its own process group with default signal handling
 * and an empty signal mask. A child given up on (deadline, output limit)
 * is killed with its whole group, so nothing it started lingers; a child
 * that exits while a background process keeps its streams open is not
 * waited for beyond what they hold already. ML_ENOTFOUND when argv[0] is
 * not in PATH, ML_EIO when it cannot be started or watched, ML_ENOMEM. */
int ml__proc_run(const ml__proc_spec *spec, ml__proc_result *res, ml_error **err);
/* Frees both buffers, wiping stdout first: it may hold a secret. */
void ml__proc_result_clear(ml__proc_result *res);

#endif
