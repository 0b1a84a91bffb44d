/* Threads sharing one client: the HTTP layer's one multi handle is driven
 * by one waiting thread at a time for all of them, so every request of
 * every thread gets its answer and the connections stay within
 * `concurrency`; the memo resolves a key once however many threads ask.
 * Run under -Db_sanitize=thread to check for data races. Worker threads
 * only record; the checks run on the main thread. */
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "init.h"
#include "memo.h"
#include "test.h"

#define THREADS 8
#define BATCHES 10
#define PER_BATCH 4
#define CONCURRENCY 3
#define MAX_CONNS 64

/* ---- a keep-alive HTTP server on one thread ------------------------------ */

static struct {
    int listen_fd;
    int stop[2];
    int peak; /* connections open at once */
    char base[64];
    pthread_t thread;
} server;

static void answer(int fd, char *pending, size_t *len)
{
    static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    char *end;
    while ((end = strstr(pending, "\r\n\r\n")) != NULL) {
        if (write(fd, reply, sizeof(reply) - 1) < 0)
            return;
        size_t used = (size_t)(end + 4 - pending);
        memmove(pending, pending + used, *len - used + 1);
        *len -= used;
    }
}

static void *serve(void *arg)
{
    (void)arg;
    struct pollfd fds[MAX_CONNS + 2] = {{.fd = server.listen_fd, .events = POLLIN},
                                        {.fd = server.stop[0], .events = POLLIN}};
    static char pending[MAX_CONNS + 2][4096];
    size_t lens[MAX_CONNS + 2] = {0};
    int n = 2;
    while (poll(fds, (nfds_t)n, -1) > 0 && !fds[1].revents) {
        for (int i = n - 1; i >= 2; i--) {
            if (!fds[i].revents)
                continue;
            ssize_t got = read(fds[i].fd, pending[i] + lens[i], sizeof(pending[i]) - lens[i] - 1);
            if (got <= 0) {
                close(fds[i].fd);
                fds[i] = fds[--n];
                memcpy(pending[i], pending[n], sizeof(pending[i]));
                lens[i] = lens[n];
                continue;
            }
            lens[i] += (size_t)got;
            pending[i][lens[i]] = '\0';
            answer(fds[i].fd, pending[i], &lens[i]);
        }
        if (fds[0].revents && n < MAX_CONNS + 2) {
            int c = accept(server.listen_fd, NULL, NULL);
            if (c >= 0) {
                fds[n] = (struct pollfd){.fd = c, .events = POLLIN};
                lens[n++] = 0;
                if (n - 2 > server.peak)
                    server.peak = n - 2;
            }
        }
    }
    for (int i = 2; i < n; i++)
        close(fds[i].fd);
    return NULL;
}

static void server_start(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    server.listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(server.listen_fd >= 0);
    CHECK(bind(server.listen_fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    CHECK(listen(server.listen_fd, 64) == 0);
    CHECK(getsockname(server.listen_fd, (struct sockaddr *)&a, &len) == 0);
    CHECK(pipe(server.stop) == 0);
    snprintf(server.base, sizeof(server.base), "http://127.0.0.1:%d", ntohs(a.sin_port));
    CHECK(pthread_create(&server.thread, NULL, serve, NULL) == 0);
}

static void server_stop(void)
{
    CHECK(write(server.stop[1], "x", 1) == 1);
    pthread_join(server.thread, NULL);
    close(server.listen_fd);
    close(server.stop[0]);
    close(server.stop[1]);
}

/* ---- one ml__http, several threads --------------------------------------- */

typedef struct worker {
    ml__http *http;
    int index;
    int answered; /* requests that got 200 "ok" */
    int failed;   /* ml__http_run returns */
} worker;

static int finished; /* from the finished callback (under the HTTP layer's lock) */

static void count_finished(void *payload)
{
    (void)payload;
    finished++;
}

static void *send_batches(void *arg)
{
    worker *w = arg;
    for (int b = 0; b < BATCHES; b++) {
        ml__http_req *reqs[PER_BATCH];
        char url[128];
        for (int i = 0; i < PER_BATCH; i++) {
            snprintf(url, sizeof(url), "%s/t%d/b%d/r%d", server.base, w->index, b, i);
            reqs[i] = ml__http_req_new("GET", url);
        }
        w->failed += ml__http_run(w->http, reqs, PER_BATCH) != ML_OK;
        for (int i = 0; i < PER_BATCH; i++) {
            w->answered += reqs[i]->status == 200 && reqs[i]->response.len == 2;
            ml__http_req_free(reqs[i]);
        }
    }
    return NULL;
}

static void test_threads_share_one_connection_pool(void)
{
    ml__http_opts o = {.concurrency = CONCURRENCY, .timeout_ms = 10000, .finished = count_finished};
    ml__http *h = NULL;
    CHECK_INT(ml__http_new(&h, &o, NULL), ML_OK);
    worker w[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){.http = h, .index = i};
        CHECK(pthread_create(&t[i], NULL, send_batches, &w[i]) == 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        CHECK_INT(w[i].failed, 0);
        CHECK_INT(w[i].answered, BATCHES * PER_BATCH);
    }
    CHECK_INT(finished, THREADS * BATCHES * PER_BATCH);
    ml__http_free(h);
    CHECK(server.peak >= 1);
    CHECK(server.peak <= CONCURRENCY);
}

/* ---- the memo ------------------------------------------------------------- */

#define KEYS 16

typedef struct asker {
    ml__memo *memo;
    int resolved[KEYS]; /* keys this thread resolved itself */
    int right[KEYS];    /* answers with the key's digest */
} asker;

static void *ask_all(void *arg)
{
    asker *a = arg;
    for (int k = 0; k < KEYS; k++) {
        char key[32], digest[32];
        snprintf(key, sizeof(key), "HEAD r/x@t%d", k);
        snprintf(digest, sizeof(digest), "sha256:%d", k);
        const ml__memo_value *v = NULL;
        ml__memo_value mine = {.digest = digest, .size = k};
        ml__memo_claim claim = ml__memo_claim_key(a->memo, key, &v);
        if (claim == ML__MEMO_MINE) {
            nanosleep(&(struct timespec){0, 1000000}, NULL); /* others arrive meanwhile */
            ml__memo_put(a->memo, key, &mine);
            a->resolved[k]++;
            v = &mine;
        } else if (claim == ML__MEMO_BUSY) {
            v = ml__memo_wait(a->memo, key);
        }
        a->right[k] = v && strcmp(v->digest, digest) == 0 && v->size == k;
    }
    return NULL;
}

static void test_memo_resolves_each_key_once(void)
{
    ml__memo *m = ml__memo_new();
    CHECK(m != NULL);
    asker a[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        a[i] = (asker){.memo = m};
        CHECK(pthread_create(&t[i], NULL, ask_all, &a[i]) == 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    for (int k = 0; k < KEYS; k++) {
        int resolved = 0, right = 0;
        for (int i = 0; i < THREADS; i++) {
            resolved += a[i].resolved[k];
            right += a[i].right[k];
        }
        CHECK_INT(resolved, 1);
        CHECK_INT(right, THREADS);
    }
    ml__memo_free(m);
}

static void test_memo_dropped_claim_is_free_again(void)
{
    ml__memo *m = ml__memo_new();
    const ml__memo_value *v = NULL;
    CHECK_INT(ml__memo_claim_key(m, "k", &v), ML__MEMO_MINE);
    CHECK_INT(ml__memo_claim_key(m, "k", &v), ML__MEMO_BUSY);
    ml__memo_drop(m, "k");
    CHECK(ml__memo_wait(m, "k") == NULL);
    CHECK_INT(ml__memo_claim_key(m, "k", &v), ML__MEMO_MINE);
    ml__memo_value one = {.digest = "sha256:1", .body = "{}", .len = 2, .size = 2};
    ml__memo_put(m, "k", &one);
    CHECK_INT(ml__memo_claim_key(m, "k", &v), ML__MEMO_HIT);
    CHECK_STR(v->digest, "sha256:1");
    CHECK_STR(v->body, "{}");
    ml__memo_free(m);
}

int main(void)
{
    CHECK_INT(ml__init(), ML_OK);
    server_start();
    TEST_RUN(test_threads_share_one_connection_pool);
    server_stop();
    TEST_RUN(test_memo_resolves_each_key_once);
    TEST_RUN(test_memo_dropped_claim_is_free_again);
    TEST_END();
}
