#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "digest.h"
#include "fileio.h"
#include "layout.h"
#include "manifest.h"

/* An unknown tag's message lists at most this many of the tags there are. */
#define TAGS_SHOWN_MAX 10
#define OCI_LAYOUT_JSON "{\"imageLayoutVersion\":\"1.0.0\"}"
#define EMPTY_INDEX_JSON "{\"schemaVersion\":2,\"mediaType\":\"" ML__MT_OCI_INDEX "\",\"manifests\":[]}"
#define SIBLING_INFIX ".mlist-"
#define HASH_CHUNK 16384

static int oom(ml_error **err) { return ml__error_set(err, ML_ENOMEM, "out of memory"); }

static int io_error(ml_error **err, const char *what, int errnum)
{
    return ml__error_set(err, ML_EIO, "%s: %s", what, strerror(errnum));
}

static char *path_in(const char *dir, const char *name) { return ml__asprintf("%s/%s", dir, name); }

static int layout_dir(const ml_ref *repo, const char **dir, ml_error **err)
{
    if (!repo || !repo->layout || !repo->repository || !repo->repository[0])
        return ml__error_set(err, ML_EINVAL, "not an OCI image layout reference");
    *dir = repo->repository;
    return ML_OK;
}

/* blobs/<alg> of a valid digest. */
static char *alg_dir(const char *dir, const char *digest)
{
    return ml__asprintf("%s/blobs/%.*s", dir, (int)(strchr(digest, ':') - digest), digest);
}

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Whether directory path, its symbolic links followed, lies inside root:
 * going up through "..", root is met before "/" (its own parent). One not
 * there yet, or no directory, has nothing to lead out through. */
static int check_inside(const struct stat *root, const char *path, ml_error **err)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT || errno == ENOTDIR ? ML_OK : io_error(err, path, errno);
    struct stat st, below = {0};
    int rc = ML_OK;
    for (;;) {
        if (fstat(fd, &st) != 0) {
            rc = io_error(err, path, errno);
            break;
        }
        if (same_file(&st, root))
            break;
        if (same_file(&st, &below)) {
            rc = ml__error_set(err, ML_EIO, "%s leads outside the layout", path);
            break;
        }
        below = st;
        int up = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC), errnum = errno;
        close(fd);
        if ((fd = up) < 0) {
            rc = io_error(err, path, errnum);
            break;
        }
    }
    if (fd >= 0)
        close(fd);
    return rc;
}

/* blobs/ and blobs/<alg> may be symbolic links (a layout put together by
 * hand), but only to somewhere inside the layout: through one leading
 * elsewhere, blobs would be read, written and deleted outside it. */
static int check_blob_dirs(const char *dir, const char *digest, ml_error **err)
{
    struct stat root;
    if (stat(dir, &root) != 0) /* no layout: its readers say so */
        return ML_OK;
    char *blobs = path_in(dir, "blobs"), *algdir = alg_dir(dir, digest);
    int rc = blobs && algdir ? check_inside(&root, blobs, err) : oom(err);
    if (rc == ML_OK)
        rc = check_inside(&root, algdir, err);
    free(blobs);
    free(algdir);
    return rc;
}

/* The only way to a blob's file: a reference that is not a valid digest
 * (say "../x") must never become a path, nor a layout's blob directories
 * a way out of it. */
static int blob_path(const char *dir, const char *digest, char **out, ml_error **err)
{
    if (!ml__digest_valid(digest))
        return ml__error_set(err, ML_EDIGEST, "invalid digest \"%s\"", digest ? digest : "");
    int rc = check_blob_dirs(dir, digest, err);
    if (rc != ML_OK)
        return rc;
    const char *colon = strchr(digest, ':');
    *out = ml__asprintf("%s/blobs/%.*s/%s", dir, (int)(colon - digest), digest, colon + 1);
    return *out ? ML_OK : oom(err);
}

/* ---- files ------------------------------------------------------------- */

/* Mode 0777: the umask decides, as for any tool. */
static int make_dir(const char *path, ml_error **err)
{
    return mkdir(path, 0777) == 0 || errno == EEXIST ? ML_OK : io_error(err, path, errno);
}

/* ---- what a directory holds --------------------------------------------- */

typedef enum dir_state {
    DIR_LAYOUT,  /* has oci-layout */
    DIR_MISSING,
    DIR_EMPTY,
    DIR_OTHER,   /* holds something else */
    DIR_NOTDIR,
    DIR_ERROR,   /* errno in *errnum */
} dir_state;

static dir_state dir_emptiness(const char *dir, int *errnum)
{
    DIR *d = opendir(dir);
    if (!d) {
        *errnum = errno;
        return DIR_ERROR;
    }
    dir_state st = DIR_EMPTY;
    struct dirent *e;
    while (st == DIR_EMPTY && (e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            st = DIR_OTHER;
    closedir(d);
    return st;
}

static dir_state probe_dir(const char *dir, int *errnum)
{
    struct stat st;
    if (stat(dir, &st) != 0) {
        *errnum = errno;
        return errno == ENOENT ? DIR_MISSING : DIR_ERROR;
    }
    if (!S_ISDIR(st.st_mode))
        return DIR_NOTDIR;
    char *marker = path_in(dir, "oci-layout");
    if (!marker) {
        *errnum = ENOMEM;
        return DIR_ERROR;
    }
    int found = stat(marker, &st);
    *errnum = errno;
    free(marker);
    if (found == 0)
        return DIR_LAYOUT;
    return *errnum == ENOENT ? dir_emptiness(dir, errnum) : DIR_ERROR;
}

/* A missing or empty directory is a layout not written yet (ML_ENOTFOUND,
 * like an unknown repository); a directory holding other things is not
 * ours to read or write, and must not read as absent (ML_EIO). */
static int state_error(const char *dir, dir_state st, int errnum, ml_error **err)
{
    switch (st) {
    case DIR_LAYOUT: return ML_OK;
    case DIR_MISSING: return ml__error_set(err, ML_ENOTFOUND, "%s: %s", dir, strerror(errnum));
    case DIR_EMPTY:
        return ml__error_set(err, ML_ENOTFOUND, "%s is not an OCI image layout: no oci-layout file", dir);
    case DIR_OTHER:
        return ml__error_set(err, ML_EIO, "%s is not an OCI image layout: no oci-layout file", dir);
    case DIR_NOTDIR: return ml__error_set(err, ML_EIO, "%s is not an OCI image layout: not a directory", dir);
    default: return errnum == ENOMEM ? oom(err) : io_error(err, dir, errnum);
    }
}

static int check_layout(const char *dir, ml_error **err)
{
    int errnum = 0;
    dir_state st = probe_dir(dir, &errnum);
    return state_error(dir, st, errnum, err);
}

/* ---- creating a layout -------------------------------------------------- */

static int add_file(const char *dir, const char *name, const char *data, bool shared, ml_error **err)
{
    return ml__fileio_install(dir, name, data, strlen(data), !shared, err);
}

/* index.json before oci-layout: whoever sees the marker finds the index.
 * A shared directory (filled where it is) may have a concurrent creator. */
static int populate(const char *dir, bool shared, ml_error **err)
{
    char *blobs = path_in(dir, "blobs");
    char *sha = path_in(dir, "blobs/sha256");
    int rc = blobs && sha ? ML_OK : oom(err);
    if (rc == ML_OK && (rc = make_dir(blobs, err)) == ML_OK && (rc = make_dir(sha, err)) == ML_OK &&
        (rc = ml__fileio_sync_dir(sha, err)) == ML_OK && (rc = ml__fileio_sync_dir(blobs, err)) == ML_OK &&
        (rc = add_file(dir, "index.json", EMPTY_INDEX_JSON, shared, err)) == ML_OK)
        rc = add_file(dir, "oci-layout", OCI_LAYOUT_JSON, shared, err);
    free(blobs);
    free(sha);
    return rc;
}

/* Removes what populate() creates (a sibling that lost a race). */
static void remove_populated(const char *dir)
{
    static const char *const entries[] = {"oci-layout", "index.json", "blobs/sha256", "blobs"};
    for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
        char *p = path_in(dir, entries[i]);
        if (p && unlink(p) != 0)
            rmdir(p);
        free(p);
    }
    rmdir(dir);
}

static size_t stripped_len(const char *dir)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    return n;
}

static char *parent_of(const char *dir)
{
    size_t n = stripped_len(dir);
    while (n > 0 && dir[n - 1] != '/')
        n--;
    while (n > 1 && dir[n - 1] == '/')
        n--;
    return n == 0 ? ml__strdup(".") : ml__strndup(dir, n);
}

static int make_parents(const char *dir, ml_error **err)
{
    char *p = parent_of(dir);
    if (!p)
        return oom(err);
    int rc = ML_OK;
    for (char *s = p + 1; rc == ML_OK && *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        rc = make_dir(p, err);
        *s = '/';
    }
    if (rc == ML_OK)
        rc = make_dir(p, err);
    free(p);
    return rc;
}

/* The user's name for the layout (trailing slashes dropped), in errors
 * about creating it: the sibling it is built in is ours alone. */
static int create_error(const char *dir, int errnum, ml_error **err)
{
    return ml__error_set(err, ML_EIO, "cannot create layout %.*s: %s", (int)stripped_len(dir), dir,
                         strerror(errnum));
}

/* An error met inside the sibling, with its name replaced by the layout's
 * (".../out.mlist-x/blobs" reads ".../out/blobs"). */
static int sibling_error(const char *dir, const char *sib, int rc, const ml_error *inner, ml_error **err)
{
    if (rc == ML_ENOMEM)
        return oom(err);
    const char *msg = inner && ml_error_message(inner) ? ml_error_message(inner) : ml_strerror(rc);
    ml__buf b = {0};
    size_t n = strlen(sib), shown = stripped_len(dir);
    for (const char *hit; (hit = strstr(msg, sib)); msg = hit + n) {
        ml__buf_append(&b, msg, (size_t)(hit - msg));
        ml__buf_append(&b, dir, shown);
    }
    ml__buf_puts(&b, msg);
    char *text = ml__buf_take(&b);
    rc = text ? ml__error_set(err, rc, "cannot create layout %.*s: %s", (int)shown, dir, text) : oom(err);
    free(text);
    return rc;
}

/* A failed rename onto the target: someone else made it meanwhile (theirs
 * is checked afterwards), or the empty directory cannot be replaced (".",
 * a mount point) and is filled where it is. */
static int rename_failed(const char *dir, dir_state st, int errnum, bool *in_place, ml_error **err)
{
    *in_place = st == DIR_EMPTY && (errnum == EBUSY || errnum == EINVAL);
    if (errnum == ENOTEMPTY || errnum == EEXIST || *in_place)
        return ML_OK;
    return create_error(dir, errnum, err);
}

/* An empty directory the layout replaces keeps its mode (mkdir -m 700):
 * the sibling, made under the umask, takes it over. A directory gone
 * meanwhile has no mode to keep. */
static int keep_mode(const char *dir, const char *sib, ml_error **err)
{
    struct stat st;
    if (stat(dir, &st) == 0 && chmod(sib, st.st_mode & 07777) != 0)
        return io_error(err, sib, errno);
    return ML_OK;
}

/* Built beside the target and renamed onto it, so the layout appears
 * whole or not at all; rename replaces an empty directory. */
static int create_beside(const char *dir, dir_state st, bool *in_place, ml_error **err)
{
    char *prefix = ml__asprintf("%.*s" SIBLING_INFIX, (int)stripped_len(dir), dir), *sib = NULL;
    int errnum = prefix ? ml__fileio_mkdir_unique(prefix, &sib) : ENOMEM;
    free(prefix);
    if (errnum == ENOMEM)
        return oom(err);
    if (errnum) {
        /* An empty directory in a parent we may not write to. */
        *in_place = st == DIR_EMPTY;
        return *in_place ? ML_OK : create_error(dir, errnum, err);
    }
    ml_error *inner = NULL;
    int rc = populate(sib, false, &inner);
    if (rc == ML_OK && st == DIR_EMPTY)
        rc = keep_mode(dir, sib, &inner);
    int renamed = rc == ML_OK ? rename(sib, dir) : -1;
    errnum = errno;
    if (renamed != 0)
        remove_populated(sib);
    if (rc != ML_OK)
        rc = sibling_error(dir, sib, rc, inner, err);
    else if (renamed != 0)
        rc = rename_failed(dir, st, errnum, in_place, err);
    ml_error_free(inner);
    free(sib);
    return rc;
}

static bool is_symlink(const char *dir)
{
    char *name = ml__strndup(dir, stripped_len(dir));
    struct stat st;
    bool link = name && lstat(name, &st) == 0 && S_ISLNK(st.st_mode);
    free(name);
    return link;
}

/* A symbolic link to an empty directory stays: the layout is filled in
 * the directory it names (a rename would fail on the link). */
static int create_layout(const char *dir, dir_state st, ml_error **err)
{
    bool in_place = st == DIR_EMPTY && is_symlink(dir);
    int rc = st == DIR_MISSING ? make_parents(dir, err) : ML_OK;
    if (rc != ML_OK)
        return ml__error_prefix(err, rc, "cannot create layout %.*s", (int)stripped_len(dir), dir);
    if (!in_place)
        rc = create_beside(dir, st, &in_place, err);
    if (rc == ML_OK && in_place) {
        rc = populate(dir, true, err);
        return rc == ML_OK ? rc : ml__error_prefix(err, rc, "cannot create layout %.*s", (int)stripped_len(dir), dir);
    }
    char *parent = rc == ML_OK ? parent_of(dir) : NULL;
    if (rc == ML_OK)
        rc = parent ? ml__fileio_sync_dir(parent, err) : oom(err);
    free(parent);
    return rc == ML_OK ? check_layout(dir, err) : rc;
}

static int ensure_layout(const char *dir, ml_error **err)
{
    int errnum = 0;
    dir_state st = probe_dir(dir, &errnum);
    if (st == DIR_MISSING || st == DIR_EMPTY)
        return create_layout(dir, st, err);
    return state_error(dir, st, errnum, err);
}

/* ---- index.json --------------------------------------------------------- */

/* skopeo's index.json may lack mediaType: it is an index by definition. */
static int load_index(const char *dir, ml__manifest *idx, ml_error **err)
{
    char *path = path_in(dir, "index.json"), *json = NULL;
    size_t len = 0;
    *idx = (ml__manifest){0};
    int rc = path ? ml__read_file(path, ML__MANIFEST_MAX, &json, &len, err) : oom(err);
    /* A mediaType other than the index's is refused by the parse. */
    if (rc == ML_OK && (rc = ml__manifest_parse(idx, json, len, ML__MT_OCI_INDEX, err)) != ML_OK)
        ml__error_prefix(err, rc, "%s", path);
    free(json);
    free(path);
    return rc;
}

static int store_index(const char *dir, const ml__manifest *idx, ml_error **err)
{
    char *json = NULL;
    size_t len = 0;
    int rc = ml__manifest_emit(idx, &json, &len, err);
    if (rc == ML_OK)
        rc = ml__fileio_install(dir, "index.json", json, len, true, err);
    else
        ml__error_prefix(err, rc, "%s/index.json", dir);
    free(json);
    return rc;
}

static const char *tag_of(const ml__descriptor *d)
{
    return ml__annotations_get(&d->annotations, ML__LAYOUT_REF_NAME);
}

static ml__descriptor *tagged(const ml__manifest *idx, const char *tag)
{
    for (size_t i = 0; i < idx->manifest_count; i++)
        if (ml__str_eq(tag_of(&idx->manifests[i]), tag))
            return &idx->manifests[i];
    return NULL;
}

static const ml__descriptor *find_tag(const ml__manifest *idx, const char *tag)
{
    const ml__descriptor *d = tagged(idx, tag);
    /* skopeo writes "oci:PATH" as the layout's only, untagged image. A
     * tagged one is not "latest": a write to oci:PATH must not replace it
     * (set_tag replaces only what this finds). */
    if (!d && strcmp(tag, "latest") == 0 && idx->manifest_count == 1 && !tag_of(&idx->manifests[0]))
        d = &idx->manifests[0];
    return d;
}

static const ml__descriptor *find_digest(const ml__manifest *idx, const char *digest)
{
    for (size_t i = 0; i < idx->manifest_count; i++)
        if (ml__str_eq(idx->manifests[i].digest, digest))
            return &idx->manifests[i];
    return NULL;
}

/* Drops entries from index `from` on that match tag or digest (the other
 * NULL); how many. */
static size_t drop_entries(ml__manifest *idx, size_t from, const char *tag, const char *digest)
{
    size_t kept = from, n = idx->manifest_count;
    for (size_t i = from; i < n; i++) {
        ml__descriptor *d = &idx->manifests[i];
        if ((tag && ml__str_eq(tag_of(d), tag)) || (digest && ml__str_eq(d->digest, digest)))
            ml__descriptor_clear(d);
        else
            idx->manifests[kept++] = *d;
    }
    idx->manifest_count = kept;
    return n - kept;
}

static int tag_entry(ml__descriptor *d, const char *tag, const char *media_type, const char *digest,
                     int64_t size)
{
    *d = (ml__descriptor){.media_type = ml__strdup(media_type), .digest = ml__strdup(digest), .size = size};
    if (!d->media_type || !d->digest ||
        ml__annotations_set(&d->annotations, ML__LAYOUT_REF_NAME, tag) != ML_OK) {
        ml__descriptor_clear(d);
        return ML_ENOMEM;
    }
    return ML_OK;
}

/* Points tag at the blob: the entry reading it names (find_tag) is
 * replaced where it stands, every other entry keeps its place. So "latest"
 * written to skopeo's one untagged entry replaces it and gets the tag: a
 * second entry would leave skopeo's oci:PATH ambiguous ("more than one
 * image"). */
/* Points `tag` at the entry `at` replaces (NULL: a new entry). */
static int set_tag(ml__manifest *idx, const ml__descriptor *at, const char *tag, const char *media_type,
                   const char *digest, int64_t size, ml_error **err)
{
    ml__descriptor entry;
    if (tag_entry(&entry, tag, media_type, digest, size) != ML_OK)
        return oom(err);
    if (at) {
        size_t i = (size_t)(at - idx->manifests);
        ml__descriptor_clear(&idx->manifests[i]);
        idx->manifests[i] = entry;
        /* A tag names one image: stray duplicates (other tools) go. */
        drop_entries(idx, i + 1, tag, NULL);
        return ML_OK;
    }
    if (ml__manifest_append(idx, &entry) != ML_OK) {
        ml__descriptor_clear(&entry);
        return oom(err);
    }
    return ML_OK;
}

/* Writers serialize on oci-layout: it is never replaced, so every writer
 * locks the same file (index.json is renamed over). */
static int lock_layout(const char *dir, uint32_t wait_ms, int *fd, ml_error **err)
{
    char *path = path_in(dir, "oci-layout"), *what = ml__asprintf("layout %s", dir);
    int rc = path && what ? ml__fileio_lock(path, what, wait_ms, fd, err) : oom(err);
    free(path);
    free(what);
    return rc;
}

/* ---- blobs -------------------------------------------------------------- */

/* Written in the layout's root, renamed into blobs/<alg>/ once verified. */
struct ml__layout_blob {
    ml__tempfile tmp;
};

static int blob_begin_in(const char *dir, ml__layout_blob **out, ml_error **err)
{
    ml__layout_blob *b = calloc(1, sizeof(*b));
    int rc = b ? ml__tempfile_open(&b->tmp, dir, err) : oom(err);
    if (rc != ML_OK) {
        ml__layout_blob_free(b);
        return rc;
    }
    *out = b;
    return ML_OK;
}

static int hash_file(FILE *f, const char *digest, char got[ML__DIGEST_MAX], ml_error **err)
{
    char alg[8] = {0};
    memcpy(alg, digest, (size_t)(strchr(digest, ':') - digest));
    ml__digester *d = NULL;
    int rc = ml__digester_new(&d, alg, err);
    char chunk[HASH_CHUNK];
    size_t n;
    if (rc == ML_OK) {
        rewind(f);
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
            ml__digester_update(d, chunk, n);
        if (ferror(f))
            rc = ml__error_set(err, ML_EIO, "read error");
        ml__digester_final(d, got);
    }
    ml__digester_free(d);
    return rc;
}

/* The bytes on disk are what is checked, after fsync. */
static int blob_verify(ml__layout_blob *b, const char *digest, ml_error **err)
{
    char got[ML__DIGEST_MAX];
    int rc = ml__tempfile_sync(&b->tmp, err);
    if (rc != ML_OK)
        return rc;
    rc = hash_file(b->tmp.file, digest, got, err);
    if (rc != ML_OK)
        return ml__error_prefix(err, rc, "%s: blob being written", b->tmp.dir);
    if (strcmp(got, digest) != 0)
        return ml__error_set(err, ML_EDIGEST, "%s: blob content has digest %s, expected %s", b->tmp.dir,
                             got[0] ? got : "(none)", digest);
    return ML_OK;
}

static bool regular_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Renames the verified file into blobs/<alg>/; a blob there already has
 * the same bytes, so it is kept (anything else there is replaced). */
static int blob_install(ml__layout_blob *b, const char *digest, ml_error **err)
{
    const char *dir = b->tmp.dir;
    char *dst = NULL, *algdir = alg_dir(dir, digest), *blobs = path_in(dir, "blobs");
    int rc = algdir && blobs ? blob_path(dir, digest, &dst, err) : oom(err);
    if (rc == ML_OK && (rc = make_dir(blobs, err)) == ML_OK && (rc = make_dir(algdir, err)) == ML_OK) {
        if (regular_file(dst))
            ml__tempfile_discard(&b->tmp);
        else
            rc = ml__tempfile_commit(&b->tmp, dst, true, err); /* syncs algdir */
    }
    if (rc == ML_OK)
        rc = ml__fileio_sync_dir(blobs, err);
    free(dst);
    free(algdir);
    free(blobs);
    return rc;
}

int ml__layout_blob_begin(const ml_ref *repo, ml__layout_blob **out, ml_error **err)
{
    const char *dir = NULL;
    int rc = layout_dir(repo, &dir, err);
    if (rc == ML_OK)
        rc = ensure_layout(dir, err);
    return rc == ML_OK ? blob_begin_in(dir, out, err) : rc;
}

FILE *ml__layout_blob_file(ml__layout_blob *b) { return b ? b->tmp.file : NULL; }

int ml__layout_blob_commit(ml__layout_blob *b, const char *digest, ml_error **err)
{
    if (!b || !b->tmp.path)
        return ml__error_set(err, ML_EINVAL, "no blob being written");
    int rc = ML_OK;
    if (!ml__digest_valid(digest))
        rc = ml__error_set(err, ML_EDIGEST, "invalid digest \"%s\"", digest ? digest : "");
    if (rc == ML_OK)
        rc = blob_verify(b, digest, err);
    if (rc == ML_OK)
        rc = blob_install(b, digest, err);
    ml__tempfile_discard(&b->tmp);
    return rc;
}

void ml__layout_blob_free(ml__layout_blob *b)
{
    if (!b)
        return;
    ml__tempfile_discard(&b->tmp);
    free(b);
}

static int put_blob(const char *dir, const char *digest, const char *data, size_t len, ml_error **err)
{
    char *path = NULL;
    int rc = blob_path(dir, digest, &path, err);
    bool present = rc == ML_OK && regular_file(path);
    free(path);
    if (rc != ML_OK || present)
        return rc;
    ml__layout_blob *b = NULL;
    rc = blob_begin_in(dir, &b, err);
    if (rc == ML_OK)
        rc = ml__tempfile_write(&b->tmp, data, len, err);
    if (rc == ML_OK)
        rc = ml__layout_blob_commit(b, digest, err);
    ml__layout_blob_free(b);
    return rc;
}

bool ml__layout_has_blob(const ml_ref *repo, const char *digest)
{
    const char *dir = NULL;
    char *path = NULL;
    bool found = layout_dir(repo, &dir, NULL) == ML_OK && blob_path(dir, digest, &path, NULL) == ML_OK &&
                 regular_file(path);
    free(path);
    return found;
}

/* Size of an existing blob; a missing one is ML_ENOTFOUND, and anything
 * but a regular file no blob (a FIFO would block its reader). */
static int blob_stat(const char *dir, const char *digest, char **path, int64_t *size, ml_error **err)
{
    struct stat st;
    int rc = blob_path(dir, digest, path, err);
    if (rc != ML_OK)
        return rc;
    if (stat(*path, &st) != 0)
        return errno == ENOENT ? ml__error_set(err, ML_ENOTFOUND, "blob %s not found in %s", digest, dir)
                               : io_error(err, *path, errno);
    *size = (int64_t)st.st_size;
    return ml__require_regular(*path, st.st_mode, err);
}

/* Whole blob, at most max bytes, checked against its digest. */
static int read_blob(const char *dir, const char *digest, size_t max, char **out, size_t *len, ml_error **err)
{
    char *path = NULL;
    int64_t size;
    int rc = blob_stat(dir, digest, &path, &size, err);
    if (rc == ML_OK)
        rc = ml__read_file(path, max, out, len, err);
    if (rc == ML_OK && (rc = ml__digest_verify(digest, *out, *len, err)) != ML_OK) {
        ml__error_prefix(err, rc, "%s", path);
        free(*out);
        *out = NULL;
    }
    free(path);
    return rc;
}

int ml__layout_open_blob(const ml_ref *repo, const char *digest, FILE **out, int64_t *size, ml_error **err)
{
    const char *dir = NULL;
    char *path = NULL;
    int rc = layout_dir(repo, &dir, err);
    if (rc == ML_OK)
        rc = check_layout(dir, err);
    if (rc == ML_OK)
        rc = blob_stat(dir, digest, &path, size, err);
    int fd = -1;
    if (rc == ML_OK && (rc = ml__open_regular(path, &fd, err)) == ML_OK && !(*out = fdopen(fd, "rb"))) {
        rc = io_error(err, path, errno);
        close(fd);
    }
    free(path);
    return rc;
}

/* ---- batches ------------------------------------------------------------ */

/* A tag must be a tag, and anything with a colon a digest. */
static int check_reference(const char *reference, bool *is_digest, ml_error **err)
{
    *is_digest = reference && strchr(reference, ':');
    if (*is_digest && !ml__digest_valid(reference))
        return ml__error_set(err, ML_EDIGEST, "invalid digest \"%s\"", reference);
    if (!*is_digest && !ml__tag_valid(reference))
        return ml__error_set(err, ML_EREF, "invalid tag \"%s\"", reference ? reference : "");
    return ML_OK;
}

/* Results go to the item only on success. */
typedef struct found {
    char *digest;
    char *media_type;
    int64_t size;
    char *body;
    size_t len;
} found;

static void found_clear(found *f)
{
    free(f->digest);
    free(f->media_type);
    free(f->body);
}

/* A PUT item's body and media type are the caller's input: kept. */
static void found_give(found *f, ml__item *it, bool put)
{
    it->digest = f->digest;
    it->size = f->size;
    f->digest = NULL;
    if (put)
        return;
    it->media_type = f->media_type;
    it->body = f->body;
    it->len = f->len;
    *f = (found){0};
}

/* The manifest's own mediaType, for a blob index.json does not list. */
static int media_type_of(const char *body, size_t len, char **out, ml_error **err)
{
    ml__manifest m;
    int rc = ml__manifest_parse(&m, body, len, NULL, err);
    if (rc != ML_OK)
        return ml__error_prefix(err, ML_EMANIFEST, "media type unknown");
    *out = ml__strdup(m.media_type);
    ml__manifest_clear(&m);
    return *out ? ML_OK : oom(err);
}

/* Names the tags there are: a user who guessed wrong sees what to write. */
static int tag_not_found(const ml__manifest *idx, const char *dir, const char *tag, ml_error **err)
{
    ml__buf b = {0};
    size_t total = 0;
    for (size_t i = 0; i < idx->manifest_count; i++) {
        const char *t = tag_of(&idx->manifests[i]);
        if (t && total++ < TAGS_SHOWN_MAX)
            ml__buf_printf(&b, "%s%s", total > 1 ? ", " : "", t);
    }
    char *tags = ml__buf_take(&b);
    int rc = ml__error_set(err, ML_ENOTFOUND, "tag \"%s\" not found in %s/index.json (%s%s%s)", tag, dir,
                           total ? "tags: " : "no tags", total && tags ? tags : "",
                           total > TAGS_SHOWN_MAX ? ", ..." : "");
    free(tags);
    return rc;
}

/* Digest and (when listed) media type of a manifest reference. */
/* index.json, read once per batch for reads: a batch (the images of a
 * spec) mostly names one layout, and reading it per item would make
 * resolving N images from an N-entry layout quadratic. */
typedef struct index_cache {
    char *dir; /* NULL: nothing read yet */
    ml__manifest idx;
} index_cache;

static void index_cache_clear(index_cache *ic)
{
    free(ic->dir);
    ml__manifest_clear(&ic->idx);
    *ic = (index_cache){0};
}

static int cached_index(index_cache *ic, const char *dir, const ml__manifest **out, ml_error **err)
{
    if (!ic->dir || strcmp(ic->dir, dir) != 0) {
        index_cache_clear(ic);
        int rc = check_layout(dir, err);
        if (rc == ML_OK)
            rc = load_index(dir, &ic->idx, err);
        if (rc == ML_OK && !(ic->dir = ml__strdup(dir)))
            rc = oom(err);
        if (rc != ML_OK) {
            index_cache_clear(ic);
            return rc;
        }
    }
    *out = &ic->idx;
    return ML_OK;
}

static int resolve(const ml__manifest *idx, const char *dir, const char *reference, bool is_digest, found *f,
                   ml_error **err)
{
    const ml__descriptor *d = is_digest ? find_digest(idx, reference) : find_tag(idx, reference);
    if (!d && !is_digest)
        return tag_not_found(idx, dir, reference, err);
    f->digest = ml__strdup(is_digest ? reference : d->digest);
    f->media_type = ml__strdup(d ? d->media_type : NULL);
    return !f->digest || (d && !f->media_type) ? oom(err) : ML_OK;
}

static int manifest_one(ml__item *it, bool get, index_cache *ic, found *f)
{
    const char *dir = NULL;
    const ml__manifest *idx = NULL;
    bool is_digest;
    int rc;
    if ((rc = layout_dir(it->repo, &dir, &it->err)) || (rc = check_reference(it->reference, &is_digest, &it->err)) ||
        (rc = cached_index(ic, dir, &idx, &it->err)) || (rc = resolve(idx, dir, it->reference, is_digest, f, &it->err)))
        return rc;
    if (!get && f->media_type) {
        char *path = NULL;
        rc = blob_stat(dir, f->digest, &path, &f->size, &it->err);
        free(path);
        return rc;
    }
    if ((rc = read_blob(dir, f->digest, ML__MANIFEST_MAX, &f->body, &f->len, &it->err)))
        return rc;
    f->size = (int64_t)f->len;
    if (!f->media_type && (rc = media_type_of(f->body, f->len, &f->media_type, &it->err)))
        return rc;
    if (!get) {
        free(f->body);
        f->body = NULL;
        f->len = 0;
    }
    return ML_OK;
}

static int blob_one(ml__item *it, bool get, size_t max, found *f)
{
    const char *dir = NULL;
    char *path = NULL;
    int rc;
    if ((rc = layout_dir(it->repo, &dir, &it->err)) || (rc = check_layout(dir, &it->err)))
        return rc;
    if (!get) {
        rc = blob_stat(dir, it->reference, &path, &f->size, &it->err);
        free(path);
    } else if ((rc = read_blob(dir, it->reference, max, &f->body, &f->len, &it->err)) == ML_OK) {
        f->size = (int64_t)f->len;
    }
    if (rc == ML_OK && !(f->digest = ml__strdup(it->reference)))
        rc = oom(&it->err);
    return rc;
}

/* The entry a write of the item's tag replaces: the tag's, or what a read
 * of it found before (skopeo's untagged "latest", which an earlier tag of
 * the same push may have made ambiguous since). */
static const ml__descriptor *entry_for(const ml__manifest *idx, const ml__item *it)
{
    const ml__descriptor *d = find_tag(idx, it->reference);
    for (size_t i = 0; !d && it->expect_set && it->expect && i < idx->manifest_count; i++)
        if (!tag_of(&idx->manifests[i]) && ml__str_eq(idx->manifests[i].digest, it->expect))
            d = &idx->manifests[i];
    return d;
}

/* Compare-and-swap: under the lock, the tag must hold what the writer
 * read before (a registry has no such check). */
static int still_expected(const ml__descriptor *d, const ml__item *it, ml_error **err)
{
    const char *now = d ? d->digest : NULL;
    if (!it->expect_set || ml__str_eq(now, it->expect))
        return ML_OK;
    ml__error_set(err, ML_ECONFLICT, "tag \"%s\" was changed by someone else (%s -> %s)", it->reference,
                  it->expect ? it->expect : "absent", now ? now : "absent");
    return ml__error_hint(err, ML_ECONFLICT, ML_HINT_FORCE);
}

/* Writes the manifest's blob and points a tag at it, under the lock so a
 * concurrent delete cannot remove the blob between both. */
static int put_locked(const char *dir, const ml__item *it, bool is_digest, const char *digest, uint32_t wait_ms,
                      ml_error **err)
{
    int fd;
    int rc = lock_layout(dir, wait_ms, &fd, err);
    if (rc != ML_OK)
        return rc;
    ml__manifest idx = {0};
    rc = put_blob(dir, digest, it->body, it->len, err);
    if (rc == ML_OK && !is_digest && (rc = load_index(dir, &idx, err)) == ML_OK) {
        const ml__descriptor *at = entry_for(&idx, it);
        if ((rc = still_expected(at, it, err)) == ML_OK &&
            (rc = set_tag(&idx, at, it->reference, it->media_type, digest, (int64_t)it->len, err)) == ML_OK)
            rc = store_index(dir, &idx, err);
    }
    ml__manifest_clear(&idx);
    close(fd);
    return rc;
}

static int put_one(ml__item *it, uint32_t wait_ms, found *f)
{
    const char *dir = NULL;
    bool is_digest;
    char digest[ML__DIGEST_MAX];
    int rc;
    if ((rc = layout_dir(it->repo, &dir, &it->err)) || (rc = check_reference(it->reference, &is_digest, &it->err)))
        return rc;
    if (!it->media_type || !it->media_type[0] || (!it->body && it->len))
        return ml__error_set(&it->err, ML_EINVAL, "no manifest body or media type");
    if (it->len > ML__MANIFEST_MAX)
        return ml__error_set(&it->err, ML_ETOOBIG, "manifest of %zu bytes is over the limit of %u bytes",
                             it->len, ML__MANIFEST_MAX);
    const char *alg = is_digest && ml__has_prefix(it->reference, "sha512:") ? "sha512" : "sha256";
    if ((rc = ml__digest_compute(alg, it->body ? it->body : "", it->len, digest, &it->err)))
        return rc;
    if (is_digest && strcmp(digest, it->reference) != 0)
        return ml__error_set(&it->err, ML_EDIGEST, "manifest has digest %s, not %s", digest, it->reference);
    if ((rc = ensure_layout(dir, &it->err)) || (rc = put_locked(dir, it, is_digest, digest, wait_ms, &it->err)))
        return rc;
    f->size = (int64_t)it->len;
    f->digest = ml__strdup(digest);
    return f->digest ? ML_OK : oom(&it->err);
}

typedef enum op { OP_HEAD, OP_GET, OP_HEAD_BLOB, OP_GET_BLOB, OP_PUT } op;

static const char *const op_verbs[] = {"HEAD", "GET", "HEAD blob", "GET blob", "PUT"};

/* max bounds a blob's GET; wait_ms a PUT's wait for the lock. */
static int item_run(ml__item *it, op o, size_t max, uint32_t wait_ms, index_cache *ic, found *f)
{
    switch (o) {
    case OP_HEAD: return manifest_one(it, false, ic, f);
    case OP_GET: return manifest_one(it, true, ic, f);
    case OP_HEAD_BLOB: return blob_one(it, false, 0, f);
    case OP_GET_BLOB: return blob_one(it, true, max, f);
    default: return put_one(it, wait_ms, f);
    }
}

/* Items fail one by one, each naming itself; only a lack of memory fails
 * the batch. */
static int run_items(ml__item *items, size_t n, op o, size_t max, uint32_t wait_ms)
{
    int rc = ML_OK;
    index_cache ic = {0};
    for (size_t i = 0; i < n; i++) {
        ml__item *it = &items[i];
        found f = {0};
        it->rc = item_run(it, o, max, wait_ms, &ic, &f);
        if (it->rc == ML_OK)
            found_give(&f, it, o == OP_PUT);
        else if (it->rc == ML_ENOMEM)
            rc = ML_ENOMEM;
        else {
            const char *ref = it->reference ? it->reference : "";
            ml__error_prefix(&it->err, it->rc, "%s %s%s%s%s", op_verbs[o], ML__LAYOUT_PREFIX,
                             it->repo && it->repo->repository ? it->repo->repository : "",
                             strchr(ref, ':') ? "@" : ":", ref);
        }
        found_clear(&f);
    }
    index_cache_clear(&ic);
    return rc;
}

int ml__layout_head_manifests(ml__item *items, size_t n) { return run_items(items, n, OP_HEAD, 0, 0); }

int ml__layout_get_manifests(ml__item *items, size_t n) { return run_items(items, n, OP_GET, 0, 0); }

int ml__layout_head_blobs(ml__item *items, size_t n) { return run_items(items, n, OP_HEAD_BLOB, 0, 0); }

int ml__layout_get_blobs(ml__item *items, size_t n, size_t max)
{
    return run_items(items, n, OP_GET_BLOB, max, 0);
}

int ml__layout_put_manifests(ml__item *items, size_t n, uint32_t lock_wait_ms)
{
    return run_items(items, n, OP_PUT, 0, lock_wait_ms);
}

/* ---- delete and tags ---------------------------------------------------- */

/* Levels of lists below an index.json entry searched for a child: an
 * index of lists is the deepest shape tools write. */
#define CHILD_DEPTH 2

/* Whether the manifest d describes may have `digest` as a child, at most
 * `depth` levels down. Image manifests have no children (a subject is not
 * kept by its referrers); a list that cannot be read may have any. */
static bool may_have_child(const char *dir, const ml__descriptor *d, const char *digest, int depth)
{
    ml__kind kind = ml__kind_of(d->media_type);
    if (depth == 0 || (kind != ML__KIND_UNKNOWN && !ml__kind_is_list(kind)))
        return false;
    char *body = NULL;
    size_t len = 0;
    ml__manifest m;
    if (read_blob(dir, d->digest, ML__MANIFEST_MAX, &body, &len, NULL) != ML_OK)
        return true;
    int rc = ml__manifest_parse(&m, body, len, d->media_type, NULL);
    free(body);
    if (rc != ML_OK)
        return true;
    bool named = false;
    for (size_t i = 0; !named && i < m.manifest_count; i++)
        named = ml__str_eq(m.manifests[i].digest, digest) || may_have_child(dir, &m.manifests[i], digest, depth - 1);
    ml__manifest_clear(&m);
    return named;
}

static bool still_named(const char *dir, const ml__manifest *idx, const char *digest)
{
    bool named = false;
    for (size_t i = 0; !named && i < idx->manifest_count; i++)
        named = may_have_child(dir, &idx->manifests[i], digest, CHILD_DEPTH);
    return named;
}

/* index.json first: a crash between both leaves an unnamed blob, never an
 * entry naming a missing one. A blob a remaining list still names stays,
 * or `delete oci:out@<child>` would break that list. */
static int delete_locked(const char *dir, const char *digest, const char *path, ml_error **err)
{
    ml__manifest idx;
    int rc = load_index(dir, &idx, err);
    size_t dropped = rc == ML_OK ? drop_entries(&idx, 0, NULL, digest) : 0;
    if (rc == ML_OK && dropped)
        rc = store_index(dir, &idx, err);
    bool keep = rc == ML_OK && still_named(dir, &idx, digest);
    ml__manifest_clear(&idx);
    if (rc != ML_OK)
        return rc;
    /* A kept blob is still checked for: a digest neither listed nor
     * stored is not found. */
    struct stat st;
    bool missing = keep ? stat(path, &st) != 0 : unlink(path) != 0;
    if (missing) {
        if (errno != ENOENT)
            return io_error(err, path, errno);
        if (!dropped)
            return ml__error_set(err, ML_ENOTFOUND, "%s: manifest %s not found", dir, digest);
        return ML_OK;
    }
    if (keep)
        return ML_OK;
    char *algdir = alg_dir(dir, digest);
    rc = algdir ? ml__fileio_sync_dir(algdir, err) : oom(err);
    free(algdir);
    return rc;
}

int ml__layout_delete_manifest(const ml_ref *repo, const char *digest, uint32_t lock_wait_ms, ml_error **err)
{
    const char *dir = NULL;
    char *path = NULL;
    int fd, rc;
    if ((rc = layout_dir(repo, &dir, err)) || (rc = blob_path(dir, digest, &path, err)) ||
        (rc = check_layout(dir, err)) || (rc = lock_layout(dir, lock_wait_ms, &fd, err))) {
        free(path);
        return rc;
    }
    rc = delete_locked(dir, digest, path, err);
    close(fd);
    free(path);
    return rc;
}

int ml__layout_list_tags(const ml_ref *repo, ml__strvec *tags, bool *complete, ml_error **err)
{
    const char *dir = NULL;
    ml__manifest idx;
    int rc;
    if ((rc = layout_dir(repo, &dir, err)) || (rc = check_layout(dir, err)) || (rc = load_index(dir, &idx, err)))
        return rc;
    /* Other tools may name entries with whole references: those are not
     * tags oci:PATH:TAG could reach. */
    for (size_t i = 0; rc == ML_OK && i < idx.manifest_count; i++) {
        const char *tag = tag_of(&idx.manifests[i]);
        if (tag && ml__tag_valid(tag) && !ml__strvec_contains(tags, tag))
            rc = ml__strvec_push(tags, tag) == ML_OK ? ML_OK : oom(err);
    }
    ml__manifest_clear(&idx);
    if (rc == ML_OK)
        *complete = true;
    return rc;
}

/* ---- referrers ---------------------------------------------------------- */

/* Appends the referrer described by `view` to refs, unless listed. */
static int add_referrer(ml__manifest *refs, const ml__descriptor *view, ml_error **err)
{
    if (find_digest(refs, view->digest))
        return ML_OK;
    ml__descriptor d;
    if (ml__descriptor_copy(&d, view) != ML_OK)
        return oom(err);
    if (ml__manifest_append(refs, &d) != ML_OK) {
        ml__descriptor_clear(&d);
        return oom(err);
    }
    return ML_OK;
}

/* Reads the manifest entry e names once, and adds it to the referrers of
 * every subject it refers to, described as the referrers API would
 * (distribution-spec "Listing Referrers": artifactType is the manifest's,
 * else its config's media type; annotations are the manifest's). An entry
 * that cannot be read or parsed is no referrer anyone could fetch: skipped. */
static int scan_entry(const char *dir, const ml__descriptor *e, ml__layout_subject *subjects, size_t n,
                      ml_error **err)
{
    char *body = NULL;
    size_t len = 0;
    ml__manifest m;
    int rc = read_blob(dir, e->digest, ML__MANIFEST_MAX, &body, &len, NULL);
    if (rc == ML_OK) {
        rc = ml__manifest_parse(&m, body, len, e->media_type, NULL);
        free(body);
    }
    if (rc != ML_OK)
        return rc == ML_ENOMEM ? oom(err) : ML_OK;
    const ml__descriptor view = {
        .media_type = m.media_type ? m.media_type : e->media_type,
        .digest = e->digest,
        .size = (int64_t)len,
        .artifact_type = m.artifact_type ? m.artifact_type : m.config.media_type,
        .annotations = m.annotations,
    };
    for (size_t k = 0; rc == ML_OK && m.has_subject && k < n; k++)
        if (ml__str_eq(m.subject.digest, subjects[k].digest))
            rc = add_referrer(subjects[k].refs, &view, err);
    ml__manifest_clear(&m);
    return rc;
}

int ml__layout_referrers_scan(const ml_ref *repo, ml__layout_subject *subjects, size_t n, ml_error **err)
{
    const char *dir = NULL;
    ml__manifest idx;
    int rc;
    if ((rc = layout_dir(repo, &dir, err)) || (rc = check_layout(dir, err)) || (rc = load_index(dir, &idx, err)))
        return rc;
    for (size_t i = 0; rc == ML_OK && i < idx.manifest_count; i++)
        rc = scan_entry(dir, &idx.manifests[i], subjects, n, err);
    ml__manifest_clear(&idx);
    return rc;
}
