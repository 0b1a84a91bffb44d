#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "digest.h"
#include "manifest.h"
#include "registry.h"
#include "transport.h"

/* ---- requests and answers ----------------------------------------------- */

/* What a registry may say back to a manifest PUT. */
#define PUT_ANSWER_MAX (64 * 1024)

static char *what_of(const char *method, const ml_ref *repo, const char *reference)
{
    bool digest = strchr(reference, ':') != NULL;
    return ml__asprintf("%s %s/%s%s%s", method, repo->registry, repo->repository,
                        digest ? "@" : ":", reference);
}

static int code_for_status(long status)
{
    switch (status) {
    case 401:
    case 403: return ML_EAUTH;
    case 404: return ML_ENOTFOUND;
    case 405: return ML_EUNSUPPORTED;
    default: return ML_EHTTP;
    }
}

/* Turns a failed answer into an error naming the request and the registry's
 * own code and message. */
static int answer_error(const ml__http_req *r, const char *what, ml_error **err)
{
    if (r->too_big)
        return ml__error_set(err, ML_ETOOBIG, "%s: response larger than allowed", what);
    if (ml__http_failed_transport(r))
        return ml__transport_error(r, what, err);
    int scheme_rc = ml__transport_scheme_error(r, what, err);
    if (scheme_rc != ML_OK)
        return scheme_rc;
    char *code = NULL, *message = NULL;
    ml__registry_error_parse(r->response.data, r->response.len, &code, &message);
    int rc = code_for_status(r->status);
    if (code && ml__str_eq(code, "UNSUPPORTED"))
        rc = ML_EUNSUPPORTED;
    ml__error_set(err, rc, "%s: HTTP %ld%s%s%s%s", what, r->status, code ? " " : "", code ? code : "",
                  message ? ": " : "", message ? message : "");
    ml__error_set_http(err, (int)r->status, code);
    free(code);
    free(message);
    return rc;
}

/* answer_error, saying why an authentication failed. */
static int refused(ml_client *c, const ml_ref *repo, const ml__http_req *r, const char *what, ml_error **err)
{
    return ml__transport_auth_explain(c, repo, r->status, answer_error(r, what, err), err);
}

char *ml__reg_what(const char *method, const ml_ref *repo, const char *reference)
{
    return what_of(method, repo, reference);
}

int ml__reg_refused(ml_client *c, const ml_ref *repo, const ml__http_req *r, const char *what, ml_error **err)
{
    return refused(c, repo, r, what, err);
}

/* RFC 3986 query: pchar, "/" and "?", percent escapes whole. */
static bool query_valid(const char *q)
{
    for (; *q; q++) {
        bool alnum = (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9');
        if (*q == '%' && isxdigit((unsigned char)q[1]) && isxdigit((unsigned char)q[2]))
            q += 2;
        else if (!alnum && !strchr("-._~!$&'()*+,;=:@/?", *q))
            return false;
    }
    return true;
}

/* What may follow /v2/<name>/<kind>/ (distribution spec): a tag or digest
 * for manifests, a digest for blobs, a digest and the query of a page for
 * referrers. Anything else, from a spec, a manifest or a registry's answer,
 * would make another request (another path, a query, a second line). */
static bool reference_valid(const char *kind, const char *reference)
{
    if (strcmp(kind, "referrers") == 0) {
        size_t n = strcspn(reference, "?");
        char digest[ML__DIGEST_MAX];
        if (n >= sizeof(digest))
            return false;
        memcpy(digest, reference, n);
        digest[n] = '\0';
        return ml__digest_valid(digest) && query_valid(reference + n);
    }
    return ml__digest_valid(reference) || (strcmp(kind, "manifests") == 0 && ml__tag_valid(reference));
}

static char *api_url(const char *base, const ml_ref *repo, const char *kind, const char *reference)
{
    return ml__asprintf("%s/v2/%s/%s/%s", base, repo->repository, kind, reference);
}

/* The request of one item (NULL, with the item's error, when its registry
 * cannot be reached or its reference is not one). ML_ENOMEM only. */
static int build_one(ml_client *c, ml__item *it, const char *method, const char *kind, size_t max,
                     ml__http_req **out, ml__access *acc)
{
    const char *base;
    bool put = strcmp(method, "PUT") == 0;
    *out = NULL;
    *acc = (ml__access){it->repo, put ? "pull,push" : "pull", NULL};
    it->rc = ml__transport_base(c, it->repo, &base, &it->err);
    if (it->rc == ML_OK && !reference_valid(kind, it->reference))
        it->rc = ml__error_set_printable(&it->err, ML_EREF, "%s/%s: \"%.100s\" is not a %s", it->repo->registry,
                                         it->repo->repository, it->reference,
                                         strcmp(kind, "manifests") == 0 ? "tag or digest" : "digest");
    if (it->rc != ML_OK)
        return ML_OK;
    char *url = api_url(base, it->repo, kind, it->reference);
    ml__http_req *r = url ? ml__http_req_new(method, url) : NULL;
    free(url);
    if (!r)
        return ML_ENOMEM;
    *out = r;
    r->max_body = max;
    r->follow = strcmp(kind, "blobs") == 0;
    const char *accept = strcmp(kind, "manifests") == 0   ? ML__MANIFEST_ACCEPT
                         : strcmp(kind, "referrers") == 0 ? ML__MT_OCI_INDEX
                                                          : NULL;
    if (accept && ml__http_req_header(r, "Accept: %s", accept) != ML_OK)
        return ML_ENOMEM;
    if (!put)
        return ML_OK;
    r->body = it->body;
    r->body_len = it->len;
    return ml__http_req_header(r, "Content-Type: %s", it->media_type);
}

static void free_batch(ml__http_req **reqs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ml__http_req_free(reqs[i]);
    free(reqs);
}

typedef void (*finish_fn)(ml__item *it, ml__http_req *r, const char *what);

/* The item's outcome from its sent request. ML_ENOMEM only. */
static int finish_one(ml_client *c, ml__item *it, ml__http_req *r, const char *method, finish_fn finish)
{
    char *what = what_of(method, it->repo, it->reference);
    if (!what)
        return ML_ENOMEM;
    finish(it, r, what);
    it->rc = ml__transport_auth_explain(c, it->repo, r->status, it->rc, &it->err);
    free(what);
    return ML_OK;
}

static int run_items(ml_client *c, ml__item *items, size_t n, const char *method, const char *kind,
                     finish_fn finish, size_t max)
{
    ml__http_req **reqs = calloc(n ? n : 1, sizeof(*reqs));
    ml__access *acc = calloc(n ? n : 1, sizeof(*acc));
    if (!reqs || !acc) {
        free(reqs);
        free(acc);
        return ML_ENOMEM;
    }
    int rc = ML_OK;
    for (size_t i = 0; rc == ML_OK && i < n; i++)
        rc = build_one(c, &items[i], method, kind, max, &reqs[i], &acc[i]);
    ml_error *err = NULL;
    int sent = rc == ML_OK ? ml__transport_send(c, reqs, acc, n, &err) : rc;
    for (size_t i = 0; rc == ML_OK && i < n; i++) {
        if (!reqs[i])
            continue;
        if (sent != ML_OK) {
            /* Authentication could not even start: every item shares why. */
            items[i].rc = err ? ml__error_copy(&items[i].err, err)
                              : ml__error_set(&items[i].err, sent, "%s", ml_strerror(sent));
            continue;
        }
        rc = finish_one(c, &items[i], reqs[i], method, finish);
    }
    ml_error_free(err);
    free(acc);
    free_batch(reqs, n);
    return rc == ML_OK && sent == ML_ENOMEM ? ML_ENOMEM : rc;
}

static int64_t content_length(const ml__http_req *r)
{
    const char *v = ml__http_header(r, "Content-Length");
    if (!v)
        return -1;
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    return errno || end == v || n < 0 ? -1 : (int64_t)n;
}

/* The Content-Type without parameters; NULL when absent or not a media
 * type (it may be used as a descriptor's or a PUT's type). */
static char *media_type_of(const ml__http_req *r)
{
    const char *v = ml__http_header(r, "Content-Type");
    char *mt = v ? ml__strndup(v, strcspn(v, "; \t")) : NULL;
    if (mt && !ml__media_type_valid(mt)) {
        free(mt);
        return NULL;
    }
    return mt;
}

static void finish_head(ml__item *it, ml__http_req *r, const char *what)
{
    if (!ml__http_ok(r->status)) {
        it->rc = answer_error(r, what, &it->err);
        return;
    }
    const char *dcd = ml__http_header(r, "Docker-Content-Digest");
    it->digest = ml__strdup(dcd);
    it->media_type = media_type_of(r);
    it->size = content_length(r);
    it->rc = ML_OK;
    if (dcd && !ml__digest_valid(dcd))
        it->rc = ml__error_set_printable(&it->err, ML_EDIGEST, "%s: invalid Docker-Content-Digest \"%.150s\"", what, dcd);
}

/* Digest of a body read by GET: the requested digest or the announced one
 * must match the bytes (a registry or proxy must not substitute content). */
static int verify_body(ml__item *it, const ml__http_req *r, const char *what)
{
    const char *expected = strchr(it->reference, ':') ? it->reference : ml__http_header(r, "Docker-Content-Digest");
    char computed[ML__DIGEST_MAX];
    if (expected) {
        if (ml__digest_verify(expected, r->response.data, r->response.len, &it->err) != ML_OK)
            return ml__error_prefix(&it->err, ML_EDIGEST, "%s", what);
        it->digest = ml__strdup(expected);
    } else {
        if (ml__digest_compute("sha256", r->response.data, r->response.len, computed, &it->err) != ML_OK)
            return ml__error_prefix(&it->err, ML_EDIGEST, "%s", what);
        it->digest = ml__strdup(computed);
    }
    return it->digest ? ML_OK : ml__error_set(&it->err, ML_ENOMEM, "out of memory");
}

static void finish_get(ml__item *it, ml__http_req *r, const char *what)
{
    if (!ml__http_ok(r->status)) {
        it->rc = answer_error(r, what, &it->err);
        return;
    }
    if ((it->rc = verify_body(it, r, what)) != ML_OK)
        return;
    it->media_type = media_type_of(r);
    it->len = r->response.len;
    it->size = (int64_t)r->response.len;
    it->body = ml__buf_take(&r->response);
    if (!it->body)
        it->rc = ml__error_set(&it->err, ML_ENOMEM, "out of memory");
}

int ml__reg_head_manifests(ml_client *c, ml__item *items, size_t n)
{
    int rc = run_items(c, items, n, "HEAD", "manifests", finish_head, 0);
    if (rc != ML_OK)
        return rc;
    /* Registries need not send Docker-Content-Digest (or a length) on HEAD:
     * read those, in one batch. */
    ml__batch gets;
    if (ml__batch_init(&gets, n) != ML_OK)
        return ML_ENOMEM;
    for (size_t i = 0; i < n; i++)
        if (items[i].rc == ML_OK && (!items[i].digest || items[i].size < 0))
            ml__batch_add(&gets, i, items[i].repo, items[i].reference);
    if (gets.count)
        rc = ml__reg_get_manifests(c, gets.items, gets.count);
    for (size_t k = 0; rc == ML_OK && k < gets.count; k++) {
        ml__item *it = &items[gets.index[k]];
        ml__item_clear(it);
        free(gets.items[k].body);
        gets.items[k].body = NULL;
        gets.items[k].len = 0;
        *it = gets.items[k];
        gets.items[k] = (ml__item){0};
    }
    ml__batch_clear(&gets);
    return rc;
}

int ml__reg_get_manifests(ml_client *c, ml__item *items, size_t n)
{
    return run_items(c, items, n, "GET", "manifests", finish_get, ML__MANIFEST_MAX);
}

/* In a link's parameters (up to the next link), a rel naming "next":
 * rel="next", rel=next, or rel="prev next". */
static bool rel_next(const char *params, size_t len)
{
    const char *rel = NULL;
    for (size_t i = 0; i + 4 <= len && !rel; i++)
        if (ml__ieq_n(params + i, 4, "rel=", 4))
            rel = params + i + 4;
    if (!rel)
        return false;
    const char *end = params + len;
    bool quoted = rel < end && *rel == '"';
    rel += quoted;
    while (rel < end && *rel != '"' && *rel != ';' && *rel != ',') {
        size_t n = strcspn(rel, " \";,");
        if (rel + n <= end && ml__ieq_n(rel, n, "next", 4))
            return true;
        rel += n ? n : 1;
        while (rel < end && *rel == ' ')
            rel++;
    }
    return false;
}

/* The REF of the link with rel "next" among `Link: <…/referrers/REF>;
 * rel="next", <…>; rel="prev"` (RFC 8288), or NULL. */
static char *next_referrers_page(const ml__http_req *r)
{
    char *links = ml__http_header_join(r, "Link");
    char *out = NULL;
    static const char marker[] = "/referrers/";
    for (const char *p = links ? strchr(links, '<') : NULL; p && !out; p = strchr(p + 1, '<')) {
        const char *end = strchr(p, '>');
        if (!end)
            break;
        const char *params = end + 1;
        if (!rel_next(params, strcspn(params, "<")))
            continue;
        const char *ref = NULL;
        for (const char *m = strstr(p, marker); m && m < end; m = strstr(m + 1, marker))
            ref = m + sizeof(marker) - 1;
        if (ref && ref < end)
            out = ml__strndup(ref, (size_t)(end - ref));
    }
    free(links);
    return out;
}

/* A referrers answer is generated per request: it has no digest to check. */
static void finish_referrers(ml__item *it, ml__http_req *r, const char *what)
{
    if (!ml__http_ok(r->status)) {
        it->rc = answer_error(r, what, &it->err);
        return;
    }
    it->media_type = media_type_of(r);
    it->len = r->response.len;
    it->size = (int64_t)r->response.len;
    it->body = ml__buf_take(&r->response);
    it->next = next_referrers_page(r);
    it->rc = it->body ? ML_OK : ml__error_set(&it->err, ML_ENOMEM, "out of memory");
    if (it->rc == ML_OK && it->next && !reference_valid("referrers", it->next))
        it->rc = ml__error_set_printable(&it->err, ML_EHTTP, "%s: the next page's link names no digest \"%.100s\"", what,
                                         it->next);
}

int ml__reg_get_referrers(ml_client *c, ml__item *items, size_t n)
{
    return run_items(c, items, n, "GET", "referrers", finish_referrers, ML__MANIFEST_MAX);
}

/* The registry must store exactly our bytes: its digest for them, when it
 * says one, must be a digest (of any algorithm) of these bytes, as on a
 * read. */
static void finish_put(ml__item *it, ml__http_req *r, const char *what)
{
    if (!ml__http_ok(r->status)) {
        it->rc = answer_error(r, what, &it->err);
        return;
    }
    char expected[ML__DIGEST_MAX];
    it->rc = ml__digest_compute("sha256", it->body, it->len, expected, &it->err);
    const char *dcd = ml__http_header(r, "Docker-Content-Digest");
    if (it->rc != ML_OK || !dcd)
        return;
    if (!ml__digest_valid(dcd))
        it->rc = ml__error_set_printable(&it->err, ML_EDIGEST, "%s: invalid Docker-Content-Digest \"%.150s\"", what, dcd);
    else if (ml__digest_verify(dcd, it->body, it->len, NULL) != ML_OK)
        it->rc = ml__error_set(&it->err, ML_EDIGEST, "%s: registry stored digest %s, expected %s", what, dcd,
                               expected);
    else if (!(it->digest = ml__strdup(dcd)))
        it->rc = ml__error_set(&it->err, ML_ENOMEM, "out of memory");
}

int ml__reg_put_manifests(ml_client *c, ml__item *items, size_t n)
{
    return run_items(c, items, n, "PUT", "manifests", finish_put, PUT_ANSWER_MAX);
}

int ml__reg_put_request(ml_client *c, ml__item *it, ml__http_req **out, ml__access *acc)
{
    return build_one(c, it, "PUT", "manifests", PUT_ANSWER_MAX, out, acc);
}

void ml__reg_put_finish(ml_client *c, ml__item *it, ml__http_req *r)
{
    if (finish_one(c, it, r, "PUT", finish_put) != ML_OK)
        it->rc = ml__error_set(&it->err, ML_ENOMEM, "out of memory");
}

int ml__reg_head_blobs(ml_client *c, ml__item *items, size_t n)
{
    return run_items(c, items, n, "HEAD", "blobs", finish_head, 0);
}

int ml__reg_get_blobs(ml_client *c, ml__item *items, size_t n, size_t max)
{
    return run_items(c, items, n, "GET", "blobs", finish_get, max);
}

/* ---- single writes ------------------------------------------------------ */

static int one_request(ml_client *c, const ml_ref *repo, const char *method, const char *url_path,
                       ml__http_req **out, ml_error **err)
{
    const char *base;
    int rc = ml__transport_base(c, repo, &base, err);
    if (rc != ML_OK)
        return rc;
    char *url = ml__asprintf("%s%s", base, url_path);
    *out = url ? ml__http_req_new(method, url) : NULL;
    free(url);
    return *out ? ML_OK : ml__error_set(err, ML_ENOMEM, "out of memory");
}

int ml__reg_list_tags(ml_client *c, const ml_ref *repo, ml__strvec *tags, bool *complete, ml_error **err)
{
    char *path = ml__asprintf("/v2/%s/tags/list", repo->repository);
    char *what = ml__asprintf("GET %s/%s tags", repo->registry, repo->repository);
    ml__http_req *r = NULL;
    int rc = path && what ? one_request(c, repo, "GET", path, &r, err) : ml__error_set(err, ML_ENOMEM, "out of memory");
    if (rc == ML_OK)
        rc = ml__transport_send_one(c, r, repo, "pull", NULL, err);
    if (rc == ML_OK && !ml__http_ok(r->status))
        rc = refused(c, repo, r, what, err);
    if (rc == ML_OK && ml__tags_parse(r->response.data, r->response.len, tags) != ML_OK)
        rc = ml__error_set(err, ML_EMANIFEST, "%s: not a tag list", what);
    if (rc == ML_OK)
        *complete = ml__http_header(r, "Link") == NULL;
    ml__http_req_free(r);
    free(path);
    free(what);
    return rc;
}

int ml__reg_delete_manifest(ml_client *c, const ml_ref *repo, const char *digest, ml_error **err)
{
    char *path = ml__asprintf("/v2/%s/manifests/%s", repo->repository, digest);
    char *what = what_of("DELETE", repo, digest);
    ml__http_req *r = NULL;
    int rc;
    if (!path || !what) {
        rc = ml__error_set(err, ML_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = one_request(c, repo, "DELETE", path, &r, err)) != ML_OK)
        goto done;
    if ((rc = ml__transport_send_one(c, r, repo, "delete", NULL, err)) != ML_OK)
        goto done;
    if (!ml__http_ok(r->status)) {
        rc = refused(c, repo, r, what, err);
        if (rc == ML_EUNSUPPORTED)
            ml__error_prefix(err, rc, "the registry does not allow deletes (distribution: set "
                                      "storage.delete.enabled)");
    }
done:
    ml__http_req_free(r);
    free(path);
    free(what);
    return rc;
}

/* ---- blob downloads ----------------------------------------------------- */

/* Streams a blob from its source into a file (a layout's blob being
 * written), verifying its digest on the way, so that no blob is ever held
 * whole in memory. */
typedef struct spool {
    FILE *file;
    ml__digester *digester;
    size_t len;
    size_t limit; /* the descriptor's size: more is not that blob */
    ml_client *client; /* for progress in bytes */
    ml__blob_progress progress;
} spool;

static int spool_write(void *payload, const char *data, size_t len)
{
    spool *s = payload;
    if (len > s->limit - s->len)
        return -1;
    ml__digester_update(s->digester, data, len);
    s->len += len;
    ml__client_bytes(s->client, s->len, s->limit);
    ml__client_blob_event(&s->progress, ML_PROGRESS_BYTES, s->len);
    return fwrite(data, 1, len, s->file) == len ? 0 : -1;
}

static int spool_blob(ml_client *c, const ml_ref *from, const char *digest, spool *s, ml_error **err)
{
    const char *base;
    int rc = ml__transport_base(c, from, &base, err);
    if (rc != ML_OK)
        return rc;
    char *what = what_of("GET blob", from, digest);
    char *url = api_url(base, from, "blobs", digest);
    ml__http_req *r = url ? ml__http_req_new("GET", url) : NULL;
    free(url);
    if (!what || !r) {
        rc = ml__error_set(err, ML_ENOMEM, "out of memory");
        goto done;
    }
    const char *alg = ml__has_prefix(digest, "sha512:") ? "sha512" : "sha256";
    if ((rc = ml__digester_new(&s->digester, alg, err)) != ML_OK)
        goto done;
    r->follow = true;
    r->stream = true;
    r->write = spool_write;
    r->write_payload = s;
    if ((rc = ml__transport_send_one(c, r, from, "pull", NULL, err)) != ML_OK)
        goto done;
    if (!ml__http_ok(r->status)) {
        rc = refused(c, from, r, what, err);
        goto done;
    }
    char got[ML__DIGEST_MAX];
    ml__digester_final(s->digester, got);
    if (strcmp(got, digest) != 0)
        rc = ml__error_set(err, ML_EDIGEST, "%s: content has digest %s", what, got);
    else if (fflush(s->file) != 0)
        rc = ml__error_set(err, ML_EIO, "%s: cannot write temporary file", what);
done:
    ml__http_req_free(r);
    free(what);
    return rc;
}

int ml__reg_fetch_blob(ml_client *c, const ml_ref *from, const char *digest, int64_t size, FILE *out,
                       size_t *len, ml_error **err)
{
    spool s = {.file = out, .limit = size >= 0 ? (size_t)size : 0, .client = c};
    ml__client_blob_track(&s.progress, c, from, digest, size);
    int rc = ML_OK;
    /* A download broken mid-way cannot be resumed by the transport (the
     * bytes went to the spool): start it again, as often as --retries. */
    for (uint32_t attempt = 0; rc == ML_OK; attempt++) {
        rc = spool_blob(c, from, digest, &s, err);
        if (rc != ML_ENET || attempt >= ml__client_retries(c))
            break;
        ml__client_log(c, ML_LOG_INFO, "copy %s: %s; downloading again", digest,
                       err ? ml_error_message(*err) : "transfer failed");
        if (err) {
            ml_error_free(*err);
            *err = NULL;
        }
        ml__digester_free(s.digester);
        s.digester = NULL;
        s.len = 0;
        rewind(out);
        rc = ftruncate(fileno(out), 0) == 0
                 ? ML_OK
                 : ml__error_set(err, ML_EIO, "temporary file: %s", ml__strerror(errno).text);
    }
    ml__digester_free(s.digester);
    ml__client_blob_untrack(&s.progress);
    *len = s.len;
    return rc;
}

/* ---- the registry store -------------------------------------------------- */

static int registry_delete_manifest(const ml__store *s, const char *digest, ml_error **err)
{
    return ml__reg_delete_manifest(s->client, s->repo, digest, err);
}

static int registry_list_tags(const ml__store *s, ml__strvec *tags, bool *complete, ml_error **err)
{
    return ml__reg_list_tags(s->client, s->repo, tags, complete, err);
}

static int registry_ensure_blobs(const ml__store *s, ml__blob_need *needs, size_t n, ml__pending_manifest *pending,
                                 size_t m, ml_error **err)
{
    return ml__reg_ensure_blobs(s->client, s->repo, needs, n, pending, m, err);
}

static int registry_blob_into(const ml__store *s, const char *digest, int64_t size, FILE *out, size_t *len,
                              ml_error **err)
{
    return ml__reg_fetch_blob(s->client, s->repo, digest, size, out, len, err);
}

const ml__store_ops ml__registry_store_ops = {
    .caps = ML__STORE_MOUNT | ML__STORE_REFERRERS_API | ML__STORE_DELETE,
    .head_manifests = ml__reg_head_manifests,
    .get_manifests = ml__reg_get_manifests,
    .head_blobs = ml__reg_head_blobs,
    .get_blobs = ml__reg_get_blobs,
    .put_manifests = ml__reg_put_manifests,
    .get_referrers = ml__reg_get_referrers,
    .delete_manifest = registry_delete_manifest,
    .list_tags = registry_list_tags,
    .ensure_blobs = registry_ensure_blobs,
    .blob_into = registry_blob_into,
};
