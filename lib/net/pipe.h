/* A bounded byte pipe from one request's response body to another's
 * request body, both sent by the same ml__http_run: the source pauses
 * while the buffer is full, the sink while it is empty, so a blob crosses
 * from one server to another in constant memory and no file. Here: the
 * ring buffer and the state of its two ends; http.c drives the transfers
 * on either side. */
#ifndef ML_PIPE_H
#define ML_PIPE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct ml__http_pipe ml__http_pipe;

struct ml__http_pipe {
    char *ring;
    size_t cap;
    size_t head;     /* the oldest byte */
    size_t used;
    size_t pending;  /* the chunk a paused source holds back */
    bool src_started, src_paused, src_done;
    bool sink_active, sink_paused, sink_done;
};

/* NULL on ENOMEM; capacity is at least one curl write (16 KiB). The
 * buffer itself exists only while the pair runs. */
ml__http_pipe *ml__http_pipe_new(size_t capacity);
void ml__http_pipe_free(ml__http_pipe *p);
/* Empties the pipe and forgets both ends, for the pair to be sent again. */
void ml__http_pipe_reset(ml__http_pipe *p);

/* What the source may do with a chunk of `len` bytes. */
typedef enum { ML__PIPE_GO, ML__PIPE_WAIT, ML__PIPE_NEVER } ml__pipe_room;
/* GO: ml__pipe_put may store it; WAIT: the pipe is full (the source is
 * marked paused); NEVER: the sink is gone, the chunk could never fit, or
 * no memory. */
ml__pipe_room ml__pipe_room_for(ml__http_pipe *p, size_t len);
void ml__pipe_put(ml__http_pipe *p, const char *data, size_t len);
/* Up to `want` bytes into buf; 0 when the pipe is empty. */
size_t ml__pipe_take(ml__http_pipe *p, char *buf, size_t want);
/* A request's ends of pipes, once it is done for good. */
void ml__pipe_ends(ml__http_pipe *out, ml__http_pipe *in);

#endif
