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

static int load_spec_file(const cli_opts *o, const char *path, ml_spec **spec)
{
    ml_spec_options so;
    ml_spec_options_init(&so, ML_SPEC_OPTIONS_VERSION);
    so.flags = spec_flags(o);
    ml_error *err = NULL;
    int rc = ml_spec_parse_file(spec, path, &so, &err);
    if (rc == ML_OK && o->type && strcmp(o->type, "docker") == 0)
        rc = ml_spec_check_type(*spec, ML_TYPE_DOCKER, &err);
    if (rc == ML_EIO || rc == ML_ETOOBIG) {
        cli_fail(rc, err);
        return 2; /* an unreadable spec is bad input, like an invalid one */
    }
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
               (o->referrers ? ML_PUSH_REFERRERS : 0);
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

/* One result object; several (a multi-document spec) form one array that
 * the caller opens and closes. */
static int print_result_json(const ml_result *res, size_t *printed)
{
    char *json = NULL;
    ml_error *err = NULL;
    int rc = ml_result_to_json(res, &json, &err);
    if (rc != ML_OK)
        return cli_fail(rc, err);
    printf("%s%s", (*printed)++ ? ",\n" : "", json);
    ml_free(json);
    return 0;
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

static int report_job(list_job *j, size_t *printed)
{
    const cli_opts *o = j->o;
    cli_clear_progress();
    for (size_t i = 0; j->list && i < ml_list_warning_count(j->list) && !o->quiet; i++)
        cli_warn("%s", ml_list_warning(j->list, i));
    if (j->res && o->json)
        print_result_json(j->res, printed);
    else if (j->res && j->rc == ML_OK)
        report_human(o, j->list, j->res);
    if (j->rc != ML_OK)
        report_failure(o, j->res);
    ml_result_free(j->res);
    ml_list_free(j->list);
    int rc = j->rc == ML_OK ? 0 : cli_fail(j->rc, j->err);
    j->err = NULL;
    return rc;
}

/* Threads working on lists, the calling one included: one under the run's
 * bound of 16 leaves room for libcurl's resolver thread. */
#define MAX_WORKERS 15

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
    int rc = cli_client(o, &client);
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

static int push_spec(cli_opts *o, ml_spec *spec, bool create)
{
    size_t lists = ml_spec_list_count(spec), printed = 0;
    list_job *jobs = calloc(lists ? lists : 1, sizeof(*jobs));
    if (!jobs)
        return cli_usage_error("out of memory");
    for (size_t i = 0; i < lists; i++)
        jobs[i] = (list_job){.o = o, .spec = spec, .index = i, .create = create};
    int rc = run_jobs(o, jobs, lists);
    bool array = rc == 0 && o->json && lists > 1;
    if (array)
        putchar('[');
    /* Each list is reported; one failing does not stop the others. */
    int worst = 0;
    for (size_t i = 0; rc == 0 && i < lists; i++) {
        int one = report_job(&jobs[i], &printed);
        worst = worst ? worst : one;
    }
    rc = rc ? rc : worst;
    if (array)
        puts("]");
    else if (printed)
        putchar('\n');
    free(jobs);
    return rc;
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
    size_t printed = 0;
    if (res && o->json && print_result_json(res, &printed) == 0)
        putchar('\n');
    if (rc == ML_OK && res && !o->json)
        report_human(o, NULL, res);
    if (rc != ML_OK)
        report_failure(o, res);
    ml_result_free(res);
    ml_client_free(client);
    return rc == ML_OK ? 0 : cli_fail(rc, err);
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

/* The image of a platform: the template with its parts filled in. NULL
 * when the platform is not OS/ARCH[/VARIANT] (*bad), or out of memory. */
static char *platform_image(const char *tmpl, const char *platform, bool *bad)
{
    char *copy = strdup(platform);
    char *parts[3] = {NULL, NULL, NULL};
    int n = 0;
    for (char *save = NULL, *tok = copy ? strtok_r(copy, "/", &save) : NULL; tok && n < 3;
         tok = strtok_r(NULL, "/", &save))
        parts[n++] = tok;
    *bad = copy && n < 2;
    char *image = copy && !*bad ? expand_template(tmpl, parts[0], parts[1], parts[2]) : NULL;
    free(copy);
    return image;
}

/* One entry per platform of --platforms (empty items skipped). The library
 * checks the platform values. */
static int add_platforms(const cli_opts *o, ml_spec *spec, bool *bad, ml_error **err)
{
    char *platforms = strdup(o->platforms);
    int rc = platforms ? ML_OK : ML_ENOMEM;
    for (char *save = NULL, *p = platforms ? strtok_r(platforms, ",", &save) : NULL; p && rc == ML_OK;
         p = strtok_r(NULL, ",", &save)) {
        char *image = platform_image(o->template_ref, p, bad);
        rc = *bad ? ML_EPLATFORM : !image ? ML_ENOMEM : ml_spec_add_entry(spec, 0, image, p, NULL, err);
        free(image);
    }
    free(platforms);
    return rc;
}

static int add_tags(const cli_opts *o, ml_spec *spec, ml_error **err)
{
    char *tags = strdup(o->tags);
    int rc = tags ? ML_OK : ML_ENOMEM;
    for (char *save = NULL, *t = tags ? strtok_r(tags, ",", &save) : NULL; t && rc == ML_OK;
         t = strtok_r(NULL, ",", &save))
        rc = ml_spec_add_tag(spec, 0, t, err);
    free(tags);
    return rc;
}

/* from-args builds the spec a file would give through the same library
 * calls, so both paths share every check. */
static int push_from_args(cli_opts *o)
{
    if (!o->platforms || !o->template_ref || !o->target)
        return cli_usage_error("push from-args needs --platforms, --template and --target");
    ml_spec_options so;
    ml_spec_options_init(&so, ML_SPEC_OPTIONS_VERSION);
    so.flags = spec_flags(o);
    ml_spec *spec = NULL;
    ml_error *err = NULL;
    bool bad = false;
    int rc = ml_spec_new(&spec, &so, &err);
    if (rc == ML_OK)
        rc = ml_spec_add_list(spec, o->target, NULL, &err);
    if (rc == ML_OK && o->tags)
        rc = add_tags(o, spec, &err);
    if (rc == ML_OK)
        rc = add_platforms(o, spec, &bad, &err);
    if (rc == ML_OK)
        rc = ml_spec_check(spec, &err);
    int exit_code;
    if (rc == ML_OK) {
        print_spec_warnings(o, spec);
        exit_code = push_spec(o, spec, false);
    } else if (bad) {
        exit_code = cli_usage_error("--platforms: expected OS/ARCH[/VARIANT],... got '%s'", o->platforms);
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
    for (size_t i = 0; i < ml_spec_entry_count(spec, index); i++) {
        char *platform = NULL;
        ml_error *err = NULL;
        int rc = ml_spec_entry_platform(spec, index, i, &platform, &err);
        if (rc != ML_OK)
            return cli_fail(rc, err);
        cli_print_line("  %-24s %s", platform ? platform : "(from config)", ml_spec_entry_image(spec, index, i));
        ml_free(platform);
    }
    return 0;
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
    printf("\n%-24s %-71s %8s  %s\n", "PLATFORM", "DIGEST", "SIZE", "MEDIA TYPE");
    for (size_t i = 0; i < ml_manifest_entry_count(m); i++) {
        const char *p = ml_manifest_entry_platform(m, i);
        cli_print_line("%-24s %-71s %8lld  %s", p ? p : "-", ml_manifest_entry_digest(m, i),
                       (long long)ml_manifest_entry_size(m, i), ml_manifest_entry_media_type(m, i));
    }
}

static int inspect_platform(const cli_opts *o, const ml_manifest *m)
{
    size_t i = 0;
    ml_error *err = NULL;
    if (!ml_manifest_is_list(m)) {
        fprintf(stderr, "mlist: error: %s is a single image, not a list\n", ml_manifest_ref(m));
        return 3;
    }
    int rc = ml_manifest_select(m, o->platform, &i, &err);
    if (rc != ML_OK)
        return cli_fail(rc, err);
    if (o->json) {
        fputs("{\"platform\":", stdout);
        cli_json_string(stdout, ml_manifest_entry_platform(m, i));
        fputs(",\"digest\":", stdout);
        cli_json_string(stdout, ml_manifest_entry_digest(m, i));
        fputs(",\"mediaType\":", stdout);
        cli_json_string(stdout, ml_manifest_entry_media_type(m, i));
        printf(",\"size\":%lld}\n", (long long)ml_manifest_entry_size(m, i));
    } else {
        cli_print_line("%s %s", ml_manifest_entry_digest(m, i), ml_manifest_entry_platform(m, i));
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
        rc = cli_fail(rc, err);
    if (rc == 0 && o->referrers && (rc = ml_referrers_fetch(&refs, client, m, &err)) != ML_OK)
        rc = cli_fail(rc, err);
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

int cmd_delete(cli_opts *o)
{
    if (o->args.count != 1)
        return cli_usage_error("delete needs one reference");
    ml_client *client = NULL;
    int rc = cli_client(o, &client);
    char *digest = NULL;
    ml_error *err = NULL;
    if (rc == 0 && (rc = ml_delete(client, o->args.items[0], o->force ? ML_DELETE_FORCE : 0, &digest, &err)) != ML_OK) {
        bool single = rc == ML_ENOTLIST;
        rc = cli_fail(rc, err);
        if (single)
            cli_note(o, "mlist: delete --force deletes a single image too");
    }
    if (rc == 0 && o->json) {
        fputs("{\"deleted\":", stdout);
        cli_json_string(stdout, digest);
        fputs(",\"ref\":", stdout);
        cli_json_string(stdout, o->args.items[0]);
        puts("}");
    }
    else if (rc == 0)
        printf("Deleted: %s\n", digest);
    ml_free(digest);
    ml_client_free(client);
    return rc;
}

/* ---- verify ------------------------------------------------------------- */

int cmd_verify(cli_opts *o)
{
    if (o->args.count != 1)
        return cli_usage_error("verify needs one list reference");
    ml_client *client = NULL;
    int rc = cli_client(o, &client);
    ml_report *rep = NULL;
    ml_error *err = NULL;
    if (rc == 0 && (rc = ml_verify(&rep, client, o->args.items[0], &err)) != ML_OK)
        rc = cli_fail(rc, err);
    if (rc == 0 && o->json) {
        char *json = NULL;
        if ((rc = ml_report_to_json(rep, &json, &err)) == ML_OK)
            puts(json);
        else
            rc = cli_fail(rc, err);
        ml_free(json);
    } else if (rc == 0) {
        for (size_t i = 0; i < ml_report_problem_count(rep); i++)
            cli_print_line("problem: %s", ml_report_problem(rep, i));
        if (ml_report_problem_count(rep) == 0)
            cli_print_line("%s: ok", o->args.items[0]);
    }
    if (rc == 0 && ml_report_problem_count(rep) > 0)
        rc = 1;
    ml_report_free(rep);
    ml_client_free(client);
    return rc;
}
