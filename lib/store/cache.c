#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cache.h"
#include "digest.h"
#include "fileio.h"
#include "jsonout.h"
#include "manifest.h"

/* An entry is a few hundred bytes; anything larger is not ours. */
#define ENTRY_MAX (64u * 1024)

/* dir/<kind>/<alg>/<hex>; NULL for a digest that is not one (no path is
 * ever built from anything else). */
static char *entry_path_in(const char *dir, const char *kind, const char *digest)
{
    if (!dir || !ml__digest_valid(digest))
        return NULL;
    size_t alg = strcspn(digest, ":");
    return ml__asprintf("%s/%s/%.*s/%s", dir, kind, (int)alg, digest, digest + alg + 1);
}

/* Takes `path`. */
static bool read_platform(char *path, ml_platform *out)
{
    *out = (ml_platform){0};
    char *json = NULL;
    size_t len = 0;
    bool hit = path && ml__read_file(path, ENTRY_MAX, &json, &len, NULL) == ML_OK &&
               ml__config_platform(json, len, out, NULL) == ML_OK;
    if (!hit)
        ml__platform_clear(out);
    free(json);
    free(path);
    return hit;
}

bool ml__cache_get_platform(const char *dir, const char *digest, ml_platform *out)
{
    return read_platform(entry_path_in(dir, "configs", digest), out);
}

bool ml__cache_get_manifest_platform(const char *dir, const char *digest, ml_platform *out)
{
    return read_platform(entry_path_in(dir, "manifests", digest), out);
}

/* mkdir -p of the entry's directory. */
static int make_dirs(char *path)
{
    for (char *s = path + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        int rc = mkdir(path, 0755);
        *s = '/';
        if (rc != 0 && errno != EEXIST)
            return -1;
    }
    return 0;
}

/* Takes `path`. */
static void write_platform(char *path, const ml_platform *p)
{
    if (!path)
        return;
    ml__json_writer w = {0};
    ml__jw_platform(&w, NULL, p);
    char *json = ml__jw_take(&w, NULL);
    /* Mode 0666 less the umask, so a shared cache is readable. */
    char *name = strrchr(path, '/');
    if (json && make_dirs(path) == 0) {
        *name++ = '\0';
        ml__fileio_install(path, name, json, strlen(json), true, NULL);
    }
    free(json);
    free(path);
}

void ml__cache_put_platform(const char *dir, const char *digest, const ml_platform *p)
{
    write_platform(entry_path_in(dir, "configs", digest), p);
}

void ml__cache_put_manifest_platform(const char *dir, const char *digest, const ml_platform *p)
{
    write_platform(entry_path_in(dir, "manifests", digest), p);
}
