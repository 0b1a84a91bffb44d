/* Pushing a built list: children first, then one PUT per tag, so a tag is
 * never missing or pointing at a half-built list. */
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "copy.h"
#include "json.h"
#include "list.h"
#include "referrers.h"
#include "store.h"

typedef struct tag_state {
    char *tag;
    char *previous; /* digest before the push, NULL when the tag was absent */
    bool moved;
} tag_state;

typedef struct change {
    const char *op; /* "add", "remove", "change" (static) */
    char *platform;
    char *digest;
    char *previous;
} change;

struct ml_result {
    char *target;
    char digest[ML__DIGEST_MAX];
    int64_t size;
    char *media_type;
    bool up_to_date;
    bool dry_run;
    tag_state *tags;
    size_t tag_count;
    change *changes;
    size_t change_count;
    size_t change_cap;
    ml__strvec change_lines;
    ml__strvec warnings;
    ml__strvec plan; /* dry run: manifests and blobs that would be copied */
    size_t children_copied; /* child manifests put into the target repository */
    size_t blobs_mounted;
    size_t blobs_copied;
    size_t referrers_copied;
    bool purged;
    char *list_json; /* dry run: the list that would be pushed */
};

void ml_result_free(ml_result *r)
{
    if (!r)
        return;
    free(r->target);
    free(r->media_type);
    free(r->list_json);
    for (size_t i = 0; i < r->tag_count; i++) {
        free(r->tags[i].tag);
        free(r->tags[i].previous);
    }
    free(r->tags);
    for (size_t i = 0; i < r->change_count; i++) {
        free(r->changes[i].platform);
        free(r->changes[i].digest);
        free(r->changes[i].previous);
    }
    free(r->changes);
    ml__strvec_free(&r->change_lines);
    ml__strvec_free(&r->warnings);
    ml__strvec_free(&r->plan);
    free(r);
}

const char *ml_result_target(const ml_result *r) { return r ? r->target : NULL; }
const char *ml_result_digest(const ml_result *r) { return r ? r->digest : NULL; }
int64_t ml_result_size(const ml_result *r) { return r ? r->size : -1; }
int ml_result_up_to_date(const ml_result *r) { return r && r->up_to_date; }
size_t ml_result_plan_count(const ml_result *r) { return r ? r->plan.count : 0; }
const char *ml_result_plan(const ml_result *r, size_t i) { return ml__strvec_at(r ? &r->plan : NULL, i); }
size_t ml_result_tag_count(const ml_result *r) { return r ? r->tag_count : 0; }
const char *ml_result_tag(const ml_result *r, size_t i) { return r && i < r->tag_count ? r->tags[i].tag : NULL; }
int ml_result_tag_moved(const ml_result *r, size_t i) { return r && i < r->tag_count && r->tags[i].moved; }
const char *ml_result_tag_previous(const ml_result *r, size_t i) { return r && i < r->tag_count ? r->tags[i].previous : NULL; }
size_t ml_result_referrers_copied(const ml_result *r) { return r ? r->referrers_copied : 0; }

int ml__result_add_warnings(ml_result *r, const ml__strvec *warnings)
{
    return ml__strvec_merge(&r->warnings, warnings);
}
size_t ml_result_change_count(const ml_result *r) { return r ? r->change_lines.count : 0; }
const char *ml_result_change(const ml_result *r, size_t i) { return ml__strvec_at(r ? &r->change_lines : NULL, i); }

static int result_new(ml_result **out, const ml_list *l)
{
    ml_result *r = calloc(1, sizeof(*r));
    if (!r)
        return ML_ENOMEM;
    *out = r;
    r->target = ml__ref_format(&l->target);
    r->media_type = ml__strdup(l->model.media_type);
    r->tags = calloc(l->tags.count, sizeof(*r->tags));
    if (!r->target || !r->media_type || !r->tags)
        return ML_ENOMEM;
    memcpy(r->digest, l->digest, sizeof(r->digest));
    r->size = (int64_t)l->len;
    for (size_t i = 0; i < l->tags.count; i++, r->tag_count++)
        if (!(r->tags[i].tag = ml__strdup(l->tags.items[i])))
            return ML_ENOMEM;
    return ML_OK;
}

/* ---- what the registry holds now ---------------------------------------- */

static int read_tags(ml_client *c, const ml_list *l, ml_result *res, ml_error **err)
{
    size_t n = res->tag_count;
    ml__item *items = calloc(n, sizeof(*items));
    if (!items)
        return ml__error_set(err, ML_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        items[i].repo = &l->target;
        items[i].reference = res->tags[i].tag;
    }
    int rc = ml__store_head_manifests(c, items, n) == ML_OK ? ML_OK : ml__error_set(err, ML_ENOMEM, "out of memory");
    for (size_t i = 0; rc == ML_OK && i < n; i++) {
        if (items[i].rc == ML_OK) {
            res->tags[i].previous = items[i].digest;
            items[i].digest = NULL;
        } else if (items[i].rc != ML_ENOTFOUND) {
            rc = ml__item_take_error(&items[i], err);
        }
    }
    for (size_t i = 0; i < n; i++)
        ml__item_clear(&items[i]);
    free(items);
    return rc;
}

/* ---- what changed ------------------------------------------------------- */

/* arm64 and arm64/v8 are one platform to a runtime, arm and arm/v7 too. */
static char *platform_key(const ml_platform *p)
{
    const char *variant = p->variant;
    if (!variant && ml__str_eq(p->architecture, "arm64"))
        variant = "v8";
    if (!variant && ml__str_eq(p->architecture, "arm"))
        variant = "v7";
    return ml__asprintf("%s/%s%s%s", p->os, p->architecture, variant ? "/" : "", variant ? variant : "");
}

/* Matching old and new entries uses the runtime's view of a platform;
 * reporting shows the platform as the list writes it. */
static char *entry_name(const ml__descriptor *d, char *(*platform)(const ml_platform *))
{
    const char *ref = ml__annotations_get(&d->annotations, ML__ATTESTATION_REF_KEY);
    if (ref && ml__descriptor_is_attestation(d))
        return ml__asprintf("attestation for %s", ref);
    if (!d->has_platform)
        return ml__asprintf("(no platform) %s", d->digest);
    char *p = platform(&d->platform);
    if (!p || !d->platform.os_version)
        return p;
    char *key = ml__asprintf("%s (os.version %s)", p, d->platform.os_version);
    free(p);
    return key;
}

static char *entry_key(const ml__descriptor *d) { return entry_name(d, platform_key); }

static char *entry_label(const ml__descriptor *d) { return entry_name(d, ml__platform_format); }

static int add_change(ml_result *r, const char *op, char *platform, const char *digest, const char *previous)
{
    if (!platform || ml__grow((void **)&r->changes, &r->change_cap, r->change_count + 1, sizeof(*r->changes)) != ML_OK) {
        free(platform);
        return ML_ENOMEM;
    }
    change *ch = &r->changes[r->change_count++];
    *ch = (change){op, platform, ml__strdup(digest), ml__strdup(previous)};
    if ((digest && !ch->digest) || (previous && !ch->previous))
        return ML_ENOMEM;
    if (previous)
        return ml__strvec_pushf(&r->change_lines, "%s %s: %s -> %s", op, platform, previous, digest);
    return ml__strvec_pushf(&r->change_lines, "%s %s: %s", op, platform, digest);
}

static const ml__descriptor *find_key(const ml__manifest *m, const char *key)
{
    for (size_t i = 0; i < m->manifest_count; i++) {
        char *k = entry_key(&m->manifests[i]);
        bool same = k && strcmp(k, key) == 0;
        free(k);
        if (same)
            return &m->manifests[i];
    }
    return NULL;
}

static int diff_lists(ml_result *r, const ml__manifest *old, const ml__manifest *now)
{
    int rc = ML_OK;
    for (size_t i = 0; rc == ML_OK && i < now->manifest_count; i++) {
        const ml__descriptor *d = &now->manifests[i];
        char *key = entry_key(d);
        if (!key)
            return ML_ENOMEM;
        const ml__descriptor *was = old ? find_key(old, key) : NULL;
        free(key);
        if (!was)
            rc = add_change(r, "add", entry_label(d), d->digest, NULL);
        else if (strcmp(was->digest, d->digest) != 0)
            rc = add_change(r, "change", entry_label(d), d->digest, was->digest);
    }
    for (size_t i = 0; rc == ML_OK && old && i < old->manifest_count; i++) {
        char *key = entry_key(&old->manifests[i]);
        if (!key)
            return ML_ENOMEM;
        if (!find_key(now, key))
            rc = add_change(r, "remove", entry_label(&old->manifests[i]), old->manifests[i].digest, NULL);
        free(key);
    }
    return rc;
}

/* Compares with the list the main tag points at now. A single image there
 * is reported as replaced (*old_is_image). */
static int compute_changes(ml_client *c, const ml_list *l, ml_result *res, bool *old_is_list, bool *old_is_image,
                           ml_error **err)
{
    const char *previous = res->tags[0].previous;
    *old_is_list = *old_is_image = false;
    if (!previous)
        return diff_lists(res, NULL, &l->model) == ML_OK ? ML_OK : ml__error_set(err, ML_ENOMEM, "out of memory");
    ml__item it = {.repo = &l->target, .reference = previous};
    int rc = ml__store_get_manifests(c, &it, 1) == ML_OK ? it.rc : ML_ENOMEM;
    ml__manifest old = {0};
    if (rc == ML_OK)
        rc = ml__manifest_parse(&old, it.body, it.len, it.media_type, &it.err);
    if (rc == ML_OK) {
        *old_is_list = ml__kind_is_list(old.kind);
        *old_is_image = !*old_is_list;
        if (*old_is_list)
            rc = diff_lists(res, &old, &l->model);
        else
            rc = add_change(res, "change", ml__strdup("(single image)"), l->digest, previous);
    } else {
        /* The old content is gone or unreadable: report, do not fail. */
        rc = ml__strvec_pushf(&res->warnings, "cannot read the current %s to compare: %s", previous,
                              ml_error_message(it.err));
    }
    ml__manifest_clear(&old);
    ml__item_clear(&it);
    return rc == ML_OK ? ML_OK : ml__error_set(err, ML_ENOMEM, "out of memory");
}

/* ---- children ----------------------------------------------------------- */

static bool done_entry(const ml__entry *e) { return e->state == ML__ENTRY_DONE; }

/* Entries living in another repository that the target does not hold yet. */
static int find_missing_children(ml_client *c, const ml_list *l, bool *missing, ml_error **err)
{
    ml__item *items = calloc(l->count ? l->count : 1, sizeof(*items));
    size_t *index = calloc(l->count ? l->count : 1, sizeof(*index));
    size_t n = 0;
    int rc = items && index ? ML_OK : ml__error_set(err, ML_ENOMEM, "out of memory");
    for (size_t i = 0; rc == ML_OK && i < l->count; i++) {
        missing[i] = false;
        if (!done_entry(&l->entries[i]) || ml__ref_same_repo(&l->entries[i].source, &l->target))
            continue;
        items[n].repo = &l->target;
        items[n].reference = l->entries[i].desc.digest;
        index[n++] = i;
    }
    if (rc == ML_OK && ml__store_head_manifests(c, items, n) != ML_OK)
        rc = ml__error_set(err, ML_ENOMEM, "out of memory");
    for (size_t k = 0; rc == ML_OK && k < n; k++) {
        if (items[k].rc == ML_ENOTFOUND)
            missing[index[k]] = true;
        else if (items[k].rc != ML_OK)
            rc = ml__item_take_error(&items[k], err);
    }
    for (size_t k = 0; items && k < n; k++)
        ml__item_clear(&items[k]);
    free(items);
    free(index);
    return rc;
}

/* Children copied into the target: entry[k] is the list entry of the
 * copy's manifest k. */
typedef struct child_copy {
    size_t *entry;
    ml__copy copy;
} child_copy;

static void child_copy_clear(child_copy *cc)
{
    free(cc->entry);
    ml__copy_clear(&cc->copy);
}

static int read_children(ml_client *c, const ml_list *l, const bool *missing, child_copy *cc, ml_error **err)
{
    size_t n = 0;
    for (size_t i = 0; i < l->count; i++)
        n += missing[i];
    cc->entry = calloc(n ? n : 1, sizeof(*cc->entry));
    if (!cc->entry || ml__copy_init(&cc->copy, n) != ML_OK)
        return ml__error_set(err, ML_ENOMEM, "out of memory");
    for (size_t i = 0, k = 0; i < l->count; i++)
        if (missing[i]) {
            cc->entry[k] = i;
            cc->copy.gets[k++] = (ml__item){.repo = &l->entries[i].source, .reference = l->entries[i].desc.digest};
        }
    size_t failed = 0;
    int rc = ml__copy_read(c, &cc->copy, NULL, NULL, &failed, err);
    return rc == ML_OK || rc == ML_ENOMEM ? rc : ml__error_prefix(err, rc, "copy %s", l->entries[cc->entry[failed]].image);
}

static int plan_children(ml_client *c, const ml_list *l, const child_copy *cc, ml_result *res)
{
    char *target = ml__ref_repo_name(&l->target);
    int rc = target ? ML_OK : ML_ENOMEM;
    for (size_t k = 0; rc == ML_OK && k < cc->copy.count; k++)
        rc = ml__strvec_pushf(&res->plan, "copy manifest %s into %s", l->entries[cc->entry[k]].image, target);
    for (size_t i = 0; rc == ML_OK && i < cc->copy.need_count; i++) {
        const ml__blob_need *b = &cc->copy.needs[i];
        bool mount = ml__store_can_mount(c, b->from, &l->target);
        char *from = ml__ref_repo_name(b->from);
        char size[ML__IEC_MAX];
        ml__format_iec(b->size > 0 ? (uint64_t)b->size : 0, size);
        rc = from ? ml__strvec_pushf(&res->plan, "%s blob %s (%s) from %s", mount ? "mount" : "copy", b->digest,
                                     size, from)
                  : ML_ENOMEM;
        free(from);
    }
    free(target);
    return rc;
}

static int push_children(ml_client *c, const ml_list *l, ml_result *res, ml_error **err)
{
    bool *missing = calloc(l->count ? l->count : 1, sizeof(*missing));
    child_copy cc = {0};
    if (!missing)
        return ml__error_set(err, ML_ENOMEM, "out of memory");
    int rc = find_missing_children(c, l, missing, err);
    if (rc == ML_OK)
        rc = read_children(c, l, missing, &cc, err);
    if (rc == ML_OK && res->dry_run)
        rc = plan_children(c, l, &cc, res) == ML_OK ? ML_OK : ml__error_set(err, ML_ENOMEM, "out of memory");
    else if (rc == ML_OK)
        rc = ml__copy_write(c, &l->target, &cc.copy, &res->children_copied, err);
    for (size_t i = 0; rc == ML_OK && !res->dry_run && i < cc.copy.need_count; i++) {
        res->blobs_mounted += cc.copy.needs[i].mounted;
        res->blobs_copied += cc.copy.needs[i].copied;
    }
    child_copy_clear(&cc);
    free(missing);
    return rc;
}

/* Signatures and SBOMs of children from other repositories follow them. */
static int push_referrers(ml_client *c, const ml_list *l, ml_result *res, ml_error **err)
{
    ml__subject *s = calloc(l->count ? l->count : 1, sizeof(*s));
    size_t n = 0;
    if (!s)
        return ml__error_set(err, ML_ENOMEM, "out of memory");
    for (size_t i = 0; i < l->count; i++)
        if (done_entry(&l->entries[i]) && !ml__ref_same_repo(&l->entries[i].source, &l->target))
            s[n++] = (ml__subject){.repo = &l->entries[i].source, .digest = l->entries[i].desc.digest};
    int rc = ml__referrers_copy(c, &l->target, s, n, &res->referrers_copied, res->dry_run ? &res->plan : NULL,
                                &res->warnings, err);
    ml__subjects_clear(s, n);
    free(s);
    return rc;
}

/* ---- the list itself ---------------------------------------------------- */

static int changed_meanwhile(const char *target, const char *before, const char *now, ml_error **err)
{
    ml__error_set(err, ML_ECONFLICT, "%s was changed by someone else during this run (%s -> %s)", target,
                  before ? before : "absent", now ? now : "absent");
    return ml__error_hint(err, ML_ECONFLICT, ML_HINT_FORCE);
}

/* Someone else may have moved the tag since we read it: never overwrite
 * their list silently. */
static int check_unchanged(ml_client *c, const ml_list *l, const ml_result *res, ml_error **err)
{
    ml__item it = {.repo = &l->target, .reference = res->tags[0].tag};
    int rc = ml__store_head_manifests(c, &it, 1) == ML_OK ? ML_OK : ML_ENOMEM;
    const char *now = it.rc == ML_OK ? it.digest : NULL;
    if (rc == ML_OK && it.rc != ML_OK && it.rc != ML_ENOTFOUND)
        rc = ml__item_take_error(&it, err);
    else if (rc == ML_OK && !ml__str_eq(now, res->tags[0].previous))
        rc = changed_meanwhile(res->target, res->tags[0].previous, now, err);
    ml__item_clear(&it);
    return rc == ML_ENOMEM ? ml__error_set(err, rc, "out of memory") : rc;
}

/* One PUT per tag that moves, all at once. *confirmed: the store answered
 * for the main tag with our digest (or it held the list already). */
static int put_tags(ml_client *c, const ml_list *l, ml_result *res, bool force, bool *confirmed, ml_error **err)
{
    ml__item *items = calloc(res->tag_count, sizeof(*items));
    size_t *index = calloc(res->tag_count, sizeof(*index));
    size_t n = 0;
    int rc = items && index ? ML_OK : ml__error_set(err, ML_ENOMEM, "out of memory");
    *confirmed = ml__str_eq(res->tags[0].previous, l->digest);
    for (size_t i = 0; rc == ML_OK && i < res->tag_count; i++) {
        if (ml__str_eq(res->tags[i].previous, l->digest))
            continue;
        /* The items borrow the list's bytes and type. */
        items[n] = (ml__item){.repo = &l->target, .reference = res->tags[i].tag, .body = l->json, .len = l->len,
                              .media_type = l->model.media_type, .expect_set = !force,
                              .expect = res->tags[i].previous};
        index[n++] = i;
    }
    if (rc == ML_OK && ml__store_put_manifests(c, items, n) != ML_OK)
        rc = ml__error_set(err, ML_ENOMEM, "out of memory");
    for (size_t k = 0; rc == ML_OK && k < n; k++) {
        res->tags[index[k]].moved = items[k].rc == ML_OK;
        if (index[k] == 0 && items[k].rc == ML_OK)
            *confirmed = ml__str_eq(items[k].digest, l->digest);
    }
    for (size_t k = 0; rc == ML_OK && k < n; k++)
        if (items[k].rc != ML_OK)
            rc = ml__item_take_error(&items[k], err);
    for (size_t k = 0; items && k < n; k++) {
        items[k].body = items[k].media_type = NULL;
        ml__item_clear(&items[k]);
    }
    free(items);
    free(index);
    return rc;
}

static int read_back(ml_client *c, const ml_list *l, const ml_result *res, ml_error **err)
{
    ml__item it = {.repo = &l->target, .reference = res->tags[0].tag};
    int rc = ml__store_head_manifests(c, &it, 1) == ML_OK ? ml__item_take_error(&it, err) : ML_ENOMEM;
    /* Another writer's PUT landed right after ours (the registry has no
     * compare-and-swap): a conflict, which edits resolve by re-applying. */
    if (rc == ML_OK && !ml__str_eq(it.digest, l->digest))
        rc = ml__error_set(err, ML_ECONFLICT, "%s: registry serves %s after the push, expected %s; someone else "
                           "pushed at the same time", res->target, it.digest ? it.digest : "(none)", l->digest);
    ml__item_clear(&it);
    return rc;
}

/* Deleting a manifest untags every tag pointing at it (distribution): the
 * old list goes only when no tag outside this push still uses it. */
static int still_tagged(ml_client *c, const ml_list *l, const char *old, bool *used, ml_error **err)
{
    ml__strvec at = {0};
    bool complete = false;
    int rc = ml__store_tags_at(c, &l->target, old, &at, &complete, err);
    *used = !complete;
    for (size_t i = 0; rc == ML_OK && i < at.count; i++)
        *used |= !ml__strvec_contains(&l->tags, at.items[i]);
    ml__strvec_free(&at);
    return rc;
}

static void purge_previous(ml_client *c, const ml_list *l, ml_result *res)
{
    const char *old = res->tags[0].previous;
    ml_error *e = NULL;
    bool used = true;
    if (still_tagged(c, l, old, &used, &e) != ML_OK || used) {
        ml__strvec_pushf(&res->warnings, "the replaced list %s was kept: %s", old,
                         e ? ml_error_message(e) : "another tag still points at it");
        ml_error_free(e);
        return;
    }
    if (ml__store_delete_manifest(c, &l->target, old, &e) == ML_OK)
        res->purged = true;
    else
        ml__strvec_pushf(&res->warnings, "could not delete the replaced list %s: %s", old, ml_error_message(e));
    ml_error_free(e);
}

static int guard_create(const ml_list *l, const ml_result *res, const ml_push_options *o, ml_error **err)
{
    if (!(o->flags & ML_PUSH_CREATE) || (o->flags & ML_PUSH_FORCE) || !res->tags[0].previous)
        return ML_OK;
    (void)l;
    ml__error_set(err, ML_EEXISTS, "%s exists already (%s)", res->target, res->tags[0].previous);
    return ml__error_hint(err, ML_EEXISTS, ML_HINT_UPDATE | ML_HINT_FORCE);
}

static bool all_tags_current(const ml_list *l, const ml_result *res)
{
    for (size_t i = 0; i < res->tag_count; i++)
        if (!ml__str_eq(res->tags[i].previous, l->digest))
            return false;
    return true;
}

static int push_steps(ml_list *l, ml_client *c, const ml_push_options *o, ml_result *res, ml_error **err)
{
    bool old_is_list = false;
    int rc = read_tags(c, l, res, err);
    if (rc == ML_OK)
        rc = guard_create(l, res, o, err);
    if (rc == ML_OK && l->has_base && !ml__str_eq(res->tags[0].previous, l->base))
        rc = ml__error_set(err, ML_ECONFLICT, "%s changed while it was being edited", res->target);
    if (rc != ML_OK)
        return rc;
    bool referrers = (o->flags & ML_PUSH_REFERRERS) != 0;
    if (all_tags_current(l, res)) {
        /* The list stands; signatures added since may still be missing. */
        res->up_to_date = true;
        return referrers ? push_referrers(c, l, res, err) : ML_OK;
    }
    bool old_is_image = false;
    if (!ml__str_eq(res->tags[0].previous, l->digest) &&
        (rc = compute_changes(c, l, res, &old_is_list, &old_is_image, err)) != ML_OK)
        return rc;
    /* A tag holding an image is someone's image, not an older list. */
    if (old_is_image && !(o->flags & ML_PUSH_FORCE)) {
        ml__error_set(err, ML_ENOTLIST, "%s holds a single image (%s), not a list", res->target, res->tags[0].previous);
        return ml__error_hint(err, ML_ENOTLIST, ML_HINT_FORCE);
    }
    if ((rc = push_children(c, l, res, err)) != ML_OK)
        return rc;
    if (referrers && (rc = push_referrers(c, l, res, err)) != ML_OK)
        return rc;
    if (res->dry_run)
        return ML_OK;
    /* The tag was read moments ago; reading it again only pays when copies
     * took time since, or for an edit, which re-applies itself on a
     * conflict. No registry offers compare-and-swap: these checks narrow
     * the race, they cannot close it. */
    bool copied = res->children_copied || res->blobs_mounted || res->blobs_copied || res->referrers_copied;
    bool force = (o->flags & ML_PUSH_FORCE) != 0;
    /* A compare-and-swap store checks the tag at the write itself. */
    bool cas = ml__store_can(c, &l->target, ML__STORE_CAS);
    if (!force && !cas && (copied || l->has_base) && (rc = check_unchanged(c, l, res, err)) != ML_OK)
        return rc;
    bool confirmed = false;
    if ((rc = put_tags(c, l, res, force, &confirmed, err)) != ML_OK)
        return rc;
    /* A PUT answered with our digest is the registry's own word for what
     * the tag holds; read it back otherwise. */
    if (((l->has_base && !cas) || !confirmed) && (rc = read_back(c, l, res, err)) != ML_OK)
        return rc;
    if ((o->flags & ML_PUSH_PURGE) && old_is_list && res->tags[0].previous)
        purge_previous(c, l, res);
    return ML_OK;
}

/* The list is pushed as it was built: a push option of the build phase
 * (type, annotations, which entries to leave out) that asks for something
 * else is a mistake, not a change to apply silently. */
#define BUILD_FLAGS (ML_PUSH_IGNORE_MISSING | ML_PUSH_NO_ATTESTATIONS)

static bool annotated_as_asked(const ml_list *l, const char *arg)
{
    ml__annotations asked = {0};
    bool same = ml__annotation_arg_add(&asked, arg, NULL) == ML_OK &&
                ml__str_eq(ml__annotations_get(&l->model.annotations, asked.keys[0]), asked.values[0]);
    ml__annotations_free(&asked);
    return same;
}

static int check_build_options(const ml_list *l, const ml_push_options *o, ml_error **err)
{
    uint32_t extra = o->flags & BUILD_FLAGS & ~l->flags;
    if (extra)
        return ml__error_set(err, ML_EINVAL, "ml_list_push: flags 0x%x were not used when the list was built",
                             (unsigned)extra);
    bool docker = l->model.kind == ML__KIND_DOCKER_LIST;
    if ((o->type == ML_TYPE_DOCKER && !docker) || (o->type == ML_TYPE_OCI && docker))
        return ml__error_set(err, ML_EINVAL, "ml_list_push: type %u differs from the list's, built as %s",
                             (unsigned)o->type, l->model.media_type);
    for (size_t i = 0; i < o->annotation_count; i++)
        if (!o->annotations[i] || !annotated_as_asked(l, o->annotations[i]))
            return ml__error_set(err, ML_EINVAL, "ml_list_push: annotation %zu was not used when the list was built",
                                 i);
    return ML_OK;
}

int ml_list_push(ml_list *l, ml_client *c, const ml_push_options *opts, ml_result **out, ml_error **err)
{
    if (out)
        *out = NULL;
    if (!l || !c)
        return ml__error_set(err, ML_EINVAL, "ml_list_push: NULL argument");
    ml_push_options o;
    int rc = ml__push_options_read(opts, &o, err);
    if (rc == ML_OK)
        rc = check_build_options(l, &o, err);
    return rc == ML_OK ? ml__list_push(l, c, &o, out, err) : rc;
}

int ml__list_push(ml_list *l, ml_client *c, const ml_push_options *o, ml_result **out, ml_error **err)
{
    ml_result *res = NULL;
    if (result_new(&res, l) != ML_OK) {
        ml_result_free(res);
        return ml__error_set(err, ML_ENOMEM, "out of memory");
    }
    res->dry_run = (o->flags & ML_PUSH_DRY_RUN) != 0;
    if (res->dry_run && !(res->list_json = ml__strndup(l->json, l->len))) {
        ml_result_free(res);
        return ml__error_set(err, ML_ENOMEM, "out of memory");
    }
    /* The result carries the build's warnings too (JSON output); the
     * build's owner reported them already, so only the push's are logged. */
    if (ml__strvec_merge(&res->warnings, &l->warnings) != ML_OK) {
        ml_result_free(res);
        return ml__error_set(err, ML_ENOMEM, "out of memory");
    }
    size_t built = res->warnings.count;
    int rc = push_steps(l, c, o, res, err);
    if (rc != ML_OK)
        ml__error_prefix(err, rc, "push %s", res->target);
    for (size_t i = built; i < res->warnings.count; i++)
        ml__client_log(c, ML_LOG_WARN, "%s", res->warnings.items[i]);
    if (out)
        *out = res;
    else
        ml_result_free(res);
    return rc;
}

/* ---- JSON --------------------------------------------------------------- */

static void json_tags(ml__json_writer *w, const ml_result *r)
{
    ml__jw_array(w, "tags");
    for (size_t i = 0; i < r->tag_count; i++) {
        bool would = r->dry_run && !ml__str_eq(r->tags[i].previous, r->digest);
        ml__jw_object(w, NULL);
        ml__jw_string(w, "tag", r->tags[i].tag);
        ml__jw_bool(w, "moved", r->tags[i].moved || would);
        ml__jw_string(w, "previous", r->tags[i].previous);
        ml__jw_end_object(w);
    }
    ml__jw_end_array(w);
}

static void json_changes(ml__json_writer *w, const ml_result *r)
{
    ml__jw_array(w, "changes");
    for (size_t i = 0; i < r->change_count; i++) {
        const change *ch = &r->changes[i];
        ml__jw_object(w, NULL);
        ml__jw_string(w, "op", ch->op);
        ml__jw_string(w, "platform", ch->platform);
        ml__jw_string(w, "digest", ch->digest);
        if (ch->previous)
            ml__jw_string(w, "previous", ch->previous);
        ml__jw_end_object(w);
    }
    ml__jw_end_array(w);
}

int ml_result_to_json(const ml_result *r, char **out, ml_error **err)
{
    if (!r || !out)
        return ml__error_set(err, ML_EINVAL, "ml_result_to_json: NULL argument");
    ml__json_writer w = {0};
    ml__jw_object(&w, NULL);
    ml__jw_string(&w, "target", r->target);
    ml__jw_string(&w, "digest", r->digest);
    ml__jw_int(&w, "size", r->size);
    ml__jw_string(&w, "mediaType", r->media_type);
    ml__jw_bool(&w, "upToDate", r->up_to_date);
    ml__jw_bool(&w, "dryRun", r->dry_run);
    json_tags(&w, r);
    json_changes(&w, r);
    ml__jw_int(&w, "childrenCopied", (int64_t)r->children_copied);
    ml__jw_int(&w, "blobsMounted", (int64_t)r->blobs_mounted);
    ml__jw_int(&w, "blobsCopied", (int64_t)r->blobs_copied);
    ml__jw_int(&w, "referrersCopied", (int64_t)r->referrers_copied);
    ml__jw_bool(&w, "purged", r->purged);
    ml__jw_strings(&w, "warnings", &r->warnings);
    ml__jw_strings(&w, "plan", &r->plan);
    if (r->list_json)
        ml__jw_raw(&w, "list", r->list_json);
    ml__jw_end_object(&w);
    return ml__jw_finish(&w, out, err);
}
