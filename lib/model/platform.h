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

/* Parses "os/arch[/variant]", the os optionally with containerd's
 * "(os.version+os.feature...)" as in "windows(10.0.17763)/amd64" (no
 * normalisation). ML_EPLATFORM on bad input. */
int ml__platform_parse(ml_platform *out, const char *s, ml_error **err);
void ml__platform_clear(ml_platform *p);
int ml__platform_copy(ml_platform *dst, const ml_platform *src);
/* Rewrites to canonical names as containerd's platforms package does
 * (x86_64 -> amd64, aarch64 -> arm64, armhf -> arm/v7, armel -> arm/v6,
 * i386/i686 -> 386, macos -> darwin, amd64/v1 and 386/v1 -> no variant,
 * arm64 8/v8.0 -> v8, 9/9.0/v9.0 -> v9, "7" -> "v7", os.features sorted
 * and de-duplicated), plus mlist's ppc64+ppc64le -> ppc64le and lower
 * case. Appends one human warning per rewrite to `warnings` (may be
 * NULL), e.g. "architecture \"x86_64\" normalised to \"amd64\"". Returns
 * ML_OK or ML_ENOMEM. */
int ml__platform_normalize(ml_platform *p, ml__strvec *warnings);
/* Warns about an os or architecture Go does not know (GOOS/GOARCH), most
 * likely a typo such as "linx". ML_OK or ML_ENOMEM. */
int ml__platform_check_known(const ml_platform *p, ml__strvec *warnings);
/* os and architecture present, all values [A-Za-z0-9._-]. */
int ml__platform_validate(const ml_platform *p, ml_error **err);
/* Same os, architecture, variant (a missing one is the baseline: arm64
 * v8, arm v7, amd64 v1), os_version and os_features. */
bool ml__platform_equal(const ml_platform *a, const ml_platform *b);
/* Total order consistent with ml__platform_equal (0 exactly when equal), so
 * duplicates can be found by sorting. */
int ml__platform_compare(const ml_platform *a, const ml_platform *b);
/* `p` is the platform `pattern` names: equal, but os.version and
 * os.features count only where the pattern gives them. */
bool ml__platform_covers(const ml_platform *pattern, const ml_platform *p);
/* Would a runtime on `want` pick an entry for `have`? As containerd's
 * platforms.Only matcher: same os, `have` in want's platform vector (older
 * variants, arm for arm64, 386 for amd64), its os.features all in want's,
 * a compatible Windows os.version. Returns a score: 0 no match, higher is
 * a better match (earlier in the vector, then the same os.version). */
int ml__platform_match(const ml_platform *want, const ml_platform *have);
/* "os/arch[/variant]"; NULL on ENOMEM. */
char *ml__platform_format(const ml_platform *p);
/* As above with os.version and os.features in containerd's form,
 * "windows(10.0.17763+win32k)/amd64", when there are any. */
char *ml__platform_format_all(const ml_platform *p);

#endif
