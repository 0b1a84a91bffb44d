/* HTTP transport: the one check before the wire. A header line with CR, LF
 * or NUL, or a URL with a space or a control character, is never sent (not
 * even a connection is opened) and the request ends with the reason; a clean
 * request to the same listener does connect. No server: a listening socket
 * that never answers is enough to see whether anything arrived. */
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http.h"
#include "init.h"
#include "test.h"

static int listen_fd = -1;
static char base[64];

static void listen_on_loopback(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(listen_fd >= 0);
    CHECK(bind(listen_fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    CHECK(listen(listen_fd, 16) == 0);
    CHECK(getsockname(listen_fd, (struct sockaddr *)&a, &len) == 0);
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", ntohs(a.sin_port));
}

/* Connections that reached the listener since the last call. */
static int arrivals(void)
{
    int n = 0;
    struct pollfd p = {.fd = listen_fd, .events = POLLIN};
    while (poll(&p, 1, 0) > 0) {
        int c = accept(listen_fd, NULL, NULL);
        if (c < 0)
            break;
        close(c);
        n++;
    }
    return n;
}

static ml__http *new_client(void)
{
    ml__http_opts o = {.concurrency = 4, .retries = 0, .timeout_ms = 300};
    ml__http *h = NULL;
    ml_error *err = NULL;
    CHECK_INT(ml__http_new(&h, &o, &err), ML_OK);
    ml_error_free(err);
    return h;
}

static ml__http_req *request(const char *path)
{
    char url[256];
    snprintf(url, sizeof(url), "%s%s", base, path);
    return ml__http_req_new("PUT", url);
}

/* Runs r alone: true when it was refused unsent, with `word` in its error,
 * and nothing reached the listener. */
static bool refused(ml__http *h, ml__http_req *r, const char *word)
{
    CHECK_INT(ml__http_run(h, &r, 1), ML_OK);
    bool ok = ml__http_unsent(r) && r->status == 0 && ml__http_failed_transport(r) &&
              test_contains(r->error, "not sent") && test_contains(r->error, word) && arrivals() == 0;
    if (!ok)
        fprintf(stderr, "  error \"%s\", unsent %d\n", r->error, ml__http_unsent(r));
    return ok;
}

static void test_header_with_cr_lf_nul_is_not_sent(void)
{
    static const char *const values[] = {
        "application/vnd.oci.image.manifest.v1+json;\r\nContent-Length: 0\r\n\r\nDELETE /v2/app/manifests/x HTTP/1.1",
        "a\rb", "a\nb", "\r\n", "a\r\n",
    };
    ml__http *h = new_client();
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        ml__http_req *r = request("/v2/app/manifests/v1");
        CHECK_INT(ml__http_req_header(r, "Accept: %s", "*/*"), ML_OK);
        CHECK_INT(ml__http_req_header(r, "Content-Type: %s", values[i]), ML_OK);
        CHECK_INT(ml__http_req_header(r, "Authorization: %s", "Basic c2VjcmV0"), ML_OK);
        CHECK_INT(r->headers.count, 2); /* the bad line was never kept */
        CHECK(refused(h, r, "Content-Type header"));
        ml__http_req_free(r);
    }
    /* a NUL inside the formatted line would cut it short silently */
    ml__http_req *r = request("/v2/app/manifests/v1");
    CHECK_INT(ml__http_req_header(r, "X-Test: a%cb", 0), ML_OK);
    CHECK(refused(h, r, "X-Test header"));
    ml__http_req_free(r);
    /* the first refused header names the refusal */
    r = request("/v2/app/manifests/v1");
    CHECK_INT(ml__http_req_header(r, "Content-Type: a\r\nb"), ML_OK);
    CHECK_INT(ml__http_req_header(r, "Authorization: Bearer x\ny"), ML_OK);
    CHECK(refused(h, r, "Content-Type header"));
    /* run again (as after an authentication challenge): still refused */
    CHECK(refused(h, r, "Content-Type header"));
    ml__http_req_free(r);
    ml__http_free(h);
}

static void test_url_with_space_or_control_is_not_sent(void)
{
    static const char *const paths[] = {
        "/v2/app/manifests/v1 HTTP/1.1\r\nX: y", "/v2/app/manifests/a b", "/v2/app/\r\n", "/v2/app/\t",
        "/v2/app/\x7f", "/v2/app/\xc3\xa9",
    };
    ml__http *h = new_client();
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        ml__http_req *r = request(paths[i]);
        CHECK(refused(h, r, "URL"));
        ml__http_req_free(r);
    }
    ml__http_free(h);
}

/* The control: the listener does see a clean request, alone or next to a
 * refused one in the same batch. */
static void test_clean_request_is_sent(void)
{
    ml__http *h = new_client();
    ml__http_req *good = request("/v2/app/manifests/v1");
    ml__http_req *bad = request("/v2/app/manifests/v1");
    CHECK_INT(ml__http_req_header(good, "Content-Type: %s", "application/vnd.oci.image.manifest.v1+json"), ML_OK);
    CHECK_INT(ml__http_req_header(bad, "Content-Type: %s", "x\r\ny"), ML_OK);
    ml__http_req *batch[] = {bad, good};
    CHECK_INT(ml__http_run(h, batch, 2), ML_OK);
    CHECK(ml__http_unsent(bad));
    CHECK(!ml__http_unsent(good));
    CHECK(good->status == 0 && good->error[0] != '\0'); /* no answer: timed out */
    CHECK_INT(arrivals(), 1);
    ml__http_req_free(good);
    ml__http_req_free(bad);
    ml__http_free(h);
}

/* The longest timeout a caller can give still makes a streamed request
 * (its low-speed window is the timeout in seconds, 32-bit arithmetic once
 * wrapped to 0 and divided by it). A closed port answers at once. */
static void test_longest_timeout_streams(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    CHECK(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    close(fd);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/v2/", ntohs(a.sin_port));
    ml__http_opts o = {.concurrency = 1, .retries = 0, .timeout_ms = UINT32_MAX};
    ml__http *h = NULL;
    CHECK_INT(ml__http_new(&h, &o, NULL), ML_OK);
    ml__http_req *r = ml__http_req_new("GET", url);
    r->stream = true;
    CHECK_INT(ml__http_run(h, &r, 1), ML_OK);
    CHECK(ml__http_refused(r));
    ml__http_req_free(r);
    ml__http_free(h);
}

/* A pipe whose source is refused unsent ends its sink too, short of bytes,
 * rather than leaving it waiting for a source that never starts. */
static void test_pipe_of_refused_source_ends(void)
{
    ml__http *h = new_client();
    ml__http_pipe *p = ml__http_pipe_new(0);
    CHECK(p != NULL);
    ml__http_req *src = request("/v2/a/blobs/sha256:0");
    ml__http_req *sink = request("/v2/b/blobs/uploads/1");
    src->method = "GET";
    CHECK_INT(ml__http_req_header(src, "Authorization: a\r\nb"), ML_OK);
    src->pipe_out = sink->pipe_in = p;
    sink->body_len = 10;
    ml__http_req *batch[] = {sink, src};
    CHECK_INT(ml__http_run(h, batch, 2), ML_OK);
    CHECK(ml__http_unsent(src));
    CHECK(sink->status == 0 && !ml__http_unsent(sink));
    arrivals();
    ml__http_req_free(src);
    ml__http_req_free(sink);
    ml__http_pipe_free(p);
    ml__http_free(h);
}

#define SLOW_BODY (6u * 1024 * 1024)

/* Reads connection c up to the end of a request's head. */
static void skip_request_head(int c)
{
    char last[4] = {0}, ch;
    while (memcmp(last, "\r\n\r\n", 4) != 0 && recv(c, &ch, 1, 0) == 1) {
        memmove(last, last + 1, 3);
        last[3] = ch;
    }
}

/* Reads one request's body at about 500 KB/s, then answers 201. */
static void *slow_reader(void *arg)
{
    int fd = *(int *)arg, c = accept(fd, NULL, NULL);
    CHECK(c >= 0);
    skip_request_head(c);
    char buf[5000];
    struct timespec tick = {0, 10 * 1000 * 1000};
    ssize_t n;
    for (size_t body = 0; body < SLOW_BODY && (n = recv(c, buf, sizeof(buf), 0)) > 0; body += (size_t)n)
        nanosleep(&tick, NULL);
    static const char answer[] = "HTTP/1.1 201 Created\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    CHECK(send(c, answer, sizeof(answer) - 1, 0) == (ssize_t)sizeof(answer) - 1);
    close(c);
    return NULL;
}

/* A bounded request whose body takes longer to send than the first-byte
 * wait (10 s) is not cut as unanswered while its bytes still move. */
static void test_slow_upload_is_not_cut(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), small = 16384;
    CHECK(fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)) == 0);
    CHECK(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(fd, 1) == 0);
    CHECK(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, slow_reader, &fd) == 0);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/v2/app/manifests/v1", ntohs(a.sin_port));
    ml__http_opts o = {.concurrency = 1, .retries = 0, .timeout_ms = 60000};
    ml__http *h = NULL;
    CHECK_INT(ml__http_new(&h, &o, NULL), ML_OK);
    char *body = calloc(1, SLOW_BODY);
    ml__http_req *r = ml__http_req_new("PUT", url);
    CHECK(body && r);
    r->body = body;
    r->body_len = SLOW_BODY;
    CHECK_INT(ml__http_run(h, &r, 1), ML_OK);
    if (r->status != 201)
        fprintf(stderr, "  status %ld: %s\n", r->status, r->error);
    CHECK(r->status == 201 && !r->silent);
    pthread_join(t, NULL);
    close(fd);
    ml__http_req_free(r);
    free(body);
    ml__http_free(h);
}

#define LATE_ANSWERS 5
#define LATE_MS 300

/* Answers LATE_ANSWERS requests, one connection each, LATE_MS after each
 * request's head arrived. */
static void *late_answerer(void *arg)
{
    int fd = *(int *)arg;
    for (int i = 0; i < LATE_ANSWERS; i++) {
        int c = accept(fd, NULL, NULL);
        CHECK(c >= 0);
        skip_request_head(c);
        struct timespec late = {0, LATE_MS * 1000 * 1000};
        nanosleep(&late, NULL);
        static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        CHECK(send(c, answer, sizeof(answer) - 1, 0) == (ssize_t)sizeof(answer) - 1);
        close(c);
    }
    return NULL;
}

static double seconds(clockid_t clock)
{
    struct timespec t;
    clock_gettime(clock, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Requests queued behind the concurrency limit wait for a transfer to end
 * in the poll; they used to make it return at once, so the driving thread
 * spun on the CPU for as long as the server took to answer. */
static void test_queued_requests_do_not_spin(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(fd, LATE_ANSWERS) == 0);
    CHECK(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, late_answerer, &fd) == 0);
    ml__http_opts o = {.concurrency = 1, .retries = 0, .timeout_ms = 10000};
    ml__http *h = NULL;
    CHECK_INT(ml__http_new(&h, &o, NULL), ML_OK);
    ml__http_req *reqs[LATE_ANSWERS];
    for (int i = 0; i < LATE_ANSWERS; i++) {
        char url[64];
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/v2/", ntohs(a.sin_port));
        CHECK((reqs[i] = ml__http_req_new("GET", url)) != NULL);
    }
    double wall = seconds(CLOCK_MONOTONIC), cpu = seconds(CLOCK_THREAD_CPUTIME_ID);
    CHECK_INT(ml__http_run(h, reqs, LATE_ANSWERS), ML_OK);
    wall = seconds(CLOCK_MONOTONIC) - wall;
    cpu = seconds(CLOCK_THREAD_CPUTIME_ID) - cpu;
    for (int i = 0; i < LATE_ANSWERS; i++) {
        CHECK(reqs[i]->status == 200);
        ml__http_req_free(reqs[i]);
    }
    /* Waiting is not working: a small share of the wait, even under valgrind. */
    if (!(cpu < wall / 4))
        fprintf(stderr, "  %.3f s of CPU over %.3f s\n", cpu, wall);
    CHECK(cpu < wall / 4);
    pthread_join(t, NULL);
    close(fd);
    ml__http_free(h);
}

/* ---- requests that wait for others ---------------------------------------- */

#define ORDER_MAX 16

/* A server of one connection per request, each answered by its own
 * thread: "/slow" after 200 ms, "/fail" with 404, any other path with 200
 * at once. It logs, in order, "+PATH" when a request arrives and "-PATH"
 * when it is answered. */
typedef struct order_server {
    int fd;
    pthread_mutex_t mu;
    char log[2 * ORDER_MAX][32];
    int logged;
} order_server;

typedef struct order_conn {
    order_server *srv;
    int c;
} order_conn;

static void order_note(order_server *srv, char sign, const char *path)
{
    pthread_mutex_lock(&srv->mu);
    if (srv->logged < 2 * ORDER_MAX)
        snprintf(srv->log[srv->logged++], sizeof(srv->log[0]), "%c%s", sign, path);
    pthread_mutex_unlock(&srv->mu);
}

static void *order_answer(void *arg)
{
    order_conn *oc = arg;
    char line[128] = {0}, path[32] = {0};
    size_t n = 0;
    char ch;
    while (n + 1 < sizeof(line) && recv(oc->c, &ch, 1, 0) == 1 && ch != '\n')
        line[n++] = ch;
    skip_request_head(oc->c);
    sscanf(line, "%*s %31s", path);
    order_note(oc->srv, '+', path);
    if (strcmp(path, "/slow") == 0)
        nanosleep(&(struct timespec){0, 200 * 1000 * 1000}, NULL);
    const char *answer = strcmp(path, "/fail") == 0
                             ? "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                             : "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    order_note(oc->srv, '-', path);
    CHECK(send(oc->c, answer, strlen(answer), 0) == (ssize_t)strlen(answer));
    close(oc->c);
    free(oc);
    return NULL;
}

static void *order_accept(void *arg)
{
    order_server *srv = arg;
    for (;;) {
        int c = accept(srv->fd, NULL, NULL);
        if (c < 0)
            return NULL;
        order_conn *oc = malloc(sizeof(*oc));
        pthread_t t;
        CHECK(oc != NULL);
        *oc = (order_conn){srv, c};
        CHECK(pthread_create(&t, NULL, order_answer, oc) == 0);
        pthread_detach(t);
    }
}

/* Where `entry` stands in the server's log, or -1. */
static int order_at(order_server *srv, const char *entry)
{
    for (int i = 0; i < srv->logged; i++)
        if (strcmp(srv->log[i], entry) == 0)
            return i;
    return -1;
}

/* Runs three requests through a fresh order server: `first`, "/then"
 * waiting for it, and "/free" waiting for nothing. */
static void order_run(order_server *srv, const char *first, ml__http_req *reqs[3])
{
    const char *const paths[] = {first, "/then", "/free"};
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    *srv = (order_server){.fd = socket(AF_INET, SOCK_STREAM, 0)};
    pthread_mutex_init(&srv->mu, NULL);
    CHECK(srv->fd >= 0 && bind(srv->fd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(srv->fd, 16) == 0);
    CHECK(getsockname(srv->fd, (struct sockaddr *)&a, &len) == 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, order_accept, srv) == 0);
    for (int i = 0; i < 3; i++) {
        char url[64];
        snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", ntohs(a.sin_port), paths[i]);
        CHECK((reqs[i] = ml__http_req_new("GET", url)) != NULL);
    }
    reqs[1]->after = &reqs[0];
    reqs[1]->after_count = 1;
    ml__http_opts o = {.concurrency = 4, .retries = 0, .timeout_ms = 10000};
    ml__http *h = NULL;
    CHECK_INT(ml__http_new(&h, &o, NULL), ML_OK);
    CHECK_INT(ml__http_run(h, reqs, 3), ML_OK);
    ml__http_free(h);
    shutdown(srv->fd, SHUT_RDWR);
    pthread_join(t, NULL);
    close(srv->fd);
}

/* A request waiting for a slow one goes out once that one is answered;
 * the others do not wait. */
static void test_request_waits_for_its_prerequisite(void)
{
    order_server srv;
    ml__http_req *reqs[3];
    order_run(&srv, "/slow", reqs);
    for (int i = 0; i < 3; i++)
        CHECK(reqs[i]->status == 200 && reqs[i]->ended && !reqs[i]->skipped);
    CHECK(order_at(&srv, "+/then") > order_at(&srv, "-/slow"));
    CHECK(order_at(&srv, "+/free") >= 0 && order_at(&srv, "+/free") < order_at(&srv, "-/slow"));
    for (int i = 0; i < 3; i++)
        ml__http_req_free(reqs[i]);
}

/* A request waiting for one that failed is never sent; nor is one waiting
 * for a request that is not in the run and has not ended. */
static void test_request_after_a_failure_is_skipped(void)
{
    order_server srv;
    ml__http_req *reqs[3];
    order_run(&srv, "/fail", reqs);
    CHECK(reqs[0]->status == 404 && reqs[2]->status == 200);
    CHECK(reqs[1]->skipped && reqs[1]->ended && reqs[1]->status == 0 && test_contains(reqs[1]->error, "not sent"));
    CHECK(order_at(&srv, "+/then") < 0 && order_at(&srv, "+/free") >= 0);
    /* /fail again, not in this run: /then cannot wait for it */
    ml__http_req_reset(reqs[0]);
    ml__http_opts o = {.concurrency = 4, .retries = 0, .timeout_ms = 1000};
    ml__http *h = NULL;
    CHECK_INT(ml__http_new(&h, &o, NULL), ML_OK);
    CHECK_INT(ml__http_run(h, &reqs[1], 1), ML_OK);
    CHECK(reqs[1]->skipped && reqs[1]->status == 0);
    ml__http_free(h);
    for (int i = 0; i < 3; i++)
        ml__http_req_free(reqs[i]);
}

int main(int argc, char **argv)
{
    CHECK_INT(ml__init(), ML_OK);
    if (argc > 1 && strcmp(argv[1], "slow-upload") == 0) {
        TEST_RUN(test_slow_upload_is_not_cut);
        TEST_END();
    }
    listen_on_loopback();
    TEST_RUN(test_header_with_cr_lf_nul_is_not_sent);
    TEST_RUN(test_url_with_space_or_control_is_not_sent);
    TEST_RUN(test_clean_request_is_sent);
    TEST_RUN(test_longest_timeout_streams);
    TEST_RUN(test_pipe_of_refused_source_ends);
    TEST_RUN(test_queued_requests_do_not_spin);
    TEST_RUN(test_request_waits_for_its_prerequisite);
    TEST_RUN(test_request_after_a_failure_is_skipped);
    close(listen_fd);
    TEST_END();
}
