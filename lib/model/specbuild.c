/* Specs built value by value: the checks and normalisation every spec goes
 * through (the YAML reader in spec.c calls the same functions), and the
 * public builder on top of them. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "spec.h"

/* Invalid tags are quoted in messages up to this many bytes. */
#define QUOTE_MAX 64

static int oom(ml_error **err) { return ml__error_set(err, ML_ENOMEM, "out of memory"); }

/* ---- shared with the YAML reader ----------------------------------------------- */

int ml__spec_list_append(ml_spec *spec, ml__spec_list **out, ml_error **err)
{
    if (ml__grow((void **)&spec->lists, &spec->list_cap, spec->list_count + 1,
                 sizeof(*spec->lists)) != ML_OK)
        return oom(err);
    *out = &spec->lists[spec->list_count++];
    **out = (ml__spec_list){0};
    return ML_OK;
}

int ml__spec_entry_append(ml__spec_list *list, ml__spec_entry **out, ml_error **err)
{
    if (ml__grow((void **)&list->entries, &list->entry_cap, list->entry_count + 1,
                 sizeof(*list->entries)) != ML_OK)
        return oom(err);
    *out = &list->entries[list->entry_count++];
    **out = (ml__spec_entry){0};
    return ML_OK;
}

int ml__spec_image_ref(ml_ref *out, const char *image, ml_error **err)
{
    int rc = ml__ref_parse(out, image, err);
    if (rc == ML_OK && !out->tag && !out->digest && !(out->tag = ml__strdup("latest")))
        rc = oom(err);
    return rc;
}

int ml__spec_set_target(ml__spec_list *list, const char *image, ml_error **err)
{
    if (!(list->image = ml__strdup(image)))
        return oom(err);
    int rc = ml__spec_image_ref(&list->target, image, err);
    if (rc == ML_OK && list->target.digest)
        return ml__error_set_printable(err, ML_EREF,
                             "target \"%s\" must be a tag, not a digest (a list is pushed under "
                             "a tag)", image);
    if (rc == ML_OK && !(list->target_name = ml__ref_format(&list->target)))
        rc = oom(err);
    return rc;
}

int ml__spec_set_image(ml__spec_entry *entry, const char *image, ml_error **err)
{
    if (!(entry->image = ml__strdup(image)))
        return oom(err);
    int rc = ml__spec_image_ref(&entry->ref, image, err);
    if (rc == ML_OK && !(entry->ref_name = ml__ref_format(&entry->ref)))
        rc = oom(err);
    return rc;
}

int ml__spec_add_tag(ml__spec_list *list, char *tag, ml_error **err)
{
    int rc = ML_OK;
    if (!ml__tag_valid(tag))
        rc = ml__error_set_printable(err, ML_EREF,
                  "invalid tag \"%.*s\" in tags (allowed: A-Z a-z 0-9 _ . -, at most "
                  "128, not starting with . or -)", QUOTE_MAX, tag);
    /* The target's own tag and repeats add nothing. */
    if (rc != ML_OK || strcmp(tag, list->target.tag) == 0 || ml__strset_contains(&list->tag_set, tag)) {
        free(tag);
        return rc;
    }
    /* The set points into the vector's strings: the tag is kept first. */
    if (ml__strvec_push_take(&list->tags, tag) != ML_OK)
        return oom(err);
    bool added = false;
    if (ml__strset_add(&list->tag_set, tag, &added) != ML_OK) {
        free(list->tags.items[--list->tags.count]);
        return oom(err);
    }
    return ML_OK;
}

int ml__spec_platform_check(const ml_spec *spec, ml_platform *p, ml__strvec *rewrites,
                            ml_error **err)
{
    bool normalize = !(spec->flags & ML_SPEC_NO_NORMALIZE);
    if (normalize && ml__platform_normalize(p, rewrites) != ML_OK)
        return oom(err);
    int rc = ml__platform_validate(p, err);
    /* Only canonical names can be compared with Go's lists. */
    if (rc == ML_OK && normalize && rewrites && ml__platform_check_known(p, rewrites) != ML_OK)
        rc = oom(err);
    return rc;
}

static bool says(const char *warning, const char *rewrite)
{
    size_t w = strlen(warning), r = strlen(rewrite);
    return w > r + 2 && strcmp(warning + w - r, rewrite) == 0 && strncmp(warning + w - r - 2, ": ", 2) == 0;
}

int ml__spec_warn(ml_spec *spec, const char *place, const char *rewrite, ml_error **err)
{
    size_t i = 0;
    while (i < spec->warning_first.count && !says(spec->warning_first.items[i], rewrite))
        i++;
    if (i == spec->warning_first.count) {
        if (ml__grow((void **)&spec->warning_more, &spec->warning_more_cap, i + 1, sizeof(size_t)) != ML_OK ||
            ml__strvec_pushf(&spec->warning_first, "%s: %s", place, rewrite) != ML_OK)
            return oom(err);
        spec->warning_more[i] = 0;
        return ml__strvec_push(&spec->warnings, spec->warning_first.items[i]) == ML_OK ? ML_OK : oom(err);
    }
    size_t more = ++spec->warning_more[i];
    char *text = ml__asprintf("%s (and %zu more %s)", spec->warning_first.items[i], more,
                              more == 1 ? "entry" : "entries");
    if (!text)
        return oom(err);
    free(spec->warnings.items[i]);
    spec->warnings.items[i] = text;
    return ML_OK;
}

int ml__spec_annotation_key_check(const ml__annotations *a, const char *key, const char *where,
                                  ml_error **err)
{
    if (!*key)
        return ml__error_set_printable(err, ML_ESPEC, "empty annotation key %s", where);
    if (ml__annotations_get(a, key))
        return ml__error_set_printable(err, ML_ESPEC, "duplicate annotation \"%s\" %s", key, where);
    return ML_OK;
}

/* ---- checks over a whole list ---------------------------------------------------- */

static int compare_entries(const void *a, const void *b)
{
    const ml__spec_entry *x = *(const ml__spec_entry *const *)a;
    const ml__spec_entry *y = *(const ml__spec_entry *const *)b;
    int c = ml__platform_compare(&x->platform, &y->platform);
    if (c == 0)
        c = x < y ? -1 : x > y;
    return c;
}

/* Parsed entries are named with their lines, built ones with the list. */
static int report_duplicate(const ml_spec *spec, const ml__spec_list *list,
                            const ml__spec_entry *first, const ml__spec_entry *second,
                            ml_error **err)
{
    char *platform = ml__platform_format(&second->platform);
    char *line = first->line > 0 ? ml__asprintf(", line %d", first->line) : ml__strdup("");
    int rc = ML_ENOMEM;
    if (platform && line)
        rc = ml__error_set_printable(err, ML_EDUPLICATE,
                           "manifests[%zu] (%s) has the same platform %s as manifests[%zu] (%s%s)",
                           (size_t)(second - list->entries), second->image, platform,
                           (size_t)(first - list->entries), first->image, line);
    free(platform);
    free(line);
    if (rc == ML_ENOMEM)
        return oom(err);
    if (second->line <= 0)
        return ml__error_prefix(err, rc, "%s", list->target_name);
    return ml__error_locate(err, rc, spec->name, second->line, second->column);
}

/* An entry whose config may still tell it apart: Windows builds differ by
 * os.version, arm ones by variant (filled from the configs when the spec
 * leaves them out, and compared then: ml_list_build). */
static bool known_offline(const ml__spec_entry *e)
{
    const ml_platform *p = &e->platform;
    if (!e->has_platform)
        return false;
    if (ml__str_eq(p->os, "windows") && !p->os_version)
        return false;
    return !(ml__str_eq(p->architecture, "arm") && !p->variant);
}

/* Sorting keeps a list of many entries from costing n^2 comparisons; the
 * pair reported is the one whose second entry comes first in the list. */
static int check_duplicates(const ml_spec *spec, const ml__spec_list *list, ml_error **err)
{
    if (list->entry_count < 2)
        return ML_OK;
    const ml__spec_entry **sorted = calloc(list->entry_count, sizeof(*sorted));
    if (!sorted)
        return oom(err);
    size_t n = 0;
    for (size_t i = 0; i < list->entry_count; i++)
        if (known_offline(&list->entries[i]))
            sorted[n++] = &list->entries[i];
    qsort(sorted, n, sizeof(*sorted), compare_entries);
    const ml__spec_entry *first = NULL, *second = NULL;
    for (size_t i = 1; i < n; i++) {
        bool run_start = i == 1 || !ml__platform_equal(&sorted[i - 2]->platform,
                                                       &sorted[i - 1]->platform);
        if (run_start && ml__platform_equal(&sorted[i - 1]->platform, &sorted[i]->platform) &&
            (!second || sorted[i] < second)) {
            first = sorted[i - 1];
            second = sorted[i];
        }
    }
    free(sorted);
    return second ? report_duplicate(spec, list, first, second, err) : ML_OK;
}

int ml__spec_check_list(const ml_spec *spec, const ml__spec_list *list, ml_error **err)
{
    if (list->entry_count == 0)
        return ml__error_set_printable(err, ML_ESPEC, "%s: no manifests (a list needs at least one image)",
                             list->target_name);
    if (spec->flags & ML_SPEC_ALLOW_DUPLICATES)
        return ML_OK;
    return check_duplicates(spec, list, err);
}

/* ---- the public builder ------------------------------------------------------------ */

int ml_spec_new(ml_spec **out, const ml_spec_options *opts, ml_error **err)
{
    if (!out)
        return ml__error_set(err, ML_EINVAL, "ml_spec_new: out is NULL");
    *out = NULL;
    /* Refused rather than ignored: values given to ml_spec_add_* are taken
     * as they are, so the flag could only mislead. */
    if (opts && (opts->flags & ML_SPEC_VARIABLES))
        return ml__error_set(err, ML_EINVAL, "ml_spec_new: ML_SPEC_VARIABLES applies to parsing only");
    return ml__spec_create(out, "<built>", opts, NULL, err);
}

static ml__spec_list *list_at(ml_spec *spec, size_t index, const char *fn, ml_error **err)
{
    if (!spec) {
        ml__error_set(err, ML_EINVAL, "%s: spec is NULL", fn);
        return NULL;
    }
    if (index >= spec->list_count) {
        ml__error_set(err, ML_EINVAL, "%s: spec has no list %zu", fn, index);
        return NULL;
    }
    return &spec->lists[index];
}

static ml__spec_entry *entry_at(ml_spec *spec, size_t index, size_t entry, const char *fn,
                                ml_error **err)
{
    ml__spec_list *l = list_at(spec, index, fn, err);
    if (l && entry >= l->entry_count) {
        ml__error_set(err, ML_EINVAL, "%s: list %zu has no entry %zu", fn, index, entry);
        return NULL;
    }
    return l ? &l->entries[entry] : NULL;
}

static int null_argument(ml_error **err, const char *fn, const char *name)
{
    return ml__error_set(err, ML_EINVAL, "%s: %s is NULL", fn, name);
}

int ml_spec_add_list(ml_spec *spec, const char *target, size_t *index, ml_error **err)
{
    if (!spec || !target)
        return null_argument(err, "ml_spec_add_list", !spec ? "spec" : "target");
    ml__spec_list *list = NULL;
    int rc = ml__spec_list_append(spec, &list, err);
    if (rc == ML_OK)
        rc = ml__spec_set_target(list, target, err);
    if (rc != ML_OK) {
        if (list)
            ml__spec_list_clear(&spec->lists[--spec->list_count]);
        return rc;
    }
    if (index)
        *index = spec->list_count - 1;
    return ML_OK;
}

int ml_spec_add_tag(ml_spec *spec, size_t index, const char *tag, ml_error **err)
{
    ml__spec_list *list = list_at(spec, index, "ml_spec_add_tag", err);
    if (!list)
        return ML_EINVAL;
    if (!tag)
        return null_argument(err, "ml_spec_add_tag", "tag");
    char *copy = ml__strdup(tag);
    return copy ? ml__spec_add_tag(list, copy, err) : oom(err);
}

static int annotate(ml__annotations *a, const char *key, const char *value, const char *owner,
                    ml_error **err)
{
    char *where = ml__asprintf("on %s", owner);
    int rc = where ? ml__spec_annotation_key_check(a, key, where, err) : oom(err);
    /* NULL is YAML's null, which a spec file turns into "". */
    if (rc == ML_OK && ml__annotations_set(a, key, value ? value : "") != ML_OK)
        rc = oom(err);
    free(where);
    return rc;
}

int ml_spec_list_annotate(ml_spec *spec, size_t index, const char *key, const char *value,
                          ml_error **err)
{
    ml__spec_list *list = list_at(spec, index, "ml_spec_list_annotate", err);
    if (!list)
        return ML_EINVAL;
    if (!key)
        return null_argument(err, "ml_spec_list_annotate", "key");
    return annotate(&list->annotations, key, value, list->target_name, err);
}

/* A rewrite of a built entry is named by the entry's image as given. */
static int add_warnings(ml_spec *spec, const ml__spec_entry *entry, const ml__strvec *rewrites,
                        ml_error **err)
{
    int rc = ML_OK;
    for (size_t i = 0; rc == ML_OK && i < rewrites->count; i++)
        rc = ml__spec_warn(spec, entry->image, rewrites->items[i], err);
    return rc;
}

static int set_platform(ml_spec *spec, ml__spec_entry *entry, const char *platform,
                        ml_error **err)
{
    ml_platform p;
    ml__strvec rewrites = {0};
    int rc = ml__platform_parse(&p, platform, err);
    if (rc != ML_OK)
        return rc;
    rc = ml__spec_platform_check(spec, &p, &rewrites, err);
    if (rc == ML_OK)
        rc = add_warnings(spec, entry, &rewrites, err);
    ml__strvec_free(&rewrites);
    if (rc != ML_OK) {
        ml__platform_clear(&p);
        return rc;
    }
    entry->platform = p;
    entry->has_platform = true;
    return ML_OK;
}

int ml_spec_add_entry(ml_spec *spec, size_t index, const char *image, const char *platform,
                      size_t *entry, ml_error **err)
{
    ml__spec_list *list = list_at(spec, index, "ml_spec_add_entry", err);
    if (!list)
        return ML_EINVAL;
    if (!image)
        return null_argument(err, "ml_spec_add_entry", "image");
    ml__spec_entry *e = NULL;
    int rc = ml__spec_entry_append(list, &e, err);
    if (rc == ML_OK)
        rc = ml__spec_set_image(e, image, err);
    if (rc == ML_OK && platform)
        rc = set_platform(spec, e, platform, err);
    if (rc != ML_OK) {
        if (e)
            ml__spec_entry_clear(&list->entries[--list->entry_count]);
        return rc;
    }
    if (entry)
        *entry = list->entry_count - 1;
    return ML_OK;
}

/* Platform fields beyond os/arch/variant change a copy, which replaces the
 * entry's platform only once it validates: a failed call changes nothing. */
typedef int (*platform_edit_fn)(ml_platform *p, const char *value);

static int edit_platform(ml_spec *spec, size_t index, size_t entry, const char *fn,
                         const char *field, platform_edit_fn edit, const char *value,
                         ml_error **err)
{
    ml__spec_entry *e = entry_at(spec, index, entry, fn, err);
    if (!e)
        return ML_EINVAL;
    if (!value)
        return null_argument(err, fn, field);
    if (!e->has_platform)
        return ml__error_set_printable(err, ML_EPLATFORM,
                             "%s: %s needs a platform (os and architecture), not one from the "
                             "image config", e->image, field);
    ml_platform p = {0};
    int rc = ml__platform_copy(&p, &e->platform) == ML_OK && edit(&p, value) == ML_OK
                 ? ml__platform_validate(&p, err)
                 : oom(err);
    if (rc != ML_OK) {
        ml__platform_clear(&p);
        return rc;
    }
    ml__platform_clear(&e->platform);
    e->platform = p;
    return ML_OK;
}

/* An empty os.version means none, as in a spec file. */
static int replace_os_version(ml_platform *p, const char *value)
{
    return ml__str_replace(&p->os_version, *value ? value : NULL);
}

static int push_os_feature(ml_platform *p, const char *value)
{
    return ml__strvec_push(&p->os_features, value);
}

int ml_spec_entry_set_os_version(ml_spec *spec, size_t index, size_t entry,
                                 const char *os_version, ml_error **err)
{
    return edit_platform(spec, index, entry, "ml_spec_entry_set_os_version", "os.version",
                         replace_os_version, os_version, err);
}

int ml_spec_entry_add_os_feature(ml_spec *spec, size_t index, size_t entry, const char *feature,
                                 ml_error **err)
{
    return edit_platform(spec, index, entry, "ml_spec_entry_add_os_feature", "os.features",
                         push_os_feature, feature, err);
}

int ml_spec_entry_annotate(ml_spec *spec, size_t index, size_t entry, const char *key,
                           const char *value, ml_error **err)
{
    ml__spec_entry *e = entry_at(spec, index, entry, "ml_spec_entry_annotate", err);
    if (!e)
        return ML_EINVAL;
    if (!key)
        return null_argument(err, "ml_spec_entry_annotate", "key");
    return annotate(&e->annotations, key, value, e->image, err);
}

int ml_spec_check(const ml_spec *spec, ml_error **err)
{
    if (!spec)
        return null_argument(err, "ml_spec_check", "spec");
    if (spec->list_count == 0)
        return ml__error_set(err, ML_ESPEC, "spec has no list (a spec needs a target and images)");
    for (size_t i = 0; i < spec->list_count; i++) {
        int rc = ml__spec_check_list(spec, &spec->lists[i], err);
        if (rc != ML_OK)
            return rc;
    }
    return ML_OK;
}
