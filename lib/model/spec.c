/* YAML specs: manifest-tool's format and the original proposal's. The only
 * libfyaml user. Aliases are followed without expanding the document, so an
 * alias bomb costs no more than the spec's own (fixed-depth) shape. */
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <libfyaml.h>

#include "fileio.h"
#include "jsonout.h"
#include "spec.h"

/* A spec is a few KiB; the limit only stops a wrong file being slurped. */
#define SPEC_FILE_MAX (16u * 1024 * 1024)
#define KNOWN_FLAGS (ML_SPEC_NO_NORMALIZE | ML_SPEC_ALLOW_DUPLICATES | ML_SPEC_VARIABLES)
/* Keys and values quoted in messages are cut to this many bytes. */
#define QUOTE_MAX 64
/* node_loc follows first children this deep (aliases can form cycles). */
#define LOC_DEPTH 8
/* check_aliases stops here; deeper nodes are never read as spec fields. */
#define WALK_DEPTH 256

typedef struct loc {
    int line, col; /* 1-based */
} loc;

typedef struct parse_ctx {
    ml_spec *spec;
    ml_error **err;
    const ml__spec_vars *vars; /* NULL: values are taken as written */
} parse_ctx;

/* The value a known key holds after read_mapping. */
typedef struct field {
    bool seen;
    struct fy_node *value; /* aliases resolved; may be NULL for `key:` */
    loc key_at;
    loc value_at;
    const char *key; /* canonical name */
} field;

typedef struct key_def {
    const char *name;
    int slot;
} key_def;

enum { L_IMAGE, L_TAGS, L_MANIFESTS, L_ANNOTATIONS, L_ARTIFACT_TYPE, L_SUBJECT, L_COUNT };
static const key_def list_keys[] = {
    {"image", L_IMAGE}, {"tags", L_TAGS}, {"manifests", L_MANIFESTS},
    {"annotations", L_ANNOTATIONS}, {"artifactType", L_ARTIFACT_TYPE}, {"subject", L_SUBJECT}, {NULL, 0},
};

enum { E_IMAGE, E_PLATFORM, E_ANNOTATIONS, E_COUNT };
static const key_def entry_keys[] = {
    {"image", E_IMAGE}, {"platform", E_PLATFORM}, {"annotations", E_ANNOTATIONS}, {NULL, 0},
};

enum { P_ARCH, P_OS, P_VARIANT, P_OS_VERSION, P_OS_FEATURES, P_FEATURES, P_COUNT };
/* The dotless spellings are manifest-tool's older Go field names. */
static const key_def platform_keys[] = {
    {"architecture", P_ARCH},     {"os", P_OS},
    {"variant", P_VARIANT},       {"os.version", P_OS_VERSION},
    {"osversion", P_OS_VERSION},  {"os.features", P_OS_FEATURES},
    {"osfeatures", P_OS_FEATURES}, {"features", P_FEATURES},
    {NULL, 0},
};

/* ---- errors ---------------------------------------------------------------- */

/* Adds the location to an error another module reported. */
static int locate(parse_ctx *c, loc at, int rc)
{
    return ml__error_locate(c->err, rc, c->spec->name, at.line, at.col);
}

static int fail(parse_ctx *c, loc at, int code, const char *fmt, ...) ML__PRINTF(4, 5);

/* Every spec error reads "FILE:LINE:COL: problem" and carries the location. */
static int fail(parse_ctx *c, loc at, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    /* Spec text quoted in it may hold line breaks and terminal escapes. */
    int rc = ml__error_vset_printable(c->err, code, fmt, ap);
    va_end(ap);
    return locate(c, at, rc);
}

static int fail_oom(parse_ctx *c) { return ml__error_set(c->err, ML_ENOMEM, "out of memory"); }

/* ---- YAML nodes ------------------------------------------------------------ */

static struct fy_node *resolve(struct fy_node *n)
{
    return n && fy_node_is_alias(n) ? fy_node_resolve_alias(n) : n;
}

static bool token_loc(struct fy_token *t, loc *out)
{
    const struct fy_mark *m = t ? fy_token_start_mark(t) : NULL;
    if (!m)
        return false;
    *out = (loc){m->line + 1, m->column + 1};
    return true;
}

/* libfyaml marks only scalars; a collection is located by its first
 * scalar, which for block style is where its content starts. */
static loc node_loc_depth(struct fy_node *n, loc fallback, int depth)
{
    loc at;
    if (!n || depth > LOC_DEPTH)
        return fallback;
    if (fy_node_get_type(n) == FYNT_SCALAR && token_loc(fy_node_get_scalar_token(n), &at))
        return at;
    n = resolve(n);
    void *iter = NULL;
    if (n && fy_node_is_mapping(n)) {
        struct fy_node_pair *pair = fy_node_mapping_iterate(n, &iter);
        return pair ? node_loc_depth(fy_node_pair_key(pair), fallback, depth + 1) : fallback;
    }
    if (n && fy_node_is_sequence(n))
        return node_loc_depth(fy_node_sequence_iterate(n, &iter), fallback, depth + 1);
    return fallback;
}

static loc node_loc(struct fy_node *n, loc fallback) { return node_loc_depth(n, fallback, 0); }

static const char *type_name(struct fy_node *n)
{
    if (!n)
        return "null";
    switch (fy_node_get_type(n)) {
    case FYNT_MAPPING: return "a mapping";
    case FYNT_SEQUENCE: return "a sequence";
    default: return "a string";
    }
}

/* YAML's null: an empty plain value, `~` or `null`. */
static bool is_null(struct fy_node *n)
{
    if (!n)
        return true;
    if (fy_node_get_type(n) != FYNT_SCALAR || fy_node_get_style(n) != FYNS_PLAIN)
        return false;
    size_t len;
    const char *s = fy_node_get_scalar(n, &len);
    static const char *const nulls[] = {"~", "null", "Null", "NULL"};
    if (!s || len == 0)
        return true;
    for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
        if (len == strlen(nulls[i]) && memcmp(s, nulls[i], len) == 0)
            return true;
    return false;
}

/* Copies a scalar's text; NUL bytes inside would silently cut it. */
static int scalar_copy(parse_ctx *c, struct fy_node *n, loc at, const char *what, char **out)
{
    size_t len;
    const char *s = fy_node_get_scalar(n, &len);
    if (!s) { /* libfyaml may give no text for an empty scalar */
        s = "";
        len = 0;
    }
    if (memchr(s, '\0', len))
        return fail(c, at, ML_ESPEC, "%s contains a NUL character", what);
    *out = ml__strndup(s, len);
    return *out ? ML_OK : fail_oom(c);
}

/* Where a variable error starts: exact in a one-line plain scalar, whose
 * text is its source; the scalar's start otherwise (quotes, escapes and
 * folding shift columns). */
static loc variable_loc(struct fy_node *n, loc at, size_t offset)
{
    struct fy_token *t = fy_node_get_scalar_token(n);
    const struct fy_mark *start = t ? fy_token_start_mark(t) : NULL, *end = t ? fy_token_end_mark(t) : NULL;
    if (fy_node_get_style(n) == FYNS_PLAIN && start && end && start->line == end->line)
        at.col += (int)offset;
    return at;
}

/* A value's text, variables expanded; keys are never expanded (a spec's
 * shape does not depend on its inputs). */
static int value_copy(parse_ctx *c, struct fy_node *n, loc at, const char *what, char **out)
{
    int rc = scalar_copy(c, n, at, what, out);
    if (rc != ML_OK || !c->vars)
        return rc;
    char *raw = *out;
    size_t offset;
    rc = ml__spec_expand(c->vars, raw, strlen(raw), out, &offset, c->err);
    free(raw);
    if (rc == ML_OK)
        return ML_OK;
    *out = NULL;
    return locate(c, variable_loc(n, at, offset), rc);
}

/* ---- mappings with a fixed set of keys ----------------------------------- */

static const key_def *find_key(const key_def *keys, const char *name, size_t len)
{
    for (const key_def *k = keys; k->name; k++)
        if (strlen(k->name) == len && memcmp(k->name, name, len) == 0)
            return k;
    return NULL;
}

static int unknown_key(parse_ctx *c, loc at, const char *key, size_t len, const key_def *keys,
                       const char *where)
{
    ml__buf allowed = {0};
    for (const key_def *k = keys; k->name; k++)
        ml__buf_printf(&allowed, "%s%s", k == keys ? "" : ", ", k->name);
    char *list = ml__buf_take(&allowed);
    if (!list)
        return fail_oom(c);
    int rc = fail(c, at, ML_ESPEC, "unknown key \"%.*s%s\" %s (allowed keys: %s)",
                  (int)(len > QUOTE_MAX ? QUOTE_MAX : len), key, len > QUOTE_MAX ? "..." : "",
                  where, list);
    free(list);
    return rc;
}

static int key_text(parse_ctx *c, struct fy_node *key, loc at, const char *where,
                    const char **text, size_t *len)
{
    key = resolve(key);
    if (!key || fy_node_get_type(key) != FYNT_SCALAR)
        return fail(c, at, ML_ESPEC, "keys %s must be strings, not %s", where, type_name(key));
    *text = fy_node_get_scalar(key, len);
    if (!*text) {
        *text = "";
        *len = 0;
    }
    return ML_OK;
}

static int store_field(parse_ctx *c, struct fy_node_pair *pair, const key_def *keys,
                       const char *where, field *fields, loc map_at)
{
    struct fy_node *key = fy_node_pair_key(pair);
    loc at = node_loc(key, map_at);
    const char *name;
    size_t len;
    int rc = key_text(c, key, at, where, &name, &len);
    if (rc != ML_OK)
        return rc;
    const key_def *def = find_key(keys, name, len);
    if (!def)
        return unknown_key(c, at, name, len, keys, where);
    field *f = &fields[def->slot];
    if (f->seen)
        return fail(c, at, ML_ESPEC, "duplicate key \"%s\" %s (first given as \"%s\" at line %d)",
                    def->name, where, f->key, f->key_at.line);
    struct fy_node *value = fy_node_pair_value(pair);
    *f = (field){true, resolve(value), at, node_loc(value, at), def->name};
    return ML_OK;
}

/* Collects the known keys of `map` into fields[slot]; unknown and repeated
 * keys are errors (manifest-tool drops unknown keys, and with them e.g. a
 * misspelt os.version, without a word). */
static int read_mapping(parse_ctx *c, struct fy_node *map, loc map_at, const key_def *keys,
                        const char *where, field *fields)
{
    void *iter = NULL;
    struct fy_node_pair *pair;
    while ((pair = fy_node_mapping_iterate(map, &iter)) != NULL) {
        int rc = store_field(c, pair, keys, where, fields, map_at);
        if (rc != ML_OK)
            return rc;
    }
    return ML_OK;
}

static int wrong_type(parse_ctx *c, const field *f, const char *where, const char *want)
{
    return fail(c, f->value_at, ML_ESPEC, "\"%s\" %s must be %s, not %s", f->key, where, want,
                type_name(f->value));
}

/* An optional string: absent or null gives NULL. */
static int get_string(parse_ctx *c, const field *f, const char *where, char **out)
{
    *out = NULL;
    if (!f->seen || is_null(f->value))
        return ML_OK;
    if (fy_node_get_type(f->value) != FYNT_SCALAR)
        return wrong_type(c, f, where, "a string");
    return value_copy(c, f->value, f->value_at, f->key, out);
}

static int require_string(parse_ctx *c, const field *f, const char *name, const char *where,
                          loc map_at, char **out)
{
    if (!f->seen)
        return fail(c, map_at, ML_ESPEC, "missing key \"%s\" %s", name, where);
    int rc = get_string(c, f, where, out);
    if (rc == ML_OK && (!*out || !**out)) {
        free(*out);
        *out = NULL;
        rc = fail(c, f->value_at, ML_ESPEC, "\"%s\" %s is empty", name, where);
    }
    return rc;
}

/* Calls `item` on every entry of an optional sequence of strings. */
typedef int (*string_item_fn)(parse_ctx *c, char *value, loc at, void *arg);

static int each_string(parse_ctx *c, const field *f, const char *where, string_item_fn item,
                       void *arg)
{
    if (!f->seen || is_null(f->value))
        return ML_OK;
    if (!fy_node_is_sequence(f->value))
        return wrong_type(c, f, where, "a sequence of strings");
    void *iter = NULL;
    struct fy_node *n;
    while ((n = fy_node_sequence_iterate(f->value, &iter)) != NULL) {
        loc at = node_loc(n, f->value_at);
        n = resolve(n);
        if (!n || fy_node_get_type(n) != FYNT_SCALAR || is_null(n))
            return fail(c, at, ML_ESPEC, "\"%s\" %s must hold strings, not %s", f->key, where,
                        is_null(n) ? "null" : type_name(n));
        char *value;
        int rc = value_copy(c, n, at, f->key, &value);
        if (rc == ML_OK)
            rc = item(c, value, at, arg);
        if (rc != ML_OK)
            return rc;
    }
    return ML_OK;
}

static int push_item(parse_ctx *c, char *value, loc at, void *arg)
{
    (void)at;
    return ml__strvec_push_take(arg, value) == ML_OK ? ML_OK : fail_oom(c);
}

/* ---- annotations ------------------------------------------------------------ */

static int annotation_key(parse_ctx *c, struct fy_node *key, loc at, const char *where,
                          const ml__annotations *seen, char **out)
{
    const char *text;
    size_t len;
    int rc = key_text(c, key, at, where, &text, &len);
    if (rc == ML_OK)
        rc = scalar_copy(c, resolve(key), at, "annotation key", out);
    if (rc == ML_OK)
        rc = locate(c, at, ml__spec_annotation_key_check(seen, *out, where, c->err));
    return rc;
}

/* A null value is the empty string, as OCI annotations are never null. */
static int annotation_value(parse_ctx *c, struct fy_node *value, loc at, const char *key,
                            const char *where, char **out)
{
    value = resolve(value);
    if (value && fy_node_get_type(value) != FYNT_SCALAR)
        return fail(c, at, ML_ESPEC, "annotation \"%s\" %s must be a string, not %s", key,
                    where, type_name(value));
    if (is_null(value)) {
        *out = ml__strdup("");
        return *out ? ML_OK : fail_oom(c);
    }
    return value_copy(c, value, at, "annotation", out);
}

static int add_annotation(parse_ctx *c, struct fy_node_pair *pair, const char *where,
                          loc map_at, ml__annotations *out)
{
    loc key_at = node_loc(fy_node_pair_key(pair), map_at);
    loc value_at = node_loc(fy_node_pair_value(pair), key_at);
    char *key = NULL, *value = NULL;
    int rc = annotation_key(c, fy_node_pair_key(pair), key_at, where, out, &key);
    if (rc == ML_OK)
        rc = annotation_value(c, fy_node_pair_value(pair), value_at, key, where, &value);
    if (rc == ML_OK && ml__annotations_set(out, key, value) != ML_OK)
        rc = fail_oom(c);
    free(key);
    free(value);
    return rc;
}

static int parse_annotations(parse_ctx *c, const field *f, const char *where,
                             ml__annotations *out)
{
    if (!f->seen || is_null(f->value))
        return ML_OK;
    if (!fy_node_is_mapping(f->value))
        return wrong_type(c, f, where, "a mapping of strings");
    void *iter = NULL;
    struct fy_node_pair *pair;
    while ((pair = fy_node_mapping_iterate(f->value, &iter)) != NULL) {
        int rc = add_annotation(c, pair, where, f->value_at, out);
        if (rc != ML_OK)
            return rc;
    }
    return ML_OK;
}

/* ---- platforms ---------------------------------------------------------------- */

static int read_platform_fields(parse_ctx *c, const field *fields, const char *where,
                                ml_platform *p)
{
    int rc = get_string(c, &fields[P_ARCH], where, &p->architecture);
    if (rc == ML_OK)
        rc = get_string(c, &fields[P_OS], where, &p->os);
    if (rc == ML_OK)
        rc = get_string(c, &fields[P_VARIANT], where, &p->variant);
    if (rc == ML_OK)
        rc = get_string(c, &fields[P_OS_VERSION], where, &p->os_version);
    if (rc == ML_OK)
        rc = each_string(c, &fields[P_OS_FEATURES], where, push_item, &p->os_features);
    if (rc == ML_OK)
        rc = each_string(c, &fields[P_FEATURES], where, push_item, &p->features);
    return rc;
}

/* An empty string means "not given", as in manifest-tool. */
static void drop_empty(char **s)
{
    if (*s && !**s) {
        free(*s);
        *s = NULL;
    }
}

/* A rewrite warning points at the field it rewrote. */
static loc warning_loc(const char *warning, const field *fields, loc platform_at)
{
    const field *f = &fields[P_ARCH];
    if (ml__has_prefix(warning, "os "))
        f = &fields[P_OS];
    else if (ml__has_prefix(warning, "variant "))
        f = &fields[P_VARIANT];
    return f->seen ? f->value_at : platform_at;
}

static int check_platform(parse_ctx *c, const field *fields, loc platform_at, ml_platform *p)
{
    ml__strvec rewrites = {0};
    int rc = locate(c, platform_at, ml__spec_platform_check(c->spec, p, &rewrites, c->err));
    for (size_t i = 0; rc == ML_OK && i < rewrites.count; i++) {
        loc at = warning_loc(rewrites.items[i], fields, platform_at);
        char *place = ml__asprintf("%s:%d:%d", c->spec->name, at.line, at.col);
        rc = place ? ml__spec_warn(c->spec, place, rewrites.items[i], c->err) : fail_oom(c);
        free(place);
    }
    ml__strvec_free(&rewrites);
    return rc;
}

/* `name` is the entry ("manifests[2]"), `where` its phrase ("in manifests[2]"). */
static int parse_platform(parse_ctx *c, const field *f, const char *name, const char *where,
                          ml__spec_entry *entry)
{
    if (!f->seen || is_null(f->value))
        return ML_OK;
    if (!fy_node_is_mapping(f->value))
        return wrong_type(c, f, where, "a mapping (architecture, os, ...)");
    char *inner = ml__asprintf("in platform of %s", name);
    if (!inner)
        return fail_oom(c);
    field fields[P_COUNT] = {0};
    ml_platform *p = &entry->platform;
    entry->has_platform = true;
    int rc = read_mapping(c, f->value, f->value_at, platform_keys, inner, fields);
    if (rc == ML_OK)
        rc = read_platform_fields(c, fields, inner, p);
    drop_empty(&p->os);
    drop_empty(&p->architecture);
    drop_empty(&p->variant);
    drop_empty(&p->os_version);
    if (rc == ML_OK && (!p->os || !p->architecture))
        rc = fail(c, f->key_at, ML_EPLATFORM,
                  "platform of %s needs os and architecture (%s missing)", name,
                  !p->os ? "os" : "architecture");
    if (rc == ML_OK)
        rc = check_platform(c, fields, f->key_at, p);
    free(inner);
    return rc;
}

/* ---- entries --------------------------------------------------------------- */

static int parse_entry_fields(parse_ctx *c, struct fy_node *n, loc at, const char *name,
                              const char *where, ml__spec_entry *entry)
{
    if (!n || !fy_node_is_mapping(n))
        return fail(c, at, ML_ESPEC, "%s must be a mapping with image and platform, not %s",
                    name, type_name(n));
    field fields[E_COUNT] = {0};
    char *image = NULL;
    int rc = read_mapping(c, n, at, entry_keys, where, fields);
    if (rc == ML_OK)
        rc = require_string(c, &fields[E_IMAGE], "image", where, at, &image);
    if (rc == ML_OK)
        rc = locate(c, fields[E_IMAGE].value_at, ml__spec_set_image(entry, image, c->err));
    free(image);
    if (rc == ML_OK)
        rc = parse_platform(c, &fields[E_PLATFORM], name, where, entry);
    if (rc == ML_OK)
        rc = parse_annotations(c, &fields[E_ANNOTATIONS], where, &entry->annotations);
    return rc;
}

static int parse_entry(parse_ctx *c, struct fy_node *item, size_t index, loc fallback,
                       ml__spec_list *list)
{
    ml__spec_entry *entry = NULL;
    int rc = ml__spec_entry_append(list, &entry, c->err);
    if (rc != ML_OK)
        return rc;
    loc at = node_loc(item, fallback);
    entry->line = at.line;
    entry->column = at.col;
    char *name = ml__asprintf("manifests[%zu]", index);
    char *where = name ? ml__asprintf("in %s", name) : NULL;
    rc = where ? parse_entry_fields(c, resolve(item), at, name, where, entry) : fail_oom(c);
    free(name);
    free(where);
    return rc;
}

static int parse_manifests(parse_ctx *c, const field *f, loc map_at, ml__spec_list *list)
{
    if (!f->seen || is_null(f->value))
        return fail(c, f->seen ? f->value_at : map_at, ML_ESPEC,
                    "missing \"manifests\" at top level (a list needs at least one image)");
    if (!fy_node_is_sequence(f->value))
        return wrong_type(c, f, "at top level", "a sequence");
    void *iter = NULL;
    struct fy_node *item;
    for (size_t i = 0; (item = fy_node_sequence_iterate(f->value, &iter)) != NULL; i++) {
        int rc = parse_entry(c, item, i, f->value_at, list);
        if (rc != ML_OK)
            return rc;
    }
    if (list->entry_count == 0)
        return fail(c, f->value_at, ML_ESPEC,
                    "\"manifests\" at top level is empty (a list needs at least one image)");
    return ML_OK;
}

/* ---- lists ---------------------------------------------------------------- */

static int parse_target(parse_ctx *c, const field *f, loc map_at, ml__spec_list *list)
{
    char *image = NULL;
    int rc = require_string(c, f, "image", "at top level", map_at, &image);
    if (rc == ML_OK)
        rc = locate(c, f->value_at, ml__spec_set_target(list, image, c->err));
    free(image);
    return rc;
}

static int add_tag(parse_ctx *c, char *tag, loc at, void *arg)
{
    return locate(c, at, ml__spec_add_tag(arg, tag, c->err));
}

/* subject: the image this index refers to (OCI 1.1), resolved at push. */
static int parse_subject(parse_ctx *c, const field *f, loc at, ml__spec_list *list)
{
    char *image = NULL;
    int rc = require_string(c, f, "subject", "at top level", at, &image);
    if (rc == ML_OK)
        rc = locate(c, f->value_at, ml__spec_image_ref(&list->subject, image, c->err));
    list->has_subject = rc == ML_OK;
    free(image);
    return rc;
}

static int parse_list(parse_ctx *c, struct fy_node *root, ml__spec_list *list)
{
    loc at = node_loc(root, (loc){1, 1});
    list->line = at.line;
    list->column = at.col;
    if (!fy_node_is_mapping(root))
        return fail(c, at, ML_ESPEC,
                    "a list must be a mapping with image and manifests, not %s",
                    type_name(root));
    field fields[L_COUNT] = {0};
    int rc = read_mapping(c, root, at, list_keys, "at top level", fields);
    if (rc == ML_OK)
        rc = parse_target(c, &fields[L_IMAGE], at, list);
    if (rc == ML_OK)
        rc = each_string(c, &fields[L_TAGS], "at top level", add_tag, list);
    if (rc == ML_OK)
        rc = parse_annotations(c, &fields[L_ANNOTATIONS], "at top level", &list->annotations);
    if (rc == ML_OK && fields[L_ARTIFACT_TYPE].seen)
        rc = require_string(c, &fields[L_ARTIFACT_TYPE], "artifactType", "at top level", at, &list->artifact_type);
    if (rc == ML_OK && fields[L_SUBJECT].seen)
        rc = parse_subject(c, &fields[L_SUBJECT], at, list);
    if (rc == ML_OK)
        rc = parse_manifests(c, &fields[L_MANIFESTS], at, list);
    if (rc == ML_OK)
        rc = ml__spec_check_list(c->spec, list, c->err);
    return rc;
}

/* A document holding nothing (only comments, or `---` alone) is skipped. */
static bool is_empty_document(struct fy_node *root)
{
    return !root || (fy_node_get_type(root) == FYNT_SCALAR && is_null(root));
}

/* libfyaml leaves an alias without an anchor for us to find; caught here it
 * is named as such instead of reading as an empty value. The walk does not
 * follow aliases, so it is linear in the document. */
static int check_aliases(parse_ctx *c, struct fy_node *n, int depth)
{
    if (!n || depth > WALK_DEPTH)
        return ML_OK;
    if (fy_node_is_alias(n) && !fy_node_resolve_alias(n)) {
        size_t len;
        const char *name = fy_node_get_scalar(n, &len);
        return fail(c, node_loc(n, (loc){1, 1}), ML_ESPEC, "alias \"*%.*s\" has no anchor",
                    name ? (int)(len > QUOTE_MAX ? QUOTE_MAX : len) : 0, name ? name : "");
    }
    void *iter = NULL;
    int rc = ML_OK;
    if (fy_node_is_sequence(n)) {
        struct fy_node *item;
        while (rc == ML_OK && (item = fy_node_sequence_iterate(n, &iter)) != NULL)
            rc = check_aliases(c, item, depth + 1);
    } else if (fy_node_is_mapping(n)) {
        struct fy_node_pair *pair;
        while (rc == ML_OK && (pair = fy_node_mapping_iterate(n, &iter)) != NULL) {
            rc = check_aliases(c, fy_node_pair_key(pair), depth + 1);
            if (rc == ML_OK)
                rc = check_aliases(c, fy_node_pair_value(pair), depth + 1);
        }
    }
    return rc;
}

static int parse_document(parse_ctx *c, struct fy_document *doc)
{
    int rc = check_aliases(c, fy_document_root(doc), 0);
    struct fy_node *root = resolve(fy_document_root(doc));
    if (rc != ML_OK || is_empty_document(root))
        return rc;
    ml__spec_list *list = NULL;
    rc = ml__spec_list_append(c->spec, &list, c->err);
    return rc == ML_OK ? parse_list(c, root, list) : rc;
}

/* ---- libfyaml ----------------------------------------------------------------- */

typedef struct yaml {
    struct fy_diag *diag;
    struct fy_parser *parser;
    ml__buf output; /* anything libfyaml would have printed */
} yaml;

/* libfyaml prints diagnostics to stderr by default; a library must not. */
static void diag_output(struct fy_diag *diag, void *user, const char *buf, size_t len)
{
    (void)diag;
    ml__buf *out = user;
    if (out->len < 1024)
        ml__buf_append(out, buf, len);
}

static int yaml_open(yaml *y, const char *data, size_t len)
{
    struct fy_diag_cfg dcfg;
    fy_diag_cfg_default(&dcfg);
    dcfg.fp = NULL;
    dcfg.output_fn = diag_output;
    dcfg.user = &y->output;
    dcfg.colorize = false;
    y->diag = fy_diag_create(&dcfg);
    if (!y->diag)
        return ML_ENOMEM;
    fy_diag_set_collect_errors(y->diag, true);
    /* Duplicate keys are found while walking, with better messages. */
    struct fy_parse_cfg pcfg = {
        .flags = FYPCF_QUIET | FYPCF_ALLOW_DUPLICATE_KEYS,
        .diag = y->diag,
    };
    y->parser = fy_parser_create(&pcfg);
    if (!y->parser || fy_parser_set_string(y->parser, len ? data : "", len) != 0)
        return ML_ENOMEM;
    return ML_OK;
}

static void yaml_close(yaml *y)
{
    if (y->parser)
        fy_parser_destroy(y->parser);
    if (y->diag)
        fy_diag_destroy(y->diag);
    ml__buf_free(&y->output);
}

static int yaml_error(parse_ctx *c, yaml *y)
{
    void *iter = NULL;
    struct fy_diag_error *e;
    while ((e = fy_diag_errors_iterate(y->diag, &iter)) != NULL)
        if (e->type >= FYET_ERROR)
            return fail(c, (loc){e->line > 0 ? e->line : 1, e->column > 0 ? e->column : 1},
                        ML_ESPEC, "invalid YAML: %s", e->msg ? e->msg : "syntax error");
    return fail(c, (loc){1, 1}, ML_ESPEC, "invalid YAML%s%s", y->output.len ? ": " : "",
                y->output.len ? y->output.data : "");
}

/* YAML specs are UTF-8 without NUL bytes. Checked up front because libfyaml 0.7.12 loops
 * forever on some invalid bytes (e.g. "%\xa5" in a directive). */
static int check_utf8(parse_ctx *c, const char *data, size_t len)
{
    const unsigned char *s = (const unsigned char *)data;
    loc at = {1, 1};
    for (size_t i = 0; i < len;) {
        size_t n = ml__utf8_sequence(s + i, len - i);
        if (n == 0)
            return fail(c, at, ML_ESPEC, "invalid YAML: not UTF-8 (byte 0x%02x)", s[i]);
        /* A NUL would silently end the document for a C parser. */
        if (s[i] == 0)
            return fail(c, at, ML_ESPEC, "invalid YAML: NUL byte");
        at = s[i] == '\n' ? (loc){at.line + 1, 1} : (loc){at.line, at.col + 1};
        i += n;
    }
    return ML_OK;
}

static int parse_stream(parse_ctx *c, yaml *y)
{
    struct fy_document *doc;
    while ((doc = fy_parse_load_document(y->parser)) != NULL) {
        int rc = parse_document(c, doc);
        fy_parse_document_destroy(y->parser, doc);
        if (rc != ML_OK)
            return rc;
    }
    if (fy_diag_got_error(y->diag))
        return yaml_error(c, y);
    if (c->spec->list_count == 0)
        return fail(c, (loc){1, 1}, ML_ESPEC,
                    "no list found (a spec needs image and manifests at top level)");
    return ML_OK;
}

/* ---- public API -------------------------------------------------------------- */

static const size_t OPTIONS_SIZES[] = {offsetof(ml_spec_options, variables), sizeof(ml_spec_options)};

/* A caller's struct may be of an older, smaller version (FFI mirrors). */
int ml_spec_options_init(ml_spec_options *opts, uint32_t version)
{
    if (!opts || version == 0 || version > ML_SPEC_OPTIONS_VERSION)
        return ML_EINVAL;
    memset(opts, 0, OPTIONS_SIZES[version - 1]);
    opts->version = version;
    return ML_OK;
}

static const ml__options_kind OPTIONS = {"ml_spec_options", ML_SPEC_OPTIONS_VERSION, OPTIONS_SIZES, KNOWN_FLAGS};

int ml__spec_create(ml_spec **out, const char *name, const ml_spec_options *opts, ml_spec_options *read,
                    ml_error **err)
{
    ml_spec_options o = ML_SPEC_OPTIONS_INIT;
    int rc = ml__options_read(&OPTIONS, opts, &o, err);
    if (rc == ML_OK && (o.flags & ML_SPEC_VARIABLES))
        rc = ml__spec_vars_check(o.variables, o.variable_count, err);
    if (rc != ML_OK)
        return rc;
    if (read)
        *read = o;
    ml_spec *spec = calloc(1, sizeof(*spec));
    if (!spec || !(spec->name = ml__strdup(name))) {
        free(spec);
        return ml__error_set(err, ML_ENOMEM, "out of memory");
    }
    spec->flags = o.flags;
    *out = spec;
    return ML_OK;
}

int ml_spec_parse_buffer(ml_spec **out, const char *data, size_t len, const char *name,
                         const ml_spec_options *opts, ml_error **err)
{
    if (!out || (!data && len))
        return ml__error_set(err, ML_EINVAL, "ml_spec_parse_buffer: %s is NULL",
                             !out ? "out" : "data");
    *out = NULL;
    ml_spec *spec = NULL;
    ml_spec_options o;
    int rc = ml__spec_create(&spec, name ? name : "<spec>", opts, &o, err);
    if (rc != ML_OK)
        return rc;
    ml__spec_vars vars = {o.variables, o.variable_count};
    parse_ctx c = {spec, err, (o.flags & ML_SPEC_VARIABLES) ? &vars : NULL};
    yaml y = {0};
    rc = check_utf8(&c, data, len);
    if (rc == ML_OK)
        rc = yaml_open(&y, data, len) == ML_OK ? parse_stream(&c, &y) : fail_oom(&c);
    yaml_close(&y);
    if (rc != ML_OK) {
        ml_spec_free(spec);
        return rc;
    }
    *out = spec;
    return ML_OK;
}

int ml_spec_parse_file(ml_spec **out, const char *path, const ml_spec_options *opts,
                       ml_error **err)
{
    if (!out || !path)
        return ml__error_set(err, ML_EINVAL, "ml_spec_parse_file: %s is NULL",
                             !out ? "out" : "path");
    *out = NULL;
    char *data;
    size_t len;
    int rc = ml__read_input(path, SPEC_FILE_MAX, &data, &len, err);
    if (rc != ML_OK)
        return rc;
    rc = ml_spec_parse_buffer(out, data, len, path, opts, err);
    free(data);
    return rc;
}


/* ---- JSON ------------------------------------------------------------------ */

static void json_string_field(ml__json_writer *w, const char *key, const char *value)
{
    if (value && *value)
        ml__jw_string(w, key, value);
}

static void json_annotations_field(ml__json_writer *w, const ml__annotations *a)
{
    if (a->count)
        ml__jw_annotations(w, "annotations", a);
}

static void json_entry(ml__json_writer *w, const ml__spec_entry *e)
{
    ml__jw_object(w, NULL);
    json_string_field(w, "image", e->ref_name);
    if (e->has_platform)
        ml__jw_platform(w, "platform", &e->platform);
    json_annotations_field(w, &e->annotations);
    ml__jw_end_object(w);
}

static void json_list(ml__json_writer *w, const ml__spec_list *l)
{
    ml__jw_object(w, NULL);
    json_string_field(w, "image", l->target_name);
    if (l->tags.count)
        ml__jw_strings(w, "tags", &l->tags);
    json_annotations_field(w, &l->annotations);
    json_string_field(w, "artifactType", l->artifact_type);
    if (l->has_subject) {
        char *subject = ml__ref_format(&l->subject);
        w->buf.oom |= !subject;
        json_string_field(w, "subject", subject);
        free(subject);
    }
    ml__jw_array(w, "manifests");
    for (size_t i = 0; i < l->entry_count; i++)
        json_entry(w, &l->entries[i]);
    ml__jw_end_array(w);
    ml__jw_end_object(w);
}

int ml_spec_to_json(const ml_spec *spec, char **out, ml_error **err)
{
    if (!spec || !out)
        return ml__error_set(err, ML_EINVAL, "ml_spec_to_json: %s is NULL",
                             !spec ? "spec" : "out");
    ml__json_writer w = {0};
    ml__jw_object(&w, NULL);
    ml__jw_array(&w, "lists");
    for (size_t i = 0; i < spec->list_count; i++)
        json_list(&w, &spec->lists[i]);
    ml__jw_end_array(&w);
    ml__jw_end_object(&w);
    return ml__jw_finish(&w, out, err);
}
