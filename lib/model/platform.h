/* Platforms (os/architecture/variant and the optional fields of the OCI
 * image index) and their normalisation as container runtimes match them. */
#ifndef ML_PLATFORM_H
#define ML_PLATFORM_H

#include <stdbool.h>

#include "error.h"
#include "util.h"

typedef struct ml_platform {
    char *os;           /* "linux", "windows" */
    char *architecture; /* "amd64", "arm64" */
    char *variant;      /* "v8", NULL when absent */
    char *os_version;   /* "10.0.17763.5576", NULL when absent */
    ml__strvec os_features;
    ml__strvec features; /* Docker list only (deprecated in OCI) */
} ml_platform;

/* Parses "os/arch[/variant]" (no normalisation). ML_EPLATFORM on bad input. */
int ml__platform_parse(ml_platform *out, const char *s, ml_error **err);
void ml__platform_clear(ml_platform *p);
int ml__platform_copy(ml_platform *dst, const ml_platform *src);
/* Rewrites to canonical names (DESIGN §3: x86_64 -> amd64, aarch64 -> arm64,
 * armhf -> arm/v7, armel -> arm/v6, i386/i686 -> 386, ppc64+ppc64le ->
 * ppc64le, os lower-cased). Appends one human warning per rewrite to
 * `warnings` (may be NULL), e.g. "architecture \"x86_64\" normalised to
 * \"amd64\"". Returns ML_OK or ML_ENOMEM. */
int ml__platform_normalize(ml_platform *p, ml__strvec *warnings);
/* os and architecture present, all values [A-Za-z0-9._-]. */
int ml__platform_validate(const ml_platform *p, ml_error **err);
/* Same os, architecture, variant (arm64 "" == "v8", arm "" == "v7") and
 * os_version. */
bool ml__platform_equal(const ml_platform *a, const ml_platform *b);
/* Total order consistent with ml__platform_equal (0 exactly when equal), so
 * duplicates can be found by sorting. */
int ml__platform_compare(const ml_platform *a, const ml_platform *b);
/* Would a runtime on `want` pick an entry for `have`? os and architecture
 * equal; variant equal with the defaults above, or `want` has no variant.
 * Returns a score: 0 no match, higher is a better match. */
int ml__platform_match(const ml_platform *want, const ml_platform *have);
/* "os/arch[/variant]"; NULL on ENOMEM. */
char *ml__platform_format(const ml_platform *p);

#endif
