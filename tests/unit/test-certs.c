/* certs.d: the directories read are the ones given, in order, and nothing
 * the environment names (HOME included): the library's input is explicit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "certs.h"
#include "test.h"

#define HOST "registry.test:5000"

static char root[] = "/tmp/ml-test-certs-XXXXXX";

/* mkdir -p */
static void make_dirs(char *path)
{
    for (char *p = path + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0700);
            *p = '/';
        }
    mkdir(path, 0700);
}

/* DIR/HOST/NAME with `text`, DIR under root. */
static void put(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s/" HOST, root, dir);
    make_dirs(path);
    snprintf(path, sizeof(path), "%s/%s/" HOST "/%s", root, dir, name);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fputs(text, f);
    fclose(f);
}

static char *dirs(const char *a, const char *b)
{
    static char buf[512];
    snprintf(buf, sizeof(buf), "%s/%s:%s/%s", root, a, root, b);
    return buf;
}

static void test_first_listed_directory_wins(void)
{
    put("one", "ca.crt", "FIRST\n");
    put("two", "ca.crt", "SECOND\n");
    ml__http_tls c = {0};
    CHECK_INT(ml__certs_read(dirs("one", "two"), HOST, &c, NULL), ML_OK);
    CHECK(c.ca_pem && strstr(c.ca_pem, "FIRST") && !strstr(c.ca_pem, "SECOND"));
    ml__http_tls_clear(&c);
    CHECK_INT(ml__certs_read(dirs("none", "two"), HOST, &c, NULL), ML_OK);
    CHECK(c.ca_pem && strstr(c.ca_pem, "SECOND"));
    ml__http_tls_clear(&c);
}

/* $HOME/.config/containers/certs.d is the caller's to list: here it holds
 * a key without its certificate, an error were it read. */
static void test_home_is_not_read(void)
{
    char home[512];
    snprintf(home, sizeof(home), "%s/home", root);
    put("home/.config/containers/certs.d", "client.key", "KEY\n");
    setenv("HOME", home, 1);
    ml__http_tls c = {0};
    CHECK_INT(ml__certs_read(dirs("none", "two"), HOST, &c, NULL), ML_OK);
    CHECK(c.ca_pem && strstr(c.ca_pem, "SECOND"));
    ml__http_tls_clear(&c);
    /* the control: listed, it is read (and refused) */
    ml_error *err = NULL;
    CHECK_INT(ml__certs_read(dirs("home/.config/containers/certs.d", "two"), HOST, &c, &err), ML_EINVAL);
    ml_error_free(err);
}

int main(void)
{
    CHECK(mkdtemp(root) != NULL);
    TEST_RUN(test_first_listed_directory_wins);
    TEST_RUN(test_home_is_not_read);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    CHECK_INT(system(cmd), 0);
    TEST_END();
}
