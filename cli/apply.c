/* mlist apply: specs (files, or directories of them) as the desired state
 * of the registry. Everything is read and checked before anything is
 * written; then every list is pushed as update pushes it, and a summary
 * says what became of each. --check only compares. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

/* Symbolic links may loop; no spec tree is this deep. */
#define DIR_DEPTH_MAX 32

/* ---- which files -------------------------------------------------------- */

typedef struct paths {
    char **items;
    size_t count, cap;
} paths;

static int paths_add(paths *p, char *path)
{
    if (!path)
        return -1;
    if (p->count == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        char **items = realloc(p->items, cap * sizeof(*items));
        if (!items) {
            free(path);
            return -1;
        }
        p->items = items;
        p->cap = cap;
    }
    p->items[p->count++] = path;
    return 0;
}

static void paths_free(paths *p)
{
    for (size_t i = 0; i < p->count; i++)
        free(p->items[i]);
    free(p->items);
}

static bool is_spec_name(const char *name)
{
    size_t n = strlen(name);
    return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) || (n > 4 && strcmp(name + n - 4, ".yml") == 0);
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *path = malloc(n);
    if (path)
        snprintf(path, n, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", name);
    return path;
}

static int not_readable(const char *path)
{
    return cli_error(NULL, EXIT_INPUT, cli_code_name(ML_EIO), path, "%s: cannot read: %s", path, strerror(errno));
}

/* Every *.yaml and *.yml below dir; hidden entries (.git) are skipped. */
static int collect_dir(const char *dir, int depth, paths *out)
{
    if (depth > DIR_DEPTH_MAX)
        return cli_usage_error("%s: directories nested deeper than %d", dir, DIR_DEPTH_MAX);
    DIR *d = opendir(dir);
    if (!d)
        return not_readable(dir);
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char *path = join(dir, e->d_name);
        struct stat st;
        if (!path)
            rc = cli_usage_error("out of memory");
        else if (stat(path, &st) != 0)
            rc = not_readable(path);
        else if (S_ISDIR(st.st_mode))
            rc = collect_dir(path, depth + 1, out);
        else if (S_ISREG(st.st_mode) && is_spec_name(e->d_name)) {
            rc = paths_add(out, path) == 0 ? 0 : cli_usage_error("out of memory");
            path = NULL; /* taken */
        }
        free(path);
    }
    closedir(d);
    return rc;
}

static int compare_paths(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A file is taken as named; a directory gives its specs in sorted order. */
static int collect(const cli_opts *o, paths *out)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < o->args.count; i++) {
        const char *arg = o->args.items[i];
        struct stat st;
        size_t before = out->count;
        if (stat(arg, &st) != 0)
            rc = not_readable(arg);
        else if (!S_ISDIR(st.st_mode))
            rc = paths_add(out, strdup(arg)) == 0 ? 0 : cli_usage_error("out of memory");
        else if ((rc = collect_dir(arg, 0, out)) == 0 && out->count == before)
            rc = cli_usage_error("apply: %s holds no *.yaml or *.yml file", arg);
        if (rc == 0)
            qsort(out->items + before, out->count - before, sizeof(*out->items), compare_paths);
    }
    return rc;
}

/* ---- what became of each list ------------------------------------------- */

typedef enum { S_CREATED, S_UPDATED, S_UP_TO_DATE, S_FAILED, S_COUNT } status;

/* Words for a push, then for a comparison (--check); JSON names. */
static const char *const WORDS[2][S_COUNT] = {
    {"created", "updated", "up to date", "failed"},
    {"would be created", "would be updated", "up to date", "failed"},
};
static const char *const JSON_NAMES[2][S_COUNT] = {
    {"created", "updated", "up-to-date", "failed"},
    {"would-create", "would-update", "up-to-date", "failed"},
};

typedef struct summary {
    const cli_opts *o;
    const paths *files;
    ml_spec *const *specs;
    bool compare;
    size_t counts[S_COUNT];
    size_t printed;
} summary;

static status status_of(const cli_list_outcome *r)
{
    if (r->rc != ML_OK || !r->res)
        return S_FAILED;
    if (ml_result_up_to_date(r->res))
        return S_UP_TO_DATE;
    return ml_result_tag_previous(r->res, 0) ? S_UPDATED : S_CREATED;
}

/* What changed, for an updated list: its entries, else the tags moved. */
static char *what_changed(const ml_result *res)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    for (size_t i = 0; i < ml_result_change_count(res); i++)
        fprintf(f, "%s%s", i ? "; " : "", ml_result_change(res, i));
    for (size_t i = 0, n = 0; ml_result_change_count(res) == 0 && i < ml_result_tag_count(res); i++)
        if (!ml_result_tag_previous(res, i) || strcmp(ml_result_tag_previous(res, i), ml_result_digest(res)) != 0)
            fprintf(f, "%s%s", n++ ? ", " : "tags moved: ", ml_result_tag(res, i));
    fclose(f);
    return text;
}

static void print_human(summary *s, const cli_list_outcome *r, status st, const char *target)
{
    const char *word = WORDS[s->compare][st];
    char *changed = st == S_UPDATED ? what_changed(r->res) : NULL;
    if (st == S_FAILED)
        cli_print_line("%s: %s (%s)", target, word, r->err ? ml_error_message(r->err) : ml_strerror(r->rc));
    else if (changed && *changed)
        cli_print_line("%s: %s (%s)", target, word, changed);
    else
        cli_print_line("%s: %s", target, word);
    free(changed);
    for (size_t i = 0; s->compare && r->res && st != S_UP_TO_DATE && i < ml_result_plan_count(r->res); i++)
        cli_print_line("  would %s", ml_result_plan(r->res, i));
}

static void print_json(summary *s, cli_list_outcome *r, status st, const char *target)
{
    fputs(s->printed++ ? ",\n" : "[", stdout);
    fputs("{\"target\":", stdout);
    cli_json_string(stdout, target);
    fputs(",\"file\":", stdout);
    cli_json_string(stdout, s->files->items[r->spec]);
    fputs(",\"status\":", stdout);
    cli_json_string(stdout, JSON_NAMES[s->compare][st]);
    if (st == S_FAILED) {
        /* The same object a failing command prints (the stderr line too). */
        char *error = NULL;
        cli_fail_into(r->rc, r->err, target, &error);
        r->err = NULL;
        printf(",\"error\":%s", error ? error : "null");
        free(error);
    }
    char *json = NULL;
    if (r->res && ml_result_to_json(r->res, &json, NULL) == ML_OK)
        printf(",\"result\":%s", json);
    ml_free(json);
    fputc('}', stdout);
}

static void report_list(cli_list_outcome *r, void *payload)
{
    summary *s = payload;
    status st = status_of(r);
    s->counts[st]++;
    const char *target = ml_spec_target(s->specs[r->spec], r->index);
    if (s->o->json)
        print_json(s, r, st, target);
    else
        print_human(s, r, st, target);
}

static void print_totals(const summary *s)
{
    if (s->o->json) {
        puts(s->printed ? "]" : "[]");
        return;
    }
    size_t total = 0;
    for (int i = 0; i < S_COUNT; i++)
        total += s->counts[i];
    cli_print_line("%zu list%s: %zu %s, %zu %s, %zu %s, %zu %s", total, total == 1 ? "" : "s",
                   s->counts[S_CREATED], WORDS[s->compare][S_CREATED], s->counts[S_UPDATED],
                   WORDS[s->compare][S_UPDATED], s->counts[S_UP_TO_DATE], WORDS[s->compare][S_UP_TO_DATE],
                   s->counts[S_FAILED], WORDS[s->compare][S_FAILED]);
}

/* ---- the command -------------------------------------------------------- */

static int read_all(const cli_opts *o, const paths *files, ml_spec **specs)
{
    for (size_t i = 0; i < files->count; i++) {
        int rc = load_spec_file(o, files->items[i], &specs[i]);
        if (rc != 0)
            return rc;
    }
    ml_error *err = NULL;
    int rc = ml_spec_check_targets((const ml_spec *const *)specs, files->count, &err);
    return rc == ML_OK ? 0 : cli_fail(rc, err);
}

static int exit_code(const summary *s)
{
    if (s->counts[S_FAILED])
        return EXIT_FAILED;
    bool differs = s->counts[S_CREATED] || s->counts[S_UPDATED];
    return s->o->check && differs ? EXIT_DIFFERS : EXIT_DONE;
}

int cmd_apply(cli_opts *o)
{
    if (o->args.count == 0)
        return cli_usage_error("apply needs one or more spec files or directories");
    paths files = {0};
    int rc = collect(o, &files);
    ml_spec **specs = rc == 0 ? calloc(files.count, sizeof(*specs)) : NULL;
    if (rc == 0 && !specs)
        rc = cli_usage_error("out of memory");
    if (rc == 0)
        rc = read_all(o, &files, specs);
    if (rc == 0) {
        /* --check compares exactly what a push would compare. */
        o->dry_run = o->dry_run || o->check;
        summary s = {.o = o, .files = &files, .specs = specs, .compare = o->dry_run};
        rc = cli_push_lists(o, specs, files.count, false, report_list, &s);
        if (rc == 0) {
            print_totals(&s);
            rc = exit_code(&s);
        }
    }
    for (size_t i = 0; specs && i < files.count; i++)
        ml_spec_free(specs[i]);
    free(specs);
    paths_free(&files);
    return rc;
}
