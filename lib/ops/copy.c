#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "copy.h"

int ml__copy_init(ml__copy *cp, size_t count)
{
    size_t n = count ? count : 1;
    *cp = (ml__copy){.count = count};
    cp->gets = calloc(n, sizeof(*cp->gets));
    cp->models = calloc(n, sizeof(*cp->models));
    cp->skipped = calloc(n, sizeof(*cp->skipped));
    return cp->gets && cp->models && cp->skipped ? ML_OK : ML_ENOMEM;
}

void ml__copy_clear(ml__copy *cp)
{
    for (size_t k = 0; k < cp->count; k++) {
        if (cp->gets)
            ml__item_clear(&cp->gets[k]);
        if (cp->models)
            ml__manifest_clear(&cp->models[k]);
    }
    free(cp->gets);
    free(cp->models);
    free(cp->skipped);
    free(cp->needs);
    *cp = (ml__copy){0};
}

/* Where digest is among the needs listed so far (need_count: not there). */
static size_t need_index(const ml__copy *cp, const char *digest)
{
    size_t i = 0;
    while (i < cp->need_count && strcmp(cp->needs[i].digest, digest) != 0)
        i++;
    return i;
}

static void add_need(ml__copy *cp, const ml_ref *from, const ml__descriptor *d)
{
    /* Foreign layers (Windows base layers, urls) live elsewhere. */
    if (d->digest && d->urls.count == 0 && need_index(cp, d->digest) == cp->need_count)
        cp->needs[cp->need_count++] = (ml__blob_need){.from = from, .digest = d->digest, .size = d->size};
}

static int parse_one(ml__copy *cp, size_t k, void *payload)
{
    ml__item *g = &cp->gets[k];
    int rc = g->rc;
    if (rc == ML_OK)
        rc = ml__manifest_parse(&cp->models[k], g->body, g->len, g->media_type, &g->err);
    if (rc == ML_OK && ml__kind_is_list(cp->models[k].kind))
        rc = ml__error_set(&g->err, ML_EUNSUPPORTED, "%s is an index: not copied as an image", g->reference);
    if (rc == ML_OK && cp->check)
        rc = cp->check(payload, k, &cp->models[k], &g->err);
    return g->rc = rc;
}

static int list_needs(ml__copy *cp)
{
    size_t blobs = 0;
    for (size_t k = 0; k < cp->count; k++)
        if (!cp->skipped[k])
            blobs += cp->models[k].layer_count + 1;
    if (!(cp->needs = calloc(blobs ? blobs : 1, sizeof(*cp->needs))))
        return ML_ENOMEM;
    for (size_t k = 0; k < cp->count; k++) {
        if (cp->skipped[k])
            continue;
        add_need(cp, cp->gets[k].repo, &cp->models[k].config);
        for (size_t j = 0; j < cp->models[k].layer_count; j++)
            add_need(cp, cp->gets[k].repo, &cp->models[k].layers[j]);
    }
    return ML_OK;
}

int ml__copy_read(ml_client *c, ml__copy *cp, ml__copy_skip_fn skip, void *payload, size_t *failed,
                  ml_error **err)
{
    if (ml__store_get_manifests(c, cp->gets, cp->count) != ML_OK)
        return ml__error_set(err, ML_ENOMEM, "out of memory");
    for (size_t k = 0; k < cp->count; k++) {
        int rc = parse_one(cp, k, payload);
        if (rc == ML_ENOMEM)
            return ml__error_set(err, rc, "out of memory");
        if (rc == ML_OK)
            continue;
        if (skip && skip(payload, k, &cp->gets[k])) {
            cp->skipped[k] = true;
            continue;
        }
        if (failed)
            *failed = k;
        return ml__item_take_error(&cp->gets[k], err);
    }
    return list_needs(cp) == ML_OK ? ML_OK : ml__error_set(err, ML_ENOMEM, "out of memory");
}

/* Manifest k as a PUT into `to`, pending until its blobs are in: the body
 * moves from the read to the write; its type is the one the JSON states
 * (a Content-Type may be generic). */
static int make_pending(ml__copy *cp, size_t k, const ml_ref *to, ml__item *put, ml__pending_manifest *p)
{
    ml__item *g = &cp->gets[k];
    const ml__manifest *m = &cp->models[k];
    size_t *needs = calloc(m->layer_count + 1, sizeof(*needs));
    *put = (ml__item){.repo = to, .reference = g->reference, .body = g->body, .len = g->len,
                      .media_type = ml__strdup(m->media_type ? m->media_type : g->media_type)};
    g->body = NULL;
    *p = (ml__pending_manifest){.put = put, .needs = needs};
    if (!needs || !put->media_type)
        return ML_ENOMEM;
    /* Foreign layers are not needs: nothing to wait for. */
    for (size_t j = 0; j <= m->layer_count; j++) {
        const ml__descriptor *d = j == 0 ? &m->config : &m->layers[j - 1];
        size_t i = d->digest ? need_index(cp, d->digest) : cp->need_count;
        if (i < cp->need_count)
            needs[p->need_count++] = i;
    }
    return ML_OK;
}

/* The manifests ensure_blobs did not write, written now. */
static int put_rest(ml_client *c, ml__pending_manifest *pending, size_t m)
{
    ml__item *rest = calloc(m ? m : 1, sizeof(*rest));
    size_t r = 0;
    if (!rest)
        return ML_ENOMEM;
    for (size_t k = 0; k < m; k++)
        if (!pending[k].sent)
            rest[r++] = *pending[k].put;
    int rc = r ? ml__store_put_manifests(c, rest, r) : ML_OK;
    for (size_t k = 0, j = 0; k < m; k++)
        if (!pending[k].sent)
            *pending[k].put = rest[j++];
    free(rest);
    return rc;
}

int ml__copy_write(ml_client *c, const ml_ref *to, ml__copy *cp, size_t *copied, ml_error **err)
{
    ml__item *puts = calloc(cp->count ? cp->count : 1, sizeof(*puts));
    ml__pending_manifest *pending = calloc(cp->count ? cp->count : 1, sizeof(*pending));
    size_t m = 0;
    int rc = puts && pending ? ML_OK : ML_ENOMEM;
    for (size_t k = 0; rc == ML_OK && k < cp->count; k++) {
        if (cp->skipped[k])
            continue;
        rc = make_pending(cp, k, to, &puts[m], &pending[m]);
        m++; /* cleared below whatever happened */
    }
    if (rc != ML_OK)
        rc = ml__error_set(err, ML_ENOMEM, "out of memory");
    ml__client_step(c, "blobs", cp->need_count);
    if (rc == ML_OK)
        rc = ml__store_ensure_blobs(c, to, cp->needs, cp->need_count, pending, m, err);
    ml__client_step(c, "children", m);
    if (rc == ML_OK && put_rest(c, pending, m) != ML_OK)
        rc = ml__error_set(err, ML_ENOMEM, "out of memory");
    for (size_t k = 0; rc == ML_OK && k < m; k++)
        rc = ml__item_take_error(&puts[k], err);
    if (rc == ML_OK && copied)
        *copied += m;
    ml__client_step(c, NULL, 0);
    for (size_t k = 0; k < m; k++) {
        ml__item_clear(&puts[k]);
        free(pending[k].needs);
    }
    free(puts);
    free(pending);
    return rc;
}
