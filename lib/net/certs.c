/* containers-certs.d(5): per-registry CAs and client certificates. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "certs.h"
#include "fileio.h"
#include "util.h"

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* DIR/HOST of the first certs.d directory that has one, or NULL. */
static char *host_dir(const char *dirs, const char *host, bool *oom)
{
    char *d;
    const char *p = dirs ? dirs : ML_CERTS_DIRS_SYSTEM;
    while (*p) {
        size_t n = strcspn(p, ":");
        d = n ? ml__asprintf("%.*s/%s", (int)n, p, host) : NULL;
        *oom = n && !d;
        if (*oom || (d && is_dir(d)))
            return d;
        free(d);
        p += n + (p[n] == ':');
    }
    return NULL;
}

static bool has_suffix(const char *name, const char *suffix)
{
    size_t n = strlen(name), k = strlen(suffix);
    return n > k && strcmp(name + n - k, suffix) == 0;
}

/* path without `from` and with `to` at its end. */
static char *swap_suffix(const char *path, const char *from, const char *to)
{
    return ml__asprintf("%.*s%s", (int)(strlen(path) - strlen(from)), path, to);
}

static int add_ca(ml__buf *pem, const char *path, ml_error **err)
{
    char *data = NULL;
    size_t len = 0;
    int rc = ml__read_file(path, ML__CERTS_FILE_MAX, &data, &len, err);
    if (rc == ML_OK)
        ml__buf_append_line(pem, data, len);
    free(data);
    return rc;
}

/* A key and a certificate go together (docker refuses either alone). */
static int add_pair(ml__http_tls *out, const char *path, const char *have, const char *want, ml_error **err)
{
    char *other = swap_suffix(path, have, want);
    if (!other)
        return ml__error_set(err, ML_ENOMEM, "out of memory");
    int rc = ML_OK;
    if (access(other, F_OK) != 0)
        rc = ml__error_set(err, ML_EINVAL, "%s: no matching %s file %s", path,
                           strcmp(want, ".key") == 0 ? "key" : "certificate", other);
    else if (strcmp(have, ".cert") == 0 && !out->cert) {
        out->cert = ml__strdup(path);
        out->key = other;
        other = NULL;
        if (!out->cert)
            rc = ml__error_set(err, ML_ENOMEM, "out of memory");
    }
    free(other);
    return rc;
}

static int read_entry(ml__http_tls *out, ml__buf *pem, const char *dir, const char *name, ml_error **err)
{
    bool crt = has_suffix(name, ".crt"), cert = has_suffix(name, ".cert"), key = has_suffix(name, ".key");
    if (!crt && !cert && !key)
        return ML_OK;
    char *path = ml__asprintf("%s/%s", dir, name);
    if (!path)
        return ml__error_set(err, ML_ENOMEM, "out of memory");
    int rc = crt    ? add_ca(pem, path, err)
             : cert ? add_pair(out, path, ".cert", ".key", err)
                    : add_pair(out, path, ".key", ".cert", err);
    free(path);
    return rc;
}

int ml__certs_read(const char *dirs, const char *host, ml__http_tls *out, ml_error **err)
{
    *out = (ml__http_tls){0};
    /* A registry name is host[:port]; never a path of its own. */
    if (!host || !*host || strchr(host, '/') || host[0] == '.')
        return ML_OK;
    bool oom = false;
    char *dir = host_dir(dirs, host, &oom);
    if (!dir)
        return oom ? ml__error_set(err, ML_ENOMEM, "out of memory") : ML_OK;
    struct dirent **names = NULL;
    int n = scandir(dir, &names, NULL, alphasort);
    int rc = n < 0 ? ml__error_set(err, ML_EIO, "%s: %s", dir, ml__strerror(errno).text) : ML_OK;
    ml__buf pem = {0};
    for (int i = 0; i < n; i++) {
        if (rc == ML_OK)
            rc = read_entry(out, &pem, dir, names[i]->d_name, err);
        free(names[i]);
    }
    free(names);
    free(dir);
    if (rc == ML_OK && pem.oom)
        rc = ml__error_set(err, ML_ENOMEM, "out of memory");
    out->ca_len = pem.len;
    out->ca_pem = rc == ML_OK && pem.len ? ml__buf_take(&pem) : NULL;
    ml__buf_free(&pem);
    if (rc != ML_OK)
        ml__http_tls_clear(out);
    return rc;
}
