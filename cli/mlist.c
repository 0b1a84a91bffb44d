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

/* ---- progress ----------------------------------------------------------- */

/* On a terminal, one status line rewritten in place and erased at exit:
 * the step in progress, or the blob being copied. Elsewhere (a CI log), a
 * line when a blob copy starts and ends, and one at most every 10 s while
 * a long one runs. */
static pthread_mutex_t progress_lock = PTHREAD_MUTEX_INITIALIZER;
static bool progress_shown;

#define REDRAW_MS 100
#define LOG_EVERY_MS 10000

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sizes in IEC units: "512 B", "1.5 KiB", "12.0 MiB". */
static void format_iec(uint64_t n, char *buf, size_t len)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)n;
    size_t u = 0;
    /* Past 1023.95 of a unit, "%.1f" would round up to "1024.0": the next
     * unit says it. */
    while (v >= (u ? 1023.95 : 1024) && u + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, len, "%llu B", (unsigned long long)n);
    else
        snprintf(buf, len, "%.1f %s", v, units[u]);
}

static void show_progress(const char *step, uint64_t done, uint64_t total, void *payload)
{
    static const char *last_step;
    static long long last_ms;
    (void)payload;
    if (strcmp(step, "copy bytes") == 0)
        return; /* the blob's own line (show_blob) says more */
    pthread_mutex_lock(&progress_lock);
    long long now = now_ms();
    if (step == last_step && done < total && now - last_ms < REDRAW_MS) {
        pthread_mutex_unlock(&progress_lock);
        return;
    }
    last_step = step;
    last_ms = now;
    fprintf(stderr, "\r\033[Kmlist: %s %llu/%llu", step, (unsigned long long)done, (unsigned long long)total);
    progress_shown = true;
    pthread_mutex_unlock(&progress_lock);
}

/* "copying IMAGE 45% 12.0 MiB/27.0 MiB 3.1 MiB/s" */
static void show_blob(const ml_progress_event *ev, void *payload)
{
    static long long last_ms;
    (void)payload;
    if (ev->kind == ML_PROGRESS_MOUNTED)
        return;
    pthread_mutex_lock(&progress_lock);
    long long now = now_ms();
    if (ev->kind == ML_PROGRESS_BYTES && now - last_ms < REDRAW_MS) {
        pthread_mutex_unlock(&progress_lock);
        return;
    }
    last_ms = now;
    char done[32], total[32], rate[32];
    format_iec(ev->done, done, sizeof(done));
    format_iec(ev->total, total, sizeof(total));
    format_iec(ev->elapsed_ms ? ev->done * 1000 / ev->elapsed_ms : 0, rate, sizeof(rate));
    unsigned pct = ev->total ? (unsigned)(ev->done * 100 / ev->total) : 0;
    fprintf(stderr, "\r\033[Kmlist: copying %s %u%% %s/%s %s/s", ev->image, pct, done, total, rate);
    progress_shown = true;
    pthread_mutex_unlock(&progress_lock);
}

/* The first 12 hex digits name a blob well enough in a log. */
static void short_digest(const char *digest, char *buf, size_t len)
{
    const char *colon = strchr(digest, ':');
    snprintf(buf, len, "%.*s", (int)((colon ? (size_t)(colon - digest) + 1 : 0) + 12), digest);
}

static void log_blob(const ml_progress_event *ev, void *payload)
{
    static long long last_line_ms;
    (void)payload;
    if (ev->kind == ML_PROGRESS_MOUNTED)
        return;
    pthread_mutex_lock(&progress_lock);
    long long now = now_ms();
    if (ev->kind == ML_PROGRESS_BYTES && now - last_line_ms < LOG_EVERY_MS) {
        pthread_mutex_unlock(&progress_lock);
        return;
    }
    last_line_ms = now;
    char digest[80], total[32];
    short_digest(ev->digest, digest, sizeof(digest));
    format_iec(ev->total, total, sizeof(total));
    double secs = (double)ev->elapsed_ms / 1000;
    double mbs = ev->elapsed_ms ? (double)ev->done / 1000 / (double)ev->elapsed_ms : 0;
    if (ev->kind == ML_PROGRESS_START)
        fprintf(stderr, "mlist: copying blob %s (%s) from %s\n", digest, total, ev->image);
    else if (ev->kind == ML_PROGRESS_DONE)
        fprintf(stderr, "mlist: copied blob %s (%s) in %.1f s, %.1f MB/s\n", digest, total, secs, mbs);
    else
        fprintf(stderr, "mlist: copying blob %s: %u%% of %s after %.0f s, %.1f MB/s\n", digest,
                ev->total ? (unsigned)(ev->done * 100 / ev->total) : 0, total, secs, mbs);
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

/* The formatted text, or NULL out of memory. */
static char *vformat(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
static char *vformat(const char *fmt, va_list ap)
{
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    if (m) {
        vfprintf(m, fmt, ap);
        fclose(m);
    }
    return text;
}

static void vput_line(FILE *f, const char *prefix, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));
static void vput_line(FILE *f, const char *prefix, const char *fmt, va_list ap)
{
    char *text = vformat(fmt, ap);
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
        fputs("; pass --ca-cert FILE with the registry's CA (or put it in"
              " ~/.config/containers/certs.d/HOST:PORT/ca.crt), or --insecure to skip verification",
              f);
    if (hints & ML_HINT_TRUST_PLATFORMS)
        fputs(" (use --trust-platforms if the image config is wrong)", f);
    if (hints & ML_HINT_CREDENTIALS)
        fputs(" (use --username and --password, docker login, or --authfile)", f);
    if (hints & ML_HINT_HTTPS)
        fputs("; leave out --plain-http", f);
    if (hints & ML_HINT_PLAIN_HTTP)
        fputs("; use --plain-http", f);
}

/* ---- errors, also as JSON ------------------------------------------------ */

static bool json_errors;

void cli_set_json(bool on) { json_errors = on; }

const char *cli_code_name(int code)
{
    switch (code) {
    case ML_ENOMEM: return "ML_ENOMEM";
    case ML_EINVAL: return "ML_EINVAL";
    case ML_ESPEC: return "ML_ESPEC";
    case ML_EREF: return "ML_EREF";
    case ML_EPLATFORM: return "ML_EPLATFORM";
    case ML_EMANIFEST: return "ML_EMANIFEST";
    case ML_EDIGEST: return "ML_EDIGEST";
    case ML_EHTTP: return "ML_EHTTP";
    case ML_ENET: return "ML_ENET";
    case ML_EAUTH: return "ML_EAUTH";
    case ML_ENOTFOUND: return "ML_ENOTFOUND";
    case ML_EEXISTS: return "ML_EEXISTS";
    case ML_ENOTLIST: return "ML_ENOTLIST";
    case ML_ECONFLICT: return "ML_ECONFLICT";
    case ML_EUNSUPPORTED: return "ML_EUNSUPPORTED";
    case ML_ETOOBIG: return "ML_ETOOBIG";
    case ML_EIO: return "ML_EIO";
    case ML_ETYPE: return "ML_ETYPE";
    case ML_EDUPLICATE: return "ML_EDUPLICATE";
    default: return "error";
    }
}

/* {"code","exit","message"} and, where known, "httpStatus", "registryCode",
 * "file", "line", "column", "ref". */
static char *error_object(const char *code, int exit_code, const char *message, const ml_error *err, const char *ref)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    fputs("{\"code\":", f);
    cli_json_string(f, code);
    fprintf(f, ",\"exit\":%d,\"message\":", exit_code);
    cli_json_string(f, message);
    if (ml_error_http_status(err))
        fprintf(f, ",\"httpStatus\":%d", ml_error_http_status(err));
    if (ml_error_registry_code(err)) {
        fputs(",\"registryCode\":", f);
        cli_json_string(f, ml_error_registry_code(err));
    }
    if (ml_error_file(err)) {
        fputs(",\"file\":", f);
        cli_json_string(f, ml_error_file(err));
    }
    if (ml_error_line(err))
        fprintf(f, ",\"line\":%d,\"column\":%d", ml_error_line(err), ml_error_column(err));
    ref = ml_error_ref(err) ? ml_error_ref(err) : ref;
    if (ref) {
        fputs(",\"ref\":", f);
        cli_json_string(f, ref);
    }
    fputc('}', f);
    fclose(f);
    return text;
}

static void print_error_document(const char *object)
{
    if (object)
        printf("{\"error\":%s}\n", object);
    fflush(stdout);
}

/* The stderr line, and with --json the error object: printed, or stored
 * in *json for a caller that embeds it. */
static void report_error(const char *code, int exit_code, const char *message, const ml_error *err,
                         const char *ref, char **json)
{
    cli_clear_progress();
    put_line(stderr, "mlist: error: ", message);
    if (json)
        *json = error_object(code, exit_code, message, err, ref);
    else if (json_errors) {
        char *object = error_object(code, exit_code, message, err, ref);
        print_error_document(object);
        free(object);
    }
}

static int fail(int code, ml_error *err, const char *ref, char **json, int exit_code)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f) {
        fputs(err ? ml_error_message(err) : ml_strerror(code), f);
        put_advice(f, ml_error_hints(err));
        fclose(f);
    }
    report_error(cli_code_name(code), exit_code, text ? text : ml_strerror(code), err, ref, json);
    free(text);
    ml_error_free(err);
    return exit_code;
}

int cli_fail_into(int code, ml_error *err, const char *ref, char **json)
{
    return fail(code, err, ref, json, exit_code_for(code));
}

int cli_fail_ref(int code, ml_error *err, const char *ref) { return fail(code, err, ref, NULL, exit_code_for(code)); }

int cli_fail(int code, ml_error *err) { return fail(code, err, NULL, NULL, exit_code_for(code)); }

int cli_fail_input(int code, ml_error *err) { return fail(code, err, NULL, NULL, EXIT_INPUT); }

int cli_error(char **json, int exit_code, const char *code, const char *ref, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = vformat(fmt, ap);
    va_end(ap);
    report_error(code, exit_code, text ? text : "", NULL, ref, json);
    free(text);
    return exit_code;
}

/* A usage error: "mlist[ LABEL]: message", the hint where to read more,
 * and with --json the error object. */
static int vusage_error(const char *label, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static int vusage_error(const char *label, const char *fmt, va_list ap)
{
    char *text = vformat(fmt, ap);
    char prefix[96];
    snprintf(prefix, sizeof(prefix), "mlist%s%s: ", label ? " " : "", label ? label : "");
    cli_clear_progress();
    put_line(stderr, prefix, text ? text : "");
    if (label)
        fprintf(stderr, "Run 'mlist help %.*s' for usage.\n", (int)strcspn(label, " "), label);
    else
        fputs("Run 'mlist --help' for usage.\n", stderr);
    if (json_errors) {
        char *object = error_object("usage", EXIT_INPUT, text ? text : "", NULL, NULL);
        print_error_document(object);
        free(object);
    }
    free(text);
    return EXIT_INPUT;
}

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vusage_error(NULL, fmt, ap);
    va_end(ap);
    return rc;
}

int cli_command_error(const char *label, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vusage_error(label, fmt, ap);
    va_end(ap);
    return rc;
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

/* The certs.d directories: the user's first (as containers/image looks),
 * then $MLIST_CERTS_D or the system's. NULL on ENOMEM. */
static char *certs_dirs(void)
{
    const char *home = getenv("HOME"), *dirs = getenv("MLIST_CERTS_D");
    if (!dirs || !*dirs)
        dirs = ML_CERTS_DIRS_SYSTEM;
    if (!home || !*home)
        return strdup(dirs);
    const char *user = "/.config/containers/certs.d:";
    size_t n = strlen(home) + strlen(user) + strlen(dirs) + 1;
    char *all = malloc(n);
    if (all)
        snprintf(all, n, "%s%s%s", home, user, dirs);
    return all;
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
    if (!o->quiet && !o->debug && isatty(STDERR_FILENO)) {
        co.progress = show_progress;
        co.progress_event = show_blob;
        atexit(cli_clear_progress);
    } else if (!o->quiet) {
        co.progress_event = log_blob;
    }
    char *certs = certs_dirs();
    co.certs_dirs = certs;
    if (o->insecure && !o->quiet)
        cli_warn("--insecure: TLS certificates are not verified");
    ml_error *err = NULL;
    int rc = ml_client_new(out, &co, &err);
    free(cache);
    free(certs);
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
    if (strcmp(cmd, "apply") == 0)
        return cmd_apply(o);
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
