#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "digest.h"
#include "fileio.h"
#include "jsonout.h"
#include "manifest.h"

/* An entry is a few hundred bytes; anything larger is not ours. */
#define ENTRY_MAX (64u * 1024)

/* Blob locations kept per blob: enough to find a mount source, few
 * enough that a lookup stays one small read. */
#define PLACES_MAX 16

/* dir/<kind>/<alg>/<hex>; NULL for a digest that is not one (no path is
 * ever built from anything else). */
static char *kind_path(const char *dir, const char *kind, const char *digest)
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
    return read_platform(kind_path(dir, "configs", digest), out);
}

bool ml__cache_get_manifest_platform(const char *dir, const char *digest, ml_platform *out)
{
    return read_platform(kind_path(dir, "manifests", digest), out);
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

/* Writes a whole entry at path (mode 0666 less the umask, so a shared
 * cache is readable). */
static int install_at(char *path, const char *data)
{
    char *slash = strrchr(path, '/');
    *slash = '\0';
    int rc = ml__fileio_install(path, slash + 1, data, strlen(data), ML__INSTALL_REPLACE | ML__INSTALL_UNSYNCED,
                                NULL);
    *slash = '/';
    return rc;
}

/* The directories are there but for the first entries of a kind. */
static void install_entry(char *path, const char *data)
{
    if (data && install_at(path, data) != ML_OK && make_dirs(path) == 0)
        install_at(path, data);
}

/* Takes `path`. An entry that reads back is left alone: its name is its
 * content's digest, so it already holds what would be written, and a rerun
 * then writes nothing. */
static void write_platform(char *path, const ml_platform *p)
{
    ml_platform held = {0};
    if (!path || read_platform(ml__strdup(path), &held)) {
        ml__platform_clear(&held);
        free(path);
        return;
    }
    ml__json_writer w = {0};
    ml__jw_platform(&w, NULL, p);
    char *json = ml__jw_take(&w, NULL);
    install_entry(path, json);
    free(json);
    free(path);
}

void ml__cache_put_platform(const char *dir, const char *digest, const ml_platform *p)
{
    write_platform(kind_path(dir, "configs", digest), p);
}

/* False when `to` could not be made a name of `from`. */
static bool link_entry(const char *from, char *to)
{
    if (link(from, to) == 0)
        return true;
    if (errno == ENOENT && make_dirs(to) == 0 && link(from, to) == 0)
        return true;
    /* A damaged entry (it read as a miss) or a concurrent run's copy. */
    return errno == EEXIST && unlink(to) == 0 && link(from, to) == 0;
}

void ml__cache_link_manifest(const char *dir, const char *manifest_digest, const char *config_digest,
                             const ml_platform *p)
{
    char *from = kind_path(dir, "configs", config_digest);
    char *to = kind_path(dir, "manifests", manifest_digest);
    if (from && to && !link_entry(from, to))
        write_platform(ml__strdup(to), p);
    free(from);
    free(to);
}

/* A name that fits a "registry repository" line: no blank, no control. */
static bool place_word(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s == 0x7f)
            return false;
    return true;
}

/* The lines of a blob's entry, newest first ("registry repository"). */
static void read_places(const char *path, ml__strvec *lines)
{
    char *text = NULL;
    size_t len = 0;
    if (ml__read_file(path, PLACES_MAX * 512u, &text, &len, NULL) != ML_OK)
        return;
    for (char *line = text, *end; line && *line && lines->count < PLACES_MAX; line = end ? end + 1 : NULL) {
        end = strchr(line, '\n');
        if (end)
            *end = '\0';
        char *sep = strchr(line, ' ');
        if (sep && !strchr(sep + 1, ' ') && ml__strvec_push(lines, line) != ML_OK)
            break;
    }
    free(text);
}

void ml__cache_blob_repos(const char *dir, const char *digest, const char *registry, ml__strvec *repos)
{
    char *path = kind_path(dir, "blobs", digest);
    ml__strvec lines = {0};
    if (path && place_word(registry))
        read_places(path, &lines);
    size_t n = strlen(registry ? registry : "");
    for (size_t i = 0; i < lines.count; i++)
        if (strncmp(lines.items[i], registry, n) == 0 && lines.items[i][n] == ' ' &&
            ml__strvec_push(repos, lines.items[i] + n + 1) != ML_OK)
            break;
    ml__strvec_free(&lines);
    free(path);
}

void ml__cache_put_blob_repo(const char *dir, const char *digest, const char *registry, const char *repository)
{
    bool words = place_word(registry) && place_word(repository);
    char *path = words ? kind_path(dir, "blobs", digest) : NULL;
    char *line = path ? ml__asprintf("%s %s", registry, repository) : NULL;
    ml__strvec lines = {0};
    if (line) {
        read_places(path, &lines);
        ml__buf b = {0};
        ml__buf_printf(&b, "%s\n", line);
        size_t kept = 1;
        for (size_t i = 0; i < lines.count && kept < PLACES_MAX; i++) {
            if (strcmp(lines.items[i], line) == 0)
                continue;
            ml__buf_printf(&b, "%s\n", lines.items[i]);
            kept++;
        }
        if (!b.oom && (lines.count == 0 || strcmp(lines.items[0], line) != 0))
            install_entry(path, b.data);
        ml__buf_free(&b);
    }
    ml__strvec_free(&lines);
    free(line);
    free(path);
}
