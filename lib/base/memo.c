#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "memo.h"
#include "util.h"

#define INITIAL_BUCKETS 256

typedef struct entry {
    char *key;
    bool ready; /* false while its claiming thread resolves it */
    ml__memo_value value;
    struct entry *next;
} entry;

struct ml__memo {
    pthread_mutex_t lock;
    pthread_cond_t settled; /* an entry became ready or was dropped */
    entry **buckets;
    size_t bucket_count;
    size_t count;
};

ml__memo *ml__memo_new(void)
{
    ml__memo *m = calloc(1, sizeof(*m));
    entry **buckets = calloc(INITIAL_BUCKETS, sizeof(*buckets));
    if (!m || !buckets) {
        free(m);
        free(buckets);
        return NULL;
    }
    m->buckets = buckets;
    m->bucket_count = INITIAL_BUCKETS;
    pthread_mutex_init(&m->lock, NULL);
    pthread_cond_init(&m->settled, NULL);
    return m;
}

static void value_clear(ml__memo_value *v)
{
    free(v->digest);
    free(v->media_type);
    free(v->body);
    *v = (ml__memo_value){0};
}

static void entry_free(entry *e)
{
    value_clear(&e->value);
    free(e->key);
    free(e);
}

void ml__memo_free(ml__memo *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->bucket_count; i++)
        for (entry *e = m->buckets[i], *next; e; e = next) {
            next = e->next;
            entry_free(e);
        }
    free(m->buckets);
    pthread_mutex_destroy(&m->lock);
    pthread_cond_destroy(&m->settled);
    free(m);
}

static size_t hash(const char *key)
{
    size_t h = 14695981039346656037u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 1099511628211u;
    return h;
}

static entry **slot_of(ml__memo *m, const char *key)
{
    entry **p = &m->buckets[hash(key) % m->bucket_count];
    while (*p && strcmp((*p)->key, key) != 0)
        p = &(*p)->next;
    return p;
}

/* Keeps chains short; a table that cannot grow still works. */
static void grow(ml__memo *m)
{
    size_t n = m->bucket_count * 2;
    entry **b = calloc(n, sizeof(*b));
    if (!b)
        return;
    for (size_t i = 0; i < m->bucket_count; i++)
        for (entry *e = m->buckets[i], *next; e; e = next) {
            next = e->next;
            size_t k = hash(e->key) % n;
            e->next = b[k];
            b[k] = e;
        }
    free(m->buckets);
    m->buckets = b;
    m->bucket_count = n;
}

ml__memo_claim ml__memo_claim_key(ml__memo *m, const char *key, const ml__memo_value **value)
{
    pthread_mutex_lock(&m->lock);
    entry **p = slot_of(m, key);
    ml__memo_claim claim = !*p ? ML__MEMO_MINE : (*p)->ready ? ML__MEMO_HIT : ML__MEMO_BUSY;
    if (claim == ML__MEMO_HIT)
        *value = &(*p)->value;
    if (claim == ML__MEMO_MINE) {
        entry *e = calloc(1, sizeof(*e));
        if (e && (e->key = ml__strdup(key))) {
            *p = e;
            if (++m->count > 2 * m->bucket_count)
                grow(m);
        } else {
            free(e);
            claim = ML__MEMO_NONE;
        }
    }
    pthread_mutex_unlock(&m->lock);
    return claim;
}

static void settle(ml__memo *m, const char *key, const ml__memo_value *v)
{
    pthread_mutex_lock(&m->lock);
    entry **p = slot_of(m, key), *e = *p;
    ml__memo_value copy = {0};
    if (e && v && (!v->digest || (copy.digest = ml__strdup(v->digest))) &&
        (!v->media_type || (copy.media_type = ml__strdup(v->media_type))) &&
        (!v->body || (copy.body = ml__strndup(v->body, v->len)))) {
        copy.size = v->size;
        copy.len = v->len;
        e->value = copy;
        e->ready = true;
    } else if (e) {
        value_clear(&copy);
        *p = e->next;
        entry_free(e);
        m->count--;
    }
    pthread_cond_broadcast(&m->settled);
    pthread_mutex_unlock(&m->lock);
}

void ml__memo_put(ml__memo *m, const char *key, const ml__memo_value *v) { settle(m, key, v); }

void ml__memo_drop(ml__memo *m, const char *key) { settle(m, key, NULL); }

const ml__memo_value *ml__memo_wait(ml__memo *m, const char *key)
{
    pthread_mutex_lock(&m->lock);
    entry *e;
    while ((e = *slot_of(m, key)) && !e->ready)
        pthread_cond_wait(&m->settled, &m->lock);
    pthread_mutex_unlock(&m->lock);
    return e ? &e->value : NULL;
}
