/* The child's stdin is written into the pipe before the spawn, while this
 * process still holds the read end: no write can ever meet a closed pipe,
 * so SIGPIPE needs no handling and no signal disposition or mask of the
 * process is touched. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc.h"

extern char **environ;

/* Longest poll while the child runs: its exit is checked between polls. */
#define POLL_MAX_MS 100
/* Pause while waiting for a child whose streams are closed to exit. */
#define EXIT_POLL_MS 5

static int oom(ml_error **err) { return ml__error_set(err, ML_ENOMEM, "out of memory"); }

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

/* ---- pipes --------------------------------------------------------------- */

typedef struct pipes {
    int in[2], out[2], err[2];
} pipes;

static void pipes_close(pipes *p)
{
    for (int i = 0; i < 2; i++) {
        close_fd(&p->in[i]);
        close_fd(&p->out[i]);
        close_fd(&p->err[i]);
    }
}

/* A pipe whose ends are close-on-exec and above the standard descriptors,
 * so the child's dup2 onto 0, 1 and 2 never meets one of them. */
static int make_pipe(int fds[2])
{
    int raw[2];
    if (pipe(raw) != 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        fds[i] = fcntl(raw[i], F_DUPFD_CLOEXEC, 3);
        close(raw[i]);
    }
    if (fds[0] < 0 || fds[1] < 0) {
        close_fd(&fds[0]);
        close_fd(&fds[1]);
        return -1;
    }
    return 0;
}

static int pipes_open(pipes *p, ml_error **err)
{
    *p = (pipes){{-1, -1}, {-1, -1}, {-1, -1}};
    if (make_pipe(p->in) == 0 && make_pipe(p->out) == 0 && make_pipe(p->err) == 0)
        return ML_OK;
    int rc = ml__error_set(err, ML_EIO, "pipe: %s", ml__strerror(errno).text);
    pipes_close(p);
    return rc;
}

/* Written whole into the empty pipe (see the top), then closed: the
 * child reads its input and an end of file. */
static int feed_input(pipes *p, const char *input, size_t len, ml_error **err)
{
    int fl = fcntl(p->in[1], F_GETFL);
    ssize_t w = len ? -1 : 0;
    if (len && fl >= 0 && fcntl(p->in[1], F_SETFL, fl | O_NONBLOCK) == 0) {
        do
            w = write(p->in[1], input, len);
        while (w < 0 && errno == EINTR);
    }
    close_fd(&p->in[1]);
    if (w < 0 || (size_t)w != len)
        return ml__error_set(err, ML_EIO, "cannot write its input");
    return ML_OK;
}

/* ---- spawning ------------------------------------------------------------ */

static int set_actions(posix_spawn_file_actions_t *fa, const pipes *p)
{
    int rc = posix_spawn_file_actions_adddup2(fa, p->in[0], 0);
    if (rc == 0)
        rc = posix_spawn_file_actions_adddup2(fa, p->out[1], 1);
    if (rc == 0)
        rc = posix_spawn_file_actions_adddup2(fa, p->err[1], 2);
    return rc;
}

/* Default signal handling and an empty mask, whatever this process (say,
 * one ignoring SIGPIPE) uses; its own process group, so that giving up on
 * it kills what it started too. */
static int set_attrs(posix_spawnattr_t *attr)
{
    static const int sigs[] = {SIGPIPE, SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGCHLD, SIGALRM};
    sigset_t empty, defaults;
    sigemptyset(&empty);
    sigemptyset(&defaults);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaddset(&defaults, sigs[i]);
    int rc = posix_spawnattr_setsigmask(attr, &empty);
    if (rc == 0)
        rc = posix_spawnattr_setsigdefault(attr, &defaults);
    if (rc == 0)
        rc = posix_spawnattr_setpgroup(attr, 0);
    if (rc == 0)
        rc = posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
    return rc;
}

/* Starts the child and closes its ends of the pipes. */
static int spawn(const ml__proc_spec *spec, pipes *p, pid_t *pid, ml_error **err)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    bool fa_ok = posix_spawn_file_actions_init(&fa) == 0;
    bool attr_ok = fa_ok && posix_spawnattr_init(&attr) == 0;
    int rc = fa_ok && attr_ok ? 0 : ENOMEM;
    if (rc == 0 && (rc = set_actions(&fa, p)) == 0 && (rc = set_attrs(&attr)) == 0)
        rc = posix_spawnp(pid, spec->argv[0], &fa, &attr, (char *const *)spec->argv, environ);
    if (attr_ok)
        posix_spawnattr_destroy(&attr);
    if (fa_ok)
        posix_spawn_file_actions_destroy(&fa);
    close_fd(&p->in[0]);
    close_fd(&p->out[1]);
    close_fd(&p->err[1]);
    if (rc == ENOMEM)
        return oom(err);
    if (rc == ENOENT)
        return ml__error_set(err, ML_ENOTFOUND, "%s not found in PATH", spec->argv[0]);
    return rc ? ml__error_set(err, ML_EIO, "cannot run: %s", ml__strerror(rc).text) : ML_OK;
}

/* ---- watching ------------------------------------------------------------ */

/* Whether the child has exited, leaving it unreaped: while it is a zombie
 * its pid stays its process group's, so a group kill cannot meet a reused
 * pid. True too when it was reaped elsewhere (SIGCHLD ignored). */
static bool has_exited(pid_t pid)
{
    siginfo_t si;
    for (;;) {
        si.si_pid = 0;
        if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0)
            return si.si_pid == pid;
        if (errno != EINTR)
            return true;
    }
}

/* Blocking reap of our own child; false when it was reaped elsewhere. */
static bool reap(pid_t pid, int *status)
{
    for (;;) {
        pid_t r = waitpid(pid, status, 0);
        if (r == pid)
            return true;
        if (r < 0 && errno == EINTR)
            continue;
        return false;
    }
}

typedef struct watch {
    pid_t pid;
    int fds[2]; /* stdout, stderr; -1 once ended */
    ml__buf *bufs[2];
    size_t max;
    int64_t deadline;
    bool exited;
    ml__proc_end end; /* ML__PROC_EXITED until given up on */
} watch;

static int64_t time_left(const watch *w) { return w->deadline - (int64_t)ml__now_ms(); }

/* Reads what stream i holds; gives up on a stream past the limit. */
static void read_stream(watch *w, int i)
{
    char chunk[4096];
    ssize_t got = read(w->fds[i], chunk, sizeof(chunk));
    if (got > 0 && w->bufs[i]->len + (size_t)got > w->max)
        w->end = ML__PROC_TOO_BIG;
    else if (got > 0)
        ml__buf_append(w->bufs[i], chunk, (size_t)got);
    else if (got == 0 || (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK))
        close_fd(&w->fds[i]);
    ml__wipe(chunk, got > 0 ? (size_t)got : 0); /* may hold a secret */
}

/* One poll of the open streams; false once there is nothing more to wait
 * for (a child that exited while a grandchild keeps a stream open is only
 * drained of what is there). */
static bool poll_streams(watch *w, int64_t left, ml_error **err, int *rc)
{
    struct pollfd pfd[2];
    int map[2], n = 0;
    for (int i = 0; i < 2; i++)
        if (w->fds[i] >= 0) {
            pfd[n] = (struct pollfd){.fd = w->fds[i], .events = POLLIN};
            map[n++] = i;
        }
    int ready = poll(pfd, (nfds_t)n, w->exited ? 0 : (int)(left < POLL_MAX_MS ? left : POLL_MAX_MS));
    if (ready < 0 && errno != EINTR)
        *rc = ml__error_set(err, ML_EIO, "poll: %s", ml__strerror(errno).text);
    if (ready == 0 && !w->exited)
        w->exited = has_exited(w->pid);
    else if (ready == 0)
        return false;
    for (int k = 0; ready > 0 && k < n && w->end == ML__PROC_EXITED; k++)
        if (pfd[k].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL))
            read_stream(w, map[k]);
    return *rc == ML_OK && w->end == ML__PROC_EXITED;
}

/* Until both streams end, the deadline passes or the output is too big. */
static int collect(watch *w, ml_error **err)
{
    int rc = ML_OK;
    for (int i = 0; i < 2; i++) {
        int f = fcntl(w->fds[i], F_GETFL);
        if (f >= 0)
            fcntl(w->fds[i], F_SETFL, f | O_NONBLOCK);
    }
    while (w->fds[0] >= 0 || w->fds[1] >= 0) {
        int64_t left = time_left(w);
        if (left <= 0)
            w->end = ML__PROC_TIMED_OUT;
        if (left <= 0 || !poll_streams(w, left, err, &rc))
            break;
    }
    close_fd(&w->fds[0]);
    close_fd(&w->fds[1]);
    return rc;
}

/* Streams closed: the child gets the rest of the time to exit. */
static void await_exit(watch *w)
{
    while (!w->exited && w->end == ML__PROC_EXITED) {
        w->exited = has_exited(w->pid);
        if (!w->exited && time_left(w) <= 0)
            w->end = ML__PROC_TIMED_OUT;
        else if (!w->exited)
            ml__sleep_ms(EXIT_POLL_MS);
    }
}

static void set_end(ml__proc_result *res, bool known, int status)
{
    if (!known) {
        res->end = ML__PROC_UNKNOWN;
    } else if (WIFSIGNALED(status)) {
        res->end = ML__PROC_SIGNALED;
        res->code = WTERMSIG(status);
    } else {
        res->end = ML__PROC_EXITED;
        res->code = WEXITSTATUS(status);
    }
}

int ml__proc_run(const ml__proc_spec *spec, ml__proc_result *res, ml_error **err)
{
    *res = (ml__proc_result){0};
    pipes p;
    int rc = pipes_open(&p, err);
    if (rc == ML_OK)
        rc = feed_input(&p, spec->input, spec->input_len, err);
    watch w = {.fds = {p.out[0], p.err[0]}, .bufs = {&res->out, &res->err}, .max = spec->output_max};
    if (rc == ML_OK)
        rc = spawn(spec, &p, &w.pid, err);
    if (rc != ML_OK) {
        pipes_close(&p);
        return rc;
    }
    w.deadline = (int64_t)ml__now_ms() + (spec->timeout_ms > 0 ? spec->timeout_ms : 0);
    rc = collect(&w, err);
    if (rc == ML_OK)
        await_exit(&w);
    /* Given up on: with whatever it started, which may hold the pipes
     * (the child itself too, should it have left its group). */
    if (rc != ML_OK || w.end != ML__PROC_EXITED) {
        kill(-w.pid, SIGKILL);
        kill(w.pid, SIGKILL);
    }
    int status = 0;
    bool known = reap(w.pid, &status);
    if (w.end == ML__PROC_EXITED)
        set_end(res, known, status);
    else
        res->end = w.end;
    if (rc == ML_OK && (res->out.oom || res->err.oom))
        rc = oom(err);
    return rc;
}

void ml__proc_result_clear(ml__proc_result *res)
{
    ml__wipe(res->out.data, res->out.len);
    ml__buf_free(&res->out);
    ml__buf_free(&res->err);
}
