/* Resolution batches through the client's memo (ML_CLIENT_RESOLVE_ONCE):
 * children that several lists of a run share are asked for once. */
#include <stdbool.h>
#include <stdlib.h>

#include "client.h"
#include "list.h"

/* NULL for a layout: the run may write it. */
static char *key_of(const char *op, const ml__item *it)
{
    if (it->repo->layout)
        return NULL;
    return ml__asprintf("%s %s/%s@%s", op, it->repo->registry, it->repo->repository, it->reference);
}

static int fill(ml__item *it, const ml__memo_value *v)
{
    it->rc = ML_OK;
    it->size = v->size;
    it->len = v->len;
    if ((v->digest && !(it->digest = ml__strdup(v->digest))) ||
        (v->media_type && !(it->media_type = ml__strdup(v->media_type))) ||
        (v->body && !(it->body = ml__strndup(v->body, v->len))))
        return ML_ENOMEM;
    return ML_OK;
}

/* Sends the picked items as one batch; their answers land in items. */
static int send_picked(ml_client *c, ml__batch_fn batch, ml__item *items, const bool *pick, size_t n)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        m += pick[i];
    if (m == 0)
        return ML_OK;
    ml__item *sub = calloc(m, sizeof(*sub));
    if (!sub)
        return ML_ENOMEM;
    for (size_t i = 0, k = 0; i < n; i++)
        if (pick[i])
            sub[k++] = items[i];
    int rc = batch(c, sub, m);
    for (size_t i = 0, k = 0; i < n; i++)
        if (pick[i])
            items[i] = sub[k++];
    free(sub);
    return rc;
}

static void settle_mine(ml__memo *memo, char **keys, const ml__memo_claim *claim, const ml__item *items,
                        size_t n, bool sent)
{
    for (size_t i = 0; i < n; i++) {
        if (claim[i] != ML__MEMO_MINE)
            continue;
        const ml__item *it = &items[i];
        ml__memo_value v = {it->digest, it->media_type, it->size, it->body, it->len};
        if (sent && it->rc == ML_OK)
            ml__memo_put(memo, keys[i], &v);
        else
            ml__memo_drop(memo, keys[i]);
    }
}

int ml__batch_once(ml_client *c, const char *op, ml__batch_fn batch, ml__item *items, size_t n)
{
    ml__memo *memo = ml__client_resolved(c);
    if (!memo)
        return batch(c, items, n);
    char **keys = calloc(n, sizeof(*keys));
    ml__memo_claim *claim = calloc(n, sizeof(*claim));
    bool *pick = calloc(n, sizeof(*pick));
    int rc = keys && claim && pick ? ML_OK : ML_ENOMEM;
    for (size_t i = 0; rc == ML_OK && i < n; i++) {
        const ml__memo_value *v = NULL;
        keys[i] = key_of(op, &items[i]);
        claim[i] = keys[i] ? ml__memo_claim_key(memo, keys[i], &v) : ML__MEMO_NONE;
        if (claim[i] == ML__MEMO_HIT)
            rc = fill(&items[i], v);
        pick[i] = claim[i] == ML__MEMO_MINE || claim[i] == ML__MEMO_NONE;
    }
    if (rc == ML_OK)
        rc = send_picked(c, batch, items, pick, n);
    /* Claims are settled before waiting on others': a thread never waits
     * while holding one, so two threads never wait for each other. */
    if (claim)
        settle_mine(memo, keys, claim, items, n, rc == ML_OK);
    for (size_t i = 0; rc == ML_OK && i < n; i++) {
        const ml__memo_value *v = claim[i] == ML__MEMO_BUSY ? ml__memo_wait(memo, keys[i]) : NULL;
        pick[i] = claim[i] == ML__MEMO_BUSY && !v; /* its thread failed: ask ourselves */
        if (v)
            rc = fill(&items[i], v);
    }
    if (rc == ML_OK)
        rc = send_picked(c, batch, items, pick, n);
    for (size_t i = 0; keys && i < n; i++)
        free(keys[i]);
    free(keys);
    free(claim);
    free(pick);
    return rc;
}
