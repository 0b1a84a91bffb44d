/* Resolving a spec's entries against registries and assembling the list. */
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "client.h"
#include "list.h"
#include "store.h"

#define MAX_RESOLVE_ROUNDS 6

int ml_push_options_init(ml_push_options *opts, uint32_t version)
{
    if (!opts || version == 0 || version > ML_PUSH_OPTIONS_VERSION)
        return ML_EINVAL;
    memset(opts, 0, sizeof(*opts));
    opts->version = version;
    return ML_OK;
}

static const size_t PUSH_OPTIONS_SIZES[] = {sizeof(ml_push_options)};
static const ml__options_kind PUSH_OPTIONS = {
    "ml_push_options", ML_PUSH_OPTIONS_VERSION, PUSH_OPTIONS_SIZES,
    ML_PUSH_FORCE | ML_PUSH_CREATE | ML_PUSH_IGNORE_MISSING | ML_PUSH_DRY_RUN | ML_PUSH_PURGE |
        ML_PUSH_NO_ATTESTATIONS | ML_PUSH_REFERRERS | ML_PUSH_TRUST_PLATFORMS};

int ml__push_options_read(const ml_push_options *opts, ml_push_options *o, ml_error **err)
{
    *o = (ml_push_options)ML_PUSH_OPTIONS_INIT;
    return ml__options_read(&PUSH_OPTIONS, opts, o, err);
}

static void entry_clear(ml__entry *e)
{
    ml__ref_clear(&e->source);
    free(e->image);
    free(e->config_digest);
    ml__descriptor_clear(&e->desc);
}

void ml_list_free(ml_list *l)
{
    if (!l)
        return;
    ml__ref_clear(&l->target);
    ml__strvec_free(&l->tags);
    for (size_t i = 0; i < l->count; i++)
        entry_clear(&l->entries[i]);
    free(l->entries);
    ml__manifest_clear(&l->model);
    free(l->json);
    ml__strvec_free(&l->warnings);
    free(l->name);
    free(l->spec_name);
    ml__annotations_free(&l->index_annotations);
    free(l->artifact_type);
    ml__ref_clear(&l->subject);
    free(l->base);
    free(l);
}

const char *ml_list_bytes(const ml_list *l, size_t *len)
{
    if (len)
        *len = l ? l->len : 0;
    return l ? l->json : NULL;
}

const char *ml_list_digest(const ml_list *l) { return l ? l->digest : NULL; }
const char *ml_list_media_type(const ml_list *l) { return l ? l->model.media_type : NULL; }
size_t ml_list_warning_count(const ml_list *l) { return l ? l->warnings.count : 0; }
const char *ml_list_warning(const ml_list *l, size_t i) { return ml__strvec_at(l ? &l->warnings : NULL, i); }

static ml__entry *add_entry(ml_list *l)
{
    if (ml__grow((void **)&l->entries, &l->cap, l->count + 1, sizeof(*l->entries)) != ML_OK)
        return NULL;
    ml__entry *e = &l->entries[l->count++];
    memset(e, 0, sizeof(*e));
    return e;
}

/* The tag or digest an entry's manifest is read by. */
static const char *entry_reference(const ml__entry *e)
{
    if (e->desc.digest)
        return e->desc.digest;
    return e->source.digest ? e->source.digest : e->source.tag;
}

ml_list *ml__list_new(uint32_t push_flags, uint32_t spec_flags)
{
    ml_list *l = calloc(1, sizeof(*l));
    if (l) {
        l->flags = push_flags;
        l->spec_flags = spec_flags;
    }
    return l;
}

int ml__list_set_target(ml_list *l, const ml_ref *target, const ml__strvec *extra_tags, const char *name)
{
    if (ml__ref_copy(&l->target, target) != ML_OK || ml__strvec_push(&l->tags, target->tag) != ML_OK ||
        ml__str_replace(&l->name, name) != ML_OK)
        return ML_ENOMEM;
    /* A spec's extra tags are unique and leave out the target's own
     * (ml__spec_add_tag). */
    int rc = ML_OK;
    for (size_t i = 0; rc == ML_OK && extra_tags && i < extra_tags->count; i++)
        rc = ml__strvec_push(&l->tags, extra_tags->items[i]);
    return rc;
}

int ml__list_add_known(ml_list *l, const ml_ref *repo, const ml__descriptor *d, size_t order)
{
    ml__entry *e = add_entry(l);
    char *name = ml__ref_repo_name(repo);
    if (!e || !name || ml__ref_copy(&e->source, repo) != ML_OK || ml__descriptor_copy(&e->desc, d) != ML_OK ||
        !(e->image = ml__asprintf("%s@%s", name, d->digest))) {
        free(name);
        return ML_ENOMEM;
    }
    free(name);
    e->order = order << 16;
    e->attestation = ml__descriptor_is_attestation(d);
    e->platform_wanted = d->has_platform;
    e->state = d->has_platform || e->attestation ? ML__ENTRY_DONE : ML__ENTRY_GET;
    return ML_OK;
}

int ml__list_add_source(ml_list *l, const ml__spec_entry *se, size_t order, bool upsert)
{
    ml__entry *e = add_entry(l);
    if (!e || ml__ref_copy(&e->source, &se->ref) != ML_OK || !(e->image = ml__strdup(se->image)) ||
        ml__annotations_copy(&e->desc.annotations, &se->annotations) != ML_OK)
        return ML_ENOMEM;
    e->order = order << 16;
    e->upsert = upsert;
    e->platform_wanted = se->has_platform;
    e->check_config = se->has_platform && !(l->flags & ML_PUSH_TRUST_PLATFORMS);
    e->line = se->line;
    e->column = se->column;
    e->state = se->has_platform ? ML__ENTRY_HEAD : ML__ENTRY_GET;
    if (se->has_platform) {
        e->desc.has_platform = true;
        if (ml__platform_copy(&e->desc.platform, &se->platform) != ML_OK)
            return ML_ENOMEM;
    }
    return ML_OK;
}

static int list_init(ml_list *l, const ml__spec_list *sl, ml_error **err)
{
    int rc = ml__list_set_target(l, &sl->target, &sl->tags, sl->image);
    if (rc == ML_OK)
        rc = ml__annotations_copy(&l->index_annotations, &sl->annotations);
    if (rc == ML_OK)
        rc = ml__str_replace(&l->artifact_type, sl->artifact_type);
    if (rc == ML_OK && sl->has_subject) {
        l->has_subject = true;
        rc = ml__ref_copy(&l->subject, &sl->subject);
    }
    for (size_t i = 0; rc == ML_OK && i < sl->entry_count; i++)
        rc = ml__list_add_source(l, &sl->entries[i], i, false);
    return rc == ML_OK ? ML_OK : ml__error_set(err, ML_ENOMEM, "out of memory");
}

/* ---- resolution --------------------------------------------------------- */

static int entry_failed(ml_list *l, ml__entry *e, ml__item *it, ml_error **err)
{
    if (it->rc == ML_ENOTFOUND && (l->flags & ML_PUSH_IGNORE_MISSING)) {
        e->state = ML__ENTRY_DROPPED;
        return ml__strvec_pushf(&l->warnings, "%s: not found, left out (missing images are ignored)", e->image);
    }
    int rc = ml__item_take_error(it, err);
    ml__error_prefix(err, rc, "image %s", e->image);
    /* The spec line that names the image, and the image itself. */
    char *ref = ml__ref_format(&e->source);
    ml__error_set_ref(err, ref);
    free(ref);
    return ml__error_locate(err, rc, l->spec_name, e->line, e->column);
}

static int set_found(ml__entry *e, const ml__item *it)
{
    if (ml__str_replace(&e->desc.digest, it->digest) != ML_OK ||
        ml__str_replace(&e->desc.media_type, it->media_type) != ML_OK)
        return ML_ENOMEM;
    e->desc.size = it->size;
    return ML_OK;
}

static int check_media_type(const ml__entry *e, ml_error **err)
{
    if (ml__kind_of(e->desc.media_type) != ML__KIND_UNKNOWN)
        return ML_OK;
    return ml__error_set(err, ML_EMANIFEST, "image %s: unsupported media type \"%s\"", e->image,
                         e->desc.media_type ? e->desc.media_type : "(none)");
}

/* Runs one batch over the entries in `state`; `apply` handles each answer. */
typedef int (*apply_fn)(ml_list *l, size_t index, ml__item *it, ml_error **err);

static int run_stage(ml_list *l, ml_client *c, ml__entry_state state, const char *op, ml__batch_fn batch,
                     apply_fn apply, ml_error **err)
{
    size_t n = 0, count = l->count;
    for (size_t i = 0; i < count; i++)
        n += l->entries[i].state == state;
    if (n == 0)
        return ML_OK;
    ml__item *items = calloc(n, sizeof(*items));
    size_t *index = calloc(n, sizeof(*index));
    int rc = items && index ? ML_OK : ml__error_set(err, ML_ENOMEM, "out of memory");
    for (size_t i = 0, k = 0; rc == ML_OK && i < count; i++) {
        if (l->entries[i].state != state)
            continue;
        index[k] = i;
        items[k].repo = &l->entries[i].source;
        items[k++].reference = entry_reference(&l->entries[i]);
    }
    if (rc == ML_OK)
        ml__client_step(c, "resolve", n);
    if (rc == ML_OK && ml__batch_once(c, op, batch, items, n) != ML_OK)
        rc = ml__error_set(err, ML_ENOMEM, "out of memory");
    for (size_t k = 0; rc == ML_OK && k < n; k++)
        rc = apply(l, index[k], &items[k], err);
    for (size_t k = 0; items && k < n; k++)
        ml__item_clear(&items[k]);
    free(items);
    free(index);
    return rc;
}

static int apply_head(ml_list *l, size_t i, ml__item *it, ml_error **err)
{
    ml__entry *e = &l->entries[i];
    if (it->rc != ML_OK)
        return entry_failed(l, e, it, err);
    if (set_found(e, it) != ML_OK)
        return ml__error_set(err, ML_ENOMEM, "out of memory");
    int rc = check_media_type(e, err);
    if (rc != ML_OK)
        return rc;
    /* A list named with a platform is read to pick that platform from it;
     * an image's manifest leads to the config its platform is checked with. */
    bool list = ml__kind_is_list(ml__kind_of(e->desc.media_type));
    e->state = list || e->check_config ? ML__ENTRY_GET : ML__ENTRY_DONE;
    return ML_OK;
}

/* Index of the child a runtime on `want` would pick, or SIZE_MAX. */
static size_t best_child(const ml__manifest *m, const ml_platform *want)
{
    size_t best = SIZE_MAX;
    int best_score = 0;
    for (size_t i = 0; i < m->manifest_count; i++) {
        const ml__descriptor *d = &m->manifests[i];
        if (!d->has_platform || ml__descriptor_is_attestation(d))
            continue;
        int score = ml__platform_match(want, &d->platform);
        if (score > best_score) {
            best_score = score;
            best = i;
        }
    }
    return best;
}

static bool child_wanted(const ml__manifest *m, size_t i, const ml__entry *parent, size_t picked)
{
    const ml__descriptor *d = &m->manifests[i];
    if (!parent->platform_wanted)
        return true;
    if (i == picked)
        return true;
    /* Keep the attestation that belongs to the picked child. */
    return picked != SIZE_MAX && ml__descriptor_is_attestation(d) &&
           ml__str_eq(ml__annotations_get(&d->annotations, ML__ATTESTATION_REF_KEY),
                      m->manifests[picked].digest);
}

static int add_child(ml_list *l, size_t parent_index, const ml__descriptor *d, size_t child_index,
                     ml_error **err)
{
    ml__entry *e = add_entry(l);
    ml__entry *parent = &l->entries[parent_index]; /* after add_entry: it may move */
    if (!e)
        return ml__error_set(err, ML_ENOMEM, "out of memory");
    if (ml__ref_copy(&e->source, &parent->source) != ML_OK || ml__descriptor_copy(&e->desc, d) != ML_OK ||
        !(e->image = ml__asprintf("%s (entry %s)", parent->image, d->digest)))
        return ml__error_set(err, ML_ENOMEM, "out of memory");
    e->order = parent->order + child_index + 1;
    e->attestation = ml__descriptor_is_attestation(d);
    e->upsert = parent->upsert;
    if (ml__kind_is_list(ml__kind_of(d->media_type)))
        return ml__error_set(err, ML_EMANIFEST, "image %s: nested index in %s is not supported", e->image,
                             parent->image);
    /* Spec annotations on the entry still apply to what it contributes. */
    for (size_t k = 0; k < parent->desc.annotations.count; k++)
        if (ml__annotations_set(&e->desc.annotations, parent->desc.annotations.keys[k],
                                parent->desc.annotations.values[k]) != ML_OK)
            return ml__error_set(err, ML_ENOMEM, "out of memory");
    e->state = d->has_platform || e->attestation ? ML__ENTRY_DONE : ML__ENTRY_GET;
    return ML_OK;
}

static int flatten(ml_list *l, size_t i, const ml__manifest *m, ml_error **err)
{
    ml__entry *parent = &l->entries[i];
    size_t picked = parent->platform_wanted ? best_child(m, &parent->desc.platform) : SIZE_MAX;
    if (parent->platform_wanted && picked == SIZE_MAX) {
        char *p = ml__platform_format(&parent->desc.platform);
        int rc = ml__error_set(err, ML_ENOTFOUND, "image %s: list has no entry for platform %s", parent->image,
                               p ? p : "?");
        free(p);
        return rc;
    }
    for (size_t k = 0; k < m->manifest_count; k++) {
        if (l->flags & ML_PUSH_NO_ATTESTATIONS && ml__descriptor_is_attestation(&m->manifests[k]))
            continue;
        if (!child_wanted(m, k, &l->entries[i], picked))
            continue;
        int rc = add_child(l, i, &m->manifests[k], k, err);
        if (rc != ML_OK)
            return rc;
    }
    l->entries[i].state = ML__ENTRY_DROPPED;
    return ML_OK;
}

static int apply_get(ml_list *l, size_t i, ml__item *it, ml_error **err)
{
    ml__entry *e = &l->entries[i];
    if (it->rc != ML_OK)
        return entry_failed(l, e, it, err);
    if (set_found(e, it) != ML_OK)
        return ml__error_set(err, ML_ENOMEM, "out of memory");
    ml__manifest m = {0};
    int rc = ml__manifest_parse(&m, it->body, it->len, it->media_type, err);
    if (rc != ML_OK)
        return ml__error_prefix(err, rc, "image %s", e->image);
    /* The JSON's own mediaType is authoritative (Content-Type may be generic). */
    if (ml__str_replace(&e->desc.media_type, m.media_type) != ML_OK)
        rc = ml__error_set(err, ML_ENOMEM, "out of memory");
    else if (ml__kind_is_list(m.kind))
        rc = flatten(l, i, &m, err);
    else if (e->desc.has_platform && (!e->check_config || !m.config.digest))
        e->state = ML__ENTRY_DONE;
    else if (!(e->config_digest = ml__strdup(m.config.digest)))
        rc = ml__error_set(err, ML_ENOMEM, "out of memory");
    else
        e->state = ML__ENTRY_CONFIG;
    ml__manifest_clear(&m);
    return rc;
}

/* A config read by an earlier run (or entry) needs no request: ML_OK,
 * ML_ENOTFOUND on a miss, or the entry's error. */
static int platform_cached(ml_list *l, ml_client *c, ml__entry *e, ml_error **err)
{
    const char *dir = ml__client_cache_dir(c);
    ml_platform config;
    if (!ml__cache_get_manifest_platform(dir, e->desc.digest, &config)) {
        if (!ml__cache_get_platform(dir, e->config_digest, &config))
            return ML_ENOTFOUND;
        ml__cache_link_manifest(dir, e->desc.digest, e->config_digest, &config);
    }
    return ml__entry_config_platform(l, e, &config, err);
}

static int get_configs(ml_client *c, ml__item *items, size_t n)
{
    return ml__store_get_blobs(c, items, n, ML__CONFIG_MAX);
}

/* Configs are fetched once per digest and repository, however many
 * entries (and, through the client's memo, lists) share them. */
static int resolve_configs(ml_list *l, ml_client *c, ml_error **err)
{
    size_t n = 0;
    ml__item *items = calloc(l->count ? l->count : 1, sizeof(*items));
    bool *written = calloc(l->count ? l->count : 1, sizeof(*written));
    if (!items || !written) {
        free(items);
        free(written);
        return ml__error_set(err, ML_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < l->count; i++) {
        ml__entry *e = &l->entries[i];
        if (e->state != ML__ENTRY_CONFIG)
            continue;
        int cached = ml__client_cache_dir(c) ? platform_cached(l, c, e, err) : ML_ENOTFOUND;
        if (cached != ML_ENOTFOUND) {
            if (cached == ML_OK)
                continue;
            free(items);
            free(written);
            return cached;
        }
        bool seen = false;
        for (size_t k = 0; k < n && !seen; k++)
            seen = strcmp(items[k].reference, e->config_digest) == 0 && ml__ref_same_repo(items[k].repo, &e->source);
        if (!seen) {
            items[n].repo = &e->source;
            items[n++].reference = e->config_digest;
        }
    }
    ml__client_step(c, "configs", n);
    int rc = ml__batch_once(c, "BLOB", get_configs, items, n) == ML_OK ? ML_OK : ml__error_set(err, ML_ENOMEM, "out of memory");
    for (size_t i = 0; rc == ML_OK && i < l->count; i++) {
        ml__entry *e = &l->entries[i];
        if (e->state != ML__ENTRY_CONFIG)
            continue;
        ml__item *it = items;
        while (!(strcmp(it->reference, e->config_digest) == 0 && ml__ref_same_repo(it->repo, &e->source)))
            it++;
        if (it->rc != ML_OK) {
            rc = ml__error_set(err, it->rc, "image %s: config %s: %s", e->image, it->reference,
                               ml_error_message(it->err));
            break;
        }
        ml_platform config;
        if ((rc = ml__config_platform(it->body, it->len, &config, e->check_config ? NULL : err)) != ML_OK) {
            if (e->check_config && rc != ML_ENOMEM) {
                rc = ml__entry_config_without_platform(l, e, it->reference, err);
                continue;
            }
            rc = ml__error_prefix(err, rc, "image %s: config %s", e->image, it->reference);
            break;
        }
        if (!written[it - items]) /* once per config, however many entries share it */
            ml__cache_put_platform(ml__client_cache_dir(c), e->config_digest, &config);
        written[it - items] = true;
        ml__cache_link_manifest(ml__client_cache_dir(c), e->desc.digest, e->config_digest, &config);
        rc = ml__entry_config_platform(l, e, &config, err);
    }
    for (size_t k = 0; k < n; k++)
        ml__item_clear(&items[k]);
    free(items);
    free(written);
    return rc;
}

static bool pending(const ml_list *l)
{
    for (size_t i = 0; i < l->count; i++)
        if (l->entries[i].state < ML__ENTRY_DONE)
            return true;
    return false;
}

static int resolve(ml_list *l, ml_client *c, ml_error **err)
{
    for (int round = 0; round < MAX_RESOLVE_ROUNDS && pending(l); round++) {
        int rc = run_stage(l, c, ML__ENTRY_HEAD, "HEAD", ml__store_head_manifests, apply_head, err);
        if (rc == ML_OK)
            rc = ml__list_platforms_from_cache(l, ml__client_cache_dir(c), err);
        if (rc == ML_OK)
            rc = run_stage(l, c, ML__ENTRY_GET, "GET", ml__store_get_manifests, apply_get, err);
        if (rc == ML_OK)
            rc = resolve_configs(l, c, err);
        if (rc != ML_OK)
            return rc;
    }
    return pending(l) ? ml__error_set(err, ML_EMANIFEST, "entries could not be resolved") : ML_OK;
}

/* ---- assembly ----------------------------------------------------------- */

/* Image entries in spec order, then attestations (as buildx lays them out). */
static int compare_entries(const void *pa, const void *pb)
{
    const ml__entry *a = pa, *b = pb;
    bool a_done = a->state == ML__ENTRY_DONE, b_done = b->state == ML__ENTRY_DONE;
    if (a_done != b_done)
        return a_done ? -1 : 1;
    if (a->attestation != b->attestation)
        return a->attestation ? 1 : -1;
    return a->order < b->order ? -1 : a->order > b->order;
}

static int check_duplicates(const ml_list *l, ml_error **err)
{
    for (size_t i = 0; i < l->count; i++) {
        const ml__entry *a = &l->entries[i];
        if (a->attestation || a->state != ML__ENTRY_DONE)
            continue;
        for (size_t k = i + 1; k < l->count; k++) {
            const ml__entry *b = &l->entries[k];
            if (b->attestation || b->state != ML__ENTRY_DONE)
                continue;
            if (ml__str_eq(a->desc.digest, b->desc.digest) &&
                !ml__platform_equal(&a->desc.platform, &b->desc.platform)) {
                /* One image cannot be two platforms: a registry answered
                 * with the wrong digest, or the spec names the same image twice. */
                char *pa = ml__platform_format(&a->desc.platform), *pb = ml__platform_format(&b->desc.platform);
                ml__error_set(err, ML_EMANIFEST, "%s and %s resolve to the same image %s, listed as %s and %s",
                              a->image, b->image, a->desc.digest, pa ? pa : "?", pb ? pb : "?");
                free(pa);
                free(pb);
                return ml__error_hint(err, ML_EMANIFEST, ML_HINT_ALLOW_DUPLICATES);
            }
            if (!ml__platform_equal(&a->desc.platform, &b->desc.platform))
                continue;
            char *p = ml__platform_format_all(&a->desc.platform);
            ml__error_set(err, ML_EDUPLICATE, "platform %s appears twice: %s and %s", p ? p : "?", a->image, b->image);
            free(p);
            return ml__error_hint(err, ML_EDUPLICATE, ML_HINT_ALLOW_DUPLICATES);
        }
    }
    return ML_OK;
}

static bool has_annotations(const ml_list *l, const ml_push_options *o)
{
    if (l->index_annotations.count || o->annotation_count)
        return true;
    for (size_t i = 0; i < l->count; i++)
        if (l->entries[i].state == ML__ENTRY_DONE && l->entries[i].desc.annotations.count)
            return true;
    return false;
}

static bool is_oci(const char *media_type)
{
    ml__kind k = ml__kind_of(media_type);
    return k == ML__KIND_OCI_MANIFEST || k == ML__KIND_OCI_INDEX;
}

static int set_media_type(ml_list *l, const char *media_type, ml_error **err)
{
    if (ml__str_replace(&l->model.media_type, media_type) != ML_OK)
        return ml__error_set(err, ML_ENOMEM, "out of memory");
    return ML_OK;
}

static int choose_kind(ml_list *l, ml_client *c, const ml_push_options *o, ml_error **err)
{
    const ml__entry *oci_entry = NULL;
    for (size_t i = 0; i < l->count && !oci_entry; i++)
        if (l->entries[i].state == ML__ENTRY_DONE && is_oci(l->entries[i].desc.media_type))
            oci_entry = &l->entries[i];
    bool any_oci = oci_entry != NULL;
    bool annotated = has_annotations(l, o) || l->artifact_type || l->has_subject;
    /* Layout readers (skopeo, containers/image) see only OCI types in
     * index.json. */
    bool oci_only = ml__store_can(c, &l->target, ML__STORE_OCI_ONLY);
    if (o->type == ML_TYPE_DOCKER && oci_only &&
        ml__strvec_push(&l->warnings, "a Docker manifest list in an OCI layout: skopeo and other layout "
                                      "readers skip Docker lists in index.json") != ML_OK)
        return ml__error_set(err, ML_ENOMEM, "out of memory");
    if (o->type == ML_TYPE_OCI || (o->type == ML_TYPE_AUTO && (any_oci || annotated || l->prefer_oci || oci_only))) {
        l->model.kind = ML__KIND_OCI_INDEX;
        return set_media_type(l, ML__MT_OCI_INDEX, err);
    }
    if (o->type != ML_TYPE_DOCKER && o->type != ML_TYPE_AUTO)
        return ml__error_set(err, ML_EINVAL, "unknown list type %u", (unsigned)o->type);
    if (any_oci) {
        ml__error_set(err, ML_ETYPE, "%s is an OCI %s; a Docker manifest list may only hold Docker manifests",
                      oci_entry->image, oci_entry->attestation ? "attestation manifest" : "manifest");
        return ml__error_hint(err, ML_ETYPE,
                              ML_HINT_TYPE_OCI | (oci_entry->attestation ? ML_HINT_NO_ATTESTATIONS : 0));
    }
    if (annotated) {
        ml__error_set(err, ML_ETYPE, "annotations, artifactType and subject need an OCI index, not a Docker "
                                     "manifest list");
        return ml__error_hint(err, ML_ETYPE, ML_HINT_TYPE_OCI);
    }
    l->model.kind = ML__KIND_DOCKER_LIST;
    return set_media_type(l, ML__MT_DOCKER_LIST, err);
}

int ml__annotation_arg_add(ml__annotations *a, const char *kv, ml_error **err)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv)
        return ml__error_set(err, ML_EINVAL, "annotation \"%s\": expected KEY=VALUE", kv);
    char *key = ml__strndup(kv, (size_t)(eq - kv));
    int rc = key ? ml__annotations_set(a, key, eq + 1) : ML_ENOMEM;
    free(key);
    return rc == ML_OK ? ML_OK : ml__error_set(err, rc, "out of memory");
}

static int assemble(ml_list *l, const ml_push_options *o, ml_error **err)
{
    size_t n = 0;
    for (size_t i = 0; i < l->count; i++)
        n += l->entries[i].state == ML__ENTRY_DONE;
    if (n == 0)
        return ml__error_set(err, ML_ENOTFOUND, "no image of %s could be found", l->name);
    l->model.manifests = calloc(n, sizeof(*l->model.manifests));
    if (!l->model.manifests || ml__annotations_copy(&l->model.annotations, &l->index_annotations) != ML_OK ||
        ml__str_replace(&l->model.artifact_type, l->artifact_type) != ML_OK)
        return ml__error_set(err, ML_ENOMEM, "out of memory");
    for (size_t i = 0; i < o->annotation_count; i++) {
        int rc = ml__annotation_arg_add(&l->model.annotations, o->annotations[i], err);
        if (rc != ML_OK)
            return rc;
    }
    for (size_t i = 0; i < n; i++) {
        if (ml__descriptor_copy(&l->model.manifests[i], &l->entries[i].desc) != ML_OK)
            return ml__error_set(err, ML_ENOMEM, "out of memory");
        l->model.manifest_count++;
    }
    int rc = ml__manifest_emit(&l->model, &l->json, &l->len, err);
    if (rc == ML_OK)
        rc = ml__digest_compute("sha256", l->json, l->len, l->digest, err);
    return rc;
}

/* An edit's additions replace what stood for their platform, and the
 * attestations that belonged to the replaced images. */
static void drop_entry(ml_list *l, ml__entry *e)
{
    e->state = ML__ENTRY_DROPPED;
    for (size_t k = 0; k < l->count; k++) {
        ml__entry *a = &l->entries[k];
        if (a->attestation && a->state == ML__ENTRY_DONE &&
            ml__str_eq(ml__annotations_get(&a->desc.annotations, ML__ATTESTATION_REF_KEY), e->desc.digest))
            a->state = ML__ENTRY_DROPPED;
    }
}

/* An addition takes the place of the entry it replaces, so re-adding an
 * unchanged image changes nothing, not even the order. */
static void apply_upserts(ml_list *l)
{
    for (size_t i = 0; i < l->count; i++) {
        ml__entry *add = &l->entries[i];
        if (!add->upsert || add->attestation || add->state != ML__ENTRY_DONE)
            continue;
        bool placed = false;
        for (size_t k = 0; k < l->count; k++) {
            ml__entry *old = &l->entries[k];
            if (old->upsert || old->attestation || old->state != ML__ENTRY_DONE ||
                !ml__platform_equal(&old->desc.platform, &add->desc.platform))
                continue;
            if (!placed)
                add->order = old->order;
            placed = true;
            drop_entry(l, old);
        }
    }
}

/* The subject is referenced by descriptor: its digest, size and type. */
static int resolve_subject(ml_list *l, ml_client *c, ml_error **err)
{
    if (!ml__ref_same_repo(&l->subject, &l->target)) {
        char *subject = ml__ref_repo_name(&l->subject), *target = ml__ref_repo_name(&l->target);
        int rc = subject && target ? ml__error_set(err, ML_EINVAL, "subject %s must be in the target repository %s",
                                                   subject, target)
                                   : ml__error_set(err, ML_ENOMEM, "out of memory");
        free(subject);
        free(target);
        return rc;
    }
    ml__item it = {.repo = &l->subject, .reference = l->subject.digest ? l->subject.digest : l->subject.tag};
    int rc = ml__store_head_manifests(c, &it, 1) == ML_OK ? ml__item_take_error(&it, err) : ML_ENOMEM;
    ml__descriptor *d = &l->model.subject;
    if (rc == ML_OK && (ml__str_replace(&d->digest, it.digest) != ML_OK ||
                        ml__str_replace(&d->media_type, it.media_type) != ML_OK))
        rc = ML_ENOMEM;
    d->size = it.size;
    l->model.has_subject = rc == ML_OK;
    ml__item_clear(&it);
    if (rc == ML_ENOMEM)
        return ml__error_set(err, rc, "out of memory");
    return rc == ML_OK ? ML_OK : ml__error_prefix(err, rc, "subject");
}

int ml__list_finish(ml_list *l, ml_client *c, const ml_push_options *o, ml_error **err)
{
    int rc = l->has_subject ? resolve_subject(l, c, err) : ML_OK;
    if (rc == ML_OK)
        rc = resolve(l, c, err);
    ml__client_step(c, NULL, 0);
    if (rc == ML_OK) {
        apply_upserts(l);
        qsort(l->entries, l->count, sizeof(*l->entries), compare_entries);
        if (!(l->spec_flags & ML_SPEC_ALLOW_DUPLICATES))
            rc = check_duplicates(l, err);
    }
    if (rc == ML_OK)
        rc = choose_kind(l, c, o, err);
    if (rc == ML_OK)
        rc = assemble(l, o, err);
    if (rc != ML_OK)
        ml__error_prefix(err, rc, "%s", l->name);
    return rc;
}

int ml_list_build(ml_list **out, ml_client *client, const ml_spec *spec, size_t index,
                  const ml_push_options *opts, ml_error **err)
{
    if (!out || !client || !spec)
        return ml__error_set(err, ML_EINVAL, "ml_list_build: NULL argument");
    *out = NULL;
    if (index >= spec->list_count)
        return ml__error_set(err, ML_EINVAL, "ml_list_build: spec has no list %zu", index);
    /* Parsing ran these already; a built spec meets them here. */
    int rc = ml__spec_check_list(spec, &spec->lists[index], err);
    if (rc != ML_OK)
        return rc;
    ml_push_options o;
    rc = ml__push_options_read(opts, &o, err);
    if (rc != ML_OK)
        return rc;
    ml_list *l = ml__list_new(o.flags, spec->flags);
    /* The spec's warnings travel with the list (and its result's JSON). */
    if (!l || ml__str_replace(&l->spec_name, spec->name) != ML_OK || ml__strvec_merge(&l->warnings, &spec->warnings) != ML_OK) {
        ml_list_free(l);
        return ml__error_set(err, ML_ENOMEM, "out of memory");
    }
    rc = list_init(l, &spec->lists[index], err);
    if (rc == ML_OK)
        rc = ml__list_finish(l, client, &o, err);
    if (rc != ML_OK) {
        ml_list_free(l);
        return rc;
    }
    *out = l;
    return ML_OK;
}
