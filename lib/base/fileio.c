#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "util.h"

#define TEMP_PREFIX ".mlist-tmp-"
/* Random characters after a temporary name's prefix, and tries before a
 * run of taken names is given up (mkstemp's TMP_MAX is far larger, but
 * 36^12 names make a second collision all but impossible). */
#define SUFFIX_LEN 12
#define NAME_TRIES 100
/* Polling a held lock: first and longest pause. */
#define LOCK_POLL_MIN_MS 5
#define LOCK_POLL_MAX_MS 100

static int oom(ml_error **err) { return ml__error_set(err, ML_ENOMEM, "out of memory"); }

static int io_error(ml_error **err, const char *what, int errnum)
{
    return ml__error_set(err, ML_EIO, "%s: %s", what, ml__strerror(errnum).text);
}

/* A temporary file's name means nothing to the user: the directory does. */
static int temp_error(ml_error **err, const char *verb, const char *dir, int errnum)
{
    return ml__error_set(err, ML_EIO, "cannot %s a temporary file in %s: %s", verb, dir, ml__strerror(errnum).text);
}

/* ---- unique names -------------------------------------------------------- */

/* splitmix64: distinct seeds give distinct sequences. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Creates prefix + a random suffix, exclusively: a directory (fd NULL) or
 * a file opened for reading and writing. mkstemp and mkdtemp would force
 * 0600 and 0700 where a layout must get the modes the umask gives. The
 * seed mixes time, process and stack address (threads differ); a name
 * taken (a concurrent writer, a killed run's leftover) draws another.
 * 0 or an errno. */
static int create_unique(const char *prefix, char **path, int *fd)
{
    static const char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    struct timespec ts = {0};
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t state = ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) ^ ((uint64_t)getpid() << 32) ^
                     (uint64_t)(uintptr_t)&ts;
    size_t n = strlen(prefix);
    char *p = malloc(n + SUFFIX_LEN + 1);
    if (!p)
        return ENOMEM;
    memcpy(p, prefix, n);
    p[n + SUFFIX_LEN] = '\0';
    int errnum = EEXIST;
    for (int attempt = 0; attempt < NAME_TRIES && errnum == EEXIST; attempt++) {
        uint64_t r = next_random(&state);
        for (size_t i = 0; i < SUFFIX_LEN; i++, r /= 36)
            p[n + i] = alphabet[r % 36];
        int made = fd ? (*fd = open(p, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666)) : mkdir(p, 0777);
        errnum = made < 0 ? errno : 0;
    }
    if (errnum != 0) {
        free(p);
        return errnum;
    }
    *path = p;
    return 0;
}

int ml__fileio_mkdir_unique(const char *prefix, char **path) { return create_unique(prefix, path, NULL); }

/* ---- temporary files ----------------------------------------------------- */

int ml__tempfile_open(ml__tempfile *t, const char *dir, ml_error **err)
{
    *t = (ml__tempfile){0};
    char *prefix = ml__asprintf("%s/" TEMP_PREFIX, dir);
    int fd = -1;
    int errnum = prefix && (t->dir = ml__strdup(dir)) ? create_unique(prefix, &t->path, &fd) : ENOMEM;
    free(prefix);
    int rc = ML_OK;
    if (errnum)
        rc = errnum == ENOMEM ? oom(err) : temp_error(err, "create", dir, errnum);
    else if (!(t->file = fdopen(fd, "w+b"))) {
        rc = temp_error(err, "open", dir, errno);
        close(fd);
    }
    if (rc != ML_OK)
        ml__tempfile_discard(t);
    return rc;
}

int ml__tempfile_write(ml__tempfile *t, const void *data, size_t len, ml_error **err)
{
    if (len && fwrite(data, 1, len, t->file) != len)
        return temp_error(err, "write", t->dir, errno);
    return ML_OK;
}

int ml__tempfile_sync(ml__tempfile *t, ml_error **err)
{
    if (fflush(t->file) != 0 || (!t->unsynced && fsync(fileno(t->file)) != 0))
        return temp_error(err, "write", t->dir, errno);
    return ML_OK;
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? ml__strndup(path, slash == path ? 1 : (size_t)(slash - path)) : ml__strdup(".");
}

/* Closing can report a failed write the kernel deferred (NFS). */
static int close_synced(ml__tempfile *t, ml_error **err)
{
    int rc = ml__tempfile_sync(t, err);
    int closed = fclose(t->file);
    t->file = NULL;
    if (closed != 0 && rc == ML_OK)
        rc = temp_error(err, "write", t->dir, errno);
    return rc;
}

int ml__tempfile_commit(ml__tempfile *t, const char *dst, bool replace, ml_error **err)
{
    if (!t->path || !t->file)
        return ml__error_set(err, ML_EINVAL, "no temporary file being written");
    bool sync_dir = !t->unsynced;
    int rc = close_synced(t, err);
    if (rc == ML_OK && replace && rename(t->path, dst) == 0) {
        free(t->path); /* it is dst now */
        t->path = NULL;
    } else if (rc == ML_OK && (replace || (link(t->path, dst) != 0 && errno != EEXIST))) {
        rc = io_error(err, dst, errno);
    }
    ml__tempfile_discard(t);
    char *dir = rc == ML_OK ? dir_of(dst) : NULL;
    if (rc == ML_OK && sync_dir)
        rc = dir ? ml__fileio_sync_dir(dir, err) : oom(err);
    free(dir);
    return rc;
}

void ml__tempfile_discard(ml__tempfile *t)
{
    free(t->dir);
    if (t->file)
        fclose(t->file);
    if (t->path)
        unlink(t->path);
    free(t->path);
    *t = (ml__tempfile){0};
}

int ml__fileio_install(const char *dir, const char *name, const void *data, size_t len, unsigned flags,
                       ml_error **err)
{
    ml__tempfile t = {0};
    char *dst = ml__asprintf("%s/%s", dir, name);
    int rc = dst ? ml__tempfile_open(&t, dir, err) : oom(err);
    t.unsynced = flags & ML__INSTALL_UNSYNCED;
    if (rc == ML_OK && (rc = ml__tempfile_write(&t, data, len, err)) == ML_OK)
        rc = ml__tempfile_commit(&t, dst, flags & ML__INSTALL_REPLACE, err);
    ml__tempfile_discard(&t);
    free(dst);
    return rc;
}

int ml__fileio_sync_dir(const char *path, ml_error **err)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return io_error(err, path, errno);
    int rc = fsync(fd) == 0 || errno == EINVAL ? ML_OK : io_error(err, path, errno);
    close(fd);
    return rc;
}

/* ---- lock ---------------------------------------------------------------- */

int ml__fileio_lock(const char *path, const char *what, uint32_t wait_ms, int *fd, ml_error **err)
{
    int rc = ml__open_regular(path, fd, err);
    uint64_t deadline = ml__now_ms() + wait_ms;
    uint32_t pause = LOCK_POLL_MIN_MS;
    while (rc == ML_OK && flock(*fd, LOCK_EX | LOCK_NB) != 0) {
        int errnum = errno;
        uint64_t now = ml__now_ms();
        if (errnum == EINTR)
            continue;
        if (errnum != EWOULDBLOCK)
            rc = io_error(err, path, errnum);
        else if (now >= deadline)
            rc = ml__error_set(err, ML_EIO, "another process holds the lock of %s (waited %g s)", what,
                               wait_ms / 1000.0);
        else
            ml__sleep_ms(deadline - now < pause ? (uint32_t)(deadline - now) : pause);
        pause = pause * 2 < LOCK_POLL_MAX_MS ? pause * 2 : LOCK_POLL_MAX_MS;
    }
    if (rc != ML_OK && *fd >= 0) {
        close(*fd);
        *fd = -1;
    }
    return rc;
}

/* ---- reading regular files ----------------------------------------------- */

static const char *kind_of(mode_t mode)
{
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISCHR(mode) || S_ISBLK(mode))
        return "a device";
    if (S_ISSOCK(mode))
        return "a socket";
    return "a special file";
}

int ml__require_regular(const char *path, mode_t mode, ml_error **err)
{
    if (S_ISREG(mode))
        return ML_OK;
    return ml__error_set(err, ML_EIO, "%s is %s, not a regular file", path, kind_of(mode));
}

int ml__open_regular(const char *path, int *fd, ml_error **err)
{
    *fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (*fd < 0)
        return io_error(err, path, errno);
    struct stat st;
    int flags;
    int rc = ML_OK;
    if (fstat(*fd, &st) != 0 || (flags = fcntl(*fd, F_GETFL)) < 0 || fcntl(*fd, F_SETFL, flags & ~O_NONBLOCK) != 0)
        rc = io_error(err, path, errno);
    else
        rc = ml__require_regular(path, st.st_mode, err);
    if (rc != ML_OK) {
        close(*fd);
        *fd = -1;
    }
    return rc;
}

/* Reads f to its end, at most max bytes; closes it. */
static int read_all(FILE *f, const char *path, size_t max, char **out, size_t *len, ml_error **err)
{
    ml__buf b = {0};
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (b.len + n > max) {
            fclose(f);
            ml__buf_free(&b);
            return ml__error_set(err, ML_ETOOBIG, "%s: larger than %zu bytes", path, max);
        }
        ml__buf_append(&b, chunk, n);
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        ml__buf_free(&b);
        return ml__error_set(err, ML_EIO, "%s: read error", path);
    }
    *len = b.len;
    *out = ml__buf_take(&b);
    return *out ? ML_OK : oom(err);
}

int ml__fopen_regular(const char *path, FILE **out, ml_error **err)
{
    int fd;
    int rc = ml__open_regular(path, &fd, err);
    if (rc == ML_OK && !(*out = fdopen(fd, "rb"))) {
        rc = io_error(err, path, errno);
        close(fd);
    }
    return rc;
}

int ml__read_file(const char *path, size_t max, char **out, size_t *len, ml_error **err)
{
    FILE *f = NULL;
    int rc = ml__fopen_regular(path, &f, err);
    return rc == ML_OK ? read_all(f, path, max, out, len, err) : rc;
}

int ml__read_input(const char *path, size_t max, char **out, size_t *len, ml_error **err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return io_error(err, path, errno);
    return read_all(f, path, max, out, len, err);
}

#define COPY_CHUNK (64u * 1024)

int ml__fileio_copy(FILE *from, FILE *to, size_t *len, ml_error **err)
{
    char buf[COPY_CHUNK];
    size_t n;
    *len = 0;
    while ((n = fread(buf, 1, sizeof(buf), from)) > 0) {
        if (fwrite(buf, 1, n, to) != n)
            return ml__error_set(err, ML_EIO, "cannot write blob: %s", ml__strerror(errno).text);
        *len += n;
    }
    return ferror(from) ? ml__error_set(err, ML_EIO, "cannot read blob: %s", ml__strerror(errno).text) : ML_OK;
}
