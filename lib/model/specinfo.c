/* Specs once read or built: their lifetime, and read access for callers
 * (the CLI's plan, bindings). */
#include <stdlib.h>
#include <string.h>

#include "spec.h"

static const ml__spec_list *list_at(const ml_spec *spec, size_t index)
{
    return spec && index < spec->list_count ? &spec->lists[index] : NULL;
}

static const ml__spec_entry *entry_at(const ml_spec *spec, size_t index, size_t entry)
{
    const ml__spec_list *l = list_at(spec, index);
    return l && entry < l->entry_count ? &l->entries[entry] : NULL;
}

size_t ml_spec_tag_count(const ml_spec *spec, size_t index)
{
    const ml__spec_list *l = list_at(spec, index);
    return l ? l->tags.count : 0;
}

const char *ml_spec_tag(const ml_spec *spec, size_t index, size_t tag)
{
    const ml__spec_list *l = list_at(spec, index);
    return l && tag < l->tags.count ? l->tags.items[tag] : NULL;
}

size_t ml_spec_entry_count(const ml_spec *spec, size_t index)
{
    const ml__spec_list *l = list_at(spec, index);
    return l ? l->entry_count : 0;
}

const char *ml_spec_entry_image(const ml_spec *spec, size_t index, size_t entry)
{
    const ml__spec_entry *e = entry_at(spec, index, entry);
    return e ? e->ref_name : NULL;
}

static void append_list(ml__buf *b, const char *label, const ml__strvec *v)
{
    for (size_t i = 0; i < v->count; i++)
        ml__buf_printf(b, "%s%s", i ? "," : label, v->items[i]);
}

int ml_spec_entry_platform(const ml_spec *spec, size_t index, size_t entry, char **platform, ml_error **err)
{
    if (!platform)
        return ml__error_set(err, ML_EINVAL, "ml_spec_entry_platform: platform is NULL");
    *platform = NULL;
    const ml__spec_entry *e = entry_at(spec, index, entry);
    if (!e)
        return ml__error_set(err, ML_EINVAL, "spec has no entry %zu in list %zu", entry, index);
    if (!e->has_platform)
        return ML_OK;
    /* The notation errors use and a platform to remove is given in. */
    char *base = ml__platform_format_all(&e->platform);
    ml__buf b = {0};
    ml__buf_puts(&b, base ? base : "");
    append_list(&b, " features=", &e->platform.features);
    free(base);
    *platform = base ? ml__buf_take(&b) : NULL;
    if (!*platform)
        ml__buf_free(&b);
    return *platform ? ML_OK : ml__error_set(err, ML_ENOMEM, "out of memory");
}

/* What only an OCI index can carry, or NULL. */
static const char *oci_only_feature(const ml__spec_list *l, int *line)
{
    *line = l->line;
    if (l->annotations.count)
        return "annotations";
    if (l->artifact_type)
        return "artifactType";
    if (l->has_subject)
        return "subject";
    for (size_t i = 0; i < l->entry_count; i++)
        if (l->entries[i].annotations.count) {
            *line = l->entries[i].line;
            return "entry annotations";
        }
    return NULL;
}

int ml_spec_check_type(const ml_spec *spec, uint32_t type, ml_error **err)
{
    if (!spec)
        return ml__error_set(err, ML_EINVAL, "ml_spec_check_type: NULL spec");
    if (type != ML_TYPE_DOCKER)
        return ML_OK;
    for (size_t i = 0; i < spec->list_count; i++) {
        int line = 0;
        const char *what = oci_only_feature(&spec->lists[i], &line);
        if (!what)
            continue;
        ml__error_set(err, ML_ETYPE, "%s need an OCI index, not a Docker manifest list", what);
        ml__error_hint(err, ML_ETYPE, ML_HINT_TYPE_OCI);
        if (line <= 0) /* built */
            return ml__error_prefix(err, ML_ETYPE, "%s", spec->lists[i].target_name);
        ml__error_prefix(err, ML_ETYPE, "%s:%d", spec->name, line);
        ml__error_set_location(err, spec->name, line, 1);
        return ML_ETYPE;
    }
    return ML_OK;
}

void ml__spec_entry_clear(ml__spec_entry *e)
{
    ml__ref_clear(&e->ref);
    free(e->image);
    free(e->ref_name);
    ml__platform_clear(&e->platform);
    ml__annotations_free(&e->annotations);
}

void ml__spec_list_clear(ml__spec_list *l)
{
    ml__ref_clear(&l->target);
    free(l->target_name);
    free(l->artifact_type);
    ml__ref_clear(&l->subject);
    free(l->image);
    ml__strvec_free(&l->tags);
    ml__strset_free(&l->tag_set);
    ml__annotations_free(&l->annotations);
    for (size_t i = 0; i < l->entry_count; i++)
        ml__spec_entry_clear(&l->entries[i]);
    free(l->entries);
}

void ml_spec_free(ml_spec *spec)
{
    if (!spec)
        return;
    for (size_t i = 0; i < spec->list_count; i++)
        ml__spec_list_clear(&spec->lists[i]);
    free(spec->lists);
    ml__strvec_free(&spec->warnings);
    ml__strvec_free(&spec->warning_first);
    free(spec->warning_more);
    free(spec->name);
    free(spec);
}

size_t ml_spec_list_count(const ml_spec *spec) { return spec ? spec->list_count : 0; }

const char *ml_spec_target(const ml_spec *spec, size_t index)
{
    if (!spec || index >= spec->list_count)
        return NULL;
    return spec->lists[index].target_name;
}

size_t ml_spec_warning_count(const ml_spec *spec) { return spec ? spec->warnings.count : 0; }

const char *ml_spec_warning(const ml_spec *spec, size_t index)
{
    return ml__strvec_at(spec ? &spec->warnings : NULL, index);
}

/* ---- several specs pushed together ---------------------------------------- */

/* A tag some list pushes, as "registry/repo:tag". */
typedef struct tag_owner {
    char *name;
    const ml_spec *spec;
    const ml__spec_list *list;
} tag_owner;

typedef struct tag_owners {
    tag_owner *items;
    size_t count, cap;
} tag_owners;

static int add_owner(tag_owners *o, char *name, const ml_spec *spec, const ml__spec_list *l)
{
    if (!name || ml__grow((void **)&o->items, &o->cap, o->count + 1, sizeof(*o->items)) != ML_OK) {
        free(name);
        return ML_ENOMEM;
    }
    o->items[o->count++] = (tag_owner){name, spec, l};
    return ML_OK;
}

/* The target's own tag, then its extra tags in the target's repository
 * (the target always has a tag, which holds no ':'). */
static int add_list_tags(tag_owners *o, const ml_spec *spec, const ml__spec_list *l)
{
    int rc = add_owner(o, ml__strdup(l->target_name), spec, l);
    int repo_len = (int)(strrchr(l->target_name, ':') - l->target_name);
    for (size_t t = 0; rc == ML_OK && t < l->tags.count; t++)
        rc = add_owner(o, ml__asprintf("%.*s:%s", repo_len, l->target_name, l->tags.items[t]), spec, l);
    return rc;
}

static int duplicate_tag(const tag_owners *o, const tag_owner *second, ml_error **err)
{
    const tag_owner *first = o->items;
    while (strcmp(first->name, second->name) != 0)
        first++;
    const ml__spec_list *l = first->list;
    int rc = ml__error_set_printable(err, ML_ESPEC, "tag %s is also pushed by %s:%d:%d (%s)", second->name,
                                     first->spec->name, l->line, l->column, l->target_name);
    return ml__error_locate(err, rc, second->spec->name, second->list->line, second->list->column);
}

static int check_owners(const tag_owners *o, ml_error **err)
{
    ml__strset seen = {0};
    int rc = ML_OK;
    for (size_t i = 0; rc == ML_OK && i < o->count; i++) {
        bool added = false;
        rc = ml__strset_add(&seen, o->items[i].name, &added) != ML_OK ? ml__error_set(err, ML_ENOMEM, "out of memory")
             : added ? ML_OK : duplicate_tag(o, &o->items[i], err);
    }
    ml__strset_free(&seen);
    return rc;
}

int ml_spec_check_targets(const ml_spec *const *specs, size_t count, ml_error **err)
{
    if (count && !specs)
        return ml__error_set(err, ML_EINVAL, "ml_spec_check_targets: specs is NULL");
    tag_owners owners = {0};
    int rc = ML_OK;
    for (size_t s = 0; rc == ML_OK && s < count; s++) {
        if (!specs[s])
            rc = ml__error_set(err, ML_EINVAL, "ml_spec_check_targets: specs[%zu] is NULL", s);
        for (size_t i = 0; rc == ML_OK && i < specs[s]->list_count; i++)
            if (add_list_tags(&owners, specs[s], &specs[s]->lists[i]) != ML_OK)
                rc = ml__error_set(err, ML_ENOMEM, "out of memory");
    }
    if (rc == ML_OK)
        rc = check_owners(&owners, err);
    for (size_t i = 0; i < owners.count; i++)
        free(owners.items[i].name);
    free(owners.items);
    return rc;
}
