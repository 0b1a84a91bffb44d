/* Specs: parsed from YAML (spec.c, the only libfyaml user) or built through
 * the public builder (specbuild.c). */
#ifndef ML_SPEC_H
#define ML_SPEC_H

#include <stdbool.h>

#include "manifest.h"
#include "platform.h"
#include "ref.h"
#include "util.h"

typedef struct ml__spec_entry {
    ml_ref ref;
    char *image;            /* as written in the spec */
    char *ref_name;         /* normalised, tag or digest always set */
    bool has_platform;      /* false: read it from the image config */
    ml_platform platform;   /* normalised unless ML_SPEC_NO_NORMALIZE */
    ml__annotations annotations;
    int line;               /* 1-based line of the entry, for errors */
    int column;             /* 1-based column of the entry */
} ml__spec_entry;

typedef struct ml__spec_list {
    ml_ref target;
    char *target_name;      /* formatted normalised target (tag always set) */
    char *image;            /* as written */
    ml__strvec tags;        /* extra tags from `tags:` (not the target's own) */
    ml__strset tag_set;     /* the same, to find repeats in constant time */
    ml__annotations annotations;
    char *artifact_type;    /* OCI index artifactType, or NULL */
    bool has_subject;
    ml_ref subject;         /* OCI index subject (an image), when has_subject */
    ml__spec_entry *entries;
    size_t entry_count;
    size_t entry_cap;
    int line;
    int column;
} ml__spec_list;

struct ml_spec {
    char *name;             /* file name used in errors */
    uint32_t flags;         /* ML_SPEC_* */
    ml__spec_list *lists;
    size_t list_count;
    size_t list_cap;
    ml__strvec warnings;    /* "file:line:col: ..." or "image: ..." */
    ml__strvec warning_first; /* each warning as first said (ml__spec_warn) */
    size_t *warning_more;   /* how many entries repeated it since */
    size_t warning_more_cap;
};

/* ---- specbuild.c: the one way values enter an ml_spec ----------------------
 * The YAML reader and the public builder (ml_spec_add_*) both go through
 * these, so a built spec gets the same normalisation and checks, with the
 * same codes, as a parsed one. Their errors carry no location: the YAML
 * reader adds "FILE:LINE:COL" (ml__error_locate). */

/* An empty spec; `opts` as for parsing (NULL = defaults), read into *read
 * when not NULL. */
int ml__spec_create(ml_spec **out, const char *name, const ml_spec_options *opts, ml_spec_options *read,
                    ml_error **err);
void ml__spec_list_clear(ml__spec_list *l);
void ml__spec_entry_clear(ml__spec_entry *e);
/* Appends a zeroed list or entry. */
int ml__spec_list_append(ml_spec *spec, ml__spec_list **out, ml_error **err);
int ml__spec_entry_append(ml__spec_list *list, ml__spec_entry **out, ml_error **err);
/* Specs name images as `docker pull` does: no tag and no digest means
 * "latest". */
int ml__spec_image_ref(ml_ref *out, const char *image, ml_error **err);
/* The list's target (a tag, never a digest) and the entry's image; both
 * keep a copy of `image` as written. */
int ml__spec_set_target(ml__spec_list *list, const char *image, ml_error **err);
int ml__spec_set_image(ml__spec_entry *entry, const char *image, ml_error **err);
/* Takes `tag`. The target's own tag and repeats add nothing. */
int ml__spec_add_tag(ml__spec_list *list, char *tag, ml_error **err);
/* Normalises `p` in place unless ML_SPEC_NO_NORMALIZE, appending each
 * rewrite to `rewrites` (the caller turns them into warnings), then
 * validates it. */
int ml__spec_platform_check(const ml_spec *spec, ml_platform *p, ml__strvec *rewrites,
                            ml_error **err);
/* Warns about `rewrite` at `place` ("FILE:LINE:COL" or an image). A
 * rewrite many entries share is one warning, at its first place, counting
 * the others. ML_OK or ML_ENOMEM (set in err). */
int ml__spec_warn(ml_spec *spec, const char *place, const char *rewrite, ml_error **err);
/* A non-empty key not yet in `a`; `where` ends the message ("at top level"). */
int ml__spec_annotation_key_check(const ml__annotations *a, const char *key, const char *where,
                                  ml_error **err);
/* The checks over a whole list: at least one entry, and no two entries with
 * the same platform unless ML_SPEC_ALLOW_DUPLICATES (Windows entries
 * without os.version and arm ones without variant are compared once their
 * configs are known, by ml_list_build). Run by the YAML reader
 * at the end of each document and by ml_list_build on the list it builds. */
int ml__spec_check_list(const ml_spec *spec, const ml__spec_list *list, ml_error **err);

/* ---- specvars.c: ${NAME}, ${NAME:-default} and $$ in values ------------- */

typedef struct ml__spec_vars {
    const char *const *items; /* "NAME=VALUE", a later NAME wins */
    size_t count;
} ml__spec_vars;

/* ML_EINVAL unless every item is "NAME=VALUE". */
int ml__spec_vars_check(const char *const *items, size_t count, ml_error **err);
/* Expands text[0..len) into *out (the caller frees it). ML_ESPEC for an
 * undefined variable, an unterminated, malformed or nested ${, with
 * *offset the byte offset of its '$' in text; no location added. */
int ml__spec_expand(const ml__spec_vars *vars, const char *text, size_t len, char **out, size_t *offset,
                    ml_error **err);

#endif
