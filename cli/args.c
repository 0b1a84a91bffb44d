/* Argument parsing. Global options may stand before or after the command
 * (manifest-tool puts them before; people put them anywhere). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "Usage: mlist [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGS]\n"
    "\n"
    "Publish one image name that serves many platforms: a Docker manifest list\n"
    "or an OCI image index, assembled from a YAML spec or arguments.\n"
    "\n"
    "Commands:\n"
    "  create [--list] SPEC        create a new list; refuses (exit 3) if the tag exists\n"
    "  update [--list] SPEC        create or replace; unchanged content is not pushed\n"
    "  update TARGET --add SRC[=OS/ARCH[/VARIANT]] --remove PLATFORM|DIGEST\n"
    "                              edit a list without a spec (upsert by platform)\n"
    "  push from-spec SPEC         manifest-tool compatible (= update)\n"
    "  push from-args --platforms linux/amd64,linux/arm64 --template REG/IMG:TAG-ARCH\n"
    "                --target REG/IMG:TAG [--tags t1,t2]\n"
    "                              placeholders OS, ARCH and VARIANT in --template\n"
    "  inspect REF                 show a list or image (--raw, --json, --platform P)\n"
    "  delete REF                  delete a list; referenced images stay\n"
    "  verify REF                  check every child, platform and blob of a list\n"
    "  validate SPEC               check a spec offline and print the plan\n"
    "\n"
    "Options of create, update and push:\n"
    "  --type docker|oci           list type (default: oci if an entry is OCI or\n"
    "                              annotations are used, else docker)\n"
    "  --ignore-missing            leave out images that do not exist\n"
    "  --dry-run                   print the list and what would change; write nothing\n"
    "  --purge                     delete the replaced list after the tag moved\n"
    "  --no-normalize              keep platform values verbatim\n"
    "  --allow-duplicates          allow two entries with the same platform\n"
    "  --trust-platforms           take the spec's platforms as written: no image\n"
    "                              config is read to complete or check them\n"
    "  --no-attestations           drop buildx attestation entries of source indexes\n"
    "  --annotation KEY=VALUE      index annotation (OCI only; repeatable)\n"
    "  --referrers                 carry the children's signatures, SBOMs and\n"
    "                              attestations (OCI referrers) along\n"
    "  --force                     create: replace an existing tag; update: overwrite\n"
    "                              a tag someone else moved meanwhile\n"
    "Options of inspect: --raw (exact bytes), --json, --platform OS/ARCH[/VARIANT],\n"
    "                    --referrers (what is attached to the list and each entry)\n"
    "Options of delete:  --force (also delete a single image)\n"
    "\n"
    "A reference is a registry image (registry/repo:tag or @digest) or an OCI image\n"
    "layout directory: oci:PATH[:TAG] or oci:PATH@DIGEST.\n"
    "\n"
    "Global options:\n"
    "  --username U, --password P, --password-stdin\n"
    "  --docker-cfg DIR            docker config dir (default $DOCKER_CONFIG or ~/.docker)\n"
    "  --authfile FILE             containers auth.json (default $REGISTRY_AUTH_FILE)\n"
    "  --ca-cert FILE              trust this CA (PEM) for registry TLS\n"
    "  --insecure                  do not verify TLS certificates\n"
    "  --plain-http                use plain HTTP (loopback registries that do not\n"
    "                              speak TLS are detected without it)\n"
    "  --cache-dir DIR             where platforms read from image configs are kept\n"
    "                              (default $XDG_CACHE_HOME/mlist or ~/.cache/mlist)\n"
    "  --no-cache                  read every image config from the registry\n"
    "  --concurrency N             parallel requests (default 8)\n"
    "  --retries N                 retries of transient failures (default 3)\n"
    "  --timeout S                 per-request timeout in seconds (default 30)\n"
    "  --json                      machine-readable output\n"
    "  -q, --quiet                 only results and errors\n"
    "  --debug                     trace requests (never secrets)\n"
    "  --version, -h/--help\n"
    "\n"
    "Exit codes: 0 done (also \"up to date\"), 1 failed (network, registry, auth,\n"
    "missing image), 2 bad input (usage, spec, reference, platform), 3 refused\n"
    "(exists, not a list, changed concurrently).\n";

typedef enum { KIND_FLAG, KIND_STRING, KIND_NUMBER, KIND_LIST } opt_kind;

typedef struct opt_def {
    const char *name;
    opt_kind kind;
    size_t offset;
} opt_def;

#define F(field) offsetof(cli_opts, field)

static const opt_def defs[] = {
    {"--username", KIND_STRING, F(username)},
    {"--password", KIND_STRING, F(password)},
    {"--password-stdin", KIND_FLAG, F(password_stdin)},
    {"--docker-cfg", KIND_STRING, F(docker_cfg)},
    {"--authfile", KIND_STRING, F(authfile)},
    {"--ca-cert", KIND_STRING, F(ca_cert)},
    {"--cache-dir", KIND_STRING, F(cache_dir)},
    {"--no-cache", KIND_FLAG, F(no_cache)},
    {"--insecure", KIND_FLAG, F(insecure)},
    {"--plain-http", KIND_FLAG, F(plain_http)},
    {"--concurrency", KIND_NUMBER, F(concurrency)},
    {"--retries", KIND_NUMBER, F(retries)},
    {"--timeout", KIND_NUMBER, F(timeout_s)},
    {"--json", KIND_FLAG, F(json)},
    {"--quiet", KIND_FLAG, F(quiet)},
    {"-q", KIND_FLAG, F(quiet)},
    {"--debug", KIND_FLAG, F(debug)},
    {"--list", KIND_STRING, F(list_file)},
    {"--type", KIND_STRING, F(type)},
    {"--ignore-missing", KIND_FLAG, F(ignore_missing)},
    {"--dry-run", KIND_FLAG, F(dry_run)},
    {"--purge", KIND_FLAG, F(purge)},
    {"--no-normalize", KIND_FLAG, F(no_normalize)},
    {"--allow-duplicates", KIND_FLAG, F(allow_duplicates)},
    {"--trust-platforms", KIND_FLAG, F(trust_platforms)},
    {"--no-attestations", KIND_FLAG, F(no_attestations)},
    {"--force", KIND_FLAG, F(force)},
    {"--referrers", KIND_FLAG, F(referrers)},
    {"--annotation", KIND_LIST, F(annotations)},
    {"--add", KIND_LIST, F(add)},
    {"--remove", KIND_LIST, F(remove)},
    {"--platforms", KIND_STRING, F(platforms)},
    {"--template", KIND_STRING, F(template_ref)},
    {"--target", KIND_STRING, F(target)},
    {"--tags", KIND_STRING, F(tags)},
    {"--raw", KIND_FLAG, F(raw)},
    {"--platform", KIND_STRING, F(platform)},
};

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
    for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]); i++)
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

/* One option at argv[*i]; consumes its value. */
static int parse_option(cli_opts *o, int argc, char **argv, int *i)
{
    char *arg = argv[*i];
    char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    const opt_def *d = find_def(arg, len);
    if (!d)
        return cli_usage_error("unknown option '%.*s'", (int)len, arg);
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
    if (o->password_stdin)
        return read_password_stdin(o);
    return -1;
}

int cli_parse(cli_opts *o, int argc, char **argv)
{
    memset(o, 0, sizeof(*o));
    bool only_args = false, help = false, version = false;
    for (int i = 1; i < argc; i++) {
        char *arg = argv[i];
        int rc = -1;
        if (!only_args && strcmp(arg, "--") == 0)
            only_args = true;
        else if (!only_args && (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0))
            help = true;
        else if (!only_args && strcmp(arg, "--version") == 0)
            version = true;
        else if (!only_args && arg[0] == '-' && arg[1] != '\0')
            rc = parse_option(o, argc, argv, &i);
        else if (!o->command)
            o->command = arg;
        else if (list_push(&o->args, arg) != 0)
            rc = cli_usage_error("out of memory");
        if (rc >= 0)
            return rc;
    }
    if (help) {
        fputs(usage, stdout);
        return 0;
    }
    if (version) {
        printf("mlist %s (libmanifestlist %s)\n", ML_VERSION_STRING, ml_version());
        return 0;
    }
    if (!o->command)
        return cli_usage_error("no command given");
    return check_combinations(o);
}

void cli_opts_free(cli_opts *o)
{
    free(o->args.items);
    free(o->annotations.items);
    free(o->add.items);
    free(o->remove.items);
    free(o->password_buf);
}
