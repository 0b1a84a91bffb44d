/* Annotation sets: key/value pairs kept sorted by key (manifest.h). */
#include <stdlib.h>
#include <string.h>

#include "manifest.h"
#include "util.h"

/* Index of key, or of the slot where it would be inserted. */
static size_t ann_search(const ml__annotations *a, const char *key, bool *found)
{
    size_t lo = 0, hi = a->count;
    *found = false;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(a->keys[mid], key);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int ml__annotations_set(ml__annotations *a, const char *key, const char *value)
{
    bool found;
    if (!a || !key || !value)
        return ML_EINVAL;
    size_t i = ann_search(a, key, &found);
    if (found)
        return ml__str_replace(&a->values[i], value);
    size_t n;
    if (!ml__size_add(a->count, 1, &n) || n > SIZE_MAX / sizeof(char *))
        return ML_ENOMEM;
    char *k = ml__strdup(key), *v = ml__strdup(value);
    char **keys = k && v ? realloc(a->keys, n * sizeof(char *)) : NULL;
    if (keys)
        a->keys = keys;
    char **values = keys ? realloc(a->values, n * sizeof(char *)) : NULL;
    if (!values) {
        free(k);
        free(v);
        return ML_ENOMEM;
    }
    a->values = values;
    memmove(a->keys + i + 1, a->keys + i, (a->count - i) * sizeof(char *));
    memmove(a->values + i + 1, a->values + i, (a->count - i) * sizeof(char *));
    a->keys[i] = k;
    a->values[i] = v;
    a->count = n;
    return ML_OK;
}

const char *ml__annotations_get(const ml__annotations *a, const char *key)
{
    bool found;
    if (!a || !key)
        return NULL;
    size_t i = ann_search(a, key, &found);
    return found ? a->values[i] : NULL;
}

void ml__annotations_free(ml__annotations *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->count; i++) {
        free(a->keys[i]);
        free(a->values[i]);
    }
    free(a->keys);
    free(a->values);
    memset(a, 0, sizeof(*a));
}

int ml__annotations_alloc(ml__annotations *a, size_t n)
{
    memset(a, 0, sizeof(*a));
    if (n == 0)
        return ML_OK;
    a->keys = calloc(n, sizeof(char *));
    a->values = calloc(n, sizeof(char *));
    if (!a->keys || !a->values) {
        ml__annotations_free(a);
        return ML_ENOMEM;
    }
    return ML_OK;
}

int ml__annotations_copy(ml__annotations *dst, const ml__annotations *src)
{
    if (!dst || !src)
        return ML_EINVAL;
    if (ml__annotations_alloc(dst, src->count) != ML_OK)
        return ML_ENOMEM;
    for (size_t i = 0; i < src->count; i++) {
        dst->keys[i] = ml__strdup(src->keys[i]);
        dst->values[i] = ml__strdup(src->values[i]);
        dst->count++;
        if (!dst->keys[i] || !dst->values[i]) {
            ml__annotations_free(dst);
            return ML_ENOMEM;
        }
    }
    return ML_OK;
}
