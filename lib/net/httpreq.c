/* Requests of the HTTP layer and what their answers say: the objects
 * ml__http_run sends, apart from how it sends them. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "http.h"

ml__http_req *ml__http_req_new(const char *method, const char *url)
{
    ml__http_req *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->method = method;
    r->url = ml__strdup(url);
    if (!r->url) {
        free(r);
        return NULL;
    }
    return r;
}

bool ml__http_ok(long status) { return status >= 200 && status < 300; }

bool ml__http_req_may_start(const ml__http_req *r, bool *failed)
{
    bool met = true;
    *failed = false;
    for (size_t i = 0; i < r->after_count; i++) {
        met &= r->after[i]->ended;
        *failed |= r->after[i]->ended && !ml__http_ok(r->after[i]->status);
    }
    return met && !*failed;
}

bool ml__http_req_waits_within(const ml__http_req *r, ml__http_req *const *reqs, size_t n)
{
    for (size_t i = 0; i < r->after_count; i++) {
        bool known = r->after[i]->ended;
        for (size_t j = 0; j < n && !known; j++)
            known = reqs[j] == r->after[i];
        if (!known)
            return false;
    }
    return true;
}

int ml__http_req_header(ml__http_req *r, const char *fmt, ...)
{
    ml__buf b = {0};
    va_list ap;
    va_start(ap, fmt);
    ml__buf_vprintf(&b, fmt, ap);
    va_end(ap);
    if (!b.oom && b.data && (strlen(b.data) != b.len || strpbrk(b.data, "\r\n"))) {
        /* Never sent (see refuse_unsafe); the first such header names why. */
        if (!r->unsafe)
            r->unsafe = ml__strndup(b.data, strcspn(b.data, ":\r\n"));
        ml__buf_free(&b);
        return r->unsafe ? ML_OK : ML_ENOMEM;
    }
    return ml__strvec_push_take(&r->headers, ml__buf_take(&b));
}

void ml__http_req_reset(ml__http_req *r)
{
    r->status = 0;
    r->redirects = 0;
    ml__buf_free(&r->response);
    ml__strvec_free(&r->response_headers);
    r->curl_code = 0;
    r->error[0] = '\0';
    r->too_big = false;
    r->silent = false;
    r->unsent = false;
    r->sink_gone = false;
    r->skipped = false;
    r->ended = false;
}

void ml__http_req_free(ml__http_req *r)
{
    if (!r)
        return;
    ml__http_req_reset(r);
    ml__strvec_free(&r->headers);
    free(r->unsafe);
    free(r->url);
    free(r);
}

const char *ml__http_header(const ml__http_req *r, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < r->response_headers.count; i++) {
        const char *line = r->response_headers.items[i];
        if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            return v;
        }
    }
    return NULL;
}

char *ml__http_header_join(const ml__http_req *r, const char *name)
{
    size_t n = strlen(name);
    ml__buf b = {0};
    bool any = false;
    for (size_t i = 0; i < r->response_headers.count; i++) {
        const char *line = r->response_headers.items[i];
        if (strncasecmp(line, name, n) != 0 || line[n] != ':')
            continue;
        const char *v = line + n + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        ml__buf_puts(&b, any ? ", " : "");
        ml__buf_puts(&b, v);
        any = true;
    }
    if (!any)
        return NULL;
    return ml__buf_take(&b);
}

bool ml__http_unsent(const ml__http_req *r) { return r->unsent; }

bool ml__http_failed_transport(const ml__http_req *r) { return r->status == 0; }

bool ml__http_refused(const ml__http_req *r) { return r->curl_code == CURLE_COULDNT_CONNECT; }

bool ml__http_plain_server(const ml__http_req *r)
{
    /* OpenSSL reports a plain-HTTP answer to its ClientHello as a record of
     * the wrong version or an impossible length. */
    return r->curl_code == CURLE_SSL_CONNECT_ERROR &&
           (strstr(r->error, "wrong version number") || strstr(r->error, "packet length too long") ||
            strstr(r->error, "record layer failure"));
}

bool ml__http_cert_failed(const ml__http_req *r) { return r->curl_code == CURLE_PEER_FAILED_VERIFICATION; }
