/* Shared declarations of the mlist command line. */
#ifndef MLIST_CLI_H
#define MLIST_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "manifestlist.h"

/* mlist's exit codes (docs/mlist.1, EXIT STATUS). */
enum {
    EXIT_DONE = 0,
    EXIT_FAILED = 1,  /* network, registry, verify's problems */
    EXIT_INPUT = 2,   /* usage, an invalid or unreadable spec */
    EXIT_REFUSED = 3, /* exists, not a list, changed concurrently */
    EXIT_DIFFERS = 4, /* apply --check: the registry differs */
};

typedef struct cli_list {
    char **items;
    size_t count;
} cli_list;

typedef struct cli_opts {
    const char *command;
    cli_list args; /* positional arguments after the command */
    /* global */
    const char *username, *password, *docker_cfg, *authfile, *ca_cert, *cache_dir;
    char *password_buf; /* read from stdin */
    bool password_stdin, insecure, plain_http, json, quiet, debug, no_cache;
    uint32_t concurrency, retries, timeout_s;
    bool retries_set;
    /* create/update/push */
    const char *list_file, *type;
    bool ignore_missing, dry_run, purge, no_normalize, allow_duplicates, no_attestations, force, referrers;
    bool trust_platforms;
    cli_list annotations, add, remove, vars;
    cli_list tags; /* repeatable, each comma-separated */
    /* apply */
    bool check;
    /* push from-args */
    cli_list platforms; /* repeatable, each comma-separated */
    const char *template_ref, *target;
    /* inspect */
    bool raw;
    const char *platform;
} cli_opts;

/* Parses argv. Returns -1 to run o->command, or an exit code (help,
 * version, usage errors). */
int cli_parse(cli_opts *o, int argc, char **argv);
void cli_opts_free(cli_opts *o);

int cli_client(cli_opts *o, ml_client **out);
/* Erases the progress line (before printing results). */
void cli_clear_progress(void);
/* One line on stdout; control characters in it (newlines too) print as
 * '?': for text from registries and specs. */
void cli_print_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A JSON string literal. */
void cli_json_string(FILE *f, const char *s);
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_note(const cli_opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The name of an ML_* code, as in the JSON ("ML_EIO"). */
const char *cli_code_name(int code);
/* --json: every failure also prints one JSON object on stdout,
 * {"error": {"code", "exit", "message", ...}}. */
void cli_set_json(bool on);
/* Reports a library failure on stderr (and with --json on stdout); frees
 * err; returns the exit code. `ref` names what failed when the error does
 * not. cli_fail_into stores the error object in *json instead of printing
 * it, for a caller that embeds it into its own document. */
int cli_fail(int code, ml_error *err);
int cli_fail_ref(int code, ml_error *err, const char *ref);
int cli_fail_into(int code, ml_error *err, const char *ref, char **json);
/* The same, exit 2: a local spec file that cannot be read is bad input. */
int cli_fail_input(int code, ml_error *err);
/* A failure found by the command line itself (`code` as in the JSON);
 * `json` as for cli_fail_into. Returns exit_code. */
int cli_error(char **json, int exit_code, const char *code, const char *ref, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Usage errors (exit 2): "mlist: ..." or "mlist LABEL: ...". */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int cli_command_error(const char *label, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parses a spec file with the options' flags and variables (the
 * environment, then --var); prints its warnings. 0 or an exit code. */
int load_spec_file(const cli_opts *o, const char *path, ml_spec **spec);

/* What became of one list run by cli_push_lists; borrowed for the call. */
typedef struct cli_list_outcome {
    size_t spec;            /* which of the specs */
    size_t index;           /* which list of it */
    const ml_list *list;    /* NULL when it could not be built */
    const ml_result *res;   /* NULL when the registry was not reached */
    int rc;                 /* ML_OK or the failure, described by err */
    ml_error *err;          /* the callback may take it (and set it NULL) */
} cli_list_outcome;
typedef void cli_list_done(cli_list_outcome *outcome, void *payload);
/* Builds and pushes every list of specs[0..count) as create or update
 * does (a dry run with --dry-run), then, in order, prints each list's
 * warnings not printed before (with its spec or an earlier list) and hands
 * its outcome to `done`. 0, or an exit code when they could not be run at
 * all. */
int cli_push_lists(cli_opts *o, ml_spec *const *specs, size_t count, bool create, cli_list_done *done,
                   void *payload);

int cmd_push_spec(cli_opts *o, bool create);
int cmd_update(cli_opts *o);
int cmd_push(cli_opts *o);
int cmd_validate(cli_opts *o);
int cmd_inspect(cli_opts *o);
int cmd_delete(cli_opts *o);
int cmd_verify(cli_opts *o);
int cmd_apply(cli_opts *o);

#endif
