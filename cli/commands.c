/* The commands: each maps options to one library call and prints. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* ---- spec loading ------------------------------------------------------- */

static uint32_t spec_flags(const cli_opts *o)
{
    return (o->no_normalize ? ML_SPEC_NO_NORMALIZE : 0) | (o->allow_duplicates ? ML_SPEC_ALLOW_DUPLICATES : 0);
}

static int print_spec_warnings(const cli_opts *o, const ml_spec *spec)
{
    if (o->quiet)
        return 0;
    for (size_t i = 0; i < ml_spec_warning_count(spec); i++)
        cli_warn("%s", ml_spec_warning(spec, i));
    return 0;
}

extern char **environ;

/* The environment, then --var: where a name repeats the library takes the
 * later one. NULL when out of memory. */
static const char **spec_variables(const cli_opts *o, size_t *count)
{
    size_t env = 0;
    while (environ[env])
        env++;
    const char **vars = malloc((env + o->vars.count + 1) * sizeof(*vars));
    *count = 0;
    for (size_t i = 0; vars && i < env; i++)
        if (strchr(environ[i], '='))
            vars[(*count)++] = environ[i];
    for (size_t i = 0; vars && i < o->vars.count; i++)
        vars[(*count)++] = o->vars.items[i];
    return vars;
}

/* Failures the command line finds itself, returned beside ML_* codes
 * (which are 0 or negative). */
enum { STDIN_UNREADABLE = 1, BAD_PLATFORM };

/* SPEC '-': the spec on standard input, named "<stdin>" in errors. An ML_*
 * code, or STDIN_UNREADABLE. */
static int parse_spec_stdin(ml_spec **spec, const ml_spec_options *so, ml_error **err)
{
    char *data = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&data, &len);
    char buf[8192];
    size_t n;
    while (m && (n = fread(buf, 1, sizeof(buf), stdin)) > 0)
        fwrite(buf, 1, n, m);
    bool failed = !m || ferror(stdin);
    if (m)
        fclose(m);
    int rc = failed ? STDIN_UNREADABLE : ml_spec_parse_buffer(spec, data, len, "<stdin>", so, err);
    free(data);
    return rc;
}

/* --tags: more tags for every list of the spec, as a spec's `tags:`. Two
 * lists of one repository cannot both take a tag (ml_spec_check_targets
 * names both). */
static int add_tags(const cli_opts *o, ml_spec *spec, ml_error **err)
{
    int rc = ML_OK;
    for (size_t i = 0; i < o->tags.count && rc == ML_OK; i++) {
        char *tags = strdup(o->tags.items[i]);
        rc = tags ? ML_OK : ML_ENOMEM;
        for (char *save = NULL, *t = tags ? strtok_r(tags, ", ", &save) : NULL; t && rc == ML_OK;
             t = strtok_r(NULL, ", ", &save))
            for (size_t l = 0; l < ml_spec_list_count(spec) && rc == ML_OK; l++)
                rc = ml_spec_add_tag(spec, l, t, err);
        free(tags);
    }
    if (rc == ML_OK && o->tags.count)
        rc = ml_spec_check_targets((const ml_spec *const *)&spec, 1, err);
    return rc;
}

int load_spec_file(const cli_opts *o, const char *path, ml_spec **spec)
{
    bool from_stdin = strcmp(path, "-") == 0;
    if (from_stdin && o->password_stdin)
        return cli_usage_error("SPEC '-' and --password-stdin cannot both read standard input");
    ml_spec_options so;
    ml_spec_options_init(&so, ML_SPEC_OPTIONS_VERSION);
    so.flags = spec_flags(o) | ML_SPEC_VARIABLES;
    const char **vars = spec_variables(o, &so.variable_count);
    if (!vars)
        return cli_usage_error("out of memory");
    so.variables = vars;
    ml_error *err = NULL;
    int rc = from_stdin ? parse_spec_stdin(spec, &so, &err) : ml_spec_parse_file(spec, path, &so, &err);
    free(vars);
    if (rc == STDIN_UNREADABLE)
        return cli_error(NULL, EXIT_INPUT, cli_code_name(ML_EIO), NULL, "cannot read the spec from standard input");
    if (rc == ML_OK)
        rc = add_tags(o, *spec, &err);
    if (rc == ML_OK && o->type && strcmp(o->type, "docker") == 0)
        rc = ml_spec_check_type(*spec, ML_TYPE_DOCKER, &err);
    if (rc == ML_EIO || rc == ML_ETOOBIG)
        return cli_fail_input(rc, err); /* an unreadable spec is bad input, like an invalid one */
    if (rc != ML_OK)
        return cli_fail(rc, err);
    return print_spec_warnings(o, *spec);
}

static const char *spec_path(const cli_opts *o)
{
    if (o->list_file)
        return o->args.count == 0 ? o->list_file : NULL;
    return o->args.count == 1 ? o->args.items[0] : NULL;
}

/* ---- pushing ------------------------------------------------------------ */

static ml_push_options push_options(const cli_opts *o, bool create)
{
    ml_push_options po;
    ml_push_options_init(&po, ML_PUSH_OPTIONS_VERSION);
    po.flags = (create ? ML_PUSH_CREATE : 0) | (o->force ? ML_PUSH_FORCE : 0) |
               (o->ignore_missing ? ML_PUSH_IGNORE_MISSING : 0) | (o->dry_run ? ML_PUSH_DRY_RUN : 0) |
               (o->purge ? ML_PUSH_PURGE : 0) | (o->no_attestations ? ML_PUSH_NO_ATTESTATIONS : 0) |
               (o->referrers ? ML_PUSH_REFERRERS : 0) | (o->trust_platforms ? ML_PUSH_TRUST_PLATFORMS : 0);
    po.type = !o->type ? ML_TYPE_AUTO : strcmp(o->type, "oci") == 0 ? ML_TYPE_OCI : ML_TYPE_DOCKER;
    po.annotations = (const char *const *)o->annotations.items;
    po.annotation_count = o->annotations.count;
    return po;
}

static void report_human(const cli_opts *o, const ml_list *list, const ml_result *res)
{
    const char *target = ml_result_target(res);
    if (ml_result_up_to_date(res)) {
        cli_note(o, "%s: up to date", target);
    } else {
        for (size_t i = 0; i < ml_result_change_count(res); i++)
            cli_note(o, "  %s", ml_result_change(res, i));
        if (ml_result_change_count(res) == 0)
            cli_note(o, "  no entry changed; tags moved to the new list");
        for (size_t i = 0; i < ml_result_plan_count(res); i++)
            cli_note(o, "  would %s", ml_result_plan(res, i));
        cli_note(o, "%s: %s", target, o->dry_run ? "would be pushed (dry run, nothing written)" : "pushed");
    }
    if (ml_result_referrers_copied(res))
        cli_note(o, "%s: %zu referrer(s) copied", target, ml_result_referrers_copied(res));
    if (o->dry_run && list) {
        size_t len;
        const char *bytes = ml_list_bytes(list, &len);
        fwrite(bytes, 1, len, stdout);
        fputc('\n', stdout);
    }
    printf("Digest: %s %lld\n", ml_result_digest(res), (long long)ml_result_size(res));
}

/* A JSON object, with the member "error": ERROR added when there is one. */
static void print_json_with_error(const char *json, const char *error)
{
    if (error)
        printf("%.*s,\"error\":%s}", (int)(strlen(json) - 1), json, error);
    else
        fputs(json, stdout);
}

/* --json: one object per list, the result with an "error" member when the
 * list failed ({"target","error"} when it failed before it had a result);
 * several (a multi-document spec) form one array that the caller opens and
 * closes. So stdout is one JSON document whatever failed. */
static void print_list_json(const char *target, const ml_result *res, const char *error, size_t *printed)
{
    char *json = NULL;
    ml_error *err = NULL;
    if (res && ml_result_to_json(res, &json, &err) != ML_OK)
        ml_error_free(err); /* out of memory: the target and error still go out */
    fputs((*printed)++ ? ",\n" : "", stdout);
    if (json) {
        print_json_with_error(json, error);
    } else {
        fputs("{\"target\":", stdout);
        cli_json_string(stdout, target);
        printf(",\"error\":%s}", error ? error : "null");
    }
    ml_free(json);
}

static void report_failure(const cli_opts *o, const ml_result *res);

/* One list of a spec: built and pushed on one of run_jobs' threads, then
 * reported in spec order. */
typedef struct list_job {
    cli_opts *o;
    const ml_spec *spec;
    size_t index;
    bool create;
    ml_client *client; /* run_jobs' client, shared by every job */
    ml_list *list;
    ml_result *res;
    ml_error *err;
    int rc;
} list_job;

static void *run_job(void *arg)
{
    list_job *j = arg;
    ml_push_options po = push_options(j->o, j->create);
    j->rc = ml_list_build(&j->list, j->client, j->spec, j->index, &po, &j->err);
    if (j->rc == ML_OK)
        j->rc = ml_list_push(j->list, j->client, &po, &j->res, &j->err);
    return NULL;
}

static bool list_warns(const ml_list *l, const char *warning)
{
    for (size_t i = 0; l && i < ml_list_warning_count(l); i++)
        if (strcmp(ml_list_warning(l, i), warning) == 0)
            return true;
    return false;
}

/* Said already: a warning of a spec (printed when it was read) or of an
 * earlier list (lists share images, rewrites and their spec's warnings). */
static bool said_before(ml_spec *const *specs, size_t count, const list_job *jobs, size_t k, const char *warning)
{
    for (size_t s = 0; s < count; s++)
        for (size_t i = 0; i < ml_spec_warning_count(specs[s]); i++)
            if (strcmp(ml_spec_warning(specs[s], i), warning) == 0)
                return true;
    for (size_t i = 0; i < k; i++)
        if (list_warns(jobs[i].list, warning))
            return true;
    return false;
}

/* Prints the warnings of jobs[k]'s list not said before. */
static void warn_new(const cli_opts *o, ml_spec *const *specs, size_t count, const list_job *jobs, size_t k)
{
    const ml_list *l = jobs[k].list;
    for (size_t i = 0; l && !o->quiet && i < ml_list_warning_count(l); i++)
        if (!said_before(specs, count, jobs, k, ml_list_warning(l, i)))
            cli_warn("%s", ml_list_warning(l, i));
}

/* Threads working on lists, the calling one included: one under the run's
 * bound of 16 leaves room for libcurl's resolver thread. */
#define MAX_WORKERS 15
/* Without --concurrency, a run of several lists keeps 8 requests in flight
 * per list up to 32 in all (the bound a registry sees from one client):
 * over a real network's round trip that is what keeps many lists moving,
 * and on loopback the registry serves a fuller queue with less CPU. */
#define CONCURRENCY_PER_LIST 8u
#define CONCURRENCY_MANY_LISTS 32u

typedef struct job_queue {
    list_job *jobs;
    size_t n;
    size_t next; /* the first list no thread has taken */
    pthread_mutex_t lock;
} job_queue;

static void *work(void *arg)
{
    job_queue *q = arg;
    for (;;) {
        pthread_mutex_lock(&q->lock);
        size_t i = q->next < q->n ? q->next++ : q->n;
        pthread_mutex_unlock(&q->lock);
        if (i == q->n)
            return NULL;
        run_job(&q->jobs[i]);
    }
}

/* The lists of a spec run on a bounded pool of threads sharing one client:
 * one connection pool (--concurrency connections per registry), one token,
 * one config cache, and children shared by several lists resolved once,
 * however many lists there are. */
static int run_jobs(cli_opts *o, list_job *jobs, size_t n)
{
    ml_client *client = NULL;
    uint32_t given = o->concurrency;
    if (!given && n > 1)
        o->concurrency = n < CONCURRENCY_MANY_LISTS / CONCURRENCY_PER_LIST ? CONCURRENCY_PER_LIST * (uint32_t)n
                                                                          : CONCURRENCY_MANY_LISTS;
    int rc = cli_client(o, &client);
    o->concurrency = given;
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < n; i++)
        jobs[i].client = client;
    job_queue q = {.jobs = jobs, .n = n};
    pthread_mutex_init(&q.lock, NULL);
    pthread_t threads[MAX_WORKERS - 1];
    size_t busy = n < MAX_WORKERS ? n : MAX_WORKERS, extra = busy ? busy - 1 : 0, started = 0;
    /* A thread that cannot start leaves its share to the others. */
    while (started < extra && pthread_create(&threads[started], NULL, work, &q) == 0)
        started++;
    work(&q);
    for (size_t i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    pthread_mutex_destroy(&q.lock);
    for (size_t i = 0; i < n; i++)
        jobs[i].client = NULL;
    ml_client_free(client);
    return 0;
}

int cli_push_lists(cli_opts *o, ml_spec *const *specs, size_t count, bool create, cli_list_done *done,
                   void *payload)
{
    size_t n = 0, k = 0;
    for (size_t s = 0; s < count; s++)
        n += ml_spec_list_count(specs[s]);
    list_job *jobs = calloc(n ? n : 1, sizeof(*jobs));
    if (!jobs)
        return cli_usage_error("out of memory");
    for (size_t s = 0; s < count; s++)
        for (size_t i = 0; i < ml_spec_list_count(specs[s]); i++)
            jobs[k++] = (list_job){.o = o, .spec = specs[s], .index = i, .create = create};
    int rc = run_jobs(o, jobs, n);
    for (size_t i = 0, s = 0; rc == 0 && i < n; i++) {
        list_job *j = &jobs[i];
        while (specs[s] != j->spec)
            s++;
        cli_clear_progress();
        warn_new(o, specs, count, jobs, i);
        cli_list_outcome outcome = {s, j->index, j->list, j->res, j->rc, j->err};
        done(&outcome, payload);
        j->err = outcome.err;
    }
    /* The lists last: said_before compares with every earlier one. */
    for (size_t i = 0; i < n; i++) {
        ml_result_free(jobs[i].res);
        ml_list_free(jobs[i].list);
        ml_error_free(jobs[i].err);
    }
    free(jobs);
    return rc;
}

/* push_spec's report of each list; `exit_code` is the first failure's. */
typedef struct spec_report {
    const cli_opts *o;
    const ml_spec *spec;
    size_t printed;
    int exit_code;
} spec_report;

static void report_list(cli_list_outcome *r, void *payload)
{
    spec_report *s = payload;
    const cli_opts *o = s->o;
    if (o->json && r->index == 0 && ml_spec_list_count(s->spec) > 1)
        putchar('[');
    if (r->res && r->rc == ML_OK && !o->json)
        report_human(o, r->list, r->res);
    if (r->rc != ML_OK)
        report_failure(o, r->res);
    const char *target = ml_spec_target(s->spec, r->index);
    char *error = NULL;
    int rc = r->rc == ML_OK ? EXIT_DONE : cli_fail_into(r->rc, r->err, target, o->json ? &error : NULL);
    r->err = NULL;
    if (o->json)
        print_list_json(target, r->res, error, &s->printed);
    free(error);
    /* One list failing does not stop the others. */
    s->exit_code = s->exit_code ? s->exit_code : rc;
}

static int push_spec(cli_opts *o, ml_spec *spec, bool create)
{
    spec_report s = {.o = o, .spec = spec};
    int rc = cli_push_lists(o, &spec, 1, create, report_list, &s);
    if (rc == 0 && o->json && ml_spec_list_count(spec) > 1)
        puts("]");
    else if (s.printed)
        putchar('\n');
    return rc ? rc : s.exit_code;
}

int cmd_push_spec(cli_opts *o, bool create)
{
    const char *path = spec_path(o);
    if (!path)
        return cli_usage_error("%s needs one spec file (SPEC or --list SPEC)", o->command);
    ml_spec *spec = NULL;
    int rc = load_spec_file(o, path, &spec);
    if (rc == 0)
        rc = push_spec(o, spec, create);
    ml_spec_free(spec);
    return rc;
}

static void report_failure(const cli_opts *o, const ml_result *res)
{
    if (!res || o->json)
        return;
    /* Several tags: say exactly which ones moved before the failure. */
    size_t moved = 0;
    for (size_t i = 0; i < ml_result_tag_count(res); i++)
        if (ml_result_tag_moved(res, i)) {
            cli_note(o, "  tag %s moved to %s", ml_result_tag(res, i), ml_result_digest(res));
            moved++;
        }
    if (moved && moved < ml_result_tag_count(res))
        for (size_t i = 0; i < ml_result_tag_count(res); i++)
            if (!ml_result_tag_moved(res, i))
                cli_note(o, "  tag %s did not move", ml_result_tag(res, i));
}

static int edit_list(cli_opts *o)
{
    if (o->args.count != 1)
        return cli_usage_error("update --add/--remove needs one target reference");
    ml_client *client = NULL;
    int exit_code = cli_client(o, &client);
    if (exit_code != 0)
        return exit_code;
    ml_push_options po = push_options(o, false);
    ml_result *res = NULL;
    ml_error *err = NULL;
    int rc = ml_list_edit(client, o->args.items[0], (const char *const *)o->add.items, o->add.count,
                          (const char *const *)o->remove.items, o->remove.count, &po, &res, &err);
    if (rc == ML_OK && res && !o->json)
        report_human(o, NULL, res);
    if (rc != ML_OK)
        report_failure(o, res);
    char *error = NULL;
    exit_code = rc == ML_OK ? 0 : cli_fail_into(rc, err, o->args.items[0], o->json ? &error : NULL);
    if (o->json) {
        size_t printed = 0;
        print_list_json(o->args.items[0], res, error, &printed);
        putchar('\n');
    }
    free(error);
    ml_result_free(res);
    ml_client_free(client);
    return exit_code;
}

int cmd_update(cli_opts *o)
{
    if (o->add.count || o->remove.count)
        return edit_list(o);
    return cmd_push_spec(o, false);
}

/* ---- push from-args ----------------------------------------------------- */

/* Replaces the placeholders OS, ARCH and VARIANT (manifest-tool's). */
static char *expand_template(const char *tmpl, const char *os, const char *arch, const char *variant)
{
    size_t cap = strlen(tmpl) * 4 + 64, len = 0;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    for (const char *p = tmpl; *p;) {
        const char *rep = NULL;
        size_t skip = 0;
        if (strncmp(p, "VARIANT", 7) == 0)
            rep = variant ? variant : "", skip = 7;
        else if (strncmp(p, "ARCH", 4) == 0)
            rep = arch, skip = 4;
        else if (strncmp(p, "OS", 2) == 0)
            rep = os, skip = 2;
        size_t n = rep ? strlen(rep) : 1;
        if (len + n + 1 > cap) {
            char *bigger = realloc(out, cap = (len + n + 1) * 2);
            if (!bigger) {
                free(out);
                return NULL;
            }
            out = bigger;
        }
        memcpy(out + len, rep ? rep : p, n);
        len += n;
        p += rep ? skip : 1;
    }
    out[len] = '\0';
    return out;
}

/* OS/ARCH or OS/ARCH/VARIANT, no part empty; split in place. */
static bool split_platform(char *p, char *parts[3])
{
    size_t n = 0;
    parts[1] = parts[2] = NULL;
    for (;;) {
        if (n == 3)
            return false;
        parts[n++] = p;
        char *slash = strchr(p, '/');
        if (slash)
            *slash = '\0';
        if (!*p)
            return false;
        if (!slash)
            return n >= 2;
        p = slash + 1;
    }
}

/* One platform of --platforms (`len` bytes at `item`): an entry of the
 * template's image for it. BAD_PLATFORM when it is no OS/ARCH[/VARIANT]. */
static int add_platform(const cli_opts *o, ml_spec *spec, const char *item, size_t len, ml_error **err)
{
    char *platform = strndup(item, len), *copy = strndup(item, len), *parts[3];
    int rc = !platform || !copy ? ML_ENOMEM : split_platform(copy, parts) ? ML_OK : BAD_PLATFORM;
    char *image = rc == ML_OK ? expand_template(o->template_ref, parts[0], parts[1], parts[2]) : NULL;
    if (rc == ML_OK)
        rc = image ? ml_spec_add_entry(spec, 0, image, platform, NULL, err) : ML_ENOMEM;
    free(image);
    free(copy);
    free(platform);
    return rc;
}

/* Every --platforms (repeatable), each a comma-separated list; a space
 * after a comma is tolerated, an empty item is not. The library checks the
 * platform values. */
static int add_platforms(const cli_opts *o, ml_spec *spec, const char **bad, ml_error **err)
{
    int rc = ML_OK;
    for (size_t i = 0; i < o->platforms.count && rc == ML_OK; i++) {
        for (const char *item = o->platforms.items[i];; item += strspn(item, " ")) {
            size_t len = strcspn(item, ",");
            rc = add_platform(o, spec, item, len, err);
            if (rc != ML_OK || !item[len])
                break;
            item += len + 1;
        }
        *bad = rc == BAD_PLATFORM ? o->platforms.items[i] : NULL;
    }
    return rc;
}

/* from-args builds the spec a file would give through the same library
 * calls, so both paths share every check. */
static int push_from_args(cli_opts *o)
{
    if (!o->platforms.count || !o->template_ref || !o->target)
        return cli_command_error("push from-args", "needs --platforms, --template and --target");
    ml_spec_options so;
    ml_spec_options_init(&so, ML_SPEC_OPTIONS_VERSION);
    so.flags = spec_flags(o);
    ml_spec *spec = NULL;
    ml_error *err = NULL;
    const char *bad = NULL;
    int rc = ml_spec_new(&spec, &so, &err);
    if (rc == ML_OK)
        rc = ml_spec_add_list(spec, o->target, NULL, &err);
    if (rc == ML_OK)
        rc = add_tags(o, spec, &err);
    if (rc == ML_OK)
        rc = add_platforms(o, spec, &bad, &err);
    if (rc == ML_OK)
        rc = ml_spec_check(spec, &err);
    int exit_code;
    if (rc == ML_OK) {
        print_spec_warnings(o, spec);
        exit_code = push_spec(o, spec, false);
    } else if (rc == BAD_PLATFORM) {
        exit_code = cli_command_error("push from-args", "--platforms: expected OS/ARCH[/VARIANT], got '%s'", bad);
    } else {
        exit_code = cli_fail(rc, err);
    }
    ml_spec_free(spec);
    return exit_code;
}

int cmd_push(cli_opts *o)
{
    if (o->args.count == 0)
        return cli_usage_error("push needs 'from-spec SPEC' or 'from-args ...'");
    const char *how = o->args.items[0];
    if (strcmp(how, "from-spec") == 0) {
        if (o->args.count != 2)
            return cli_usage_error("push from-spec needs one spec file");
        o->args.items++;
        o->args.count--;
        int rc = cmd_push_spec(o, false);
        o->args.items--;
        o->args.count++;
        return rc;
    }
    if (strcmp(how, "from-args") == 0) {
        if (o->args.count != 1)
            return cli_usage_error("push from-args takes no positional arguments");
        return push_from_args(o);
    }
    return cli_usage_error("push: unknown mode '%s' (from-spec or from-args)", how);
}

/* ---- validate ----------------------------------------------------------- */

static int print_plan_list(const ml_spec *spec, size_t index)
{
    if (index)
        putchar('\n');
    /* From the spec: printed like any text that did not come from mlist. */
    cli_print_line("%s", ml_spec_target(spec, index));
    for (size_t t = 0; t < ml_spec_tag_count(spec, index); t++)
        cli_print_line("  also tagged: %s", ml_spec_tag(spec, index, t));
    size_t n = ml_spec_entry_count(spec, index);
    char **platforms = calloc(n ? n : 1, sizeof(*platforms));
    if (!platforms)
        return cli_usage_error("out of memory");
    int width = 24, rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        ml_error *err = NULL;
        int code = ml_spec_entry_platform(spec, index, i, &platforms[i], &err);
        if (code != ML_OK)
            rc = cli_fail(code, err);
        else if (platforms[i] && (int)strlen(platforms[i]) > width)
            width = (int)strlen(platforms[i]);
    }
    /* Columns as wide as the longest platform (os.version makes them long). */
    for (size_t i = 0; rc == 0 && i < n; i++)
        cli_print_line("  %-*s %s", width, platforms[i] ? platforms[i] : "(from config)",
                       ml_spec_entry_image(spec, index, i));
    for (size_t i = 0; i < n; i++)
        ml_free(platforms[i]);
    free(platforms);
    return rc;
}

static int print_plan_human(const ml_spec *spec)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < ml_spec_list_count(spec); i++)
        rc = print_plan_list(spec, i);
    return rc;
}

int cmd_validate(cli_opts *o)
{
    if (o->args.count != 1)
        return cli_usage_error("validate needs one spec file");
    ml_spec *spec = NULL;
    int rc = load_spec_file(o, o->args.items[0], &spec);
    if (rc != 0) {
        ml_spec_free(spec);
        return rc;
    }
    char *json = NULL;
    ml_error *err = NULL;
    if (o->json) {
        rc = ml_spec_to_json(spec, &json, &err);
        if (rc == ML_OK)
            puts(json);
        else
            rc = cli_fail(rc, err);
    } else {
        rc = print_plan_human(spec);
    }
    ml_free(json);
    ml_spec_free(spec);
    return rc;
}

/* ---- inspect ------------------------------------------------------------ */

static void print_manifest_human(const ml_manifest *m)
{
    size_t len;
    ml_manifest_bytes(m, &len);
    /* Every field comes from the registry. */
    cli_print_line("Name:      %s", ml_manifest_ref(m));
    cli_print_line("MediaType: %s", ml_manifest_media_type(m));
    cli_print_line("Digest:    %s", ml_manifest_digest(m));
    cli_print_line("Size:      %zu", len);
    if (!ml_manifest_is_list(m))
        return;
    /* Columns as wide as their longest value: registry text can be long. */
    int pw = 24, vw = 10;
    for (size_t i = 0; i < ml_manifest_entry_count(m); i++) {
        const char *p = ml_manifest_entry_platform(m, i), *v = ml_manifest_entry_os_version(m, i);
        pw = p && (int)strlen(p) > pw ? (int)strlen(p) : pw;
        vw = v && (int)strlen(v) > vw ? (int)strlen(v) : vw;
    }
    printf("\n%-*s %-*s %-71s %8s  %s\n", pw, "PLATFORM", vw, "OS VERSION", "DIGEST", "SIZE", "MEDIA TYPE");
    for (size_t i = 0; i < ml_manifest_entry_count(m); i++) {
        const char *p = ml_manifest_entry_platform(m, i), *v = ml_manifest_entry_os_version(m, i);
        cli_print_line("%-*s %-*s %-71s %8lld  %s", pw, p ? p : "-", vw, v ? v : "-", ml_manifest_entry_digest(m, i),
                       (long long)ml_manifest_entry_size(m, i), ml_manifest_entry_media_type(m, i));
    }
}

/* "windows(10.0.17763+win32k)/amd64": the notation --platform takes. */
static char *platform_all(const ml_manifest *m, size_t i)
{
    const char *version = ml_manifest_entry_os_version(m, i), *variant = ml_manifest_entry_variant(m, i);
    size_t features = ml_manifest_entry_os_feature_count(m, i);
    if (!version && !features)
        return ml_manifest_entry_platform(m, i) ? strdup(ml_manifest_entry_platform(m, i)) : NULL;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    fprintf(f, "%s(%s", ml_manifest_entry_os(m, i), version ? version : "");
    for (size_t k = 0; k < features; k++)
        fprintf(f, "+%s", ml_manifest_entry_os_feature(m, i, k));
    fprintf(f, ")/%s%s%s", ml_manifest_entry_architecture(m, i), variant ? "/" : "", variant ? variant : "");
    fclose(f);
    return text;
}

static int inspect_platform(const cli_opts *o, const ml_manifest *m)
{
    size_t i = 0;
    ml_error *err = NULL;
    if (!ml_manifest_is_list(m))
        return cli_error(NULL, EXIT_REFUSED, cli_code_name(ML_ENOTLIST), ml_manifest_ref(m),
                         "%s is a single image, not a list", ml_manifest_ref(m));
    int rc = ml_manifest_select(m, o->platform, &i, &err);
    if (rc != ML_OK)
        return cli_fail_ref(rc, err, ml_manifest_ref(m));
    if (o->json) {
        fputs("{\"platform\":", stdout);
        cli_json_string(stdout, ml_manifest_entry_platform(m, i));
        if (ml_manifest_entry_os_version(m, i)) {
            fputs(",\"osVersion\":", stdout);
            cli_json_string(stdout, ml_manifest_entry_os_version(m, i));
        }
        fputs(",\"digest\":", stdout);
        cli_json_string(stdout, ml_manifest_entry_digest(m, i));
        fputs(",\"mediaType\":", stdout);
        cli_json_string(stdout, ml_manifest_entry_media_type(m, i));
        printf(",\"size\":%lld}\n", (long long)ml_manifest_entry_size(m, i));
    } else {
        char *platform = platform_all(m, i);
        cli_print_line("%s %s", ml_manifest_entry_digest(m, i), platform ? platform : "-");
        free(platform);
    }
    return 0;
}

static void print_referrers_human(const ml_manifest *m, const ml_referrers *r)
{
    printf("\nReferrers:\n");
    if (ml_referrers_count(r) == 0)
        printf("  (none)\n");
    for (size_t i = 0; i < ml_referrers_count(r); i++) {
        const char *subject = ml_referrers_subject(r, i), *what = "(this manifest)";
        for (size_t e = 0; e < ml_manifest_entry_count(m); e++)
            if (strcmp(ml_manifest_entry_digest(m, e), subject) == 0)
                what = ml_manifest_entry_platform(m, e) ? ml_manifest_entry_platform(m, e) : subject;
        const char *type = ml_referrers_artifact_type(r, i);
        cli_print_line("  %-24s %s %8lld  %s", what, ml_referrers_digest(r, i), (long long)ml_referrers_size(r, i),
                       type ? type : ml_referrers_media_type(r, i));
    }
}

/* --json --referrers: the manifest's JSON object with a "referrers" member. */
static int print_inspect_json(const ml_manifest *m, const ml_referrers *r)
{
    char *json = NULL, *refs = NULL;
    ml_error *err = NULL;
    int rc = ml_manifest_to_json(m, &json, &err);
    if (rc == ML_OK && r)
        rc = ml_referrers_to_json(r, &refs, &err);
    if (rc != ML_OK)
        return cli_fail(rc, err);
    if (refs)
        printf("%.*s,\"referrers\":%s}\n", (int)(strlen(json) - 1), json, refs);
    else
        puts(json);
    ml_free(json);
    ml_free(refs);
    return 0;
}

int cmd_inspect(cli_opts *o)
{
    if (o->args.count != 1)
        return cli_usage_error("inspect needs one image reference");
    if (o->referrers && (o->raw || o->platform))
        return cli_usage_error("inspect --referrers shows the whole manifest: not with --raw or --platform");
    ml_client *client = NULL;
    int rc = cli_client(o, &client);
    ml_manifest *m = NULL;
    ml_referrers *refs = NULL;
    ml_error *err = NULL;
    if (rc == 0 && (rc = ml_manifest_fetch(&m, client, o->args.items[0], &err)) != ML_OK)
        rc = cli_fail_ref(rc, err, o->args.items[0]);
    if (rc == 0 && o->referrers && (rc = ml_referrers_fetch(&refs, client, m, &err)) != ML_OK)
        rc = cli_fail_ref(rc, err, o->args.items[0]);
    if (rc == 0 && o->platform) {
        rc = inspect_platform(o, m);
    } else if (rc == 0 && o->raw) {
        size_t len;
        const char *bytes = ml_manifest_bytes(m, &len);
        fwrite(bytes, 1, len, stdout);
    } else if (rc == 0 && o->json) {
        rc = print_inspect_json(m, refs);
    } else if (rc == 0) {
        print_manifest_human(m);
        if (refs)
            print_referrers_human(m, refs);
    }
    ml_referrers_free(refs);
    ml_manifest_free(m);
    ml_client_free(client);
    return rc;
}

/* ---- delete ------------------------------------------------------------- */

/* A registry deletes by digest: every tag pointing at it goes too. */
static void print_deletion(const cli_opts *o, const char *digest, const ml_manifest *m, int complete)
{
    size_t tags = ml_manifest_tag_count(m);
    if (o->json) {
        fputs(o->dry_run ? "{\"dryRun\":true,\"wouldDelete\":" : "{\"deleted\":", stdout);
        cli_json_string(stdout, digest);
        fputs(",\"ref\":", stdout);
        cli_json_string(stdout, o->args.items[0]);
        fputs(",\"tags\":[", stdout);
        for (size_t i = 0; i < tags; i++) {
            fputs(i ? "," : "", stdout);
            cli_json_string(stdout, ml_manifest_tag(m, i));
        }
        printf("],\"tagsComplete\":%s}\n", complete ? "true" : "false");
        return;
    }
    printf("%s: %s\n", o->dry_run ? "Would delete" : "Deleted", digest);
    for (size_t i = 0; i < tags; i++)
        cli_print_line("  tag %s", ml_manifest_tag(m, i));
    if (!complete)
        printf("  (and maybe more tags: the tag listing was incomplete)\n");
    cli_note(o, "mlist: a registry deletes by digest: every tag pointing at %s %s with it%s", digest,
             o->dry_run ? "would go" : "went", o->dry_run ? " (dry run, nothing deleted)" : "");
}

/* The manifest and its tags, read before deleting it. A dry run needs
 * both; a real delete goes on without the tags when they cannot be read. */
static int read_deletion(const cli_opts *o, ml_client *client, ml_manifest **m, int *complete)
{
    const char *ref = o->args.items[0];
    ml_error *err = NULL;
    int rc = ml_manifest_fetch(m, client, ref, &err);
    if (rc != ML_OK)
        return cli_fail_ref(rc, err, ref);
    /* ml_delete refuses it too; checked here before the tags are read. */
    if (!ml_manifest_is_list(*m) && !o->force) {
        rc = cli_error(NULL, EXIT_REFUSED, cli_code_name(ML_ENOTLIST), ref, "%s is a single image (%s), not a list",
                       ref, ml_manifest_media_type(*m));
        cli_note(o, "mlist: delete --force deletes a single image too");
        return rc;
    }
    rc = ml_manifest_fetch_tags(*m, client, complete, &err);
    if (rc != ML_OK && o->dry_run)
        return cli_fail_ref(rc, err, ref);
    if (rc != ML_OK && !o->quiet)
        cli_warn("%s", ml_error_message(err));
    ml_error_free(err);
    return 0;
}

int cmd_delete(cli_opts *o)
{
    if (o->args.count != 1)
        return cli_usage_error("delete needs one reference");
    const char *ref = o->args.items[0];
    ml_client *client = NULL;
    ml_manifest *m = NULL;
    int complete = 0;
    int rc = cli_client(o, &client);
    if (rc == 0)
        rc = read_deletion(o, client, &m, &complete);
    char *digest = NULL;
    ml_error *err = NULL;
    if (rc == 0 && !o->dry_run &&
        (rc = ml_delete(client, ref, o->force ? ML_DELETE_FORCE : 0, &digest, &err)) != ML_OK) {
        bool single = rc == ML_ENOTLIST;
        rc = cli_fail_ref(rc, err, ref);
        if (single)
            cli_note(o, "mlist: delete --force deletes a single image too");
    }
    /* The tag may have moved since it was read: then its tags are not known. */
    if (rc == 0 && digest && strcmp(digest, ml_manifest_digest(m)) != 0)
        print_deletion(o, digest, NULL, 0);
    else if (rc == 0)
        print_deletion(o, ml_manifest_digest(m), m, complete);
    ml_free(digest);
    ml_manifest_free(m);
    ml_client_free(client);
    return rc;
}

/* ---- verify ------------------------------------------------------------- */

/* Problems found are a failure (exit 1): the stderr line, and with --json
 * an "error" member in the report, as in a failed push's result. */
static int print_report(const cli_opts *o, const ml_report *rep)
{
    const char *ref = o->args.items[0];
    size_t problems = ml_report_problem_count(rep);
    char *json = NULL, *error = NULL;
    ml_error *err = NULL;
    int rc = o->json ? ml_report_to_json(rep, &json, &err) : ML_OK;
    if (rc != ML_OK)
        return cli_fail(rc, err);
    for (size_t i = 0; !o->json && i < problems; i++)
        cli_print_line("problem: %s", ml_report_problem(rep, i));
    if (!o->json && problems == 0)
        cli_print_line("%s: ok", ref);
    int exit_code = problems ? cli_error(o->json ? &error : NULL, EXIT_FAILED, "problems", ref,
                                         "%s: %zu problem%s found", ref, problems, problems == 1 ? "" : "s")
                             : EXIT_DONE;
    if (json) {
        print_json_with_error(json, error);
        putchar('\n');
    }
    ml_free(json);
    free(error);
    return exit_code;
}

int cmd_verify(cli_opts *o)
{
    if (o->args.count != 1)
        return cli_usage_error("verify needs one list reference");
    ml_client *client = NULL;
    int rc = cli_client(o, &client);
    ml_report *rep = NULL;
    ml_error *err = NULL;
    if (rc == 0 && (rc = ml_verify(&rep, client, o->args.items[0], &err)) != ML_OK)
        rc = cli_fail_ref(rc, err, o->args.items[0]);
    if (rc == 0)
        rc = print_report(o, rep);
    ml_report_free(rep);
    ml_client_free(client);
    return rc;
}
