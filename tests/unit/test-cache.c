/* The config platform cache (lib/store/cache.c). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "test.h"

#define DIGEST "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define CONFIG "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static char *make_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *dir = ml__asprintf("%s/mlist-cache-XXXXXX", base && *base ? base : "/tmp");
    return dir && mkdtemp(dir) ? dir : NULL;
}

static void remove_tree(const char *dir)
{
    char *cmd = ml__asprintf("rm -rf '%s'", dir);
    if (cmd && system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    free(cmd);
}

/* Puts `text` at path, in place (a damaged entry); false if it cannot. */
static bool damage(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return false;
    fputs(text, f);
    return fclose(f) == 0;
}

static void test_round_trip(void)
{
    char *dir = make_tmpdir();
    ml_platform p = {0}, got;
    CHECK(dir != NULL);
    CHECK(!ml__cache_get_platform(dir, DIGEST, &got));
    CHECK(got.os == NULL);
    CHECK_INT(ml__platform_parse(&p, "windows/amd64", NULL), ML_OK);
    p.os_version = ml__strdup("10.0.17763.5576");
    CHECK_INT(ml__strvec_push(&p.os_features, "win32k"), ML_OK);
    ml__cache_put_platform(dir, DIGEST, &p);
    CHECK(ml__cache_get_platform(dir, DIGEST, &got));
    CHECK_STR(got.os, "windows");
    CHECK_STR(got.architecture, "amd64");
    CHECK_STR(got.os_version, "10.0.17763.5576");
    CHECK_INT(got.os_features.count, 1);
    CHECK(got.variant == NULL);
    ml__platform_clear(&got);

    /* Nothing but a digest names an entry. */
    ml__cache_put_platform(dir, "../../escape", &p);
    CHECK(!ml__cache_get_platform(dir, "../../escape", &got));
    char *outside = ml__asprintf("%s/../escape", dir);
    CHECK(access(outside, F_OK) != 0);
    free(outside);
    /* No directory, no cache. */
    ml__cache_put_platform(NULL, DIGEST, &p);
    CHECK(!ml__cache_get_platform(NULL, DIGEST, &got));

    /* A damaged entry is a miss. */
    char *entry = ml__asprintf("%s/configs/sha256/%s", dir, &DIGEST[7]);
    CHECK(damage(entry, "{\"os\":"));
    CHECK(!ml__cache_get_platform(dir, DIGEST, &got));
    CHECK(got.os == NULL);
    /* So is a FIFO, without waiting for a writer that never comes. */
    unlink(entry);
    CHECK_INT(mkfifo(entry, 0600), 0);
    alarm(30);
    CHECK(!ml__cache_get_platform(dir, DIGEST, &got));
    alarm(0);
    free(entry);
    ml__platform_clear(&p);
    remove_tree(dir);
    free(dir);
}

/* Where blobs were seen: per registry, newest first, each place once, at
 * most 16 kept; nothing but plain names goes in or comes out. */
static void test_blob_places(void)
{
    char *dir = make_tmpdir();
    ml__strvec got = {0};
    CHECK(dir != NULL);
    ml__cache_blob_repos(dir, DIGEST, "a.example", &got);
    CHECK_INT(got.count, 0);
    ml__cache_put_blob_repo(dir, DIGEST, "a.example", "team/one");
    ml__cache_put_blob_repo(dir, DIGEST, "b.example:5000", "team/other");
    ml__cache_put_blob_repo(dir, DIGEST, "a.example", "team/two");
    ml__cache_put_blob_repo(dir, DIGEST, "a.example", "team/one"); /* seen again: newest */
    ml__cache_put_blob_repo(dir, DIGEST, "a.example", "bad name");
    ml__cache_put_blob_repo(dir, DIGEST, "a.example\nx.example", "team/three");
    ml__cache_put_blob_repo(dir, DIGEST, NULL, "team/four");
    ml__cache_blob_repos(dir, DIGEST, "a.example", &got);
    CHECK_INT(got.count, 2);
    CHECK_STR(ml__strvec_at(&got, 0), "team/one");
    CHECK_STR(ml__strvec_at(&got, 1), "team/two");
    ml__strvec_free(&got);
    ml__cache_blob_repos(dir, DIGEST, "b.example:5000", &got);
    CHECK_INT(got.count, 1);
    CHECK_STR(ml__strvec_at(&got, 0), "team/other");
    ml__strvec_free(&got);

    for (int i = 0; i < 20; i++) {
        char repo[32];
        snprintf(repo, sizeof(repo), "many/r%d", i);
        ml__cache_put_blob_repo(dir, DIGEST, "a.example", repo);
    }
    ml__cache_blob_repos(dir, DIGEST, "a.example", &got);
    CHECK_INT(got.count, 16);
    CHECK_STR(ml__strvec_at(&got, 0), "many/r19");
    ml__strvec_free(&got);

    /* Nothing but a digest names an entry; no directory, no cache. */
    ml__cache_put_blob_repo(dir, "../../escape", "a.example", "team/one");
    char *outside = ml__asprintf("%s/../escape", dir);
    CHECK(access(outside, F_OK) != 0);
    free(outside);
    ml__cache_put_blob_repo(NULL, DIGEST, "a.example", "team/one");
    ml__cache_blob_repos(NULL, DIGEST, "a.example", &got);
    CHECK_INT(got.count, 0);
    remove_tree(dir);
    free(dir);
}

static ino_t inode_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_ino : 0;
}

/* By manifest digest: a directory of its own, so the same digest as a
 * config's cannot mix them up. Without a config entry to link to, the
 * manifest's entry is written apart. */
static void test_by_manifest_digest(void)
{
    char *dir = make_tmpdir();
    ml_platform p = {0}, got;
    CHECK(dir != NULL);
    CHECK_INT(ml__platform_parse(&p, "linux/arm/v6", NULL), ML_OK);
    CHECK(!ml__cache_get_manifest_platform(dir, DIGEST, &got));
    ml__cache_link_manifest(dir, DIGEST, CONFIG, &p);
    CHECK(ml__cache_get_manifest_platform(dir, DIGEST, &got));
    CHECK_STR(got.variant, "v6");
    ml__platform_clear(&got);
    CHECK(!ml__cache_get_platform(dir, DIGEST, &got));
    CHECK(!ml__cache_get_platform(dir, CONFIG, &got));
    char *entry = ml__asprintf("%s/manifests/sha256/%s", dir, &DIGEST[7]);
    CHECK(entry && access(entry, F_OK) == 0);
    free(entry);
    ml__cache_link_manifest(dir, "../../escape", CONFIG, &p);
    CHECK(!ml__cache_get_manifest_platform(dir, "../../escape", &got));
    ml__platform_clear(&p);
    remove_tree(dir);
    free(dir);
}

/* One file, two names: the manifest's entry is the config's (no second
 * file to create); a damaged manifest entry is replaced by the link. */
static void test_manifest_entry_links_config_entry(void)
{
    char *dir = make_tmpdir();
    ml_platform p = {0}, got;
    CHECK(dir != NULL);
    CHECK_INT(ml__platform_parse(&p, "linux/ppc64le", NULL), ML_OK);
    ml__cache_put_platform(dir, CONFIG, &p);
    char *config = ml__asprintf("%s/configs/sha256/%s", dir, &CONFIG[7]);
    char *manifest = ml__asprintf("%s/manifests/sha256/%s", dir, &DIGEST[7]);
    CHECK(config && manifest);
    CHECK(!damage(manifest, "")); /* no directory yet: the link makes it */
    ml__cache_link_manifest(dir, DIGEST, CONFIG, &p);
    CHECK(inode_of(manifest) != 0 && inode_of(manifest) == inode_of(config));
    CHECK(ml__cache_get_manifest_platform(dir, DIGEST, &got));
    CHECK_STR(got.architecture, "ppc64le");
    ml__platform_clear(&got);

    unlink(manifest);
    CHECK(damage(manifest, "{\"os\":"));
    CHECK(!ml__cache_get_manifest_platform(dir, DIGEST, &got));
    ml__cache_link_manifest(dir, DIGEST, CONFIG, &p);
    CHECK(inode_of(manifest) == inode_of(config));
    CHECK(ml__cache_get_manifest_platform(dir, DIGEST, &got));
    ml__platform_clear(&got);
    ml__platform_clear(&p);
    free(config);
    free(manifest);
    remove_tree(dir);
    free(dir);
}

/* An entry that reads back is not written again (a rerun writes nothing);
 * a damaged one is replaced. */
static void test_entry_written_once(void)
{
    char *dir = make_tmpdir();
    ml_platform p = {0}, got;
    CHECK(dir != NULL);
    CHECK_INT(ml__platform_parse(&p, "linux/arm64", NULL), ML_OK);
    ml__cache_put_platform(dir, DIGEST, &p);
    char *entry = ml__asprintf("%s/configs/sha256/%s", dir, &DIGEST[7]);
    ino_t first = inode_of(entry);
    CHECK(first != 0);
    ml__cache_put_platform(dir, DIGEST, &p);
    CHECK(inode_of(entry) == first);

    CHECK(damage(entry, ""));
    ml__cache_put_platform(dir, DIGEST, &p);
    CHECK(ml__cache_get_platform(dir, DIGEST, &got));
    CHECK_STR(got.architecture, "arm64");
    ml__platform_clear(&got);
    ml__platform_clear(&p);
    free(entry);
    remove_tree(dir);
    free(dir);
}

int main(void)
{
    TEST_RUN(test_round_trip);
    TEST_RUN(test_blob_places);
    TEST_RUN(test_by_manifest_digest);
    TEST_RUN(test_entry_written_once);
    TEST_RUN(test_manifest_entry_links_config_entry);
    TEST_END();
}
