/* Blobs into a registry repository: mounted where a cross-repository mount
 * finds them (the source's own repository on the same registry, or one the
 * blob-location cache remembers there), else streamed from their source
 * straight into an upload: a registry's download through a bounded pipe, a
 * layout's file, or memory. Several copies run at once, largest first; no
 * byte touches the disk on the way. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "registry.h"
#include "transport.h"

/* The pipe between a download and its upload: enough to keep both moving,
 * small enough for several copies at once in a few MiB. */
#define PIPE_BYTES (1024u * 1024)

typedef struct blob_copy {
    ml_client *client;
    const ml_ref *target;
    ml__blob_need *need;
    const char *data;         /* a memory source (ml__reg_upload_blob), else need->from's store */
    const ml_ref *mount_from; /* where a mount may find it: need->from or &cached */
    ml_ref cached;            /* a repository of the target's registry, from the cache */
    bool present;             /* the target had it */
    char *location;           /* the upload session */
    uint64_t offset;          /* bytes the session holds already (a resumed upload) */
    /* one attempt */
    uint64_t moved;
    ml__http_req *get, *put;
    ml__http_pipe *pipe;
    FILE *file;
    int rc;
    ml_error *err;
    ml__blob_progress progress; /* client NULL: not reported (small uploads) */
    bool started;               /* START reported */
    bool whole_only;            /* the source ignored a Range: no resuming */
} blob_copy;

/* The manifests to write as soon as their blobs are in (ensure_blobs'
 * pending), and the copy of each need. */
typedef struct pending_set {
    ml__pending_manifest *list;
    size_t count;
    blob_copy **by_need;
} pending_set;

static int oom(ml_error **err) { return ml__error_set(err, ML_ENOMEM, "out of memory"); }

static void report(blob_copy *bc, uint32_t kind, uint64_t done)
{
    if (bc->progress.client)
        ml__client_blob_event(&bc->progress, kind, done);
}

static uint64_t blob_size(const blob_copy *bc) { return (uint64_t)bc->need->size; }

static bool is_registry(ml_client *c, const ml_ref *repo)
{
    return ml__store_at(c, repo).ops == &ml__registry_store_ops;
}

/* ---- upload sessions ---------------------------------------------------- */

/* An upload session's Location (absolute or path-only) becomes the URL of
 * the PUT that carries the blob: it must be an http(s) URL or a path, of
 * visible ASCII only. */
static int session_location(const char *loc, char **out, const char *what, ml_error **err)
{
    bool url = loc[0] == '/' || ml__has_iprefix(loc, "http://") || ml__has_iprefix(loc, "https://");
    for (const unsigned char *p = (const unsigned char *)loc; url && *p; p++)
        url = *p > 0x20 && *p < 0x7f;
    if (!url)
        return ml__error_set_printable(err, ML_EHTTP, "%s: upload Location \"%.100s\" is not a URL", what, loc);
    return (*out = ml__strdup(loc)) ? ML_OK : oom(err);
}

/* The session's URL, with "digest=" for the PUT that closes it. */
static char *session_url(const char *base, const char *location, const char *digest)
{
    const char *sep = strchr(location, '?') ? "&" : "?";
    const char *root = location[0] == '/' ? base : "";
    return digest ? ml__asprintf("%s%s%sdigest=%s", root, location, sep, digest)
                  : ml__asprintf("%s%s", root, location);
}

/* "scheme://host[:port]" of url equals base. */
static bool same_origin(const char *base, const char *url)
{
    size_t n = strlen(base);
    return strncmp(base, url, n) == 0 && (url[n] == '/' || url[n] == '\0' || url[n] == '?');
}

/* Registry credentials are for the registry: a session that lives
 * elsewhere (storage front ends) is sent bare. */
static ml__access session_access(const ml_ref *target, const char *base, const char *url)
{
    return (ml__access){same_origin(base, url) ? target : NULL, "pull,push", NULL};
}

/* POSTs, all at once: a mount (from set) or a new upload session. 201 =
 * mounted; 202 with a Location = a session for the copy. */
static int post_uploads(ml_client *c, const ml_ref *target, blob_copy **bcs, size_t n, bool mount,
                        ml__http_req **reqs, ml_error **err)
{
    const char *base;
    ml__access *acc = calloc(n ? n : 1, sizeof(*acc));
    int rc = acc ? ml__transport_base(c, target, &base, err) : oom(err);
    for (size_t i = 0; rc == ML_OK && i < n; i++) {
        const ml_ref *from = mount ? bcs[i]->mount_from : NULL;
        char *url = from ? ml__asprintf("%s/v2/%s/blobs/uploads/?mount=%s&from=%s", base, target->repository,
                                        bcs[i]->need->digest, from->repository)
                         : ml__asprintf("%s/v2/%s/blobs/uploads/", base, target->repository);
        reqs[i] = url ? ml__http_req_new("POST", url) : NULL;
        free(url);
        if (!reqs[i])
            rc = oom(err);
        else
            reqs[i]->body = "";
        acc[i] = (ml__access){target, "pull,push", from};
    }
    if (rc == ML_OK)
        rc = ml__transport_send(c, reqs, acc, n, err);
    free(acc);
    return rc;
}

static void free_reqs(ml__http_req **reqs, size_t n)
{
    for (size_t i = 0; reqs && i < n; i++)
        ml__http_req_free(reqs[i]);
    free(reqs);
}

/* The session an answer opened; *opened false when it opened none. */
static int take_session(blob_copy *bc, const ml__http_req *r, bool *opened, ml_error **err)
{
    const char *loc = ml__http_header(r, "Location");
    *opened = r->status == 202 && loc;
    if (!*opened)
        return ML_OK;
    char *what = ml__reg_what("upload blob to", bc->target, bc->need->digest);
    int rc = what ? session_location(loc, &bc->location, what, err) : oom(err);
    free(what);
    return rc;
}

/* ---- mounts --------------------------------------------------------------- */

/* A mount source for each blob: its own repository when it is on the
 * target's registry, else the newest other repository there the cache
 * remembers it in. */
static int choose_mounts(ml_client *c, const ml_ref *target, blob_copy *bcs, size_t n)
{
    const char *dir = ml__client_cache_dir(c);
    for (size_t i = 0; i < n; i++) {
        blob_copy *bc = &bcs[i];
        if (bc->need->from && ml__store_can_mount(c, bc->need->from, target)) {
            bc->mount_from = bc->need->from;
            continue;
        }
        ml__strvec repos = {0};
        ml__cache_blob_repos(dir, bc->need->digest, target->registry, &repos);
        for (size_t k = 0; k < repos.count && !bc->mount_from; k++) {
            if (strcmp(repos.items[k], target->repository) == 0 || !ml__repository_valid(repos.items[k]))
                continue;
            bc->cached = (ml_ref){.registry = target->registry, .repository = ml__strdup(repos.items[k])};
            if (!bc->cached.repository) {
                ml__strvec_free(&repos);
                return ML_ENOMEM;
            }
            bc->mount_from = &bc->cached;
        }
        ml__strvec_free(&repos);
    }
    return ML_OK;
}

/* A mount the registry refuses (no access to the source, say) or declines
 * (202: it opened an upload session instead) falls back to the copy; one
 * from the cache may also name a place that no longer holds the blob. */
static int mount_answer(ml_client *c, blob_copy *bc, const ml__http_req *r, ml_error **err)
{
    bool opened = false;
    bc->need->mounted = r->status == 201;
    if (bc->need->mounted)
        report(bc, ML_PROGRESS_MOUNTED, blob_size(bc));
    int rc = bc->need->mounted ? ML_OK : take_session(bc, r, &opened, err);
    bool cached = bc->mount_from == &bc->cached;
    if (rc != ML_OK || bc->need->mounted || opened || cached || (r->status >= 401 && r->status <= 404))
        return rc;
    char *what = ml__reg_what("mount blob into", bc->target, bc->need->digest);
    rc = ml__reg_refused(c, bc->target, r, what ? what : "mount blob", err);
    free(what);
    return rc;
}

/* The mounts from the sources' own repositories, or those from places
 * the cache remembers: a batch of these that cannot even be sent (a token
 * refused for a remembered repository, say) is only a lost shortcut. */
static int mount_all(ml_client *c, const ml_ref *target, blob_copy *bcs, size_t n, bool cached, ml_error **err)
{
    blob_copy **sel = calloc(n ? n : 1, sizeof(*sel));
    ml__http_req **reqs = calloc(n ? n : 1, sizeof(*reqs));
    size_t m = 0;
    int rc = sel && reqs ? ML_OK : oom(err);
    for (size_t i = 0; rc == ML_OK && i < n; i++)
        if (bcs[i].mount_from && (bcs[i].mount_from == &bcs[i].cached) == cached)
            sel[m++] = &bcs[i];
    ml_error *why = NULL;
    size_t answered = m;
    if (rc == ML_OK && m)
        rc = post_uploads(c, target, sel, m, true, reqs, cached ? &why : err);
    if (cached && rc != ML_OK && rc != ML_ENOMEM) {
        ml__client_log(c, ML_LOG_DEBUG, "no mount from remembered places: %s", why ? ml_error_message(why) : "");
        answered = 0;
        rc = ML_OK;
    }
    if (rc == ML_ENOMEM && why)
        rc = oom(err);
    for (size_t i = 0; rc == ML_OK && i < answered; i++)
        rc = mount_answer(c, sel[i], reqs[i], err);
    ml_error_free(why);
    free_reqs(reqs, n);
    free(sel);
    return rc;
}

/* Blobs neither mounted nor given a session may be in the target already. */
static int probe_present(ml_client *c, const ml_ref *target, blob_copy *bcs, size_t n, ml_error **err)
{
    ml__batch heads;
    if (ml__batch_init(&heads, n) != ML_OK)
        return oom(err);
    for (size_t i = 0; i < n; i++)
        if (!bcs[i].need->mounted && !bcs[i].location)
            ml__batch_add(&heads, i, target, bcs[i].need->digest);
    int rc = ml__reg_head_blobs(c, heads.items, heads.count) == ML_OK ? ML_OK : oom(err);
    for (size_t k = 0; rc == ML_OK && k < heads.count; k++)
        bcs[heads.index[k]].present = heads.items[k].rc == ML_OK;
    ml__batch_clear(&heads);
    return rc;
}

/* ---- streamed copies ------------------------------------------------------ */

/* One blob's copy advances by len bytes (the progress place). More bytes
 * than the descriptor states are not that blob. */
static int advanced(blob_copy *bc, size_t len)
{
    if (len > blob_size(bc) - bc->offset - bc->moved)
        return -1;
    bc->moved += len;
    ml__client_bytes(bc->client, bc->offset + bc->moved, blob_size(bc));
    report(bc, ML_PROGRESS_BYTES, bc->offset + bc->moved);
    return 0;
}

/* A registry's download: past a resumed upload's offset, only a partial
 * answer (206, Content-Range) has the right bytes; a source that sends the
 * whole blob instead is copied from the start next time. */
static int on_download(void *payload, const char *data, size_t len)
{
    (void)data;
    blob_copy *bc = payload;
    if (bc->offset && !ml__http_header(bc->get, "Content-Range")) {
        bc->whole_only = true;
        return -1;
    }
    return advanced(bc, len);
}

/* A download sent again (the upload it feeds was challenged) starts over. */
static void on_download_rewind(void *payload)
{
    blob_copy *bc = payload;
    bc->moved = 0;
}

static size_t on_file_read(void *payload, char *buf, size_t len)
{
    blob_copy *bc = payload;
    size_t n = fread(buf, 1, len, bc->file);
    return ferror(bc->file) || advanced(bc, n) != 0 ? (size_t)-1 : n;
}

static void on_file_rewind(void *payload)
{
    blob_copy *bc = payload;
    bc->moved = 0;
    if (fseeko(bc->file, (off_t)bc->offset, SEEK_SET) != 0)
        clearerr(bc->file); /* the read fails instead */
}

/* The source's side of an attempt: a download into the pipe, a file, or
 * memory. acc is the download's access. */
static int attach_source(ml_client *c, blob_copy *bc, ml__access *acc, ml_error **err)
{
    const ml__blob_need *need = bc->need;
    ml__http_req *put = bc->put;
    if (bc->data) {
        put->body = bc->data + bc->offset;
        return ML_OK;
    }
    if (!is_registry(c, need->from)) {
        size_t len = 0;
        int rc = ml__store_blob_open(c, need->from, need->digest, &bc->file, &len, err);
        if (rc == ML_OK && len != blob_size(bc))
            rc = ml__error_set(err, ML_EDIGEST, "blob %s: %zu bytes, not %" PRId64, need->digest, len, need->size);
        put->read = on_file_read;
        put->read_payload = bc;
        put->rewind = on_file_rewind;
        return rc;
    }
    const char *base;
    int rc = ml__transport_base(c, need->from, &base, err);
    char *url = rc == ML_OK ? ml__asprintf("%s/v2/%s/blobs/%s", base, need->from->repository, need->digest) : NULL;
    bc->get = url ? ml__http_req_new("GET", url) : NULL;
    bc->pipe = ml__http_pipe_new(PIPE_BYTES);
    free(url);
    if (rc != ML_OK)
        return rc;
    if (!bc->get || !bc->pipe ||
        (bc->offset && ml__http_req_header(bc->get, "Range: bytes=%" PRIu64 "-", bc->offset) != ML_OK))
        return oom(err);
    bc->get->follow = bc->get->stream = true;
    bc->get->write = on_download;
    bc->get->write_payload = bc;
    bc->get->rewind = on_download_rewind;
    bc->get->read_payload = bc;
    bc->get->pipe_out = put->pipe_in = bc->pipe;
    *acc = (ml__access){need->from, "pull", NULL};
    return ML_OK;
}

/* One blob's copy starts here: the upload (a PUT closing the session with
 * the rest of the blob) and its source. */
static int copy_start(ml_client *c, blob_copy *bc, ml__access acc[2], ml_error **err)
{
    const char *base;
    int rc = ml__transport_base(c, bc->target, &base, err);
    char *url = rc == ML_OK ? session_url(base, bc->location, bc->need->digest) : NULL;
    bc->moved = 0;
    if (!bc->started)
        report(bc, ML_PROGRESS_START, 0);
    bc->started = true;
    bc->put = url ? ml__http_req_new("PUT", url) : NULL;
    if (rc == ML_OK && (!bc->put || ml__http_req_header(bc->put, "Content-Type: application/octet-stream") != ML_OK))
        rc = oom(err);
    if (rc == ML_OK) {
        acc[1] = session_access(bc->target, base, url);
        bc->put->stream = true;
        bc->put->body_len = (size_t)(blob_size(bc) - bc->offset);
        rc = attach_source(c, bc, &acc[0], err);
    }
    free(url);
    return rc;
}

static void attempt_clear(blob_copy *bc)
{
    ml__http_req_free(bc->get);
    ml__http_req_free(bc->put);
    ml__http_pipe_free(bc->pipe);
    if (bc->file)
        fclose(bc->file);
    bc->get = bc->put = NULL;
    bc->pipe = NULL;
    bc->file = NULL;
}

static int answer(ml_client *c, blob_copy *bc, const ml_ref *repo, const ml__http_req *r, const char *verb,
                  ml_error **err)
{
    char *what = ml__reg_what(verb, repo, bc->need->digest);
    int rc = ml__reg_refused(c, repo, r, what ? what : verb, err);
    free(what);
    return rc;
}

/* One blob's copy ends here: copied, or why not. An upload the registry
 * refused says why; else a download that failed by itself does (the
 * upload only saw it end short); else the upload's break does (the
 * download only lost its reader). */
static void copy_end(ml_client *c, blob_copy *bc)
{
    const ml__http_req *put = bc->put, *get = bc->get;
    if (put->status && !ml__http_ok(put->status))
        bc->rc = answer(c, bc, bc->target, put, "upload blob to", &bc->err);
    else if (get && !ml__http_ok(get->status) && !get->sink_gone)
        bc->rc = answer(c, bc, bc->need->from, get, "GET blob", &bc->err);
    else if (!ml__http_ok(put->status))
        bc->rc = answer(c, bc, bc->target, put, "upload blob to", &bc->err);
    else
        bc->rc = ML_OK;
    bc->need->copied = bc->rc == ML_OK;
    if (bc->need->copied)
        report(bc, ML_PROGRESS_DONE, blob_size(bc));
}

/* The manifest PUTs of one round of copies, each waiting for the uploads
 * of its blobs that copy in the round. */
typedef struct round_puts {
    ml__pending_manifest **of; /* the pending manifest of each request */
    ml__http_req **reqs;
    ml__access *acc;
    size_t n;
} round_puts;

/* Whether p can go in this round: each of its blobs is in, or is copying
 * in the round (its upload then in *waits, counted by *nwait). */
static bool ready_now(const pending_set *ps, const ml__pending_manifest *p, ml__http_req **waits, size_t *nwait)
{
    *nwait = 0;
    for (size_t j = 0; j < p->need_count; j++) {
        const blob_copy *bc = ps->by_need[p->needs[j]];
        if (bc->need->mounted || bc->need->copied || bc->present)
            continue;
        if (!bc->put || bc->rc != ML_OK)
            return false;
        waits[(*nwait)++] = bc->put;
    }
    return true;
}

static int plan_puts(ml_client *c, const pending_set *ps, round_puts *rp, ml_error **err)
{
    size_t m = ps ? ps->count : 0;
    *rp = (round_puts){0};
    if (m == 0)
        return ML_OK;
    rp->of = calloc(m, sizeof(*rp->of));
    rp->reqs = calloc(m, sizeof(*rp->reqs));
    rp->acc = calloc(m, sizeof(*rp->acc));
    if (!rp->of || !rp->reqs || !rp->acc)
        return oom(err);
    for (size_t k = 0; k < m; k++) {
        ml__pending_manifest *p = &ps->list[k];
        if (p->sent)
            continue;
        ml__http_req **waits = calloc(p->need_count ? p->need_count : 1, sizeof(*waits));
        size_t nwait = 0;
        if (!waits)
            return oom(err);
        if (!ready_now(ps, p, waits, &nwait)) {
            free(waits);
            continue;
        }
        size_t i = rp->n++;
        rp->of[i] = p;
        int rc = ml__reg_put_request(c, p->put, &rp->reqs[i], &rp->acc[i]);
        if (rp->reqs[i]) { /* freed with the request, in finish_puts */
            rp->reqs[i]->after = waits;
            rp->reqs[i]->after_count = nwait;
        } else {
            free(waits);
        }
        if (rc != ML_OK)
            return oom(err);
    }
    return ML_OK;
}

/* A PUT not sent because an upload it waited for failed stays pending. */
static void finish_puts(ml_client *c, round_puts *rp, bool sent)
{
    for (size_t i = 0; i < rp->n; i++) {
        ml__http_req *r = rp->reqs[i];
        if (sent && r && !r->skipped)
            ml__reg_put_finish(c, rp->of[i]->put, r);
        rp->of[i]->sent = !r || (sent && !r->skipped);
        if (r)
            free((void *)r->after);
        ml__http_req_free(r);
    }
    free(rp->of);
    free(rp->reqs);
    free(rp->acc);
}

/* Every copy of sel at once (the transport runs `concurrency` transfers at
 * a time, a download and its upload as a pair), and the PUT of each
 * pending manifest as soon as its blobs are in. */
static int stream_all(ml_client *c, blob_copy **sel, size_t n, const pending_set *ps, ml_error **err)
{
    size_t m = ps ? ps->count : 0;
    ml__http_req **reqs = calloc(2 * n + m, sizeof(*reqs));
    ml__access *acc = calloc(2 * n + m, sizeof(*acc));
    round_puts rp = {0};
    int rc = reqs && acc ? ML_OK : oom(err);
    for (size_t i = 0; rc == ML_OK && i < n; i++) {
        blob_copy *bc = sel[i];
        ml_error_free(bc->err);
        bc->err = NULL;
        bc->rc = copy_start(c, bc, &acc[2 * i], &bc->err);
        reqs[2 * i] = bc->rc == ML_OK ? bc->get : NULL;
        reqs[2 * i + 1] = bc->rc == ML_OK ? bc->put : NULL;
        if (bc->rc == ML_ENOMEM)
            rc = oom(err);
    }
    if (rc == ML_OK)
        rc = plan_puts(c, ps, &rp, err);
    for (size_t i = 0; rc == ML_OK && i < rp.n; i++) {
        reqs[2 * n + i] = rp.reqs[i];
        acc[2 * n + i] = rp.acc[i];
    }
    if (rc == ML_OK)
        rc = ml__transport_send(c, reqs, acc, 2 * n + rp.n, err);
    for (size_t i = 0; i < n; i++) {
        if (rc == ML_OK && sel[i]->rc == ML_OK)
            copy_end(c, sel[i]);
        attempt_clear(sel[i]);
    }
    finish_puts(c, &rp, rc == ML_OK);
    free(reqs);
    free(acc);
    return rc;
}

/* Where a broken upload stands (distribution: GET on the session answers
 * 204 with "Range: 0-<last byte>" and the session's next Location): the
 * copy resumes there, or restarts in a new session when the registry does
 * not say (distribution 2.8 drops a session whose PUT broke) or the
 * source cannot start mid-way. */
static void resume_point(ml_client *c, blob_copy *bc)
{
    const char *base;
    char *url = NULL;
    ml__http_req *r = NULL;
    uint64_t last = 0;
    const char *range = NULL, *loc = NULL;
    if (bc->location && !bc->whole_only && ml__transport_base(c, bc->target, &base, NULL) == ML_OK &&
        (url = session_url(base, bc->location, NULL)) && (r = ml__http_req_new("GET", url))) {
        ml__access a = session_access(bc->target, base, url);
        if (ml__transport_send(c, &r, &a, 1, NULL) == ML_OK && r->status == 204) {
            range = ml__http_header(r, "Range");
            loc = ml__http_header(r, "Location");
        }
    }
    char *next = NULL;
    bool known = range && loc && sscanf(range, "0-%" SCNu64, &last) == 1 && last > 0 && last < blob_size(bc) &&
                 session_location(loc, &next, "resume upload", NULL) == ML_OK;
    free(bc->location);
    bc->location = known ? next : NULL;
    bc->offset = known ? last + 1 : 0;
    ml__http_req_free(r);
    free(url);
}

/* New sessions for the copies that have none (or lost theirs). */
static int open_sessions(ml_client *c, const ml_ref *target, blob_copy **sel, size_t n, ml_error **err)
{
    blob_copy **open = calloc(n ? n : 1, sizeof(*open));
    ml__http_req **reqs = calloc(n ? n : 1, sizeof(*reqs));
    size_t m = 0;
    int rc = open && reqs ? ML_OK : oom(err);
    for (size_t i = 0; rc == ML_OK && i < n; i++)
        if (!sel[i]->location)
            open[m++] = sel[i];
    if (rc == ML_OK && m)
        rc = post_uploads(c, target, open, m, false, reqs, err);
    for (size_t i = 0; rc == ML_OK && i < m; i++) {
        bool opened = false;
        rc = take_session(open[i], reqs[i], &opened, err);
        if (rc == ML_OK && !opened)
            rc = reqs[i]->status == 202 ? ml__error_set(err, ML_EHTTP, "POST upload to %s/%s: no Location",
                                                        target->registry, target->repository)
                                        : answer(c, open[i], target, reqs[i], "upload blob to", err);
    }
    free_reqs(reqs, m);
    free(open);
    return rc;
}

/* Copies the blobs of sel (largest first), starting again those a break
 * cut (resumed where the registry says, or from the start), as often as
 * the client's retries allow. */
static int copy_all(ml_client *c, const ml_ref *target, blob_copy **sel, size_t n, const pending_set *ps,
                    ml_error **err)
{
    int rc = ML_OK;
    for (uint32_t attempt = 0; rc == ML_OK && n; attempt++) {
        if ((rc = open_sessions(c, target, sel, n, err)) != ML_OK ||
            (rc = stream_all(c, sel, n, ps, err)) != ML_OK)
            break;
        size_t left = 0;
        for (size_t i = 0; rc == ML_OK && i < n; i++) {
            blob_copy *bc = sel[i];
            if (bc->rc == ML_OK)
                continue;
            if (bc->rc != ML_ENET || attempt >= ml__client_retries(c)) {
                rc = bc->rc;
                if (err) {
                    ml_error_free(*err);
                    *err = bc->err;
                    bc->err = NULL;
                }
                break;
            }
            ml__client_log(c, ML_LOG_INFO, "copy %s: %s; copying again", bc->need->digest,
                           bc->err ? ml_error_message(bc->err) : "transfer failed");
            resume_point(c, bc);
            sel[left++] = bc;
        }
        n = left;
    }
    return rc;
}

/* ---- the whole -------------------------------------------------------------- */

static int larger_first(const void *a, const void *b)
{
    const blob_copy *x = a, *y = b;
    return x->need->size < y->need->size ? 1 : x->need->size > y->need->size ? -1 : (x->need < y->need ? -1 : 1);
}

/* Remembers where each blob now is (and came from), for later mounts. */
static void remember(ml_client *c, const ml_ref *target, blob_copy *bcs, size_t n)
{
    const char *dir = ml__client_cache_dir(c);
    for (size_t i = 0; dir && i < n; i++) {
        const ml__blob_need *need = bcs[i].need;
        if (!need->mounted && !need->copied && !bcs[i].present)
            continue;
        ml__cache_put_blob_repo(dir, need->digest, target->registry, target->repository);
        if (need->from && is_registry(c, need->from))
            ml__cache_put_blob_repo(dir, need->digest, need->from->registry, need->from->repository);
    }
}

static void copies_clear(blob_copy *bcs, size_t n)
{
    for (size_t i = 0; bcs && i < n; i++) {
        attempt_clear(&bcs[i]);
        free(bcs[i].location);
        free(bcs[i].cached.repository);
        ml_error_free(bcs[i].err);
        ml__client_blob_untrack(&bcs[i].progress);
    }
    free(bcs);
}

int ml__reg_ensure_blobs(ml_client *c, const ml_ref *target, ml__blob_need *needs, size_t n,
                         ml__pending_manifest *pending, size_t m, ml_error **err)
{
    blob_copy *bcs = calloc(n ? n : 1, sizeof(*bcs));
    blob_copy **sel = calloc(n ? n : 1, sizeof(*sel));
    pending_set ps = {pending, m, calloc(n ? n : 1, sizeof(*ps.by_need))};
    int rc = bcs && sel && ps.by_need ? ML_OK : oom(err);
    for (size_t i = 0; rc == ML_OK && i < n; i++) {
        bcs[i] = (blob_copy){.client = c, .target = target, .need = &needs[i]};
        ml__client_blob_track(&bcs[i].progress, c, needs[i].from, needs[i].digest, needs[i].size);
    }
    if (rc == ML_OK) {
        qsort(bcs, n, sizeof(*bcs), larger_first);
        for (size_t i = 0; i < n; i++)
            ps.by_need[bcs[i].need - needs] = &bcs[i];
        if (choose_mounts(c, target, bcs, n) != ML_OK)
            rc = oom(err);
    }
    if (rc == ML_OK)
        rc = mount_all(c, target, bcs, n, false, err);
    if (rc == ML_OK)
        rc = mount_all(c, target, bcs, n, true, err);
    if (rc == ML_OK)
        rc = probe_present(c, target, bcs, n, err);
    size_t copies = 0;
    for (size_t i = 0; rc == ML_OK && i < n; i++)
        if (!bcs[i].need->mounted && !bcs[i].present)
            sel[copies++] = &bcs[i];
    if (rc == ML_OK)
        rc = copy_all(c, target, sel, copies, &ps, err);
    if (rc == ML_OK)
        remember(c, target, bcs, n);
    copies_clear(bcs, n);
    free(sel);
    free(ps.by_need);
    return rc;
}

int ml__reg_upload_blob(ml_client *c, const ml_ref *repo, const char *digest, const char *data, size_t len,
                        ml_error **err)
{
    ml__blob_need need = {.digest = digest, .size = (int64_t)len};
    blob_copy bc = {.client = c, .target = repo, .need = &need, .data = data ? data : ""};
    blob_copy *sel = &bc;
    int rc = copy_all(c, repo, &sel, 1, NULL, err);
    free(bc.location);
    ml_error_free(bc.err);
    attempt_clear(&bc);
    return rc;
}
