/* Shared declarations of the mlist command line. */
#ifndef MLIST_CLI_H
#define MLIST_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "manifestlist.h"

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
    cli_list annotations, add, remove;
    /* push from-args */
    const char *platforms, *template_ref, *target, *tags;
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
int cli_fail(int code, ml_error *err);
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int cmd_push_spec(cli_opts *o, bool create);
int cmd_update(cli_opts *o);
int cmd_push(cli_opts *o);
int cmd_validate(cli_opts *o);
int cmd_inspect(cli_opts *o);
int cmd_delete(cli_opts *o);
int cmd_verify(cli_opts *o);

#endif
