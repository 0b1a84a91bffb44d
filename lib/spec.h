/* Parsed specs. The only libfyaml user is spec.c. */
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
    ml__strvec warnings;    /* "file:line:col: ..." */
};


#endif
