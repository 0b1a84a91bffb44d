#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "digest.h"
#include "jsonout.h"
#include "manifest.h"

/* An entry is a few hundred bytes; anything larger is not ours. */
#define ENTRY_MAX (64u * 1024)

/* dir/configs/<alg>/<hex>; NULL for a digest that is not one (no path is
 * ever built from anything else). */
static char *entry_path(const char *dir, const char *digest)
{
    if (!dir || !ml__digest_valid(digest))
        return NULL;
    size_t alg = strcspn(digest, ":");
    return ml__asprintf("%s/configs/%.*s/%s", dir, (int)alg, digest, digest + alg + 1);
}

bool ml__cache_get_platform(const char *dir, const char *digest, ml_platform *out)
{
    *out = (ml_platform){0};
    char *path = entry_path(dir, digest), *json = NULL;
    size_t len = 0;
    bool hit = path && ml__read_file(path, ENTRY_MAX, &json, &len, NULL) == ML_OK &&
               ml__config_platform(json, len, out, NULL) == ML_OK;
    if (!hit)
        ml__platform_clear(out);
    free(json);
    free(path);
    return hit;
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

void ml__cache_put_platform(const char *dir, const char *digest, const ml_platform *p)
{
    char *path = entry_path(dir, digest);
    if (!path)
        return;
    /* Unique enough; O_EXCL makes it safe, and a clash only skips the
     * entry. Mode 0666 less the umask, so a shared cache is readable. */
    char *tmp = ml__asprintf("%s.tmp-%ld-%llx", path, (long)getpid(), (unsigned long long)ml__now_ms());
    ml__json_writer w = {0};
    ml__jw_platform(&w, NULL, p);
    char *json = ml__jw_take(&w, NULL);
    int fd = tmp && json && make_dirs(tmp) == 0 ? open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666) : -1;
    if (fd >= 0) {
        size_t len = strlen(json);
        bool written = write(fd, json, len) == (ssize_t)len;
        if (close(fd) != 0 || !written || rename(tmp, path) != 0)
            unlink(tmp);
    }
    free(json);
    free(tmp);
    free(path);
}
