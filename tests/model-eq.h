/* Equality of manifest models, for the tests and the manifest fuzz target
 * (round trips: parse, emit, parse again must give the same model). The
 * media type strings are not compared here: they may differ in parameters
 * or case while the kind is the same; callers that need them equal check
 * them too. */
#ifndef ML_TEST_MODEL_EQ_H
#define ML_TEST_MODEL_EQ_H

#include <stdbool.h>

#include "manifest.h"

static inline bool strvec_eq(const ml__strvec *a, const ml__strvec *b)
{
    if (a->count != b->count)
        return false;
    for (size_t i = 0; i < a->count; i++)
        if (!ml__str_eq(a->items[i], b->items[i]))
            return false;
    return true;
}

static inline bool platform_eq(const ml_platform *a, const ml_platform *b)
{
    return ml__str_eq(a->os, b->os) && ml__str_eq(a->architecture, b->architecture) &&
           ml__str_eq(a->variant, b->variant) && ml__str_eq(a->os_version, b->os_version) &&
           strvec_eq(&a->os_features, &b->os_features) && strvec_eq(&a->features, &b->features);
}

static inline bool annotations_eq(const ml__annotations *a, const ml__annotations *b)
{
    if (a->count != b->count)
        return false;
    for (size_t i = 0; i < a->count; i++)
        if (!ml__str_eq(a->keys[i], b->keys[i]) || !ml__str_eq(a->values[i], b->values[i]))
            return false;
    return true;
}

static inline bool descriptor_eq(const ml__descriptor *a, const ml__descriptor *b)
{
    return ml__str_eq(a->media_type, b->media_type) && ml__str_eq(a->digest, b->digest) && a->size == b->size &&
           a->has_platform == b->has_platform && platform_eq(&a->platform, &b->platform) &&
           annotations_eq(&a->annotations, &b->annotations) && ml__str_eq(a->artifact_type, b->artifact_type) &&
           strvec_eq(&a->urls, &b->urls) && annotations_eq(&a->extra, &b->extra) &&
           annotations_eq(&a->platform_extra, &b->platform_extra);
}

static inline bool manifest_eq(const ml__manifest *a, const ml__manifest *b)
{
    if (a->kind != b->kind || a->layer_count != b->layer_count || a->manifest_count != b->manifest_count ||
        a->has_subject != b->has_subject || !ml__str_eq(a->artifact_type, b->artifact_type) ||
        !annotations_eq(&a->annotations, &b->annotations) || !annotations_eq(&a->extra, &b->extra))
        return false;
    if (!ml__kind_is_list(a->kind) && !descriptor_eq(&a->config, &b->config))
        return false;
    if (a->has_subject && !descriptor_eq(&a->subject, &b->subject))
        return false;
    for (size_t i = 0; i < a->layer_count; i++)
        if (!descriptor_eq(&a->layers[i], &b->layers[i]))
            return false;
    for (size_t i = 0; i < a->manifest_count; i++)
        if (!descriptor_eq(&a->manifests[i], &b->manifests[i]))
            return false;
    return true;
}

#endif
