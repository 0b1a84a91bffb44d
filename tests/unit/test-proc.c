/* Child processes (lib/base/proc.c): how they end, bounds, process groups. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "proc.h"
#include "test.h"

static char tmp[] = "/tmp/mlist-proc-XXXXXX";
static char *pidfile;

/* Runs `sh -c script sh PIDFILE`. */
static int run_sh(const char *script, const char *input, int timeout_ms, size_t max, ml__proc_result *res,
                  ml_error **err)
{
    const char *argv[] = {"sh", "-c", script, "sh", pidfile, NULL};
    ml__proc_spec spec = {.argv = argv, .input = input, .input_len = input ? strlen(input) : 0,
                          .timeout_ms = timeout_ms, .output_max = max};
    return ml__proc_run(&spec, res, err);
}

/* The state letter of /proc/PID/stat, '-' once there is none. */
static char proc_state(pid_t pid)
{
    char *path = ml__asprintf("/proc/%ld/stat", (long)pid), *text = NULL;
    size_t len = 0;
    char state = '-';
    if (ml__read_file(path, 4096, &text, &len, NULL) == ML_OK && strrchr(text, ')'))
        state = strrchr(text, ')')[2];
    free(text);
    free(path);
    return state;
}

/* The background process the script left in PIDFILE is dead (gone, or a
 * zombie its new parent has yet to reap) within two seconds. */
static void check_background_killed(void)
{
    char *text = NULL;
    size_t len = 0;
    long pid = 0;
    CHECK(ml__read_file(pidfile, 64, &text, &len, NULL) == ML_OK && (pid = strtol(text, NULL, 10)) > 1);
    char state = 'R';
    for (int i = 0; pid > 1 && i < 100 && state != '-' && state != 'Z'; i++) {
        ml__sleep_ms(20);
        state = proc_state((pid_t)pid);
    }
    CHECK(state == '-' || state == 'Z');
    if (pid > 1)
        kill((pid_t)pid, SIGKILL); /* whatever the outcome, nothing stays */
    unlink(pidfile);
    free(text);
}

static void test_exit_status_and_streams(void)
{
    ml__proc_result res;
    CHECK_INT(run_sh("cat; echo oops >&2; exit 3", "hello", 10000, 1024, &res, NULL), ML_OK);
    CHECK_INT(res.end, ML__PROC_EXITED);
    CHECK_INT(res.code, 3);
    CHECK_STR(res.out.data, "hello");
    CHECK_STR(res.err.data, "oops\n");
    ml__proc_result_clear(&res);

    CHECK_INT(run_sh("exit 0", NULL, 10000, 1024, &res, NULL), ML_OK);
    CHECK_INT(res.end, ML__PROC_EXITED);
    CHECK_INT(res.code, 0);
    CHECK_INT(res.out.len, 0);
    ml__proc_result_clear(&res);
}

static void test_signal_reported(void)
{
    ml__proc_result res;
    CHECK_INT(run_sh("kill -TERM $$; sleep 5", NULL, 10000, 1024, &res, NULL), ML_OK);
    CHECK_INT(res.end, ML__PROC_SIGNALED);
    CHECK_INT(res.code, SIGTERM);
    ml__proc_result_clear(&res);
}

/* A signal this process ignores is not ignored by the child: a shell
 * cannot undo an ignored SIGINT it inherits, so it would exit 7. */
static void test_signals_reset(void)
{
    struct sigaction ign = {.sa_handler = SIG_IGN}, old;
    sigaction(SIGINT, &ign, &old);
    ml__proc_result res;
    CHECK_INT(run_sh("kill -INT $$; exit 7", NULL, 10000, 1024, &res, NULL), ML_OK);
    CHECK_INT(res.end, ML__PROC_SIGNALED);
    CHECK_INT(res.code, SIGINT);
    ml__proc_result_clear(&res);
    sigaction(SIGINT, &old, NULL);
}

static void test_not_found(void)
{
    const char *argv[] = {"mlist-no-such-program", NULL};
    ml__proc_spec spec = {.argv = argv, .timeout_ms = 1000, .output_max = 10};
    ml__proc_result res;
    ml_error *err = NULL;
    int rc = ml__proc_run(&spec, &res, &err);
    /* A posix_spawnp built on fork (valgrind makes glibc's one) reports a
     * failed exec as exit status 127. */
    if (rc == ML_OK)
        CHECK(res.end == ML__PROC_EXITED && res.code == 127);
    else
        CHECK_STR(ml_error_message(err), "mlist-no-such-program not found in PATH");
    CHECK(rc == ML_OK || rc == ML_ENOTFOUND);
    ml__proc_result_clear(&res);
    ml_error_free(err);
}

/* Runs a script that starts a background process and is given up on:
 * both end killed, before the limit `within`; the seconds it took. */
static double run_given_up(const char *script, int timeout_ms, ml__proc_end want, double within)
{
    ml__proc_result res;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    CHECK_INT(run_sh(script, NULL, timeout_ms, 1000, &res, NULL), ML_OK);
    double took = test_seconds_since(&start);
    CHECK(took < within);
    CHECK_INT(res.end, want);
    CHECK(res.out.len <= 1000);
    ml__proc_result_clear(&res);
    check_background_killed();
    return took;
}

/* Past the output limit. */
static void test_output_limit(void)
{
    run_given_up("sleep 300 & echo $! > \"$1\"; exec yes", 10000, ML__PROC_TOO_BIG, 5.0);
}

/* At the deadline; also when its streams are closed but it still runs. */
static void test_deadline(void)
{
    CHECK(run_given_up("sleep 300 & echo $! > \"$1\"; exec sleep 300", 300, ML__PROC_TIMED_OUT, 5.0) >= 0.29);
    CHECK(run_given_up("exec >&- 2>&-; sleep 300 & echo $! > \"$1\"; exec sleep 300", 300, ML__PROC_TIMED_OUT,
                       5.0) >= 0.29);
}

/* A child that exits while a background process keeps its stdout open
 * is not waited for. */
static void test_exited_child_not_held(void)
{
    ml__proc_result res;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    CHECK_INT(run_sh("sleep 30 & echo $! > \"$1\"; echo done", NULL, 10000, 1000, &res, NULL), ML_OK);
    CHECK(test_seconds_since(&start) < 5.0);
    CHECK_INT(res.end, ML__PROC_EXITED);
    CHECK_INT(res.code, 0);
    CHECK_STR(res.out.data, "done\n");
    ml__proc_result_clear(&res);
    char *text = NULL;
    size_t len = 0;
    if (ml__read_file(pidfile, 64, &text, &len, NULL) == ML_OK && strtol(text, NULL, 10) > 1)
        kill((pid_t)strtol(text, NULL, 10), SIGKILL);
    unlink(pidfile);
    free(text);
}

int main(void)
{
    if (!mkdtemp(tmp) || !(pidfile = ml__asprintf("%s/pid", tmp)))
        return 1;
    TEST_RUN(test_exit_status_and_streams);
    TEST_RUN(test_signal_reported);
    TEST_RUN(test_signals_reset);
    TEST_RUN(test_not_found);
    TEST_RUN(test_output_limit);
    TEST_RUN(test_deadline);
    TEST_RUN(test_exited_child_not_held);
    rmdir(tmp);
    free(pidfile);
    TEST_END();
}
