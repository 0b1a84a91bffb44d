/* Reading one manifest for people and scripts, and deleting lists. */
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "jsonout.h"
#include "manifest.h"
#include "referrers.h"
#include "store.h"

struct ml_manifest {
    char *ref;
    char *digest;
    char *media_type;
    char *bytes;
    size_t len;
    ml__manifest model;
    char **platforms; /* formatted, one per entry (NULL without platform) */
    ml__strvec tags;  /* ml_manifest_fetch_tags */
};

void ml_manifest_free(ml_manifest *m)
{
    if (!m)
        return;
    for (size_t i = 0; m->platforms && i < m->model.manifest_count; i++)
        free(m->platforms[i]);
    free(m->platforms);
    ml__strvec_free(&m->tags);
    ml__manifest_clear(&m->model);
    free(m->ref);
    free(m->digest);
    free(m->media_type);
    free(m->bytes);
    free(m);
}

static int format_platforms(ml_manifest *m)
{
    size_t n = m->model.manifest_count;
    m->platforms = calloc(n ? n : 1, sizeof(*m->platforms));
    if (!m->platforms)
        return ML_ENOMEM;
    for (size_t i = 0; i < n; i++)
        if (m->model.manifests[i].has_platform && !(m->platforms[i] = ml__platform_format(&m->model.manifests[i].platform)))
            return ML_ENOMEM;
    return ML_OK;
}

/* Reads `ref` (tag or digest; no tag means "latest"). */
static int fetch(ml_manifest *m, ml_client *c, const ml_ref *ref, ml_error **err)
{
    ml__item it = {.repo = ref, .reference = ref->digest ? ref->digest : ref->tag ? ref->tag : "latest"};
    int rc = ml__store_get_manifests(c, &it, 1) == ML_OK ? ml__item_take_error(&it, err) : ML_ENOMEM;
    if (rc == ML_OK)
        rc = ml__manifest_parse(&m->model, it.body, it.len, it.media_type, err);
    if (rc == ML_OK) {
        m->digest = it.digest;
        m->bytes = it.body;
        m->len = it.len;
        it.digest = it.body = NULL;
        m->media_type = ml__strdup(m->model.media_type);
        if (!m->media_type || format_platforms(m) != ML_OK)
            rc = ml__error_set(err, ML_ENOMEM, "out of memory");
    }
    ml__item_clear(&it);
    return rc;
}

int ml_manifest_fetch(ml_manifest **out, ml_client *client, const char *ref, ml_error **err)
{
    if (!out || !client || !ref)
        return ml__error_set(err, ML_EINVAL, "ml_manifest_fetch: NULL argument");
    *out = NULL;
    ml_ref r = {0};
    int rc = ml__ref_parse(&r, ref, err);
    if (rc != ML_OK)
        return rc;
    ml_manifest *m = calloc(1, sizeof(*m));
    if (!m || !(m->ref = ml__ref_format(&r)))
        rc = ml__error_set(err, ML_ENOMEM, "out of memory");
    if (rc == ML_OK)
        rc = fetch(m, client, &r, err);
    ml__ref_clear(&r);
    if (rc != ML_OK) {
        ml_manifest_free(m);
        return rc;
    }
    *out = m;
    return ML_OK;
}

const char *ml_manifest_ref(const ml_manifest *m) { return m ? m->ref : NULL; }
const char *ml_manifest_digest(const ml_manifest *m) { return m ? m->digest : NULL; }
const char *ml_manifest_media_type(const ml_manifest *m) { return m ? m->media_type : NULL; }
int ml_manifest_is_list(const ml_manifest *m) { return m && ml__kind_is_list(m->model.kind); }
size_t ml_manifest_entry_count(const ml_manifest *m) { return m ? m->model.manifest_count : 0; }

const char *ml_manifest_bytes(const ml_manifest *m, size_t *len)
{
    if (len)
        *len = m ? m->len : 0;
    return m ? m->bytes : NULL;
}

static const ml__descriptor *entry(const ml_manifest *m, size_t i)
{
    return m && i < m->model.manifest_count ? &m->model.manifests[i] : NULL;
}

const char *ml_manifest_entry_digest(const ml_manifest *m, size_t i) { return entry(m, i) ? entry(m, i)->digest : NULL; }
const char *ml_manifest_entry_media_type(const ml_manifest *m, size_t i) { return entry(m, i) ? entry(m, i)->media_type : NULL; }
int64_t ml_manifest_entry_size(const ml_manifest *m, size_t i) { return entry(m, i) ? entry(m, i)->size : -1; }
const char *ml_manifest_entry_platform(const ml_manifest *m, size_t i) { return entry(m, i) ? m->platforms[i] : NULL; }
const char *ml_manifest_entry_artifact_type(const ml_manifest *m, size_t i)
{
    return entry(m, i) ? entry(m, i)->artifact_type : NULL;
}

static const ml_platform *entry_platform(const ml_manifest *m, size_t i)
{
    const ml__descriptor *d = entry(m, i);
    return d && d->has_platform ? &d->platform : NULL;
}

const char *ml_manifest_entry_os(const ml_manifest *m, size_t i)
{
    return entry_platform(m, i) ? entry_platform(m, i)->os : NULL;
}
const char *ml_manifest_entry_architecture(const ml_manifest *m, size_t i)
{
    return entry_platform(m, i) ? entry_platform(m, i)->architecture : NULL;
}
const char *ml_manifest_entry_variant(const ml_manifest *m, size_t i)
{
    return entry_platform(m, i) ? entry_platform(m, i)->variant : NULL;
}
const char *ml_manifest_entry_os_version(const ml_manifest *m, size_t i)
{
    return entry_platform(m, i) ? entry_platform(m, i)->os_version : NULL;
}
size_t ml_manifest_entry_os_feature_count(const ml_manifest *m, size_t i)
{
    return entry_platform(m, i) ? entry_platform(m, i)->os_features.count : 0;
}
const char *ml_manifest_entry_os_feature(const ml_manifest *m, size_t i, size_t feature)
{
    return ml__strvec_at(entry_platform(m, i) ? &entry_platform(m, i)->os_features : NULL, feature);
}

size_t ml_manifest_entry_annotation_count(const ml_manifest *m, size_t i)
{
    return entry(m, i) ? entry(m, i)->annotations.count : 0;
}
const char *ml_manifest_entry_annotation_key(const ml_manifest *m, size_t i, size_t a)
{
    return a < ml_manifest_entry_annotation_count(m, i) ? entry(m, i)->annotations.keys[a] : NULL;
}
const char *ml_manifest_entry_annotation_value(const ml_manifest *m, size_t i, size_t a)
{
    return a < ml_manifest_entry_annotation_count(m, i) ? entry(m, i)->annotations.values[a] : NULL;
}

/* Reads the image's config from the manifest's repository. */
static int config_platform(const ml_manifest *m, ml_client *client, ml_platform *p, ml_error **err)
{
    ml_ref r = {0};
    int rc = ml__ref_parse(&r, m->ref, err);
    ml__item it = {.repo = &r, .reference = m->model.config.digest};
    if (rc == ML_OK)
        rc = ml__store_get_blobs(client, &it, 1, ML__CONFIG_MAX) == ML_OK ? ml__item_take_error(&it, err) : ML_ENOMEM;
    if (rc == ML_OK)
        rc = ml__config_platform(it.body, it.len, p, err);
    if (rc != ML_OK && rc != ML_ENOMEM)
        ml__error_prefix(err, rc, "%s: config %s", m->ref, m->model.config.digest);
    ml__item_clear(&it);
    ml__ref_clear(&r);
    return rc;
}

int ml_manifest_platform(const ml_manifest *m, ml_client *client, char **platform, ml_error **err)
{
    if (platform)
        *platform = NULL;
    if (!m || !client || !platform)
        return ml__error_set(err, ML_EINVAL, "ml_manifest_platform: NULL argument");
    if (!m->model.config.digest)
        return ml__error_set(err, ML_EINVAL, "%s is a %s, not an image: its entries have the platforms", m->ref,
                             m->media_type);
    ml_platform p = {0};
    int rc = config_platform(m, client, &p, err);
    if (rc == ML_OK && !(*platform = ml__platform_format(&p)))
        rc = ml__error_set(err, ML_ENOMEM, "out of memory");
    ml__platform_clear(&p);
    return rc;
}

int ml_manifest_select(const ml_manifest *m, const char *platform, size_t *index, ml_error **err)
{
    if (!m || !platform || !index)
        return ml__error_set(err, ML_EINVAL, "ml_manifest_select: NULL argument");
    ml_platform want = {0};
    int rc = ml__platform_parse(&want, platform, err);
    if (rc == ML_OK)
        rc = ml__platform_normalize(&want, NULL);
    int best = 0;
    for (size_t i = 0; rc == ML_OK && i < m->model.manifest_count; i++) {
        const ml__descriptor *d = &m->model.manifests[i];
        int score = d->has_platform && !ml__descriptor_is_attestation(d) ? ml__platform_match(&want, &d->platform) : 0;
        if (score > best) {
            best = score;
            *index = i;
        }
    }
    if (rc == ML_OK && best == 0)
        rc = ml__error_set(err, ML_ENOTFOUND, "%s has no entry for platform %s", m->ref, platform);
    ml__platform_clear(&want);
    return rc;
}

/* ---- JSON view ---------------------------------------------------------- */

static void json_annotations(ml__json_writer *w, const ml__annotations *a)
{
    if (a->count)
        ml__jw_annotations(w, "annotations", a);
}

static void json_descriptor(ml__json_writer *w, const char *key, const ml__descriptor *d)
{
    ml__jw_object(w, key);
    ml__jw_string(w, "mediaType", d->media_type ? d->media_type : "");
    ml__jw_string(w, "digest", d->digest ? d->digest : "");
    ml__jw_int(w, "size", d->size);
    if (d->has_platform)
        ml__jw_platform(w, "platform", &d->platform);
    json_annotations(w, &d->annotations);
    ml__jw_end_object(w);
}

static void json_descriptors(ml__json_writer *w, const char *key, const ml__descriptor *d, size_t n)
{
    ml__jw_array(w, key);
    for (size_t i = 0; i < n; i++)
        json_descriptor(w, NULL, &d[i]);
    ml__jw_end_array(w);
}

int ml_manifest_to_json(const ml_manifest *m, char **out, ml_error **err)
{
    if (!m || !out)
        return ml__error_set(err, ML_EINVAL, "ml_manifest_to_json: NULL argument");
    ml__json_writer w = {0};
    ml__jw_object(&w, NULL);
    ml__jw_string(&w, "ref", m->ref);
    ml__jw_string(&w, "digest", m->digest);
    ml__jw_string(&w, "mediaType", m->media_type);
    ml__jw_int(&w, "size", (int64_t)m->len);
    ml__jw_bool(&w, "isList", ml_manifest_is_list(m));
    if (ml_manifest_is_list(m)) {
        json_descriptors(&w, "manifests", m->model.manifests, m->model.manifest_count);
    } else {
        json_descriptor(&w, "config", &m->model.config);
        json_descriptors(&w, "layers", m->model.layers, m->model.layer_count);
    }
    json_annotations(&w, &m->model.annotations);
    ml__jw_end_object(&w);
    return ml__jw_finish(&w, out, err);
}

/* ---- delete ------------------------------------------------------------- */

int ml_delete(ml_client *client, const char *ref, uint32_t flags, char **deleted_digest, ml_error **err)
{
    if (deleted_digest)
        *deleted_digest = NULL;
    if (!client || !ref)
        return ml__error_set(err, ML_EINVAL, "ml_delete: NULL argument");
    ml_ref r = {0};
    int rc = ml__ref_parse(&r, ref, err);
    if (rc != ML_OK)
        return rc;
    ml__item it = {.repo = &r, .reference = r.digest ? r.digest : r.tag ? r.tag : "latest"};
    rc = ml__store_head_manifests(client, &it, 1) == ML_OK ? ml__item_take_error(&it, err) : ML_ENOMEM;
    if (rc == ML_OK && !ml__kind_is_list(ml__kind_of(it.media_type)) && !(flags & ML_DELETE_FORCE))
        rc = ml__error_set(err, ML_ENOTLIST, "%s is a single image (%s), not a list; delete it with force to remove it anyway",
                           ref, it.media_type ? it.media_type : "unknown type");
    if (rc == ML_OK) {
        rc = ml__store_delete_manifest(client, &r, it.digest, err);
        /* It existed a moment ago: a 404 now means it is gone, e.g. when the
         * answer to our DELETE was lost and libcurl sent it again. */
        if (rc == ML_ENOTFOUND) {
            ml_error_free(err ? *err : NULL);
            if (err)
                *err = NULL;
            rc = ML_OK;
        }
    }
    if (rc == ML_OK && deleted_digest && !(*deleted_digest = ml__strdup(it.digest)))
        rc = ml__error_set(err, ML_ENOMEM, "out of memory");
    if (rc != ML_OK && rc != ML_ENOMEM)
        ml__error_prefix(err, rc, "delete %s", ref);
    ml__item_clear(&it);
    ml__ref_clear(&r);
    return rc;
}

/* ---- tags ------------------------------------------------------------------ */

int ml_manifest_fetch_tags(ml_manifest *m, ml_client *client, int *complete, ml_error **err)
{
    if (complete)
        *complete = 0;
    if (!m || !client)
        return ml__error_set(err, ML_EINVAL, "ml_manifest_fetch_tags: NULL argument");
    ml_ref r = {0};
    ml__strvec tags = {0};
    bool all = false;
    int rc = ml__ref_parse(&r, m->ref, err);
    if (rc == ML_OK)
        rc = ml__store_tags_at(client, &r, m->digest, &tags, &all, err);
    if (rc == ML_OK) {
        ml__strvec_free(&m->tags);
        m->tags = tags;
        tags = (ml__strvec){0};
        if (complete)
            *complete = all;
    } else if (rc != ML_ENOMEM) {
        ml__error_prefix(err, rc, "tags of %s", m->ref);
    }
    ml__strvec_free(&tags);
    ml__ref_clear(&r);
    return rc;
}

size_t ml_manifest_tag_count(const ml_manifest *m) { return m ? m->tags.count : 0; }
const char *ml_manifest_tag(const ml_manifest *m, size_t i) { return m ? ml__strvec_at(&m->tags, i) : NULL; }

/* ---- referrers ----------------------------------------------------------- */

struct ml_referrers {
    size_t count;
    char **subjects;
    ml__descriptor *items;
};

void ml_referrers_free(ml_referrers *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->count; i++) {
        free(r->subjects[i]);
        ml__descriptor_clear(&r->items[i]);
    }
    free(r->subjects);
    free(r->items);
    free(r);
}

size_t ml_referrers_count(const ml_referrers *r) { return r ? r->count : 0; }

static const ml__descriptor *referrer(const ml_referrers *r, size_t i)
{
    return r && i < r->count ? &r->items[i] : NULL;
}

const char *ml_referrers_subject(const ml_referrers *r, size_t i) { return referrer(r, i) ? r->subjects[i] : NULL; }
const char *ml_referrers_digest(const ml_referrers *r, size_t i) { return referrer(r, i) ? r->items[i].digest : NULL; }
const char *ml_referrers_media_type(const ml_referrers *r, size_t i)
{
    return referrer(r, i) ? r->items[i].media_type : NULL;
}
const char *ml_referrers_artifact_type(const ml_referrers *r, size_t i)
{
    return referrer(r, i) ? r->items[i].artifact_type : NULL;
}
int64_t ml_referrers_size(const ml_referrers *r, size_t i) { return referrer(r, i) ? r->items[i].size : -1; }

/* Every listed referrer, flattened with its subject's digest. */
static int collect_referrers(ml_referrers *out, const ml__subject *s, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += s[i].refs.manifest_count;
    out->subjects = calloc(total ? total : 1, sizeof(*out->subjects));
    out->items = calloc(total ? total : 1, sizeof(*out->items));
    if (!out->subjects || !out->items)
        return ML_ENOMEM;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < s[i].refs.manifest_count; k++) {
            /* Counted first, so a half-made pair is freed with the rest. */
            size_t at = out->count++;
            if (!(out->subjects[at] = ml__strdup(s[i].digest)) ||
                ml__descriptor_copy(&out->items[at], &s[i].refs.manifests[k]) != ML_OK)
                return ML_ENOMEM;
        }
    return ML_OK;
}

int ml_referrers_fetch(ml_referrers **out, ml_client *client, const ml_manifest *m, ml_error **err)
{
    if (!out || !client || !m)
        return ml__error_set(err, ML_EINVAL, "ml_referrers_fetch: NULL argument");
    *out = NULL;
    ml_ref r = {0};
    int rc = ml__ref_parse(&r, m->ref, err);
    size_t n = 1 + m->model.manifest_count;
    ml__subject *s = rc == ML_OK ? calloc(n, sizeof(*s)) : NULL;
    ml_referrers *res = rc == ML_OK ? calloc(1, sizeof(*res)) : NULL;
    if (rc == ML_OK && (!s || !res))
        rc = ml__error_set(err, ML_ENOMEM, "out of memory");
    for (size_t i = 0; rc == ML_OK && i < n; i++)
        s[i] = (ml__subject){.repo = &r, .digest = i ? m->model.manifests[i - 1].digest : m->digest};
    ml__strvec warnings = {0};
    if (rc == ML_OK)
        rc = ml__referrers_list(client, s, n, &warnings, err);
    for (size_t i = 0; i < warnings.count; i++)
        ml__client_log(client, ML_LOG_WARN, "%s", warnings.items[i]);
    ml__strvec_free(&warnings);
    if (rc == ML_OK && collect_referrers(res, s, n) != ML_OK)
        rc = ml__error_set(err, ML_ENOMEM, "out of memory");
    if (rc == ML_OK)
        *out = res;
    else
        ml_referrers_free(res);
    ml__subjects_clear(s, s ? n : 0);
    free(s);
    ml__ref_clear(&r);
    return rc;
}

int ml_referrers_to_json(const ml_referrers *r, char **out, ml_error **err)
{
    if (!r || !out)
        return ml__error_set(err, ML_EINVAL, "ml_referrers_to_json: NULL argument");
    ml__json_writer w = {0};
    ml__jw_array(&w, NULL);
    for (size_t i = 0; i < r->count; i++) {
        const ml__descriptor *d = &r->items[i];
        ml__jw_object(&w, NULL);
        ml__jw_string(&w, "subject", r->subjects[i]);
        ml__jw_string(&w, "digest", d->digest);
        ml__jw_string(&w, "mediaType", d->media_type);
        ml__jw_string(&w, "artifactType", d->artifact_type);
        ml__jw_int(&w, "size", d->size);
        ml__jw_annotations(&w, "annotations", &d->annotations);
        ml__jw_end_object(&w);
    }
    ml__jw_end_array(&w);
    return ml__jw_finish(&w, out, err);
}
