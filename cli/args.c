/* Argument parsing. Global options may stand before or after the command
 * (manifest-tool puts them before; people put them anywhere). Each command
 * accepts exactly the options it uses: one table says which, and the help
 * of every command is printed from it. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* The commands, a mode of a command each ("update" with --add/--remove and
 * "push from-args" take other options than "update SPEC"). */
enum {
    M_GLOBAL = 1u << 0,
    M_CREATE = 1u << 1,
    M_UPDATE = 1u << 2,
    M_EDIT = 1u << 3,
    M_FROM_SPEC = 1u << 4,
    M_FROM_ARGS = 1u << 5,
    M_APPLY = 1u << 6,
    M_VALIDATE = 1u << 7,
    M_INSPECT = 1u << 8,
    M_DELETE = 1u << 9,
    M_VERIFY = 1u << 10,
    M_HELP = 1u << 11,
};
/* Modes that read a spec, and modes that push a list. */
#define M_SPEC (M_CREATE | M_UPDATE | M_FROM_SPEC | M_APPLY)
#define M_PUSH (M_SPEC | M_EDIT | M_FROM_ARGS)

typedef struct mode_def {
    const char *command, *mode; /* mode: NULL, or the word after the command */
    const char *label;          /* how errors name it */
    unsigned bit;
    const char *synopsis, *about;
} mode_def;

static const mode_def modes[] = {
    {"create", NULL, "create", M_CREATE, "create [--list] SPEC", "create the lists of SPEC; refuses (exit 3) if the tag exists"},
    {"update", NULL, "update", M_UPDATE, "update [--list] SPEC", "create or replace; unchanged content is not pushed"},
    {"update", "--add/--remove", "update --add/--remove", M_EDIT, "update TARGET --add SRC[=PLATFORM] --remove PLATFORM|DIGEST",
     "edit a list without a spec (upsert by platform)"},
    {"push", "from-spec", "push from-spec", M_FROM_SPEC, "push from-spec SPEC", "manifest-tool compatible (= update)"},
    {"push", "from-args", "push from-args", M_FROM_ARGS,
     "push from-args --platforms PLATFORMS --template REF --target REF",
     "one image per platform: OS, ARCH, VARIANT in --template replaced"},
    {"apply", NULL, "apply", M_APPLY, "apply PATH...", "bring the registry in line with the specs in PATH"},
    {"validate", NULL, "validate", M_VALIDATE, "validate SPEC", "check a spec offline and print the plan"},
    {"inspect", NULL, "inspect", M_INSPECT, "inspect REF", "show a list or image"},
    {"delete", NULL, "delete", M_DELETE, "delete REF", "delete a list (every tag of it); referenced images stay"},
    {"verify", NULL, "verify", M_VERIFY, "verify REF", "check every child, platform and blob of a list"},
    {"help", NULL, "help", M_HELP, "help [COMMAND]", "this help, or a command's usage and options"},
};
#define MODE_COUNT (sizeof(modes) / sizeof(modes[0]))

typedef enum { KIND_FLAG, KIND_STRING, KIND_NUMBER, KIND_LIST } opt_kind;

/* An option may have several rows, one per meaning (--force of delete is
 * not --force of create); rows of one name share kind and field. */
typedef struct opt_def {
    const char *name;
    opt_kind kind;
    size_t offset;
    unsigned modes;
    const char *value, *about; /* for the help */
} opt_def;

#define F(field) offsetof(cli_opts, field)

static const opt_def defs[] = {
    {"--username", KIND_STRING, F(username), M_GLOBAL, "U", "user name for registries that ask"},
    {"--password", KIND_STRING, F(password), M_GLOBAL, "P", "password for registries that ask"},
    {"--password-stdin", KIND_FLAG, F(password_stdin), M_GLOBAL, NULL, "read the password from standard input"},
    {"--docker-cfg", KIND_STRING, F(docker_cfg), M_GLOBAL, "DIR", "docker config dir (default $DOCKER_CONFIG, ~/.docker)"},
    {"--authfile", KIND_STRING, F(authfile), M_GLOBAL, "FILE", "containers auth.json (default $REGISTRY_AUTH_FILE)"},
    {"--ca-cert", KIND_STRING, F(ca_cert), M_GLOBAL, "FILE", "trust this CA (PEM) for registry TLS"},
    {"--insecure", KIND_FLAG, F(insecure), M_GLOBAL, NULL, "do not verify TLS certificates"},
    {"--plain-http", KIND_FLAG, F(plain_http), M_GLOBAL, NULL, "use plain HTTP (detected on loopback without it)"},
    {"--cache-dir", KIND_STRING, F(cache_dir), M_GLOBAL, "DIR", "where image platforms and blob places are kept"},
    {"--no-cache", KIND_FLAG, F(no_cache), M_GLOBAL, NULL, "read every config; mount only from a source's repo"},
    {"--concurrency", KIND_NUMBER, F(concurrency), M_GLOBAL, "N", "parallel requests (default 8; 8 per list, at most 32, for several)"},
    {"--retries", KIND_NUMBER, F(retries), M_GLOBAL, "N", "retries of transient failures (default 3)"},
    {"--timeout", KIND_NUMBER, F(timeout_s), M_GLOBAL, "S", "per-request timeout in seconds (default 30)"},
    {"--json", KIND_FLAG, F(json), M_GLOBAL, NULL, "machine-readable output, errors too"},
    {"--quiet", KIND_FLAG, F(quiet), M_GLOBAL, NULL, "only results and errors (also -q)"},
    {"-q", KIND_FLAG, F(quiet), M_GLOBAL, NULL, NULL},
    {"--debug", KIND_FLAG, F(debug), M_GLOBAL, NULL, "trace requests (never secrets)"},
    {"--list", KIND_STRING, F(list_file), M_CREATE | M_UPDATE, "SPEC", "the spec file (instead of SPEC)"},
    {"--type", KIND_STRING, F(type), M_PUSH | M_VALIDATE, "docker|oci",
     "list type (default: oci where needed, else docker)"},
    {"--ignore-missing", KIND_FLAG, F(ignore_missing), M_PUSH, NULL, "leave out images that do not exist"},
    {"--dry-run", KIND_FLAG, F(dry_run), M_PUSH, NULL, "print the list and the changes; write nothing"},
    {"--dry-run", KIND_FLAG, F(dry_run), M_DELETE, NULL, "print the digest and every tag that would go"},
    {"--purge", KIND_FLAG, F(purge), M_PUSH, NULL, "delete the replaced list after the tag moved"},
    {"--no-normalize", KIND_FLAG, F(no_normalize), M_SPEC | M_FROM_ARGS | M_VALIDATE, NULL, "keep platform values verbatim"},
    {"--allow-duplicates", KIND_FLAG, F(allow_duplicates), M_SPEC | M_FROM_ARGS | M_VALIDATE, NULL,
     "allow two entries with the same platform"},
    {"--no-attestations", KIND_FLAG, F(no_attestations), M_PUSH, NULL, "drop buildx attestation entries of sources"},
    {"--trust-platforms", KIND_FLAG, F(trust_platforms), M_PUSH, NULL,
     "take given platforms as written, unchecked by configs"},
    {"--annotation", KIND_LIST, F(annotations), M_PUSH, "KEY=VALUE", "index annotation (OCI only; repeatable)"},
    {"--referrers", KIND_FLAG, F(referrers), M_PUSH, NULL, "also copy the children's signatures and SBOMs"},
    {"--referrers", KIND_FLAG, F(referrers), M_INSPECT, NULL, "also show what is attached to the list and entries"},
    {"--force", KIND_FLAG, F(force), M_CREATE | M_APPLY, NULL, "replace an existing tag"},
    {"--force", KIND_FLAG, F(force), M_UPDATE | M_EDIT | M_FROM_SPEC | M_FROM_ARGS, NULL,
     "overwrite a moved tag, or a single image"},
    {"--force", KIND_FLAG, F(force), M_DELETE, NULL, "also delete a single image"},
    {"--tags", KIND_LIST, F(tags), M_CREATE | M_UPDATE | M_FROM_SPEC | M_FROM_ARGS, "T1,T2",
     "more tags for every list (repeatable)"},
    {"--var", KIND_LIST, F(vars), M_SPEC | M_VALIDATE, "NAME=VALUE", "a spec variable (repeatable)"},
    {"--check", KIND_FLAG, F(check), M_APPLY, NULL, "only report what would change (exit 4 on drift)"},
    {"--add", KIND_LIST, F(add), M_EDIT, "SRC[=OS/ARCH[/VARIANT]]", "add or replace an entry (repeatable)"},
    {"--remove", KIND_LIST, F(remove), M_EDIT, "PLATFORM|DIGEST", "remove an entry (repeatable)"},
    {"--platforms", KIND_LIST, F(platforms), M_FROM_ARGS, "OS/ARCH[/VARIANT],...", "the platforms (repeatable)"},
    {"--template", KIND_STRING, F(template_ref), M_FROM_ARGS, "REF", "image of each platform, with OS, ARCH, VARIANT"},
    {"--target", KIND_STRING, F(target), M_FROM_ARGS, "REF", "the list to push"},
    {"--raw", KIND_FLAG, F(raw), M_INSPECT, NULL, "print the exact bytes"},
    {"--platform", KIND_STRING, F(platform), M_INSPECT, "OS/ARCH[/VARIANT]", "the entry a runtime on it would pick"},
};
#define DEF_COUNT (sizeof(defs) / sizeof(defs[0]))

static const char usage_tail[] =
    "A reference is a registry image (registry/repo:tag or @digest) or an OCI image\n"
    "layout directory: oci:PATH[:TAG] or oci:PATH@DIGEST. SPEC '-' is standard input.\n"
    "\n"
    "Exit codes: 0 done (also \"up to date\"), 1 failed (network, registry, auth,\n"
    "missing image), 2 bad input (usage, spec, reference, platform, unreadable\n"
    "spec file), 3 refused (exists, not a list, changed concurrently), 4 apply\n"
    "--check: something would change.\n"
    "\n"
    "Specs read ${NAME} and ${NAME:-default} from the environment and --var\n"
    "NAME=VALUE (repeatable, wins); $$ is a '$'.\n";

/* ---- help ----------------------------------------------------------------- */

static size_t print_options(unsigned bit)
{
    size_t printed = 0;
    for (size_t i = 0; i < DEF_COUNT; i++) {
        const opt_def *d = &defs[i];
        if (!(d->modes & bit) || !d->about)
            continue;
        char left[64];
        snprintf(left, sizeof(left), "%s%s%s", d->name, d->value ? " " : "", d->value ? d->value : "");
        printf("  %-28s%s%s\n", left, strlen(left) > 28 ? "\n                              " : "", d->about);
        printed++;
    }
    return printed;
}

static void print_global_help(void)
{
    fputs("Usage: mlist [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGS]\n"
          "\n"
          "Publish one image name that serves many platforms: a Docker manifest list\n"
          "or an OCI image index, assembled from a YAML spec or arguments.\n"
          "\nCommands:\n",
          stdout);
    for (size_t i = 0; i < MODE_COUNT; i++)
        printf("  %s\n      %s\n", modes[i].synopsis, modes[i].about);
    fputs("\nRun 'mlist help COMMAND' (or 'mlist COMMAND --help') for its options.\n\nGlobal options:\n", stdout);
    print_options(M_GLOBAL);
    printf("  %-28s%s\n\n", "--version, -h, --help", "print the version, or this help");
    fputs(usage_tail, stdout);
}

static void print_command_help(const char *command)
{
    bool first = true;
    for (size_t i = 0; i < MODE_COUNT; i++) {
        if (strcmp(modes[i].command, command) != 0)
            continue;
        printf("%sUsage: mlist %s\n  %s\n\nOptions:\n", first ? "" : "\n", modes[i].synopsis, modes[i].about);
        if (print_options(modes[i].bit) == 0)
            puts("  (none)");
        first = false;
    }
    fputs("\nGlobal options (anywhere): see 'mlist --help'.\n", stdout);
}

/* ---- suggestions ------------------------------------------------------------ */

/* Levenshtein distance, capped at 8 (farther is no suggestion anyway). */
static size_t edit_distance(const char *a, size_t n, const char *b)
{
    size_t m = strlen(b), row[64];
    if (n >= 63 || m >= 63)
        return 8;
    for (size_t j = 0; j <= m; j++)
        row[j] = j;
    for (size_t i = 1; i <= n; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= m; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            best = up + 1 < best ? up + 1 : best;
            row[j] = row[j - 1] + 1 < best ? row[j - 1] + 1 : best;
            diag = up;
        }
    }
    return row[m] < 8 ? row[m] : 8;
}

/* Keeps `candidate` when it is the nearest to `word` so far and near at
 * all: at most two edits, and fewer than half of the word. */
static void nearer(const char *word, size_t len, const char *candidate, const char **best, size_t *best_d)
{
    size_t d = edit_distance(word, len, candidate);
    if (d < *best_d && d <= 2 && d * 2 < len) {
        *best = candidate;
        *best_d = d;
    }
}

static const char *nearest_option(const char *word, size_t len, unsigned bits)
{
    const char *best = NULL;
    size_t best_d = 8;
    for (size_t i = 0; i < DEF_COUNT; i++)
        if (defs[i].modes & (bits | M_GLOBAL))
            nearer(word, len, defs[i].name, &best, &best_d);
    return best;
}

static const char *nearest_command(const char *word)
{
    const char *best = NULL;
    size_t best_d = 8;
    for (size_t i = 0; i < MODE_COUNT; i++)
        nearer(word, strlen(word), modes[i].command, &best, &best_d);
    return best;
}

/* "; did you mean 'X'?" or "" */
static const char *did_you_mean(const char *nearest, char *buf, size_t size)
{
    if (!nearest)
        return "";
    snprintf(buf, size, "; did you mean '%s'?", nearest);
    return buf;
}

/* ---- values ----------------------------------------------------------------- */

static int list_push(cli_list *l, char *s)
{
    char **p = realloc(l->items, (l->count + 1) * sizeof(*p));
    if (!p)
        return -1;
    l->items = p;
    l->items[l->count++] = s;
    return 0;
}

static const opt_def *find_def(const char *name, size_t len)
{
    for (size_t i = 0; i < DEF_COUNT; i++)
        if (strlen(defs[i].name) == len && strncmp(defs[i].name, name, len) == 0)
            return &defs[i];
    return NULL;
}

static int parse_number(const char *name, const char *v, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long n = strtoul(v, &end, 10);
    if (errno || end == v || *end || n > 100000 || v[0] == '-')
        return cli_usage_error("%s: expected a whole number, got '%s'", name, v);
    *out = (uint32_t)n;
    return -1;
}

static int apply_value(cli_opts *o, const opt_def *d, char *value)
{
    char *base = (char *)o + d->offset;
    switch (d->kind) {
    case KIND_STRING:
        *(const char **)(void *)base = value;
        return -1;
    case KIND_LIST:
        return list_push((cli_list *)(void *)base, value) == 0 ? -1 : cli_usage_error("out of memory");
    case KIND_NUMBER:
        if (d->offset == F(retries))
            o->retries_set = true;
        return parse_number(d->name, value, (uint32_t *)(void *)base);
    case KIND_FLAG:
        break;
    }
    return -1;
}

/* ---- parsing ---------------------------------------------------------------- */

/* What the scan of argv met, checked once the command is known. */
typedef struct parse_state {
    const opt_def *seen[DEF_COUNT]; /* each option name once */
    size_t seen_count;
    const char *unknown; /* the first unknown option */
    size_t unknown_len;
    bool help, version;
} parse_state;

static void remember(parse_state *st, const opt_def *d)
{
    for (size_t i = 0; i < st->seen_count; i++)
        if (strcmp(st->seen[i]->name, d->name) == 0)
            return;
    st->seen[st->seen_count++] = d;
}

/* One option at argv[*i]; consumes its value. */
static int parse_option(cli_opts *o, parse_state *st, int argc, char **argv, int *i)
{
    char *arg = argv[*i];
    char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    const opt_def *d = find_def(arg, len);
    if (!d) {
        if (!st->unknown) {
            st->unknown = arg;
            st->unknown_len = len;
        }
        return -1;
    }
    remember(st, d);
    if (d->kind == KIND_FLAG) {
        if (eq)
            return cli_usage_error("option '%s' takes no value", d->name);
        *(bool *)(void *)((char *)o + d->offset) = true;
        return -1;
    }
    if (eq)
        return apply_value(o, d, eq + 1);
    if (*i + 1 >= argc)
        return cli_usage_error("option '%s' needs a value", d->name);
    return apply_value(o, d, argv[++*i]);
}

static const mode_def *find_mode(const char *command, const char *mode)
{
    for (size_t i = 0; i < MODE_COUNT; i++)
        if (strcmp(modes[i].command, command) == 0 &&
            (!modes[i].mode || (mode && strcmp(modes[i].mode, mode) == 0)))
            return &modes[i];
    return NULL;
}

static bool is_command(const char *word)
{
    for (size_t i = 0; i < MODE_COUNT; i++)
        if (strcmp(modes[i].command, word) == 0)
            return true;
    return false;
}

/* The mode the arguments select; "push" without a known mode word accepts
 * the options of both modes (cmd_push names the missing mode). */
static unsigned mode_bits(const cli_opts *o, const char **label)
{
    *label = o->command;
    if (strcmp(o->command, "update") == 0 && (o->add.count || o->remove.count)) {
        *label = "update --add/--remove";
        return M_EDIT;
    }
    const mode_def *m = find_mode(o->command, o->args.count ? o->args.items[0] : NULL);
    if (m && m->mode)
        *label = m->label;
    else if (strcmp(o->command, "push") == 0)
        return M_FROM_SPEC | M_FROM_ARGS;
    return m ? m->bit : 0;
}

static bool accepts(const char *name, unsigned bits)
{
    for (size_t i = 0; i < DEF_COUNT; i++)
        if (strcmp(defs[i].name, name) == 0 && (defs[i].modes & (bits | M_GLOBAL)))
            return true;
    return false;
}

/* Unknown options, and known ones the command does not use: never ignored. */
static int check_options(const cli_opts *o, const parse_state *st)
{
    char hint[96];
    const char *label = NULL;
    unsigned bits = mode_bits(o, &label);
    if (st->unknown)
        return cli_command_error(label, "unknown option '%.*s'%s", (int)st->unknown_len, st->unknown,
                                 did_you_mean(nearest_option(st->unknown, st->unknown_len, bits), hint, sizeof(hint)));
    for (size_t i = 0; i < st->seen_count; i++)
        if (!accepts(st->seen[i]->name, bits))
            return cli_command_error(label, "option '%s' does not apply to %s%s", st->seen[i]->name, label,
                                     did_you_mean(nearest_option(st->seen[i]->name, strlen(st->seen[i]->name), bits),
                                                         hint, sizeof(hint)));
    return -1;
}

static int read_password_stdin(cli_opts *o)
{
    size_t cap = 0;
    ssize_t n = getline(&o->password_buf, &cap, stdin);
    if (n < 0)
        return cli_usage_error("--password-stdin: nothing to read on standard input");
    while (n > 0 && (o->password_buf[n - 1] == '\n' || o->password_buf[n - 1] == '\r'))
        o->password_buf[--n] = '\0';
    o->password = o->password_buf;
    return -1;
}

static int check_combinations(cli_opts *o)
{
    if (o->password_stdin && o->password)
        return cli_usage_error("--password and --password-stdin exclude each other");
    if (o->type && strcmp(o->type, "docker") != 0 && strcmp(o->type, "oci") != 0)
        return cli_usage_error("--type must be 'docker' or 'oci', not '%s'", o->type);
    for (size_t i = 0; i < o->vars.count; i++)
        if (o->vars.items[i][0] == '=' || !strchr(o->vars.items[i], '='))
            return cli_usage_error("--var: expected NAME=VALUE, got '%s'", o->vars.items[i]);
    if (o->password_stdin)
        return read_password_stdin(o);
    return -1;
}

/* `mlist help [COMMAND]`, `mlist [COMMAND] --help`. */
static int print_help(const char *command)
{
    char hint[96];
    if (!command) {
        print_global_help();
        return EXIT_DONE;
    }
    if (!is_command(command))
        return cli_usage_error("unknown command '%s'%s", command,
                               did_you_mean(nearest_command(command), hint, sizeof(hint)));
    print_command_help(command);
    return EXIT_DONE;
}

/* --json changes how usage errors are printed, wherever it stands. */
static void find_json(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--json") == 0)
            cli_set_json(true);
}

static int scan(cli_opts *o, parse_state *st, int argc, char **argv)
{
    bool only_args = false;
    for (int i = 1; i < argc; i++) {
        char *arg = argv[i];
        int rc = -1;
        if (!only_args && strcmp(arg, "--") == 0)
            only_args = true;
        else if (!only_args && (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0))
            st->help = true;
        else if (!only_args && strcmp(arg, "--version") == 0)
            st->version = true;
        else if (!only_args && arg[0] == '-' && arg[1] != '\0')
            rc = parse_option(o, st, argc, argv, &i);
        else if (!o->command)
            o->command = arg;
        else if (list_push(&o->args, arg) != 0)
            rc = cli_usage_error("out of memory");
        if (rc >= 0)
            return rc;
    }
    return -1;
}

static int unknown_option_error(const parse_state *st)
{
    char hint[96];
    return cli_usage_error("unknown option '%.*s'%s", (int)st->unknown_len, st->unknown,
                           did_you_mean(nearest_option(st->unknown, st->unknown_len, 0), hint, sizeof(hint)));
}

int cli_parse(cli_opts *o, int argc, char **argv)
{
    memset(o, 0, sizeof(*o));
    find_json(argc, argv);
    parse_state st = {0};
    int rc = scan(o, &st, argc, argv);
    if (rc >= 0)
        return rc;
    bool help_command = o->command && strcmp(o->command, "help") == 0;
    if (st.help || help_command)
        return print_help(help_command ? (o->args.count ? o->args.items[0] : NULL) : o->command);
    if (st.version) {
        printf("mlist %s (libmanifestlist %s)\n", ML_VERSION_STRING, ml_version());
        return EXIT_DONE;
    }
    char hint[96];
    if (!o->command)
        return st.unknown ? unknown_option_error(&st) : cli_usage_error("no command given");
    /* `mlist --concurency 4 validate`: the mistyped option's value was
     * taken for the command; the option is what to report. */
    if (!is_command(o->command))
        return st.unknown ? unknown_option_error(&st)
                          : cli_usage_error("unknown command '%s'%s", o->command,
                                            did_you_mean(nearest_command(o->command), hint, sizeof(hint)));
    rc = check_options(o, &st);
    return rc >= 0 ? rc : check_combinations(o);
}

void cli_opts_free(cli_opts *o)
{
    free(o->args.items);
    free(o->annotations.items);
    free(o->add.items);
    free(o->remove.items);
    free(o->vars.items);
    free(o->tags.items);
    free(o->platforms.items);
    free(o->password_buf);
}
