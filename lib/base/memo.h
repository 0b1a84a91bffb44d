/* What image references resolved to, remembered for the lifetime of a
 * client that is asked to (ML_CLIENT_RESOLVE_ONCE) and shared by the threads
 * using it: the first thread to claim a key resolves it, the others wait for
 * its answer instead of asking the registry again. */
#ifndef ML_MEMO_H
#define ML_MEMO_H

#include <stddef.h>
#include <stdint.h>

typedef struct ml__memo ml__memo;

/* A resolved descriptor, and the manifest when it was read. */
typedef struct ml__memo_value {
    char *digest;
    char *media_type;
    int64_t size;
    char *body;
    size_t len;
} ml__memo_value;

typedef enum ml__memo_claim {
    ML__MEMO_NONE, /* not remembered (out of memory): resolve it without */
    ML__MEMO_HIT,  /* *value is the answer, borrowed until the memo is freed */
    ML__MEMO_MINE, /* the caller resolves it, then ml__memo_put or ml__memo_drop */
    ML__MEMO_BUSY, /* another thread resolves it: ml__memo_wait */
} ml__memo_claim;

/* NULL on ENOMEM. */
ml__memo *ml__memo_new(void);
void ml__memo_free(ml__memo *m);

ml__memo_claim ml__memo_claim_key(ml__memo *m, const char *key, const ml__memo_value **value);
/* Keeps a copy of the claimed key's answer and wakes its waiters (out of
 * memory: drops the claim instead). */
void ml__memo_put(ml__memo *m, const char *key, const ml__memo_value *v);
/* Gives a claim up (the resolution failed): a waiter resolves it itself. */
void ml__memo_drop(ml__memo *m, const char *key);
/* Waits for a key another thread claimed: its answer, or NULL when that
 * thread gave it up. */
const ml__memo_value *ml__memo_wait(ml__memo *m, const char *key);

#endif
