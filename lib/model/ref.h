/* Image references in the distribution grammar
 * (github.com/distribution/reference): [registry/]path[:tag][@digest]. */
#ifndef ML_REF_H
#define ML_REF_H

#include <stdbool.h>

#include "error.h"

#define ML__REF_DEFAULT_REGISTRY "docker.io"
#define ML__REF_MAX_LEN 4096 /* whole reference */
#define ML__REF_MAX_PATH 255 /* repository path, as distribution limits it */

typedef struct ml_ref {
    char *registry;   /* "docker.io", "localhost:5000", "[::1]:5000"; NULL for a layout */
    char *repository; /* "library/alpine", "team/app"; a layout's directory */
    char *tag;        /* NULL when absent */
    char *digest;     /* "sha256:<hex>", NULL when absent */
    bool layout;      /* an OCI image layout directory: oci:PATH[:TAG|@DIGEST] */
} ml_ref;

#define ML__LAYOUT_PREFIX "oci:"

/* Parses and normalises: a first component with a dot, a colon, or equal to
 * "localhost" is a registry; otherwise docker.io, and single names get
 * "library/". Neither tag nor digest is added. Errors are ML_EREF naming the
 * reference and what is wrong. "oci:PATH[:TAG]" and "oci:PATH@DIGEST" name
 * an OCI image layout (as skopeo does: the path ends at its first colon). */
int ml__ref_parse(ml_ref *out, const char *s, ml_error **err);
void ml__ref_clear(ml_ref *ref);
int ml__ref_copy(ml_ref *dst, const ml_ref *src);
/* "registry/repository[:tag][@digest]" ("oci:PATH[:tag][@digest]" for a
 * layout); NULL on ENOMEM. */
char *ml__ref_format(const ml_ref *ref);
/* "registry/repository" (or "oci:PATH") only. */
char *ml__ref_repo_name(const ml_ref *ref);
/* Host[:port] to connect to: docker.io is served by registry-1.docker.io. */
const char *ml__ref_api_host(const ml_ref *ref);
/* True for localhost, 127.0.0.0/8 and [::1] registries. */
bool ml__ref_is_loopback(const ml_ref *ref);
/* Same registry and repository. */
bool ml__ref_same_repo(const ml_ref *a, const ml_ref *b);
/* Repository path syntax, as ml__ref_parse checks it: components of
 * [a-z0-9] with separators . _ __ -, joined by '/', at most 255 bytes. */
bool ml__repository_valid(const char *path);
/* Tag syntax: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}. */
bool ml__tag_valid(const char *tag);

#endif
