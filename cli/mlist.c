/* mlist: a thin command line over libmanifestlist. Parses arguments, calls
 * one library function per job, prints results (stdout) and diagnostics
 * (stderr), maps error codes to exit codes. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "manifestlist.h"

#include "cli.h"

enum { EXIT_DONE = 0, EXIT_FAILED = 1, EXIT_INPUT = 2, EXIT_REFUSED = 3 };

/* ---- progress ----------------------------------------------------------- */

/* One status line on a terminal, rewritten in place and erased at exit;
 * nothing at all when stderr is a file or a pipe. */
static pthread_mutex_t progress_lock = PTHREAD_MUTEX_INITIALIZER;
static bool progress_shown;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void show_progress(const char *step, uint64_t done, uint64_t total, void *payload)
{
    static const char *last_step;
    static long long last_ms;
    (void)payload;
    pthread_mutex_lock(&progress_lock);
    /* Byte counts arrive per chunk: redraw at most 10 times a second. */
    long long now = now_ms();
    if (step == last_step && done < total && now - last_ms < 100) {
        pthread_mutex_unlock(&progress_lock);
        return;
    }
    last_step = step;
    last_ms = now;
    fprintf(stderr, "\r\033[Kmlist: %s %llu/%llu", step, (unsigned long long)done, (unsigned long long)total);
    progress_shown = true;
    pthread_mutex_unlock(&progress_lock);
}

void cli_clear_progress(void)
{
    pthread_mutex_lock(&progress_lock);
    if (progress_shown)
        fputs("\r\033[K", stderr);
    progress_shown = false;
    pthread_mutex_unlock(&progress_lock);
}

/* ---- diagnostics -------------------------------------------------------- */

/* Text that did not come from mlist (registry answers, specs, arguments)
 * may carry line breaks and terminal escapes: every C0 and C1 control (C1
 * as UTF-8: 0xc2 0x80-0x9f), newline included, is printed as '?', so one
 * message is one line. Written in one call: stderr is unbuffered. */
static void put_line(FILE *f, const char *prefix, const char *text)
{
    size_t k = strlen(prefix);
    char *out = malloc(k + strlen(text) + 2);
    if (!out)
        return;
    memcpy(out, prefix, k);
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
            out[k++] = '?';
            p++;
        } else {
            out[k++] = (char)(*p < 0x20 || *p == 0x7f ? '?' : *p);
        }
    }
    out[k++] = '\n';
    fwrite(out, 1, k, f);
    free(out);
}

static void vput_line(FILE *f, const char *prefix, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));
static void vput_line(FILE *f, const char *prefix, const char *fmt, va_list ap)
{
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    if (m) {
        vfprintf(m, fmt, ap);
        fclose(m);
    }
    put_line(f, prefix, text ? text : "");
    free(text);
}

void cli_print_line(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vput_line(stdout, "", fmt, ap);
    va_end(ap);
}

void cli_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void vnote(const char *prefix, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void vnote(const char *prefix, const char *fmt, va_list ap)
{
    cli_clear_progress();
    vput_line(stderr, prefix, fmt, ap);
}

void cli_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vnote("mlist: warning: ", fmt, ap);
    va_end(ap);
}

void cli_note(const cli_opts *o, const char *fmt, ...)
{
    if (o->quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    vnote("", fmt, ap);
    va_end(ap);
}

static int exit_code_for(int code)
{
    switch (code) {
    case ML_OK: return EXIT_DONE;
    case ML_ESPEC:
    case ML_EREF:
    case ML_EPLATFORM:
    case ML_EINVAL:
    case ML_ETYPE:
    case ML_EDUPLICATE: return EXIT_INPUT;
    case ML_EEXISTS:
    case ML_ENOTLIST:
    case ML_ECONFLICT: return EXIT_REFUSED;
    default: return EXIT_FAILED;
    }
}

/* The library's hints (what the caller could do) in this CLI's flags. */
static void put_advice(FILE *f, uint32_t hints)
{
    if (hints & ML_HINT_UPDATE)
        fputs("; use update, or create --force to replace it", f);
    else if (hints & ML_HINT_FORCE)
        fputs("; run again, or use --force to overwrite", f);
    if (hints & ML_HINT_ALLOW_DUPLICATES)
        fputs(" (use --allow-duplicates to keep both)", f);
    if (hints & ML_HINT_TYPE_OCI)
        fputs(hints & ML_HINT_NO_ATTESTATIONS ? " (use --type oci or --no-attestations)" : " (use --type oci)", f);
    if (hints & ML_HINT_TRUST_CA)
        fputs("; pass --ca-cert FILE with the registry's CA, or --insecure to skip verification", f);
    if (hints & ML_HINT_CREDENTIALS)
        fputs(" (use --username and --password, docker login, or --authfile)", f);
}

int cli_fail(int code, ml_error *err)
{
    cli_clear_progress();
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f) {
        fputs(err ? ml_error_message(err) : ml_strerror(code), f);
        put_advice(f, ml_error_hints(err));
        fclose(f);
    }
    put_line(stderr, "mlist: error: ", text ? text : ml_strerror(code));
    free(text);
    ml_error_free(err);
    return exit_code_for(code);
}

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vnote("mlist: ", fmt, ap);
    va_end(ap);
    fputs("Run 'mlist --help' for usage.\n", stderr);
    return EXIT_INPUT;
}

static void log_to_stderr(int level, const char *message, void *payload)
{
    const cli_opts *o = payload;
    if (level == ML_LOG_DEBUG && !o->debug)
        return;
    if (level == ML_LOG_INFO && (o->quiet || !o->debug))
        return;
    if (level == ML_LOG_WARN) {
        if (!o->quiet)
            cli_warn("%s", message);
        return;
    }
    put_line(stderr, "mlist: ", message);
}

/* ---- client ------------------------------------------------------------- */

/* $XDG_CACHE_HOME/mlist, else ~/.cache/mlist (the XDG base directory
 * default); NULL without either or with --no-cache. */
static char *cache_dir(const cli_opts *o)
{
    if (o->no_cache)
        return NULL;
    if (o->cache_dir)
        return strdup(o->cache_dir);
    /* XDG: a relative $XDG_CACHE_HOME is to be ignored. */
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    bool use_xdg = xdg && xdg[0] == '/';
    const char *base = use_xdg ? xdg : home && home[0] ? home : NULL;
    const char *sub = use_xdg ? "/mlist" : "/.cache/mlist";
    if (!base)
        return NULL;
    size_t n = strlen(base) + strlen(sub) + 1;
    char *dir = malloc(n);
    if (dir)
        snprintf(dir, n, "%s%s", base, sub);
    return dir;
}

int cli_client(cli_opts *o, ml_client **out)
{
    ml_client_options co;
    ml_client_options_init(&co, ML_CLIENT_OPTIONS_VERSION);
    /* One mlist command is one run: a child named by several lists is asked for once. */
    co.flags = (o->insecure ? ML_CLIENT_INSECURE : 0) | (o->plain_http ? ML_CLIENT_PLAIN_HTTP : 0) |
               ML_CLIENT_RESOLVE_ONCE;
    co.concurrency = o->concurrency;
    co.retries = o->retries_set ? (o->retries ? o->retries : UINT32_MAX) : 0;
    co.timeout_ms = o->timeout_s * 1000u;
    co.ca_cert = o->ca_cert;
    co.username = o->username;
    co.password = o->password;
    co.docker_config_dir = o->docker_cfg;
    co.auth_file = o->authfile;
    char *cache = cache_dir(o);
    co.cache_dir = cache;
    co.log = log_to_stderr;
    co.log_payload = o;
    if (!o->quiet && !o->debug && !o->json && isatty(STDERR_FILENO)) {
        co.progress = show_progress;
        atexit(cli_clear_progress);
    }
    if (o->insecure && !o->quiet)
        cli_warn("--insecure: TLS certificates are not verified");
    ml_error *err = NULL;
    int rc = ml_client_new(out, &co, &err);
    free(cache);
    return rc == ML_OK ? EXIT_DONE : cli_fail(rc, err);
}

/* ---- main --------------------------------------------------------------- */

static int run_command(cli_opts *o)
{
    const char *cmd = o->command;
    if (strcmp(cmd, "create") == 0)
        return cmd_push_spec(o, true);
    if (strcmp(cmd, "update") == 0)
        return cmd_update(o);
    if (strcmp(cmd, "push") == 0)
        return cmd_push(o);
    if (strcmp(cmd, "validate") == 0)
        return cmd_validate(o);
    if (strcmp(cmd, "inspect") == 0)
        return cmd_inspect(o);
    if (strcmp(cmd, "delete") == 0)
        return cmd_delete(o);
    if (strcmp(cmd, "verify") == 0)
        return cmd_verify(o);
    return cli_usage_error("unknown command '%s'", cmd);
}

int main(int argc, char **argv)
{
    cli_opts o;
    int rc = cli_parse(&o, argc, argv);
    if (rc >= 0) {
        cli_opts_free(&o);
        return rc;
    }
    rc = run_command(&o);
    cli_opts_free(&o);
    return rc;
}
