/* Durable files (lib/base/fileio.c): temporaries, the lock, regular files. */
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fileio.h"
#include "test.h"
#include "util.h"

static char tmp[] = "/tmp/mlist-fileio-XXXXXX";

static char *in_tmp(const char *name) { return ml__asprintf("%s/%s", tmp, name); }

/* Entries of tmp, "." and ".." left out. */
static size_t entries(void)
{
    DIR *d = opendir(tmp);
    size_t n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    if (d)
        closedir(d);
    return n;
}

/* Empties tmp (files and empty directories). */
static void clear_tmp(void)
{
    DIR *d = opendir(tmp);
    for (struct dirent *e; d && (e = readdir(d));) {
        char *p = in_tmp(e->d_name);
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 && unlink(p) != 0)
            rmdir(p);
        free(p);
    }
    if (d)
        closedir(d);
}

static char *read_text(const char *name)
{
    char *path = in_tmp(name), *text = NULL;
    size_t len = 0;
    if (ml__read_file(path, 1024, &text, &len, NULL) != ML_OK)
        text = NULL;
    free(path);
    return text;
}

static void check_text(const char *name, const char *want)
{
    char *text = read_text(name);
    CHECK_STR(text, want);
    free(text);
}

/* Committed over an old file: the new content, the umask's mode, and no
 * temporary left beside it. */
static void test_commit_replaces(void)
{
    CHECK_INT(ml__fileio_install(tmp, "f", "old", 3, ML__INSTALL_REPLACE, NULL), ML_OK);
    ml__tempfile t;
    char *dst = in_tmp("f");
    CHECK_INT(ml__tempfile_open(&t, tmp, NULL), ML_OK);
    CHECK(ml__has_prefix(strrchr(t.path, '/'), "/.mlist-tmp-"));
    CHECK_INT(entries(), 2);
    CHECK_INT(ml__tempfile_write(&t, "new", 3, NULL), ML_OK);
    CHECK_INT(ml__tempfile_commit(&t, dst, true, NULL), ML_OK);
    CHECK(t.path == NULL && t.file == NULL);
    ml__tempfile_discard(&t); /* harmless after a commit */
    check_text("f", "new");
    CHECK_INT(entries(), 1);
    struct stat st;
    CHECK(stat(dst, &st) == 0 && (st.st_mode & 0777) == 0640);
    free(dst);
    clear_tmp();
}

/* Without replace, a file that is there stays; one that is not appears. */
static void test_commit_keeps_existing(void)
{
    CHECK_INT(ml__fileio_install(tmp, "f", "first", 5, 0, NULL), ML_OK);
    CHECK_INT(ml__fileio_install(tmp, "f", "second", 6, 0, NULL), ML_OK);
    check_text("f", "first");
    CHECK_INT(entries(), 1);
    clear_tmp();
}

static void test_discard_and_failed_commit(void)
{
    ml__tempfile t;
    CHECK_INT(ml__tempfile_open(&t, tmp, NULL), ML_OK);
    CHECK_INT(ml__tempfile_write(&t, "x", 1, NULL), ML_OK);
    ml__tempfile_discard(&t);
    ml__tempfile_discard(&t);
    CHECK_INT(entries(), 0);

    /* A destination that cannot be: an error naming it, nothing left. */
    ml_error *err = NULL;
    char *dst = in_tmp("missing/f");
    CHECK_INT(ml__tempfile_open(&t, tmp, NULL), ML_OK);
    CHECK_INT(ml__tempfile_commit(&t, dst, true, &err), ML_EIO);
    CHECK(test_contains(ml_error_message(err), "missing/f"));
    CHECK(t.path == NULL);
    CHECK_INT(entries(), 0);
    ml_error_free(err);
    err = NULL;

    char *nodir = in_tmp("nodir");
    CHECK_INT(ml__tempfile_open(&t, nodir, &err), ML_EIO);
    CHECK(test_contains(ml_error_message(err), "cannot create a temporary file in"));
    CHECK(t.path == NULL && t.file == NULL);
    ml_error_free(err);
    free(nodir);
    free(dst);
}

static void test_mkdir_unique_and_sync(void)
{
    char *prefix = in_tmp("d-"), *a = NULL, *b = NULL;
    CHECK_INT(ml__fileio_mkdir_unique(prefix, &a), 0);
    CHECK_INT(ml__fileio_mkdir_unique(prefix, &b), 0);
    CHECK(a && b && strcmp(a, b) != 0 && ml__has_prefix(a, prefix));
    CHECK_INT(ml__fileio_sync_dir(a, NULL), ML_OK);
    ml_error *err = NULL;
    char *missing = in_tmp("none");
    CHECK_INT(ml__fileio_sync_dir(missing, &err), ML_EIO);
    CHECK(test_contains(ml_error_message(err), "none"));
    ml_error_free(err);
    free(missing);
    free(a);
    free(b);
    free(prefix);
    clear_tmp();
}

static char *lock_file(void)
{
    CHECK_INT(ml__fileio_install(tmp, "lock", "", 0, ML__INSTALL_REPLACE, NULL), ML_OK);
    return in_tmp("lock");
}

/* Waits up to wait_ms for the lock, expecting `want`; the seconds it took. */
static double lock_timed(const char *path, uint32_t wait_ms, int want, int *fd, ml_error **err)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    CHECK_INT(ml__fileio_lock(path, "the thing", wait_ms, fd, err), want);
    return test_seconds_since(&start);
}

/* Another open file description holds it: refused once the wait is over,
 * not before and not much after. */
static void test_lock_deadline(void)
{
    char *path = lock_file();
    int fd = -1, other = -1;
    CHECK_INT(ml__fileio_lock(path, "the thing", 0, &fd, NULL), ML_OK);
    ml_error *err = NULL;
    double waited = lock_timed(path, 300, ML_EIO, &other, &err);
    CHECK(waited >= 0.29 && waited < 2.0);
    CHECK(other == -1);
    CHECK(test_contains(ml_error_message(err), "another process holds the lock of the thing (waited 0.3 s)"));
    ml_error_free(err);
    close(fd);
    CHECK_INT(ml__fileio_lock(path, "the thing", 0, &fd, NULL), ML_OK);
    close(fd);
    free(path);
    clear_tmp();
}

/* A process holding it for a while: the lock is had once it lets go. */
static void test_lock_waits_for_process(void)
{
    char *path = lock_file();
    int ready[2];
    CHECK_INT(pipe(ready), 0);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = -1;
        if (ml__fileio_lock(path, "x", 0, &fd, NULL) == ML_OK && write(ready[1], "1", 1) == 1)
            ml__sleep_ms(300);
        free(path); /* valgrind follows the child too */
        _exit(0);
    }
    char c = 0;
    CHECK(read(ready[0], &c, 1) == 1);
    int fd = -1;
    CHECK_INT(ml__fileio_lock(path, "x", 0, &fd, NULL), ML_EIO);
    CHECK(lock_timed(path, 10000, ML_OK, &fd, NULL) < 5.0);
    if (fd >= 0)
        close(fd);
    waitpid(pid, NULL, 0);
    close(ready[0]);
    close(ready[1]);
    free(path);
    clear_tmp();
}

/* A FIFO would block its reader for good: refused at once. */
static void test_fifo_refused(void)
{
    char *path = in_tmp("fifo");
    CHECK_INT(mkfifo(path, 0600), 0);
    char *text = NULL;
    size_t len = 0;
    ml_error *err = NULL;
    CHECK_INT(ml__read_file(path, 100, &text, &len, &err), ML_EIO);
    CHECK(test_contains(ml_error_message(err), "is a FIFO, not a regular file"));
    ml_error_free(err);
    int fd = 0;
    CHECK_INT(ml__open_regular(path, &fd, NULL), ML_EIO);
    CHECK_INT(fd, -1);
    CHECK_INT(ml__fileio_lock(path, "x", 0, &fd, NULL), ML_EIO);
    CHECK_INT(ml__open_regular(tmp, &fd, NULL), ML_EIO); /* a directory */
    free(path);
    clear_tmp();
}

int main(void)
{
    umask(027);
    if (!mkdtemp(tmp))
        return 1;
    TEST_RUN(test_commit_replaces);
    TEST_RUN(test_commit_keeps_existing);
    TEST_RUN(test_discard_and_failed_commit);
    TEST_RUN(test_mkdir_unique_and_sync);
    TEST_RUN(test_lock_deadline);
    TEST_RUN(test_lock_waits_for_process);
    TEST_RUN(test_fifo_refused);
    rmdir(tmp);
    TEST_END();
}
