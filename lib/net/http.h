/* HTTP transport on libcurl's multi interface: concurrent batches,
 * connection reuse, bounded bodies, retries with backoff. The only curl
 * user. It knows nothing about registries or authentication. */
#ifndef ML_HTTP_H
#define ML_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "manifestlist.h"
#include "pipe.h"
#include "util.h"

typedef struct ml__http ml__http;

/* What a request trusts and presents beyond the client's defaults: a
 * registry's own CAs (certs.d) and client certificate. */
typedef struct ml__http_tls {
    char *ca_pem;  /* every CA trusted (system bundle, ca_cert, extras), or NULL: the defaults */
    size_t ca_len;
    char *cert;    /* client certificate and key files (PEM), or NULL */
    char *key;
} ml__http_tls;

typedef struct ml__http_opts {
    uint32_t concurrency; /* parallel transfers */
    uint32_t retries;     /* extra attempts for transient failures */
    uint32_t timeout_ms;  /* whole request for bounded bodies; for streams, the
                           * window in which at least 1 KiB must move; the
                           * connection and a bounded request's first byte
                           * within it or 10 s, whichever is shorter */
    bool insecure;        /* skip TLS verification */
    const char *ca_cert;  /* PEM file of CAs added to the system trust, or NULL */
    const char *user_agent;
    ml_log_fn log;
    void *log_payload;
    void (*finished)(void *payload); /* one request done (after its retries) */
    void *finished_payload;
} ml__http_opts;

/* Streams: the request body comes from `read`, the response goes to `write`
 * (both may be NULL). A non-zero return from a callback aborts the
 * transfer. */
typedef size_t (*ml__http_read_fn)(void *payload, char *buf, size_t len);
typedef int (*ml__http_write_fn)(void *payload, const char *data, size_t len);

typedef struct ml__http_req {
    /* request, set by the caller */
    const char *method; /* GET HEAD PUT POST PATCH DELETE */
    char *url;          /* owned */
    ml__strvec headers; /* "Name: value", owned */
    const char *body;   /* borrowed; NULL = none */
    size_t body_len;
    ml__http_read_fn read; /* streamed body of body_len bytes (instead of body) */
    void *read_payload;
    void (*rewind)(void *read_payload); /* called before every send (of a streamed body or answer) */
    ml__http_write_fn write; /* streamed response (instead of `response`) */
    void *write_payload;
    /* A successful answer's body goes into pipe_out, after `write` (if
     * set) saw it; body_len bytes of the request body come from pipe_in.
     * The sink of a pipe starts once its source has; the pair counts as
     * two of the concurrent transfers. */
    ml__http_pipe *pipe_out;
    ml__http_pipe *pipe_in;
    size_t max_body;      /* response limit; 0 = 4 MiB */
    bool follow;          /* follow redirects (blob downloads) */
    bool stream;          /* long transfer: stall limit instead of a total timeout */
    const ml__http_tls *tls; /* borrowed; NULL: the client's defaults */
    bool probe;           /* a question of a series (plain HTTP, then TLS): one
                           * retry at most, so a silent server is given up on
                           * after both in the time of one ordinary request */
    /* Sent once each of these has ended with a 2xx answer; when one ends
     * otherwise, not sent at all (`skipped`). Each is in the same
     * ml__http_run or ended before it. Borrowed. */
    struct ml__http_req *const *after;
    size_t after_count;
    char *unsafe;         /* name of a header refused by ml__http_req_header; owned */
    /* result */
    long status;          /* 0 when no HTTP answer */
    ml__buf response;
    ml__strvec response_headers; /* of the final response, "Name: value" */
    int curl_code;
    char error[256];      /* curl's error text, if any */
    bool too_big;
    bool silent;          /* no answer (or connection) in time; error says for how long */
    bool unsent;          /* refused by ml__http_run, see ml__http_unsent */
    bool sink_gone;       /* cut because its pipe's sink ended first: not its own failure */
    bool skipped;         /* not sent: a request of `after` failed */
    bool ended;           /* has its outcome (after its retries) */
    long redirects;       /* redirects followed to reach the final answer */
    uint32_t attempts;
    void *user;           /* free for the caller */
} ml__http_req;

int ml__http_new(ml__http **out, const ml__http_opts *opts, ml_error **err);
void ml__http_free(ml__http *h);

/* TLS for a registry: the system bundle ($SSL_CERT_FILE, else libcurl's),
 * the client's ca_cert and `extra_pem` (CAs added, as docker adds a
 * certs.d directory's to the system roots: libcurl's CA blob would replace
 * the bundle, so it holds all of them), and a client certificate (copied
 * paths, or NULL). ML_EIO for an unreadable ca_cert, ML_ENOMEM. */
int ml__http_tls_init(const ml__http *h, ml__http_tls *t, const char *extra_pem, size_t extra_len,
                      const char *cert, const char *key, ml_error **err);
void ml__http_tls_clear(ml__http_tls *t);

/* Creates a request with a copied URL. NULL on ENOMEM. */
ml__http_req *ml__http_req_new(const char *method, const char *url);
/* Adds the header line "Name: value". A line with CR, LF or NUL is not
 * added (its value would end the line early, and the rest become headers
 * or a request of their own): the request is then never sent. ML_ENOMEM
 * only. */
int ml__http_req_header(ml__http_req *r, const char *fmt, ...) ML__PRINTF(2, 3);
/* For ml__http_run: whether every request of r->after ended with a 2xx
 * answer (*failed: one ended otherwise); and whether each of them has
 * ended or is among reqs (else r would wait for ever). */
bool ml__http_req_may_start(const ml__http_req *r, bool *failed);
bool ml__http_req_waits_within(const ml__http_req *r, ml__http_req *const *reqs, size_t n);
/* Forgets the result so the request can be sent again. */
void ml__http_req_reset(ml__http_req *r);
void ml__http_req_free(ml__http_req *r);

/* Sends all requests, `concurrency` at a time, retrying transient failures
 * (connection errors, 429, 500, 502, 503, 504) with exponential backoff and
 * jitter, honouring Retry-After. Per-request outcomes are in the requests;
 * the return is ML_ENOMEM or ML_OK. */
int ml__http_run(ml__http *h, ml__http_req **reqs, size_t n);

/* A 2xx status. */
bool ml__http_ok(long status);
/* Value of a response header (case-insensitive name, trimmed), or NULL. */
const char *ml__http_header(const ml__http_req *r, const char *name);
/* Every value of a repeatable header joined with ", " (RFC 9110 §5.3);
 * NULL when absent or on ENOMEM. Free with free(). */
char *ml__http_header_join(const ml__http_req *r, const char *name);
/* True when ml__http_run refused to send the request (status 0, r->error
 * says why): a header refused by ml__http_req_header, or a URL with a
 * space, a control or a non-ASCII byte. */
bool ml__http_unsent(const ml__http_req *r);
/* True when the failure is at the transport level (no HTTP answer). */
bool ml__http_failed_transport(const ml__http_req *r);
/* True when nothing listens at the address (connection refused). */
bool ml__http_refused(const ml__http_req *r);
/* True when TLS could not start because the server speaks plain HTTP. */
bool ml__http_plain_server(const ml__http_req *r);
/* True when the TLS peer certificate was not trusted. */
bool ml__http_cert_failed(const ml__http_req *r);

#endif
