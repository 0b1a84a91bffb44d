/* Fuzz target for media types and header values, the path a hostile
 * manifest's mediaType once took into a Content-Type: the input is checked
 * as a media type, put as every media-type field of a manifest and as a
 * Content-Type, and added as a request header. Whatever gets through may
 * not carry a byte that would end a header line, nor parameters. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "http.h"
#include "json.h"
#include "manifest.h"

#define D "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"

static void require_header_safe(const char *s)
{
    require(s != NULL);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        require(*p > 0x20 && *p < 0x7f && *p != ';' && *p != ',');
}

static void fuzz_grammar(const char *s)
{
    bool valid = ml__media_type_valid(s);
    if (valid) {
        require_header_safe(s);
        const char *slash = strchr(s, '/');
        require(slash && slash != s && slash[1] && !strchr(slash + 1, '/'));
    }
    ml__kind k = ml__kind_of(s);
    require(k == ML__KIND_UNKNOWN || valid);
}

/* Every media type of a parsed model is one (a known one for the
 * document itself). */
static void require_model_safe(const ml__manifest *m)
{
    require(ml__kind_of(m->media_type) == m->kind && m->kind != ML__KIND_UNKNOWN);
    require(!m->artifact_type || ml__media_type_valid(m->artifact_type));
    for (size_t i = 0; i < m->manifest_count; i++) {
        require(ml__media_type_valid(m->manifests[i].media_type));
        require(!m->manifests[i].artifact_type || ml__media_type_valid(m->manifests[i].artifact_type));
    }
    if (m->config.media_type)
        require(ml__media_type_valid(m->config.media_type));
}

/* Parses before + q + middle + q + after. */
static void parse_with(const char *before, const char *middle, const char *after, const char *q,
                       const char *content_type)
{
    ml__buf b = {0};
    ml__buf_puts(&b, before);
    ml__buf_puts(&b, q);
    ml__buf_puts(&b, middle);
    ml__buf_puts(&b, q);
    ml__buf_puts(&b, after);
    char *json = ml__buf_take(&b);
    if (!json)
        return;
    ml__manifest m;
    ml_error *err = NULL;
    if (ml__manifest_parse(&m, json, strlen(json), content_type, &err) == ML_OK)
        require_model_safe(&m);
    else
        require(err && ml_error_code(err) != ML_OK);
    ml__manifest_clear(&m);
    ml_error_free(err);
    free(json);
}

static void fuzz_manifest_fields(const char *s)
{
    ml__json_writer w = {0};
    ml__jw_string(&w, NULL, s);
    char *q = ml__jw_take(&w, NULL);
    if (!q)
        return;
    /* the document's type, then an entry's type and artifactType */
    parse_with("{\"schemaVersion\":2,\"mediaType\":", ",\"manifests\":[],\"annotations\":{\"x\":", "}}", q, NULL);
    parse_with("{\"schemaVersion\":2,\"mediaType\":\"" ML__MT_OCI_INDEX "\",\"manifests\":[{\"mediaType\":",
               ",\"artifactType\":", ",\"digest\":\"" D "\",\"size\":2}]}", q, NULL);
    /* a config's type and the document's artifactType */
    parse_with("{\"schemaVersion\":2,\"mediaType\":\"" ML__MT_OCI_MANIFEST "\",\"config\":{\"mediaType\":",
               ",\"digest\":\"" D "\",\"size\":2},\"layers\":[],\"artifactType\":", "}", q, NULL);
    /* the input as the Content-Type of a document without a mediaType */
    parse_with("{\"schemaVersion\":2,\"manifests\":[],\"annotations\":{\"x\":", ",\"y\":", "}}", q, s);
    free(q);
}

/* The input, then one more byte (a NUL too), as a header value. */
static void fuzz_header(const char *s, char last)
{
    ml__http_req *r = ml__http_req_new("PUT", "http://127.0.0.1/v2/a/manifests/b");
    if (r && ml__http_req_header(r, "Content-Type: %s%c", s, last) == ML_OK) {
        bool bad = last == '\0' || last == '\r' || last == '\n' || strpbrk(s, "\r\n");
        require(bad ? r->unsafe != NULL && r->headers.count == 0 : !r->unsafe && r->headers.count == 1);
        for (size_t i = 0; i < r->headers.count; i++)
            require(!strpbrk(r->headers.items[i], "\r\n"));
    }
    ml__http_req_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *s = ml__strndup(size ? (const char *)data : "", size);
    if (!s)
        return 0;
    fuzz_grammar(s);
    fuzz_manifest_fields(s);
    fuzz_header(s, size ? (char)data[size - 1] : 'x');
    free(s);
    return 0;
}
