#include <stdlib.h>
#include <string.h>

#include "memstore.h"

typedef struct object {
    char *repository;
    char *digest;
    char *media_type; /* NULL for a blob */
    char *data;
    size_t len;
} object;

typedef struct tag {
    char *repository;
    char *name;
    char *digest;
} tag;

struct ml__memstore {
    object *objects;
    size_t object_count, object_cap;
    tag *tags;
    size_t tag_count, tag_cap;
    size_t writes;
    ml__memstore_hook hook;
    void *hook_payload;
};

int ml__memstore_new(ml__memstore **out)
{
    return (*out = calloc(1, sizeof(**out))) ? ML_OK : ML_ENOMEM;
}

void ml__memstore_free(ml__memstore *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->object_count; i++) {
        free(m->objects[i].repository);
        free(m->objects[i].digest);
        free(m->objects[i].media_type);
        free(m->objects[i].data);
    }
    for (size_t i = 0; i < m->tag_count; i++) {
        free(m->tags[i].repository);
        free(m->tags[i].name);
        free(m->tags[i].digest);
    }
    free(m->objects);
    free(m->tags);
    free(m);
}

void ml__memstore_on_tag_write(ml__memstore *m, ml__memstore_hook hook, void *payload)
{
    m->hook = hook;
    m->hook_payload = payload;
}

size_t ml__memstore_writes(const ml__memstore *m) { return m->writes; }

static object *find_object(const ml__memstore *m, const char *repository, const char *digest)
{
    for (size_t i = 0; i < m->object_count; i++)
        if (strcmp(m->objects[i].repository, repository) == 0 && strcmp(m->objects[i].digest, digest) == 0)
            return &m->objects[i];
    return NULL;
}

static tag *find_tag(const ml__memstore *m, const char *repository, const char *name)
{
    for (size_t i = 0; i < m->tag_count; i++)
        if (strcmp(m->tags[i].repository, repository) == 0 && strcmp(m->tags[i].name, name) == 0)
            return &m->tags[i];
    return NULL;
}

const char *ml__memstore_tag(const ml__memstore *m, const char *repository, const char *name)
{
    const tag *t = find_tag(m, repository, name);
    return t ? t->digest : NULL;
}

const char *ml__memstore_get(const ml__memstore *m, const char *repository, const char *digest, size_t *len)
{
    const object *o = find_object(m, repository, digest);
    if (o && len)
        *len = o->len;
    return o ? o->data : NULL;
}

/* Stores bytes under their digest (kept when there already). */
static int put_object(ml__memstore *m, const char *repository, const char *media_type, const void *data, size_t len,
                      char digest[ML__DIGEST_MAX])
{
    int rc = ml__digest_compute("sha256", data, len, digest, NULL);
    if (rc != ML_OK || find_object(m, repository, digest))
        return rc;
    if (ml__grow((void **)&m->objects, &m->object_cap, m->object_count + 1, sizeof(*m->objects)) != ML_OK)
        return ML_ENOMEM;
    object o = {ml__strdup(repository), ml__strdup(digest), ml__strdup(media_type), malloc(len ? len : 1), len};
    if (!o.repository || !o.digest || (media_type && !o.media_type) || !o.data) {
        free(o.repository);
        free(o.digest);
        free(o.media_type);
        free(o.data);
        return ML_ENOMEM;
    }
    memcpy(o.data, data, len);
    m->objects[m->object_count++] = o;
    return ML_OK;
}

static int set_tag(ml__memstore *m, const char *repository, const char *name, const char *digest)
{
    char *copy = ml__strdup(digest);
    tag *t = find_tag(m, repository, name);
    if (!copy)
        return ML_ENOMEM;
    if (t) {
        free(t->digest);
        t->digest = copy;
        return ML_OK;
    }
    if (ml__grow((void **)&m->tags, &m->tag_cap, m->tag_count + 1, sizeof(*m->tags)) != ML_OK) {
        free(copy);
        return ML_ENOMEM;
    }
    tag nt = {ml__strdup(repository), ml__strdup(name), copy};
    if (!nt.repository || !nt.name) {
        free(nt.repository);
        free(nt.name);
        free(copy);
        return ML_ENOMEM;
    }
    m->tags[m->tag_count++] = nt;
    return ML_OK;
}

int ml__memstore_put_blob(ml__memstore *m, const char *repository, const void *data, size_t len,
                          char digest[ML__DIGEST_MAX])
{
    char own[ML__DIGEST_MAX];
    return put_object(m, repository, NULL, data, len, digest ? digest : own);
}

int ml__memstore_put_manifest(ml__memstore *m, const char *repository, const char *name, const char *media_type,
                              const char *body, char digest[ML__DIGEST_MAX])
{
    char own[ML__DIGEST_MAX];
    char *d = digest ? digest : own;
    int rc = put_object(m, repository, media_type, body, strlen(body), d);
    return rc == ML_OK && name ? set_tag(m, repository, name, d) : rc;
}

/* ---- the store's operations ---------------------------------------------- */

static ml__memstore *backend_of(ml_client *c, const ml_ref *repo)
{
    return ml__store_at(c, repo).backend;
}

static int not_found(ml__item *it, const char *what)
{
    return it->rc = ml__error_set(&it->err, ML_ENOTFOUND, "%s %s/%s:%s: not found", what, it->repo->registry,
                                  it->repo->repository, it->reference);
}

/* The object a manifest reference names: a tag, or a digest. */
static const object *resolve(ml_client *c, const ml__item *it)
{
    ml__memstore *m = backend_of(c, it->repo);
    const char *digest = ml__digest_valid(it->reference) ? it->reference
                                                         : ml__memstore_tag(m, it->repo->repository, it->reference);
    const object *o = digest ? find_object(m, it->repo->repository, digest) : NULL;
    return o && o->media_type ? o : NULL;
}

static int describe(ml__item *it, const object *o, bool body, size_t max)
{
    if (body && max && o->len > max)
        return it->rc = ml__error_set(&it->err, ML_ETOOBIG, "%s: larger than allowed", it->reference);
    it->digest = ml__strdup(o->digest);
    it->media_type = ml__strdup(o->media_type);
    it->size = (int64_t)o->len;
    if (body && (it->body = malloc(o->len ? o->len : 1))) {
        memcpy(it->body, o->data, o->len);
        it->len = o->len;
    }
    bool ok = it->digest && (!o->media_type || it->media_type) && (!body || it->body);
    return it->rc = ok ? ML_OK : ml__error_set(&it->err, ML_ENOMEM, "out of memory");
}

static int read_manifests(ml_client *c, ml__item *items, size_t n, bool body)
{
    for (size_t i = 0; i < n; i++) {
        const object *o = resolve(c, &items[i]);
        if (!o)
            not_found(&items[i], "manifest");
        else if (describe(&items[i], o, body, 0) == ML_ENOMEM)
            return ML_ENOMEM;
    }
    return ML_OK;
}

static int head_manifests(ml_client *c, ml__item *items, size_t n) { return read_manifests(c, items, n, false); }

static int get_manifests(ml_client *c, ml__item *items, size_t n) { return read_manifests(c, items, n, true); }

static int read_blobs(ml_client *c, ml__item *items, size_t n, bool body, size_t max)
{
    for (size_t i = 0; i < n; i++) {
        const object *o = find_object(backend_of(c, items[i].repo), items[i].repo->repository, items[i].reference);
        if (!o)
            not_found(&items[i], "blob");
        else if (describe(&items[i], o, body, max) == ML_ENOMEM)
            return ML_ENOMEM;
    }
    return ML_OK;
}

static int head_blobs(ml_client *c, ml__item *items, size_t n) { return read_blobs(c, items, n, false, 0); }

static int get_blobs(ml_client *c, ml__item *items, size_t n, size_t max) { return read_blobs(c, items, n, true, max); }

/* A tag write is a compare-and-swap on the digest the item expects. */
static int put_one(ml_client *c, ml__item *it)
{
    ml__memstore *m = backend_of(c, it->repo);
    const char *repository = it->repo->repository;
    bool by_tag = !ml__digest_valid(it->reference);
    if (by_tag && m->hook)
        m->hook(m->hook_payload, m, repository, it->reference);
    const char *now = by_tag ? ml__memstore_tag(m, repository, it->reference) : NULL;
    if (by_tag && it->expect_set && !ml__str_eq(now, it->expect))
        return ml__error_set(&it->err, ML_ECONFLICT, "%s:%s moved to %s meanwhile", repository, it->reference,
                             now ? now : "nothing");
    char digest[ML__DIGEST_MAX];
    int rc = put_object(m, repository, it->media_type, it->body, it->len, digest);
    if (rc == ML_OK && !by_tag && strcmp(digest, it->reference) != 0)
        return ml__error_set(&it->err, ML_EDIGEST, "%s@%s: the body has digest %s", repository, it->reference, digest);
    if (rc == ML_OK && by_tag)
        rc = set_tag(m, repository, it->reference, digest);
    if (rc == ML_OK && !(it->digest = ml__strdup(digest)))
        rc = ML_ENOMEM;
    m->writes += rc == ML_OK;
    return rc == ML_OK ? ML_OK : ml__error_set(&it->err, rc, "out of memory");
}

static int put_manifests(ml_client *c, ml__item *items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((items[i].rc = put_one(c, &items[i])) == ML_ENOMEM)
            return ML_ENOMEM;
    return ML_OK;
}

static int delete_manifest(const ml__store *s, const char *digest, ml_error **err)
{
    ml__memstore *m = s->backend;
    object *o = find_object(m, s->repo->repository, digest);
    if (!o || !o->media_type)
        return ml__error_set(err, ML_ENOTFOUND, "DELETE %s@%s: not found", s->repo->repository, digest);
    for (size_t i = m->tag_count; i-- > 0;)
        if (strcmp(m->tags[i].repository, s->repo->repository) == 0 && strcmp(m->tags[i].digest, digest) == 0) {
            free(m->tags[i].repository);
            free(m->tags[i].name);
            free(m->tags[i].digest);
            m->tags[i] = m->tags[--m->tag_count];
        }
    free(o->repository);
    free(o->digest);
    free(o->media_type);
    free(o->data);
    *o = m->objects[--m->object_count];
    m->writes++;
    return ML_OK;
}

static int list_tags(const ml__store *s, ml__strvec *tags, bool *complete, ml_error **err)
{
    const ml__memstore *m = s->backend;
    for (size_t i = 0; i < m->tag_count; i++)
        if (strcmp(m->tags[i].repository, s->repo->repository) == 0 && ml__strvec_push(tags, m->tags[i].name) != ML_OK)
            return ml__error_set(err, ML_ENOMEM, "out of memory");
    *complete = true;
    return ML_OK;
}

static int blob_into(const ml__store *s, const char *digest, int64_t size, FILE *out, size_t *len, ml_error **err)
{
    (void)size;
    const object *o = find_object(s->backend, s->repo->repository, digest);
    if (!o)
        return ml__error_set(err, ML_ENOTFOUND, "blob %s/%s@%s: not found", s->repo->registry, s->repo->repository,
                             digest);
    *len = o->len;
    return fwrite(o->data, 1, o->len, out) == o->len ? ML_OK : ml__error_set(err, ML_EIO, "cannot write blob");
}

/* A stream over the stored bytes (they outlive it: the store is not
 * changed while a copy reads it). */
static int blob_open(const ml__store *s, const char *digest, FILE **in, int64_t *len, ml_error **err)
{
    const object *o = find_object(s->backend, s->repo->repository, digest);
    if (!o)
        return ml__error_set(err, ML_ENOTFOUND, "blob %s/%s@%s: not found", s->repo->registry, s->repo->repository,
                             digest);
    *len = (int64_t)o->len;
    *in = o->len ? fmemopen(o->data, o->len, "rb") : fopen("/dev/null", "rb");
    return *in ? ML_OK : ml__error_set(err, ML_ENOMEM, "out of memory");
}

/* Bytes from any store, through a memory stream, verified. */
static int copy_blob(const ml__store *s, ml__blob_need *need, ml_error **err)
{
    char *data = NULL;
    size_t size = 0, len = 0;
    FILE *out = open_memstream(&data, &size);
    int rc = out ? ml__store_blob_into(s->client, need->from, need->digest, need->size, out, &len, err)
                 : ml__error_set(err, ML_ENOMEM, "out of memory");
    if (out && fclose(out) != 0 && rc == ML_OK)
        rc = ml__error_set(err, ML_ENOMEM, "out of memory");
    if (rc == ML_OK)
        rc = ml__digest_verify(need->digest, data, size, err);
    if (rc == ML_OK && ml__memstore_put_blob(s->backend, s->repo->repository, data, size, NULL) != ML_OK)
        rc = ml__error_set(err, ML_ENOMEM, "out of memory");
    free(data);
    need->copied = rc == ML_OK;
    ((ml__memstore *)s->backend)->writes += need->copied;
    return rc;
}

static int ensure_blobs(const ml__store *s, ml__blob_need *needs, size_t n, ml__pending_manifest *pending, size_t m,
                        ml_error **err)
{
    for (size_t i = 0; i < n; i++) {
        if (find_object(s->backend, s->repo->repository, needs[i].digest))
            continue;
        int rc = copy_blob(s, &needs[i], err);
        if (rc != ML_OK)
            return rc;
    }
    return ML_OK;
}

static const ml__store_ops memstore_ops = {
    .caps = ML__STORE_CAS | ML__STORE_DELETE,
    .head_manifests = head_manifests,
    .get_manifests = get_manifests,
    .head_blobs = head_blobs,
    .get_blobs = get_blobs,
    .put_manifests = put_manifests,
    .delete_manifest = delete_manifest,
    .list_tags = list_tags,
    .ensure_blobs = ensure_blobs,
    .blob_into = blob_into,
    .blob_open = blob_open,
};

int ml__memstore_mount(ml__memstore *m, ml_client *c, const char *registry)
{
    return ml__client_mount_store(c, registry, &memstore_ops, m);
}
