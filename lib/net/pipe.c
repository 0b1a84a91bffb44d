/* The ring buffer between the two transfers of a piped copy. */
#include <stdlib.h>
#include <string.h>

#include "pipe.h"

/* curl's largest write (CURL_MAX_WRITE_SIZE): a chunk must fit whole. */
#define MIN_CAPACITY 16384u

ml__http_pipe *ml__http_pipe_new(size_t capacity)
{
    ml__http_pipe *p = calloc(1, sizeof(*p));
    if (p)
        p->cap = capacity < MIN_CAPACITY ? MIN_CAPACITY : capacity;
    return p;
}

void ml__http_pipe_free(ml__http_pipe *p)
{
    if (!p)
        return;
    free(p->ring);
    free(p);
}

void ml__http_pipe_reset(ml__http_pipe *p)
{
    free(p->ring);
    *p = (ml__http_pipe){.cap = p->cap};
}

/* A chunk goes in whole or waits (curl hands the same chunk again after
 * the pause). */
ml__pipe_room ml__pipe_room_for(ml__http_pipe *p, size_t len)
{
    if (p->sink_done || len > p->cap)
        return ML__PIPE_NEVER; /* nobody reads any more, or it could never fit */
    /* The buffer exists while bytes flow: a batch of many copies holds
     * only those of the pairs running. */
    if (!p->ring && !(p->ring = malloc(p->cap)))
        return ML__PIPE_NEVER;
    if (p->cap - p->used < len) {
        p->src_paused = true;
        p->pending = len;
        return ML__PIPE_WAIT;
    }
    return ML__PIPE_GO;
}

void ml__pipe_put(ml__http_pipe *p, const char *data, size_t len)
{
    size_t tail = (p->head + p->used) % p->cap;
    size_t first = len < p->cap - tail ? len : p->cap - tail;
    memcpy(p->ring + tail, data, first);
    memcpy(p->ring, data + first, len - first);
    p->used += len;
}

size_t ml__pipe_take(ml__http_pipe *p, char *buf, size_t want)
{
    size_t n = want < p->used ? want : p->used;
    if (n == 0)
        return 0;
    size_t first = n < p->cap - p->head ? n : p->cap - p->head;
    memcpy(buf, p->ring + p->head, first);
    memcpy(buf + first, p->ring, n - first);
    p->head = (p->head + n) % p->cap;
    p->used -= n;
    return n;
}

/* The buffer goes once both ends are done. */
static void drop_spent(ml__http_pipe *p)
{
    if (!p || !p->src_done || !p->sink_done)
        return;
    free(p->ring);
    p->ring = NULL;
    p->used = p->head = 0;
}

void ml__pipe_ends(ml__http_pipe *out, ml__http_pipe *in)
{
    if (out)
        out->src_done = true;
    if (in) {
        in->sink_done = true;
        in->sink_active = false;
    }
    drop_spent(out);
    drop_spent(in);
}
