/* Editing a list in place: read it, apply additions (upserts) and removals,
 * push, and make sure the edit survived concurrent writers. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "list.h"
#include "store.h"

#define EDIT_ATTEMPTS 6
/* Long enough for a racing writer's PUT to land before we look again. */
#define SETTLE_MS 300

typedef struct edit {
    ml_ref target;
    const char *name;
    const ml__spec_list *spec; /* a spec's list: extra tags, index annotations; or NULL */
    uint32_t spec_flags;       /* that spec's ML_SPEC_* */
    ml__spec_entry *adds;      /* the spec's entries (borrowed), or parsed --add strings */
    size_t add_count;
    const char *const *removes;
    size_t remove_count;
    ml_platform *remove_platforms; /* parsed and normalised once; zeroed for a digest */
    ml__strvec warnings; /* platform rewrites in the additions */
} edit;

static void edit_clear(edit *e)
{
    for (size_t i = 0; !e->spec && i < e->add_count; i++) {
        ml__ref_clear(&e->adds[i].ref);
        free(e->adds[i].image);
        ml__platform_clear(&e->adds[i].platform);
    }
    if (!e->spec)
        free(e->adds);
    for (size_t i = 0; e->remove_platforms && i < e->remove_count; i++)
        ml__platform_clear(&e->remove_platforms[i]);
    free(e->remove_platforms);
    ml__ref_clear(&e->target);
    ml__strvec_free(&e->warnings);
}

/* "SRC[=OS/ARCH[/VARIANT]]": references cannot contain '='. */
static int parse_add(ml__spec_entry *se, const char *arg, ml__strvec *warnings, ml_error **err)
{
    const char *eq = strchr(arg, '=');
    char *src = eq ? ml__strndup(arg, (size_t)(eq - arg)) : ml__strdup(arg);
    if (!src)
        return ml__error_set(err, ML_ENOMEM, "out of memory");
    int rc = ml__ref_parse(&se->ref, src, err);
    if (rc == ML_OK && !se->ref.tag && !se->ref.digest && !(se->ref.tag = ml__strdup("latest")))
        rc = ml__error_set(err, ML_ENOMEM, "out of memory");
    if (rc == ML_OK && eq) {
        se->has_platform = true;
        rc = ml__platform_parse(&se->platform, eq + 1, err);
        /* Each rewrite is said once, however many additions need it. */
        ml__strvec rewrites = {0};
        if (rc == ML_OK && (ml__platform_normalize(&se->platform, &rewrites) != ML_OK ||
                            ml__platform_check_known(&se->platform, &rewrites) != ML_OK ||
                            ml__strvec_merge(warnings, &rewrites) != ML_OK))
            rc = ml__error_set(err, ML_ENOMEM, "out of memory");
        ml__strvec_free(&rewrites);
    }
    se->image = src;
    return rc == ML_OK ? ML_OK : ml__error_prefix(err, rc, "addition %s", arg);
}

/* Each removal is a digest or a platform, parsed and normalised here once. */
static int parse_removals(edit *e, ml_error **err)
{
    if (!(e->remove_platforms = calloc(e->remove_count ? e->remove_count : 1, sizeof(*e->remove_platforms))))
        return ml__error_set(err, ML_ENOMEM, "out of memory");
    for (size_t i = 0; i < e->remove_count; i++) {
        const char *r = e->removes[i];
        if (ml__digest_valid(r))
            continue;
        int rc = ml__platform_parse(&e->remove_platforms[i], r, err);
        if (rc != ML_OK)
            return ml__error_prefix(err, rc, "removal %s: expected a platform or a digest", r);
        if (ml__platform_normalize(&e->remove_platforms[i], NULL) != ML_OK)
            return ml__error_set(err, ML_ENOMEM, "out of memory");
    }
    return ML_OK;
}
static int edit_init(edit *e, const char *target, const char *const *add, size_t add_count,
                     const char *const *remove, size_t remove_count, ml_error **err)
{
    int rc = ml__ref_parse(&e->target, target, err);
    if (rc != ML_OK)
        return rc;
    if (e->target.digest)
        return ml__error_set(err, ML_EREF, "%s: an edit needs a tag, not a digest", target);
    if (!e->target.tag && !(e->target.tag = ml__strdup("latest")))
        return ml__error_set(err, ML_ENOMEM, "out of memory");
    e->name = target;
    e->removes = remove;
    e->remove_count = remove_count;
    e->adds = calloc(add_count ? add_count : 1, sizeof(*e->adds));
    if (!e->adds)
        return ml__error_set(err, ML_ENOMEM, "out of memory");
    for (size_t i = 0; i < add_count; i++, e->add_count++)
        if ((rc = parse_add(&e->adds[i], add[i], &e->warnings, err)) != ML_OK) {
            e->add_count++;
            return rc;
        }
    return parse_removals(e, err);
}

/* Additions described as a spec's list: its target, extra tags, index
 * annotations and entries (full platforms, annotations), borrowed. */
static int edit_from_spec(edit *e, const ml_spec *spec, size_t index, const char *const *remove,
                          size_t remove_count, ml_error **err)
{
    const ml__spec_list *sl = &spec->lists[index];
    /* Parsing ran these already; a built spec meets them here. */
    int rc = ml__spec_check_list(spec, sl, err);
    if (rc != ML_OK)
        return rc;
    if (ml__ref_copy(&e->target, &sl->target) != ML_OK)
        return ml__error_set(err, ML_ENOMEM, "out of memory");
    e->spec_flags = spec->flags;
    e->name = sl->target_name;
    e->spec = sl;
    e->adds = sl->entries;
    e->add_count = sl->entry_count;
    e->removes = remove;
    e->remove_count = remove_count;
    return parse_removals(e, err);
}

static bool removed(const edit *e, const ml__descriptor *d)
{
    for (size_t i = 0; i < e->remove_count; i++) {
        const ml_platform *p = &e->remove_platforms[i];
        if (p->os ? d->has_platform && ml__platform_covers(p, &d->platform) : ml__str_eq(e->removes[i], d->digest))
            return true;
    }
    return false;
}

/* A platform removal that matches nothing is a mistake (a typo, or a
 * Windows entry told apart by its os.version): say what the list has. */
static int check_removals_match(const edit *e, const ml__manifest *cur, ml_error **err)
{
    for (size_t i = 0; i < e->remove_count; i++) {
        const ml_platform *p = &e->remove_platforms[i];
        bool found = !p->os;
        for (size_t k = 0; !found && k < cur->manifest_count; k++)
            found = cur->manifests[k].has_platform && ml__platform_covers(p, &cur->manifests[k].platform);
        if (found)
            continue;
        ml__buf have = {0};
        for (size_t k = 0; k < cur->manifest_count; k++) {
            const ml__descriptor *d = &cur->manifests[k];
            char *one = d->has_platform && !ml__descriptor_is_attestation(d) ? ml__platform_format_all(&d->platform) : NULL;
            if (one)
                ml__buf_printf(&have, "%s%s", have.len ? ", " : "", one);
            free(one);
        }
        char *list = ml__buf_take(&have);
        int rc = ml__error_set_printable(err, ML_EPLATFORM, "removal %s matches no entry; the list has: %s",
                                         e->removes[i], list && *list ? list : "no entries");
        free(list);
        return rc;
    }
    return ML_OK;
}

/* Attestations go with the image they describe. */
static bool orphaned(const edit *e, const ml__manifest *m, const ml__descriptor *d)
{
    const char *ref = ml__annotations_get(&d->annotations, ML__ATTESTATION_REF_KEY);
    if (!ref)
        return false;
    for (size_t i = 0; i < m->manifest_count; i++)
        if (ml__str_eq(m->manifests[i].digest, ref))
            return removed(e, &m->manifests[i]);
    return false;
}

/* The current list, or none (the edit creates it). */
static int read_current(ml_client *c, const edit *e, ml__manifest *m, char **digest, ml_error **err)
{
    ml__item it = {.repo = &e->target, .reference = e->target.tag};
    *digest = NULL;
    if (ml__store_get_manifests(c, &it, 1) != ML_OK)
        return ml__error_set(err, ML_ENOMEM, "out of memory");
    int rc = it.rc;
    if (rc == ML_ENOTFOUND) {
        rc = ML_OK;
    } else if (rc != ML_OK) {
        rc = ml__item_take_error(&it, err);
    } else if ((rc = ml__manifest_parse(m, it.body, it.len, it.media_type, err)) == ML_OK) {
        if (!ml__kind_is_list(m->kind))
            rc = ml__error_set(err, ML_ENOTLIST, "%s is a single image, not a list", e->name);
        *digest = it.digest;
        it.digest = NULL;
    }
    ml__item_clear(&it);
    return rc;
}

static int build_edited(ml_client *c, const edit *e, const ml__manifest *cur, const char *base,
                        const ml_push_options *o, ml_list **out, ml_error **err)
{
    ml_list *l = ml__list_new(o->flags, e->spec_flags);
    int rc = l && ml__list_set_target(l, &e->target, e->spec ? &e->spec->tags : NULL, e->name) == ML_OK &&
                     ml__annotations_copy(&l->index_annotations, &cur->annotations) == ML_OK
                 ? ML_OK
                 : ML_ENOMEM;
    /* A spec's index annotations are set over those the list has. */
    for (size_t i = 0; rc == ML_OK && e->spec && i < e->spec->annotations.count; i++)
        rc = ml__annotations_set(&l->index_annotations, e->spec->annotations.keys[i],
                                 e->spec->annotations.values[i]);
    /* What other tools added at the top stays; kept entries keep theirs. */
    if (rc == ML_OK && (ml__str_replace(&l->artifact_type, cur->artifact_type) != ML_OK ||
                        ml__annotations_copy(&l->model.extra, &cur->extra) != ML_OK ||
                        (cur->has_subject && ml__descriptor_copy(&l->model.subject, &cur->subject) != ML_OK)))
        rc = ML_ENOMEM;
    if (rc == ML_OK) {
        l->model.has_subject = cur->has_subject;
        l->prefer_oci = cur->kind == ML__KIND_OCI_INDEX;
        l->has_base = true;
        if (base && !(l->base = ml__strdup(base)))
            rc = ML_ENOMEM;
    }
    if (rc != ML_OK) {
        ml_list_free(l);
        return ml__error_set(err, ML_ENOMEM, "out of memory");
    }
    if ((rc = check_removals_match(e, cur, err)) != ML_OK) {
        ml_list_free(l);
        return rc;
    }
    size_t order = 0;
    for (size_t i = 0; rc == ML_OK && i < cur->manifest_count; i++)
        if (!removed(e, &cur->manifests[i]) && !orphaned(e, cur, &cur->manifests[i]))
            rc = ml__list_add_known(l, &e->target, &cur->manifests[i], order++);
    for (size_t i = 0; rc == ML_OK && i < e->add_count; i++)
        rc = ml__list_add_source(l, &e->adds[i], order++, true);
    if (rc != ML_OK)
        rc = ml__error_set(err, ML_ENOMEM, "out of memory");
    else
        rc = ml__list_finish(l, c, o, err);
    if (rc != ML_OK) {
        ml_list_free(l);
        return rc;
    }
    *out = l;
    return ML_OK;
}

static bool contains_digest(const ml__manifest *m, const char *digest)
{
    for (size_t i = 0; i < m->manifest_count; i++)
        if (ml__str_eq(m->manifests[i].digest, digest))
            return true;
    return false;
}

/* After a settle time, the tag must still show this edit: our additions
 * present, our removals absent (a racing writer may have overwritten it). */
static bool edit_survived(ml_client *c, const edit *e, const ml_list *l)
{
    struct timespec ts = {0, SETTLE_MS * 1000000L};
    nanosleep(&ts, NULL);
    ml__manifest now = {0};
    char *digest = NULL;
    bool ok = read_current(c, e, &now, &digest, NULL) == ML_OK && digest;
    if (ok && !ml__str_eq(digest, l->digest)) {
        for (size_t i = 0; ok && i < l->count; i++)
            if (l->entries[i].upsert && l->entries[i].state == ML__ENTRY_DONE)
                ok = contains_digest(&now, l->entries[i].desc.digest);
        for (size_t i = 0; ok && i < now.manifest_count; i++)
            ok = !removed(e, &now.manifests[i]);
    }
    free(digest);
    ml__manifest_clear(&now);
    return ok;
}

/* No caller sees the edit's list: its warnings go with the result (best
 * effort: the push is done), and to the log once, from the last attempt. */
static void hand_over(ml_client *c, ml_result *res, const ml__strvec *warnings, bool last)
{
    for (size_t i = 0; last && i < warnings->count; i++)
        ml__client_log(c, ML_LOG_WARN, "%s", warnings->items[i]);
    ml__result_add_warnings(res, warnings);
}

static int edit_once(ml_client *c, const edit *e, const ml_push_options *o, ml_result **res, bool *retry,
                     ml_error **err)
{
    ml__manifest cur = {0};
    char *base = NULL;
    ml_list *l = NULL;
    *retry = false;
    int rc = read_current(c, e, &cur, &base, err);
    if (rc == ML_OK)
        rc = build_edited(c, e, &cur, base, o, &l, err);
    if (rc == ML_OK) {
        ml_result_free(*res);
        *res = NULL;
        rc = ml__list_push(l, c, o, res, err);
    }
    bool force = (o->flags & ML_PUSH_FORCE) != 0;
    /* A compare-and-swap write (unless forced): nothing can have raced
     * it. */
    bool cas = ml__store_can(c, &e->target, ML__STORE_CAS) && !force;
    if (rc == ML_ECONFLICT && !force)
        *retry = true;
    else if (rc == ML_OK && !(o->flags & ML_PUSH_DRY_RUN) && !ml_result_up_to_date(*res) && !cas &&
             !edit_survived(c, e, l))
        *retry = true;
    if (*res && l) {
        hand_over(c, *res, &e->warnings, !*retry);
        hand_over(c, *res, &l->warnings, !*retry);
    }
    ml_list_free(l);
    ml__manifest_clear(&cur);
    free(base);
    return rc;
}

/* Applies an edit (rc: how preparing it went), retrying on top of
 * concurrent writers; frees it. */
static int run_edit(ml_client *client, edit *e, int rc, const ml_push_options *opts, ml_result **out,
                    ml_error **err)
{
    ml_push_options o;
    if (rc == ML_OK)
        rc = ml__push_options_read(opts, &o, err);
    ml_result *res = NULL;
    bool retry = rc == ML_OK;
    for (int attempt = 0; retry && attempt < EDIT_ATTEMPTS; attempt++) {
        ml_error_free(err ? *err : NULL);
        if (err)
            *err = NULL;
        rc = edit_once(client, e, &o, &res, &retry, err);
    }
    if (retry)
        rc = ml__error_set(err, ML_ECONFLICT, "%s: other writers kept changing the list; after %d attempts the "
                                              "edit could not be confirmed in place", e->name, EDIT_ATTEMPTS);
    edit_clear(e);
    if (out)
        *out = res;
    else
        ml_result_free(res);
    return rc;
}

int ml_list_edit(ml_client *client, const char *target, const char *const *add, size_t add_count,
                 const char *const *remove, size_t remove_count, const ml_push_options *opts, ml_result **out,
                 ml_error **err)
{
    if (out)
        *out = NULL;
    if (!client || !target || (add_count && !add) || (remove_count && !remove))
        return ml__error_set(err, ML_EINVAL, "ml_list_edit: NULL argument");
    edit e = {0};
    int rc = edit_init(&e, target, add, add_count, remove, remove_count, err);
    return run_edit(client, &e, rc, opts, out, err);
}

int ml_list_edit_spec(ml_client *client, const ml_spec *spec, size_t index, const char *const *remove,
                      size_t remove_count, const ml_push_options *opts, ml_result **out, ml_error **err)
{
    if (out)
        *out = NULL;
    if (!client || !spec || (remove_count && !remove))
        return ml__error_set(err, ML_EINVAL, "ml_list_edit_spec: NULL argument");
    if (index >= spec->list_count)
        return ml__error_set(err, ML_EINVAL, "ml_list_edit_spec: spec has no list %zu", index);
    edit e = {0};
    int rc = edit_from_spec(&e, spec, index, remove, remove_count, err);
    return run_edit(client, &e, rc, opts, out, err);
}
