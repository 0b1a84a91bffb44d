/* Checking a published list: children, their platforms, their blobs. */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "manifest.h"
#include "store.h"

struct ml_report {
    char *ref;
    char *digest;
    size_t children;
    size_t blobs;
    ml__strvec problems;
};

void ml_report_free(ml_report *r)
{
    if (!r)
        return;
    free(r->ref);
    free(r->digest);
    ml__strvec_free(&r->problems);
    free(r);
}

size_t ml_report_problem_count(const ml_report *r) { return r ? r->problems.count : 0; }
const char *ml_report_problem(const ml_report *r, size_t i) { return ml__strvec_at(r ? &r->problems : NULL, i); }

/* Lists inside a list are verified through, this many levels deep. */
#define NESTING_MAX 4

/* "PLATFORM DIGEST", after the labels of the lists it is nested in. */
static char *label(const char *path, const ml__descriptor *d)
{
    char *p = d->has_platform && !ml__descriptor_is_attestation(d) ? ml__platform_format(&d->platform) : NULL;
    const char *what = ml__descriptor_is_attestation(d) ? "attestation" : p ? p : "(no platform)";
    char *s = ml__asprintf("%s%s%s %s", path ? path : "", path ? " > " : "", what, d->digest);
    free(p);
    return s;
}

static int problem(ml_report *r, const char *path, const ml__descriptor *d, const char *what, const char *detail)
{
    char *l = label(path, d);
    char *text = l ? ml__asprintf("%s: %s%s%s", l, what, detail ? ": " : "", detail ? detail : "") : NULL;
    size_t len = text ? strlen(text) : 0;
    /* Platforms and messages come from the registry: made printable. */
    int rc = text ? ml__strvec_push_take(&r->problems, ml__sanitize(text, len, len)) : ML_ENOMEM;
    free(l);
    free(text);
    return rc;
}

/* Reads every child; each must exist, match its descriptor and parse, and
 * be an image where the entry names a platform: runtimes pick an image
 * manifest by platform and do not look into a list found there. */
static int check_children(ml_client *c, const ml_ref *repo, const ml__manifest *list, ml__manifest *kids,
                          const char *path, ml_report *r)
{
    size_t n = list->manifest_count;
    ml__item *items = calloc(n ? n : 1, sizeof(*items));
    if (!items)
        return ML_ENOMEM;
    for (size_t i = 0; i < n; i++)
        items[i] = (ml__item){.repo = repo, .reference = list->manifests[i].digest};
    int rc = ml__store_get_manifests(c, items, n);
    for (size_t i = 0; rc == ML_OK && i < n; i++) {
        const ml__descriptor *d = &list->manifests[i];
        r->children++;
        if (items[i].rc == ML_ENOTFOUND)
            rc = problem(r, path, d, "manifest missing from the repository", NULL);
        else if (items[i].rc != ML_OK)
            rc = problem(r, path, d, "cannot read the manifest", ml_error_message(items[i].err));
        else if (items[i].size != d->size)
            rc = problem(r, path, d, "size differs from the list entry", NULL);
        else if (ml__manifest_parse(&kids[i], items[i].body, items[i].len, items[i].media_type, NULL) != ML_OK)
            rc = problem(r, path, d, "manifest cannot be parsed", NULL);
        else if (ml__kind_is_list(kids[i].kind) && d->has_platform)
            rc = problem(r, path, d, "a list where an image is expected", NULL);
    }
    for (size_t i = 0; i < n; i++)
        ml__item_clear(&items[i]);
    free(items);
    return rc;
}

/* The entry's claim holds when os, architecture and variant agree (with
 * the runtime defaults), and os.version and os.features where the entry
 * gives them. */
static bool entry_matches_config(const ml_platform *entry, const ml_platform *config)
{
    ml_platform e = {0};
    bool same = ml__platform_copy(&e, entry) == ML_OK && ml__platform_normalize(&e, NULL) == ML_OK &&
                ml__platform_covers(&e, config);
    ml__platform_clear(&e);
    return same;
}

static int check_platforms(ml_client *c, const ml_ref *repo, const ml__manifest *list, const ml__manifest *kids,
                           const char *path, ml_report *r)
{
    size_t n = list->manifest_count;
    ml__batch b;
    int rc = ml__batch_init(&b, n);
    for (size_t i = 0; rc == ML_OK && i < n; i++) {
        const ml__descriptor *d = &list->manifests[i];
        if (kids[i].config.digest && d->has_platform && !ml__descriptor_is_attestation(d))
            ml__batch_add(&b, i, repo, kids[i].config.digest);
    }
    if (rc == ML_OK)
        rc = ml__store_get_blobs(c, b.items, b.count, ML__CONFIG_MAX);
    ml__item *items = b.items;
    for (size_t k = 0; rc == ML_OK && k < b.count; k++) {
        const ml__descriptor *d = &list->manifests[b.index[k]];
        ml_platform p = {0};
        if (items[k].rc != ML_OK)
            continue; /* reported with the blobs */
        if (ml__config_platform(items[k].body, items[k].len, &p, NULL) != ML_OK) {
            rc = problem(r, path, d, "config has no platform", NULL);
        } else if (ml__platform_normalize(&p, NULL) == ML_OK && !entry_matches_config(&d->platform, &p)) {
            char *got = ml__platform_format(&p);
            rc = problem(r, path, d, "the image config says", got);
            free(got);
        }
        ml__platform_clear(&p);
    }
    ml__batch_clear(&b);
    return rc;
}

static int check_blobs(ml_client *c, const ml_ref *repo, const ml__manifest *list, const ml__manifest *kids,
                       const char *path, ml_report *r)
{
    size_t total = 0;
    for (size_t i = 0; i < list->manifest_count; i++)
        total += kids[i].layer_count + 1;
    ml__batch b;
    int rc = ml__batch_init(&b, total);
    for (size_t i = 0; rc == ML_OK && i < list->manifest_count; i++) {
        if (kids[i].config.digest)
            ml__batch_add(&b, i, repo, kids[i].config.digest);
        for (size_t k = 0; k < kids[i].layer_count; k++)
            if (!kids[i].layers[k].urls.count) /* foreign layers live elsewhere */
                ml__batch_add(&b, i, repo, kids[i].layers[k].digest);
    }
    if (rc == ML_OK)
        rc = ml__store_head_blobs(c, b.items, b.count);
    for (size_t k = 0; rc == ML_OK && k < b.count; k++) {
        const ml__item *it = &b.items[k];
        r->blobs++;
        if (it->rc == ML_ENOTFOUND)
            rc = problem(r, path, &list->manifests[b.index[k]], "blob missing", it->reference);
        else if (it->rc != ML_OK)
            rc = problem(r, path, &list->manifests[b.index[k]], "cannot check blob", ml_error_message(it->err));
    }
    ml__batch_clear(&b);
    return rc;
}

static int verify_list(ml_client *c, const ml_ref *repo, const ml__manifest *list, const char *path, int depth,
                       ml_report *r);

/* A list inside the list: its own children are verified too, so that the
 * report is complete. */
static int verify_nested(ml_client *c, const ml_ref *repo, const ml__descriptor *d, const ml__manifest *kid,
                         const char *path, int depth, ml_report *r)
{
    if (depth + 1 >= NESTING_MAX)
        return problem(r, path, d, "lists nested too deep: not verified further", NULL);
    char *inner = label(path, d);
    int rc = inner ? verify_list(c, repo, kid, inner, depth + 1, r) : ML_ENOMEM;
    free(inner);
    return rc;
}

/* `path` names the entries this list is nested in (NULL at the top). */
static int verify_list(ml_client *c, const ml_ref *repo, const ml__manifest *list, const char *path, int depth,
                       ml_report *r)
{
    ml__manifest *kids = calloc(list->manifest_count ? list->manifest_count : 1, sizeof(*kids));
    int rc = kids ? check_children(c, repo, list, kids, path, r) : ML_ENOMEM;
    if (rc == ML_OK)
        rc = check_platforms(c, repo, list, kids, path, r);
    if (rc == ML_OK)
        rc = check_blobs(c, repo, list, kids, path, r);
    for (size_t i = 0; rc == ML_OK && i < list->manifest_count; i++)
        if (ml__kind_is_list(kids[i].kind))
            rc = verify_nested(c, repo, &list->manifests[i], &kids[i], path, depth, r);
    for (size_t i = 0; kids && i < list->manifest_count; i++)
        ml__manifest_clear(&kids[i]);
    free(kids);
    return rc;
}

int ml_verify(ml_report **out, ml_client *client, const char *ref, ml_error **err)
{
    if (!out || !client || !ref)
        return ml__error_set(err, ML_EINVAL, "ml_verify: NULL argument");
    *out = NULL;
    ml_ref r = {0};
    ml__manifest list = {0};
    ml_report *rep = calloc(1, sizeof(*rep));
    int rc = rep ? ml__ref_parse(&r, ref, err) : ml__error_set(err, ML_ENOMEM, "out of memory");
    ml__item it = {.repo = &r};
    if (rc == ML_OK) {
        it.reference = r.digest ? r.digest : r.tag ? r.tag : "latest";
        rc = ml__store_get_manifests(client, &it, 1) == ML_OK ? ml__item_take_error(&it, err) : ML_ENOMEM;
    }
    if (rc == ML_OK)
        rc = ml__manifest_parse(&list, it.body, it.len, it.media_type, err);
    if (rc == ML_OK && !ml__kind_is_list(list.kind))
        rc = ml__error_set(err, ML_ENOTLIST, "%s is a single image, not a list", ref);
    if (rc == ML_OK && (!(rep->ref = ml__ref_format(&r)) || !(rep->digest = ml__strdup(it.digest))))
        rc = ml__error_set(err, ML_ENOMEM, "out of memory");
    if (rc == ML_OK && verify_list(client, &r, &list, NULL, 0, rep) != ML_OK)
        rc = ml__error_set(err, ML_ENOMEM, "out of memory");
    if (rc != ML_OK && rc != ML_ENOMEM)
        ml__error_prefix(err, rc, "verify %s", ref);
    ml__item_clear(&it);
    ml__manifest_clear(&list);
    ml__ref_clear(&r);
    if (rc != ML_OK) {
        ml_report_free(rep);
        return rc;
    }
    *out = rep;
    return ML_OK;
}

int ml_report_to_json(const ml_report *r, char **out, ml_error **err)
{
    if (!r || !out)
        return ml__error_set(err, ML_EINVAL, "ml_report_to_json: NULL argument");
    ml__json_writer w = {0};
    ml__jw_object(&w, NULL);
    ml__jw_string(&w, "ref", r->ref);
    ml__jw_string(&w, "digest", r->digest);
    ml__jw_bool(&w, "ok", r->problems.count == 0);
    ml__jw_int(&w, "children", (int64_t)r->children);
    ml__jw_int(&w, "blobs", (int64_t)r->blobs);
    ml__jw_strings(&w, "problems", &r->problems);
    ml__jw_end_object(&w);
    return ml__jw_finish(&w, out, err);
}
