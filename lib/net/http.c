#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "fileio.h"
#include "http.h"

#define DEFAULT_MAX_BODY (4u * 1024 * 1024)
#define HEADER_LINE_MAX 8192
#define HEADER_COUNT_MAX 200
#define BACKOFF_BASE_MS 200
#define BACKOFF_MAX_MS 10000
#define RETRY_AFTER_MAX_MS 60000
/* A stream that moves less than this in a timeout window is cut, as a
 * stall is: a source trickling a few bytes a second would otherwise hold a
 * large blob for days. */
#define STREAM_MIN_BYTES 1024L
/* The connection, and the first byte of an answer to a bounded request,
 * must come within this (or the request timeout if shorter): a registry
 * that accepts and never answers is retried and given up on in well under
 * a minute, and said so (a stream has its own stall rule). */
#define FIRST_BYTE_MAX_MS 10000u
/* The longest wait between looks at the transfers: the first-byte bound
 * is checked then. */
#define POLL_MAX_MS 200
/* A CA bundle larger than this is refused (Debian's is about 200 KiB). */
#define CA_FILE_MAX (16u * 1024 * 1024)
/* Open connections of a client in all, idle ones included, unless its
 * concurrency asks for more to one host. */
#define MAX_CONNECTIONS 32L

typedef struct batch batch;

/* Threads that share a client share its one multi handle, hence one
 * connection pool (at most `concurrency` connections per host): each
 * ml__http_run queues its batch, and one waiting thread at a time drives
 * the multi handle for all of them (libcurl 7.88 cannot share a connection
 * cache between threads through CURLSH). mu guards what follows it. */
struct ml__http {
    CURLM *multi;
    CURLSH *share;
    ml__http_opts opts;
    char *ca_cert;
    char *user_agent;
    char *system_ca;  /* the bundle the system trusts: $SSL_CERT_FILE, else libcurl's */
    bool env_ca_file; /* $SSL_CERT_FILE set: it replaces libcurl's bundle */
    char *env_ca_dir; /* $SSL_CERT_DIR, or NULL */
    ml__http_tls defaults; /* the system bundle plus ca_cert, when there is one */
    pthread_mutex_t mu;
    uint64_t jitter_state; /* per handle: no process-wide random state */
    batch *batches;        /* queued, in arrival order */
    size_t running;        /* transfers in the multi handle, all batches */
    bool driving;          /* a thread is driving the multi handle */
};

/* One transfer in flight or waiting for its retry time. */
typedef struct slot {
    ml__http_req *req;
    batch *owner;
    CURL *easy;
    struct curl_slist *headers;
    size_t read_offset;
    uint64_t due_ms;
    bool active;
    bool done;
    bool streamed; /* bytes went to or came from a stream callback or pipe */
    bool answered; /* a status line or header arrived */
    bool no_answer; /* cut for want of a first byte (on_xfer) */
    uint64_t started_ms;
    uint64_t answer_by_ms; /* bounded requests: the first byte's deadline */
    uint32_t answer_wait_ms; /* ...counted from the start or the last byte sent */
    curl_off_t sent;         /* request body bytes sent so far */
    char errbuf[CURL_ERROR_SIZE];
} slot;

/* The requests of one ml__http_run call. */
struct batch {
    slot *slots;
    size_t n;
    size_t left; /* slots not done */
    int rc;      /* ML_ENOMEM when a transfer could not start */
    pthread_cond_t wake; /* its owner's turn: done, or to drive */
    batch *next;
};

static void log_msg(const ml__http *h, int level, const char *fmt, ...) ML__PRINTF(3, 4);
static void log_msg(const ml__http *h, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ml__log_v(h->opts.log, h->opts.log_payload, level, fmt, ap);
    va_end(ap);
}

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* Where the system's CAs are, as OpenSSL's own tools take them. */
static int trust_sources(ml__http *h)
{
    const char *file = env("SSL_CERT_FILE");
    char *builtin = NULL;
    CURL *e = file ? NULL : curl_easy_init();
    if (e)
        curl_easy_getinfo(e, CURLINFO_CAINFO, &builtin);
    h->env_ca_file = file != NULL;
    h->system_ca = ml__strdup(file ? file : builtin);
    h->env_ca_dir = ml__strdup(env("SSL_CERT_DIR"));
    if (e)
        curl_easy_cleanup(e);
    bool oom = ((file || builtin) && !h->system_ca) || (env("SSL_CERT_DIR") && !h->env_ca_dir);
    return oom ? ML_ENOMEM : ML_OK;
}

int ml__http_tls_init(const ml__http *h, ml__http_tls *t, const char *extra_pem, size_t extra_len,
                      const char *cert, const char *key, ml_error **err)
{
    *t = (ml__http_tls){0};
    ml__buf b = {0};
    int rc = ML_OK;
    if (h->ca_cert || extra_len) {
        char *pem = NULL;
        size_t len = 0;
        /* A system bundle that cannot be read trusts nothing more. */
        if (h->system_ca && ml__read_file(h->system_ca, CA_FILE_MAX, &pem, &len, NULL) == ML_OK)
            ml__buf_append_line(&b, pem, len);
        free(pem);
        pem = NULL;
        if (h->ca_cert && (rc = ml__read_file(h->ca_cert, CA_FILE_MAX, &pem, &len, err)) != ML_OK)
            rc = ml__error_prefix(err, rc, "CA certificate file");
        else if (h->ca_cert)
            ml__buf_append_line(&b, pem, len);
        free(pem);
        if (extra_len)
            ml__buf_append_line(&b, extra_pem, extra_len);
    }
    bool oom = b.oom;
    t->ca_len = b.len;
    t->ca_pem = rc == ML_OK && b.len ? ml__buf_take(&b) : NULL;
    t->cert = ml__strdup(cert);
    t->key = ml__strdup(key);
    ml__buf_free(&b);
    if (rc == ML_OK && (oom || (t->ca_len && !t->ca_pem) || (cert && !t->cert) || (key && !t->key)))
        rc = ml__error_set(err, ML_ENOMEM, "out of memory");
    if (rc != ML_OK)
        ml__http_tls_clear(t);
    return rc;
}

void ml__http_tls_clear(ml__http_tls *t)
{
    free(t->ca_pem);
    free(t->cert);
    free(t->key);
    *t = (ml__http_tls){0};
}

int ml__http_new(ml__http **out, const ml__http_opts *opts, ml_error **err)
{
    *out = NULL;
    ml__http *h = calloc(1, sizeof(*h));
    if (!h)
        return ml__error_set(err, ML_ENOMEM, "out of memory");
    h->opts = *opts;
    h->ca_cert = ml__strdup(opts->ca_cert);
    h->user_agent = ml__strdup(opts->user_agent ? opts->user_agent : "libmanifestlist/" ML_VERSION_STRING);
    h->multi = curl_multi_init();
    h->share = curl_share_init();
    h->jitter_state = ml__now_ms() ^ (uint64_t)(uintptr_t)h;
    pthread_mutex_init(&h->mu, NULL);
    if (!h->multi || !h->share || !h->user_agent || (opts->ca_cert && !h->ca_cert)) {
        ml__http_free(h);
        return ml__error_set(err, ML_ENOMEM, "cannot create HTTP client");
    }
    h->opts.ca_cert = h->ca_cert;
    h->opts.user_agent = h->user_agent;
    int rc = trust_sources(h);
    if (rc == ML_OK)
        rc = ml__http_tls_init(h, &h->defaults, NULL, 0, NULL, NULL, err);
    else
        ml__error_set(err, rc, "out of memory");
    if (rc != ML_OK) {
        ml__http_free(h);
        return rc;
    }
    /* One DNS cache and TLS session cache for all transfers of this client;
     * connections are pooled by the multi handle itself. The share needs no
     * lock callbacks: only the thread driving the multi handle uses it. */
    curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    curl_multi_setopt(h->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    /* A piped copy between two repositories of one registry holds two
     * connections to it at once. */
    long per_host = (long)(opts->concurrency < 2 ? 2 : opts->concurrency);
    long total = (long)opts->concurrency * 2;
    total = total > MAX_CONNECTIONS ? MAX_CONNECTIONS : total;
    total = total < per_host ? per_host : total;
    curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, per_host);
    curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, total);
    curl_multi_setopt(h->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, total);
    *out = h;
    return ML_OK;
}

void ml__http_free(ml__http *h)
{
    if (!h)
        return;
    if (h->multi)
        curl_multi_cleanup(h->multi);
    if (h->share)
        curl_share_cleanup(h->share);
    pthread_mutex_destroy(&h->mu);
    free(h->ca_cert);
    free(h->user_agent);
    free(h->system_ca);
    free(h->env_ca_dir);
    ml__http_tls_clear(&h->defaults);
    free(h);
}

/* The source's side: a successful answer's chunk goes to the pipe. */
static size_t pipe_put(slot *sl, const char *data, size_t len)
{
    ml__http_req *r = sl->req;
    r->sink_gone = r->pipe_out->sink_done;
    ml__pipe_room room = ml__pipe_room_for(r->pipe_out, len);
    if (room != ML__PIPE_GO)
        return room == ML__PIPE_WAIT ? CURL_WRITEFUNC_PAUSE : 0;
    if (r->write && r->write(r->write_payload, data, len) != 0)
        return 0;
    ml__pipe_put(r->pipe_out, data, len);
    sl->streamed = true;
    return len;
}

/* The sink's side: an empty pipe waits for the source, or ends the upload
 * short when the source is done (its answer failed or was too short). */
static size_t pipe_take(slot *sl, char *buf, size_t want)
{
    ml__http_pipe *p = sl->req->pipe_in;
    size_t n = ml__pipe_take(p, buf, want);
    if (n == 0 && p->src_done)
        return CURL_READFUNC_ABORT;
    if (n == 0) {
        p->sink_paused = true;
        return CURL_READFUNC_PAUSE;
    }
    sl->streamed = true;
    return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata)
{
    slot *sl = userdata;
    ml__http_req *r = sl->req;
    size_t len = size * nmemb;
    sl->answered = true;
    if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        /* A new response (after 100 Continue or a redirect) starts afresh. */
        ml__strvec_free(&r->response_headers);
        return len;
    }
    size_t trimmed = len;
    while (trimmed && (data[trimmed - 1] == '\r' || data[trimmed - 1] == '\n'))
        trimmed--;
    if (trimmed == 0)
        return len;
    if (trimmed > HEADER_LINE_MAX || r->response_headers.count >= HEADER_COUNT_MAX) {
        r->too_big = true;
        return 0;
    }
    if (ml__strvec_push_take(&r->response_headers, ml__strndup(data, trimmed)) != ML_OK)
        return 0;
    return len;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    slot *sl = userdata;
    ml__http_req *r = sl->req;
    size_t len = size * nmemb;
    if (r->write || r->pipe_out) {
        long code = 0;
        curl_easy_getinfo(sl->easy, CURLINFO_RESPONSE_CODE, &code);
        /* Only a successful answer is the stream; error bodies are kept. */
        if (ml__http_ok(code) && r->pipe_out)
            return pipe_put(sl, data, len);
        if (ml__http_ok(code)) {
            sl->streamed = true;
            return r->write(r->write_payload, data, len) == 0 ? len : 0;
        }
    }
    size_t max = r->max_body ? r->max_body : DEFAULT_MAX_BODY;
    if (r->response.len + len > max) {
        r->too_big = true;
        return 0;
    }
    ml__buf_append(&r->response, data, len);
    return r->response.oom ? 0 : len;
}

static size_t on_read(char *buf, size_t size, size_t nmemb, void *userdata)
{
    slot *sl = userdata;
    ml__http_req *r = sl->req;
    size_t want = size * nmemb;
    if (r->pipe_in)
        return pipe_take(sl, buf, want);
    if (r->read) {
        sl->streamed = true;
        size_t n = r->read(r->read_payload, buf, want);
        return n == (size_t)-1 ? CURL_READFUNC_ABORT : n;
    }
    size_t left = r->body_len - sl->read_offset;
    size_t n = left < want ? left : want;
    memcpy(buf, r->body + sl->read_offset, n);
    sl->read_offset += n;
    return n;
}

/* libcurl rewinds a request body to resend it on a fresh connection (a
 * kept-alive one that the server closed meanwhile). */
static int on_seek(void *userdata, curl_off_t offset, int origin)
{
    slot *sl = userdata;
    if (sl->req->read || sl->req->pipe_in || origin != SEEK_SET || offset < 0 || (size_t)offset > sl->req->body_len)
        return CURL_SEEKFUNC_CANTSEEK;
    sl->read_offset = (size_t)offset;
    return CURL_SEEKFUNC_OK;
}

static uint32_t first_byte_ms(const ml__http *h)
{
    return h->opts.timeout_ms < FIRST_BYTE_MAX_MS ? h->opts.timeout_ms : FIRST_BYTE_MAX_MS;
}

/* curl calls it at least once a second: a bounded request still without
 * any answer first_byte_ms after it started or last sent a byte is cut (a
 * large manifest on a slow uplink is still being sent, not unanswered). */
static int on_xfer(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    slot *sl = userdata;
    (void)dltotal, (void)dlnow, (void)ultotal;
    if (sl->answered || sl->req->stream)
        return 0;
    uint64_t now = ml__now_ms();
    if (ulnow > sl->sent) {
        sl->sent = ulnow;
        sl->answer_by_ms = now + sl->answer_wait_ms;
    }
    sl->no_answer = now >= sl->answer_by_ms;
    return sl->no_answer;
}

static int build_headers(slot *sl)
{
    ml__http_req *r = sl->req;
    struct curl_slist *list = NULL, *tmp;
    /* curl would add "Expect: 100-continue" to larger bodies, costing a
     * round trip per upload; registries do not need it. */
    if (!(tmp = curl_slist_append(list, "Expect:")))
        goto oom;
    list = tmp;
    for (size_t i = 0; i < r->headers.count; i++) {
        if (!(tmp = curl_slist_append(list, r->headers.items[i])))
            goto oom;
        list = tmp;
    }
    sl->headers = list;
    return ML_OK;
oom:
    curl_slist_free_all(list);
    return ML_ENOMEM;
}

static void set_method(CURL *e, slot *sl)
{
    ml__http_req *r = sl->req;
    bool has_body = r->body || r->read || r->pipe_in;
    if (strcmp(r->method, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (strcmp(r->method, "GET") != 0) {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
    }
    if (has_body || strcmp(r->method, "PUT") == 0 || strcmp(r->method, "POST") == 0 ||
        strcmp(r->method, "PATCH") == 0) {
        curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(e, CURLOPT_READDATA, sl);
        curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, on_seek);
        curl_easy_setopt(e, CURLOPT_SEEKDATA, sl);
        curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)(has_body ? r->body_len : 0));
        /* CURLOPT_UPLOAD implies PUT; the custom request fixes the verb. */
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
    }
}

static void set_trust(const ml__http *h, CURL *e, const ml__http_tls *t)
{
    const char *pem = t && t->ca_pem ? t->ca_pem : h->defaults.ca_pem;
    size_t len = t && t->ca_pem ? t->ca_len : h->defaults.ca_len;
    if (pem) {
        /* Kept by the client for as long as its handles live. */
        struct curl_blob blob = {(void *)pem, len, CURL_BLOB_NOCOPY};
        curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
    } else if (h->env_ca_file) {
        curl_easy_setopt(e, CURLOPT_CAINFO, h->system_ca);
    }
    if (h->env_ca_dir)
        curl_easy_setopt(e, CURLOPT_CAPATH, h->env_ca_dir);
    if (t && t->cert) {
        curl_easy_setopt(e, CURLOPT_SSLCERT, t->cert);
        curl_easy_setopt(e, CURLOPT_SSLKEY, t->key);
    }
}

static int start_slot(ml__http *h, slot *sl)
{
    ml__http_req *r = sl->req;
    CURL *e = curl_easy_init();
    if (!e || build_headers(sl) != ML_OK) {
        if (e)
            curl_easy_cleanup(e);
        return ML_ENOMEM;
    }
    sl->easy = e;
    sl->read_offset = 0;
    sl->streamed = false;
    sl->answered = false;
    sl->no_answer = false;
    sl->started_ms = ml__now_ms();
    sl->answer_wait_ms = first_byte_ms(h);
    sl->answer_by_ms = sl->started_ms + sl->answer_wait_ms;
    sl->sent = 0;
    if (r->rewind)
        r->rewind(r->read_payload);
    if (r->pipe_out) {
        r->pipe_out->src_started = true;
        r->pipe_out->src_paused = r->pipe_out->src_done = false;
    }
    if (r->pipe_in) {
        r->pipe_in->sink_active = true;
        r->pipe_in->sink_paused = r->pipe_in->sink_done = false;
    }
    r->attempts++;
    curl_easy_setopt(e, CURLOPT_URL, r->url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_SHARE, h->share);
    curl_easy_setopt(e, CURLOPT_USERAGENT, h->opts.user_agent);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, sl->headers);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, sl);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, sl);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, sl->errbuf);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)first_byte_ms(h));
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_xfer);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, sl);
    if (r->stream) {
        /* A long copy may take minutes; only a stalled or crawling one is
         * cut off (curl: below LIMIT bytes/s for TIME seconds). */
        long secs = (long)(((uint64_t)h->opts.timeout_ms + 999) / 1000);
        curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, (STREAM_MIN_BYTES + secs - 1) / secs);
        curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, secs);
    } else {
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)h->opts.timeout_ms);
    }
    if (r->follow) {
        /* curl (>= 7.58) drops a custom Authorization header when a redirect
         * leaves the original host: blob storage must not see our token. */
        curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
    }
    if (h->opts.insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    set_trust(h, e, r->tls);
    set_method(e, sl);
    curl_easy_setopt(e, CURLOPT_PRIVATE, sl);
    if (curl_multi_add_handle(h->multi, e) != CURLM_OK) {
        curl_easy_cleanup(e);
        curl_slist_free_all(sl->headers);
        sl->easy = NULL;
        sl->headers = NULL;
        return ML_ENOMEM;
    }
    sl->active = true;
    return ML_OK;
}

static bool transient(const slot *sl)
{
    const ml__http_req *r = sl->req;
    if (sl->streamed)
        return false; /* a stream cannot be replayed here; the caller restarts it */
    if (r->silent)
        return true;
    switch (r->curl_code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SEND_FAIL_REWIND:
        return true;
    case CURLE_SSL_CONNECT_ERROR:
        /* A connection reset during the handshake, not a TLS verdict. */
        return strstr(r->error, "reset") || strstr(r->error, "SSL_ERROR_SYSCALL");
    default:
        break;
    }
    return r->status == 429 || r->status == 500 || r->status == 502 || r->status == 503 ||
           r->status == 504;
}

static uint64_t next_random(ml__http *h)
{
    /* xorshift64: jitter only, no security meaning */
    uint64_t x = h->jitter_state ? h->jitter_state : 0x9e3779b97f4a7c15u;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    h->jitter_state = x;
    return x;
}

/* Retry-After in seconds (the HTTP-date form is treated as "soon"). */
static uint64_t retry_after_ms(const ml__http_req *r)
{
    const char *v = ml__http_header(r, "Retry-After");
    if (!v || !isdigit((unsigned char)*v))
        return 0;
    unsigned long secs = strtoul(v, NULL, 10);
    return secs >= RETRY_AFTER_MAX_MS / 1000 ? RETRY_AFTER_MAX_MS : (uint64_t)secs * 1000u;
}

static uint64_t backoff_ms(ml__http *h, const ml__http_req *r)
{
    uint64_t base = BACKOFF_BASE_MS;
    for (uint32_t i = 1; i < r->attempts && base < BACKOFF_MAX_MS; i++)
        base *= 2;
    if (base > BACKOFF_MAX_MS)
        base = BACKOFF_MAX_MS;
    uint64_t wait = base / 2 + next_random(h) % (base / 2 + 1); /* "equal jitter" */
    uint64_t ra = retry_after_ms(r);
    return ra > wait ? ra : wait;
}

/* "host:port/path..." of a URL, for messages. */
static const char *after_scheme(const char *url)
{
    const char *p = strstr(url, "://");
    return p ? p + 3 : url;
}

static const char *url_path(const char *url)
{
    const char *p = after_scheme(url);
    return p + strcspn(p, "/");
}

/* A request that got nothing back in time (no connection, no TLS
 * handshake or no first byte): said as such. */
static void note_silence(slot *sl, CURLcode code)
{
    ml__http_req *r = sl->req;
    if (sl->answered || (!sl->no_answer && code != CURLE_OPERATION_TIMEDOUT))
        return;
    const char *host = after_scheme(r->url);
    r->silent = true;
    snprintf(r->error, sizeof(r->error), "no answer from %.*s for %llu s", (int)strcspn(host, "/?#"), host,
             (unsigned long long)((ml__now_ms() - sl->started_ms + 500) / 1000));
}

/* The request has its outcome (after its retries): its batch may be done. */
static void slot_done(ml__http *h, slot *sl)
{
    sl->done = true;
    sl->req->ended = true;
    ml__pipe_ends(sl->req->pipe_out, sl->req->pipe_in);
    if (h->opts.finished)
        h->opts.finished(h->opts.finished_payload);
    if (--sl->owner->left == 0)
        pthread_cond_signal(&sl->owner->wake);
}

static void finish_slot(ml__http *h, slot *sl, CURLcode code)
{
    ml__http_req *r = sl->req;
    long status = 0;
    curl_easy_getinfo(sl->easy, CURLINFO_RESPONSE_CODE, &status);
    r->status = code == CURLE_OK ? status : 0;
    r->curl_code = (int)code;
    curl_easy_getinfo(sl->easy, CURLINFO_REDIRECT_COUNT, &r->redirects);
    if (code != CURLE_OK) {
        snprintf(r->error, sizeof(r->error), "%s", sl->errbuf[0] ? sl->errbuf : curl_easy_strerror(code));
        note_silence(sl, code);
    }
    double secs = 0;
    curl_easy_getinfo(sl->easy, CURLINFO_TOTAL_TIME, &secs);
    if (r->status)
        log_msg(h, ML_LOG_DEBUG, "%s %s -> %ld (%.0f ms)", r->method, r->url, r->status, secs * 1000);
    else
        log_msg(h, ML_LOG_DEBUG, "%s %s -> %s", r->method, r->url, r->error);
    curl_multi_remove_handle(h->multi, sl->easy);
    curl_easy_cleanup(sl->easy);
    curl_slist_free_all(sl->headers);
    sl->easy = NULL;
    sl->headers = NULL;
    sl->active = false;
    h->running--;
    uint32_t retries = r->probe && h->opts.retries > 1 ? 1 : h->opts.retries;
    if (!r->too_big && transient(sl) && r->attempts <= retries) {
        uint64_t wait = backoff_ms(h, r);
        /* Silence is worth a warning: the run may seem to hang meanwhile. */
        if (r->silent)
            log_msg(h, ML_LOG_WARN, "%s, retrying %u/%u (%s %s)", r->error, r->attempts, retries, r->method,
                    url_path(r->url));
        log_msg(h, ML_LOG_INFO, "%s %s: %s; retrying in %llu ms", r->method, r->url,
                r->status ? "server busy or failing" : r->error, (unsigned long long)wait);
        sl->due_ms = ml__now_ms() + wait;
        ml__http_req_reset(r);
        if (r->pipe_in)
            r->pipe_in->sink_active = false;
        return;
    }
    if (r->silent)
        strncat(r->error, " (timed out)", sizeof(r->error) - strlen(r->error) - 1);
    slot_done(h, sl);
}

/* The last check before the wire, for every request: no header that
 * ml__http_req_header refused, and a URL of visible ASCII only (a space or
 * CR/LF in it would end the request line early). A refused request ends
 * unsent, with the reason as its error. */
static bool refuse_unsafe(ml__http *h, slot *sl)
{
    ml__http_req *r = sl->req;
    const unsigned char *bad = NULL;
    for (const unsigned char *p = (const unsigned char *)r->url; *p && !bad; p++)
        if (*p <= 0x20 || *p >= 0x7f)
            bad = p;
    if (!r->unsafe && !bad)
        return false;
    if (r->unsafe)
        snprintf(r->error, sizeof(r->error), "not sent: its %.64s header would carry a CR, LF or NUL", r->unsafe);
    else
        snprintf(r->error, sizeof(r->error), "not sent: its URL has a space, control or non-ASCII byte (0x%02x)",
                 *bad);
    r->unsent = true;
    log_msg(h, ML_LOG_DEBUG, "%s request %s", r->method, r->error);
    slot_done(h, sl);
    return true;
}

/* A pipe's sink starts once its source has (which kept a place for it):
 * neither could move without the other. A source that ended unstarted
 * (refused) lets its sink start, to end at once. */
static bool has_room(const ml__http *h, const slot *sl)
{
    const ml__http_req *r = sl->req;
    if (r->pipe_in)
        return r->pipe_in->src_started || r->pipe_in->src_done;
    size_t need = r->pipe_out && !r->pipe_out->sink_active && !r->pipe_out->sink_done ? 2 : 1;
    return h->running == 0 || h->running + need <= h->opts.concurrency;
}

static bool due(const ml__http *h, const slot *sl, uint64_t now)
{
    bool failed;
    return !sl->done && !sl->active && sl->due_ms <= now && ml__http_req_may_start(sl->req, &failed) &&
           has_room(h, sl);
}

static bool orphaned(const slot *sl)
{
    bool failed;
    return !sl->done && !sl->active && !ml__http_req_may_start(sl->req, &failed) && failed;
}

/* A request whose prerequisite failed ends unsent. */
static bool skip_orphan(ml__http *h, slot *sl)
{
    if (!orphaned(sl))
        return false;
    snprintf(sl->req->error, sizeof(sl->req->error), "not sent: a request it waits for failed");
    sl->req->skipped = true;
    slot_done(h, sl);
    return true;
}

/* Starts what is due, over every queued batch in arrival order, while
 * there is room (`concurrency` transfers, a pipe's two ends together). */
static void start_due(ml__http *h)
{
    uint64_t now = ml__now_ms();
    for (batch *b = h->batches; b; b = b->next) {
        for (size_t i = 0; i < b->n; i++) {
            slot *sl = &b->slots[i];
            if (skip_orphan(h, sl) || !due(h, sl, now) || refuse_unsafe(h, sl))
                continue;
            if (start_slot(h, sl) != ML_OK) {
                b->rc = ML_ENOMEM;
                slot_done(h, sl);
                continue;
            }
            h->running++;
        }
    }
}

static void collect_done(ml__http *h)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(h->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        slot *sl = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&sl);
        finish_slot(h, sl, msg->data.result);
    }
}

/* The next retry time still ahead. A request already due but without
 * room waits for a transfer to end, which wakes the poll: counting it here
 * would make the poll return at once, again and again. */
static uint64_t earliest_due(const ml__http *h, uint64_t now)
{
    uint64_t due = UINT64_MAX;
    for (const batch *b = h->batches; b; b = b->next)
        for (size_t i = 0; i < b->n; i++) {
            const slot *sl = &b->slots[i];
            if (!sl->done && !sl->active && sl->due_ms > now && sl->due_ms < due)
                due = sl->due_ms;
        }
    return due;
}

static bool startable(const ml__http *h)
{
    uint64_t now = ml__now_ms();
    for (const batch *b = h->batches; b; b = b->next)
        for (size_t i = 0; i < b->n; i++)
            if (due(h, &b->slots[i], now) || orphaned(&b->slots[i]))
                return true;
    return false;
}

/* Wakes the paused end of each pipe that can move again (outside any
 * callback: an unpaused transfer may call its callback at once); true when
 * one woke. */
static bool pump_pipes(ml__http *h)
{
    bool woke = false;
    for (batch *b = h->batches; b; b = b->next)
        for (size_t i = 0; i < b->n; i++) {
            slot *sl = &b->slots[i];
            ml__http_pipe *out = sl->req->pipe_out, *in = sl->req->pipe_in;
            if (!sl->active)
                continue;
            if (out && out->src_paused && (out->cap - out->used >= out->pending || out->sink_done)) {
                out->src_paused = false;
                curl_easy_pause(sl->easy, CURLPAUSE_CONT);
                woke = true;
            }
            if (in && in->sink_paused && (in->used || in->src_done)) {
                in->sink_paused = false;
                curl_easy_pause(sl->easy, CURLPAUSE_CONT);
                woke = true;
            }
        }
    return woke;
}

/* Drives the multi handle for every queued batch until `mine` is done.
 * Called and returns with h->mu held; curl works without it, so that other
 * threads can queue their batches meanwhile (and wake the poll). */
static void drive(ml__http *h, const batch *mine)
{
    for (;;) {
        start_due(h);
        if (mine->left == 0)
            break;
        pthread_mutex_unlock(&h->mu);
        int still = 0;
        curl_multi_perform(h->multi, &still);
        pthread_mutex_lock(&h->mu);
        collect_done(h);
        if (mine->left == 0)
            break;
        /* A finished transfer frees a place: fill it now, not after a wait;
         * a pipe that can move again moves now too. */
        if (pump_pipes(h) || startable(h))
            continue;
        uint64_t now = ml__now_ms(), next_due = earliest_due(h, now);
        int wait = next_due - now < POLL_MAX_MS ? (int)(next_due - now) : POLL_MAX_MS;
        pthread_mutex_unlock(&h->mu);
        /* Also the sleep until a retry is due: polling no transfer waits. */
        curl_multi_poll(h->multi, NULL, 0, wait, NULL);
        pthread_mutex_lock(&h->mu);
    }
}

static void dequeue(ml__http *h, const batch *b)
{
    batch **p = &h->batches;
    while (*p != b)
        p = &(*p)->next;
    *p = b->next;
}

/* Nobody drives: the owner of the oldest unfinished batch takes over (one
 * thread woken, not all of them). */
static void hand_over(ml__http *h)
{
    for (batch *b = h->batches; b && !h->driving; b = b->next)
        if (b->left > 0) {
            pthread_cond_signal(&b->wake);
            return;
        }
}

int ml__http_run(ml__http *h, ml__http_req **reqs, size_t n)
{
    if (n == 0)
        return ML_OK;
    batch b = {.slots = calloc(n, sizeof(*b.slots)), .n = n, .left = n};
    if (!b.slots)
        return ML_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        b.slots[i].req = reqs[i];
        b.slots[i].owner = &b;
        ml__http_req_reset(reqs[i]);
        reqs[i]->attempts = 0;
    }
    for (size_t i = 0; i < n; i++)
        if (!ml__http_req_waits_within(reqs[i], reqs, n)) {
            snprintf(reqs[i]->error, sizeof(reqs[i]->error), "not sent: it waits for a request that is not sent");
            reqs[i]->skipped = reqs[i]->ended = b.slots[i].done = true;
            b.left--;
        }
    pthread_mutex_lock(&h->mu);
    batch **tail = &h->batches;
    while (*tail)
        tail = &(*tail)->next;
    *tail = &b;
    if (h->driving)
        curl_multi_wakeup(h->multi);
    pthread_cond_init(&b.wake, NULL);
    while (b.left > 0) {
        if (h->driving) {
            pthread_cond_wait(&b.wake, &h->mu);
            continue;
        }
        h->driving = true;
        drive(h, &b);
        h->driving = false;
    }
    dequeue(h, &b);
    hand_over(h);
    pthread_mutex_unlock(&h->mu);
    pthread_cond_destroy(&b.wake);
    free(b.slots);
    return b.rc;
}
