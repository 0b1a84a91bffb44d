/* JSON reading and writing, the only cJSON user.
 *
 * cJSON keeps process-wide state in cJSON_InitHooks and cJSON_GetErrorPtr;
 * neither is used here. Error offsets come from the return_parse_end argument
 * of cJSON_ParseWithLengthOpts instead. Memory cJSON allocated is handed
 * out only as a copy, so callers free with free() whatever cJSON's hooks. */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "json.h"

/* Quoted values in messages are cut, a 4 MiB digest helps no one. */
#define QUOTE_CUT 80

/* ---- Messages ----------------------------------------------------------- */

int ml__json_fail(ml_error **err, int code, const char *path, const char *fmt, ...)
{
    if (!err)
        return code;
    ml__buf b = {0};
    if (path && *path) {
        ml__buf_puts(&b, path);
        ml__buf_puts(&b, ": ");
    }
    va_list ap;
    va_start(ap, fmt);
    ml__buf_vprintf(&b, fmt, ap);
    va_end(ap);
    /* Paths and quotes hold keys and values of the document. */
    char *msg = ml__buf_take(&b);
    int rc = msg ? ml__error_set_printable(err, code, "%s", msg) : ml__error_set(err, ML_ENOMEM, "out of memory");
    free(msg);
    return rc;
}

const char *ml__json_quote(char buf[ML__JSON_QUOTE_LEN], const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    buf[o++] = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (o >= QUOTE_CUT) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        if (*p == '"' || *p == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)*p;
        } else if (*p < 0x20 || *p == 0x7f) {
            buf[o++] = '\\';
            buf[o++] = 'x';
            buf[o++] = hex[*p >> 4];
            buf[o++] = hex[*p & 0xf];
        } else {
            buf[o++] = (char)*p;
        }
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

/* Paths only label messages; a cut one still reads "...". */
static void path_done(char out[ML__JSON_PATH_LEN], int n)
{
    if (n < 0 || n >= ML__JSON_PATH_LEN)
        memcpy(out + ML__JSON_PATH_LEN - 4, "...", 4);
}

void ml__json_path_key(char out[ML__JSON_PATH_LEN], const char *base, const char *key)
{
    path_done(out, snprintf(out, ML__JSON_PATH_LEN, "%s%s%s", base, *base ? "." : "", key));
}

void ml__json_path_index(char out[ML__JSON_PATH_LEN], const char *base, size_t i)
{
    path_done(out, snprintf(out, ML__JSON_PATH_LEN, "%s[%zu]", base, i));
}

/* ---- Reading: what cJSON lets through ----------------------------------- */

/* Runs before cJSON sees the bytes: refuses deep nesting (cJSON recurses
 * per level), invalid UTF-8, and what RFC 8259 forbids but cJSON accepts:
 * raw control characters, and "\u0000", which would silently cut a C
 * string short (a digest or annotation value that is not what was sent). */
static int prescan(const char *s, size_t len, int code, ml_error **err)
{
    size_t depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80) {
            size_t n = ml__utf8_sequence((const unsigned char *)s + i, len - i);
            if (n == 0)
                return ml__json_fail(err, code, "", "invalid UTF-8 at byte %zu", i);
            i += n - 1;
        } else if (in_string) {
            if (c == '\\') {
                if (i + 5 < len && s[i + 1] == 'u' && memcmp(s + i + 2, "0000", 4) == 0)
                    return ml__json_fail(err, code, "", "\\u0000 in a string at byte %zu", i);
                i++;
            } else if (c == '"') {
                in_string = false;
            } else if (c < 0x20) {
                return ml__json_fail(err, code, "", "control character in a string at byte %zu", i);
            }
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > ML__JSON_MAX_DEPTH)
                return ml__json_fail(err, code, "", "JSON nested deeper than %d levels at byte %zu",
                                     ML__JSON_MAX_DEPTH, i);
        } else if (c == '}' || c == ']') {
            if (depth)
                depth--;
        } else if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
            return ml__json_fail(err, code, "", "invalid JSON: control character at byte %zu", i);
        }
    }
    return ML_OK;
}

/* Number literals in document order. cJSON keeps only a double, so the text
 * is read again: a cJSON tree lists its number nodes in the same order. */
typedef struct num_cursor {
    const char *s;
    size_t len;
    size_t pos;
} num_cursor;

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static bool is_number_char(char c)
{
    return is_digit(c) || c == '+' || c == '-' || c == '.' || c == 'e' || c == 'E';
}

static bool next_number(num_cursor *c, size_t *start, size_t *end)
{
    bool in_string = false;
    while (c->pos < c->len) {
        char ch = c->s[c->pos];
        if (in_string) {
            if (ch == '\\')
                c->pos++;
            else if (ch == '"')
                in_string = false;
            c->pos++;
        } else if (ch == '"') {
            in_string = true;
            c->pos++;
        } else if (ch == '-' || is_digit(ch)) {
            *start = c->pos;
            while (c->pos < c->len && is_number_char(c->s[c->pos]))
                c->pos++;
            *end = c->pos;
            return true;
        } else {
            c->pos++;
        }
    }
    return false;
}

/* Skips the digits at s[*i]; false when there are none. */
static bool digits(const char *s, size_t n, size_t *i)
{
    size_t start = *i;
    while (*i < n && is_digit(s[*i]))
        (*i)++;
    return *i > start;
}

/* RFC 8259 §6 number grammar (cJSON also takes "01", "1.", "-.5"). */
static bool json_number(const char *s, size_t n)
{
    size_t i = 0;
    if (i < n && s[i] == '-')
        i++;
    if (i < n && s[i] == '0')
        i++;
    else if (!(i < n && s[i] >= '1' && s[i] <= '9') || !digits(s, n, &i))
        return false;
    if (i < n && s[i] == '.' && (++i, !digits(s, n, &i)))
        return false;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (!digits(s, n, &i))
            return false;
    }
    return i == n;
}

/* Keeps a number's text in its valuestring, which cJSON leaves unused for
 * numbers and cJSON_Delete frees whatever the type (so with cJSON's
 * allocator): integers are read exactly, and values kept for other tools
 * are written back as sent. */
static int keep_literal(cJSON *node, num_cursor *c, int code, ml_error **err)
{
    size_t start, end;
    if (!next_number(c, &start, &end) || !json_number(c->s + start, end - start))
        return ml__json_fail(err, code, "", "invalid JSON number at byte %zu", c->pos < c->len ? c->pos : c->len);
    char *text = cJSON_malloc(end - start + 1);
    if (!text)
        return ml__error_set(err, ML_ENOMEM, "out of memory");
    memcpy(text, c->s + start, end - start);
    text[end - start] = '\0';
    node->valuestring = text;
    return ML_OK;
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A key twice in obj, or NULL; sorted, so large objects stay O(n log n).
 * *nomem tells an allocation failure. */
static const char *duplicate_key(const cJSON *obj, bool *nomem)
{
    size_t n = 0, i = 0;
    for (const cJSON *c = obj->child; c; c = c->next)
        n++;
    if (n < 2)
        return NULL;
    const char **keys = malloc(n * sizeof(*keys));
    if (!keys) {
        *nomem = true;
        return NULL;
    }
    for (const cJSON *c = obj->child; c; c = c->next)
        keys[i++] = c->string;
    qsort(keys, n, sizeof(*keys), key_cmp);
    const char *dup = NULL;
    for (i = 1; i < n && !dup; i++)
        if (strcmp(keys[i - 1], keys[i]) == 0)
            dup = keys[i];
    free(keys);
    return dup;
}

/* Walks the tree in document order: number literals checked and kept,
 * duplicate keys refused, with the path of the object in the message. */
static int check_tree(cJSON *node, const char *path, num_cursor *c, int code, ml_error **err)
{
    char q[ML__JSON_QUOTE_LEN], p[ML__JSON_PATH_LEN];
    if (cJSON_IsNumber(node))
        return keep_literal(node, c, code, err);
    if (cJSON_IsObject(node)) {
        bool nomem = false;
        const char *dup = duplicate_key(node, &nomem);
        if (nomem)
            return ml__error_set(err, ML_ENOMEM, "out of memory");
        if (dup)
            return ml__json_fail(err, code, path, "duplicate key %s", ml__json_quote(q, dup));
    }
    size_t i = 0;
    for (cJSON *child = node->child; child; child = child->next, i++) {
        if (cJSON_IsObject(node))
            ml__json_path_key(p, path, child->string);
        else
            ml__json_path_index(p, path, i);
        int rc = check_tree(child, p, c, code, err);
        if (rc != ML_OK)
            return rc;
    }
    return ML_OK;
}

static bool json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static int parse_value(cJSON **out, const char *text, size_t len, int code, ml_error **err)
{
    *out = NULL;
    if (!text || len == 0)
        return ml__json_fail(err, code, "", "empty document");
    int rc = prescan(text, len, code, err);
    if (rc != ML_OK)
        return rc;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        size_t at = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
        return ml__json_fail(err, code, "", "invalid JSON at byte %zu", at);
    }
    size_t at = end ? (size_t)(end - text) : len;
    while (at < len && json_space(text[at]))
        at++;
    num_cursor c = {text, len, 0};
    if (at < len)
        rc = ml__json_fail(err, code, "", "invalid JSON: unexpected data after the document at byte %zu", at);
    else
        rc = check_tree(root, "", &c, code, err);
    if (rc != ML_OK) {
        cJSON_Delete(root);
        return rc;
    }
    *out = root;
    return ML_OK;
}

int ml__json_parse(ml__json **root, const char *text, size_t len, int code, ml_error **err)
{
    cJSON *value;
    *root = NULL;
    int rc = parse_value(&value, text, len, code, err);
    if (rc != ML_OK)
        return rc;
    if (!cJSON_IsObject(value)) {
        cJSON_Delete(value);
        return ml__json_fail(err, code, "", "the document is not a JSON object");
    }
    *root = (ml__json *)value;
    return ML_OK;
}

bool ml__json_valid(const char *text)
{
    cJSON *value;
    if (!text || parse_value(&value, text, strlen(text), ML_EINVAL, NULL) != ML_OK)
        return false;
    cJSON_Delete(value);
    return true;
}

void ml__json_free(ml__json *root) { cJSON_Delete((cJSON *)root); }

static void wipe(cJSON *node)
{
    for (; node; node = node->next) {
        if (node->valuestring)
            ml__wipe(node->valuestring, strlen(node->valuestring));
        wipe(node->child);
    }
}

void ml__json_free_wiped(ml__json *root)
{
    wipe((cJSON *)root);
    cJSON_Delete((cJSON *)root);
}

/* ---- Reading: the typed view -------------------------------------------- */

#define NODE(v) ((const cJSON *)(v))

bool ml__json_is_object(const ml__json *v) { return cJSON_IsObject(NODE(v)); }
bool ml__json_is_array(const ml__json *v) { return cJSON_IsArray(NODE(v)); }
bool ml__json_is_null(const ml__json *v) { return cJSON_IsNull(NODE(v)); }
bool ml__json_is_number(const ml__json *v) { return cJSON_IsNumber(NODE(v)); }

const ml__json *ml__json_get(const ml__json *obj, const char *key)
{
    if (!cJSON_IsObject(NODE(obj)))
        return NULL;
    return (const ml__json *)cJSON_GetObjectItemCaseSensitive(NODE(obj), key);
}

const char *ml__json_string(const ml__json *v)
{
    return cJSON_IsString(NODE(v)) ? NODE(v)->valuestring : NULL;
}

bool ml__json_int(const ml__json *v, int64_t *out)
{
    const char *s = cJSON_IsNumber(NODE(v)) ? NODE(v)->valuestring : NULL;
    if (!s || strpbrk(s, ".eE"))
        return false;
    bool negative = *s == '-';
    int64_t n = 0;
    for (s += negative; *s && n <= ML__JSON_INT_MAX; s++)
        n = n * 10 + (*s - '0');
    if (n > ML__JSON_INT_MAX)
        n = ML__JSON_INT_MAX + 1;
    *out = negative ? -n : n;
    return true;
}

double ml__json_double(const ml__json *v)
{
    return cJSON_IsNumber(NODE(v)) ? NODE(v)->valuedouble : NAN;
}

const ml__json *ml__json_first(const ml__json *v)
{
    return v && (cJSON_IsObject(NODE(v)) || cJSON_IsArray(NODE(v))) ? (const ml__json *)NODE(v)->child : NULL;
}

const ml__json *ml__json_next(const ml__json *v) { return v ? (const ml__json *)NODE(v)->next : NULL; }

size_t ml__json_count(const ml__json *v)
{
    size_t n = 0;
    for (const ml__json *c = ml__json_first(v); c; c = ml__json_next(c))
        n++;
    return n;
}

const char *ml__json_key(const ml__json *member) { return member ? NODE(member)->string : NULL; }

/* Number nodes holding their text (keep_literal) become raw JSON. */
static void raw_numbers(cJSON *node)
{
    for (; node; node = node->next) {
        if (cJSON_IsNumber(node) && node->valuestring)
            node->type = cJSON_Raw;
        else
            raw_numbers(node->child);
    }
}

char *ml__json_text(const ml__json *v)
{
    cJSON *copy = cJSON_Duplicate(NODE(v), true);
    if (!copy)
        return NULL;
    raw_numbers(copy);
    char *printed = cJSON_PrintUnformatted(copy);
    cJSON_Delete(copy);
    char *text = printed ? ml__strdup(printed) : NULL;
    cJSON_free(printed);
    return text;
}

/* ---- Writing ------------------------------------------------------------ */

/* cJSON's escaping (print_string_ptr), so that documents written before
 * and after this writer existed have the same bytes: short escapes where
 * JSON has them, \u00XX for other control characters, UTF-8 as it is. */
static void write_string(ml__buf *b, const char *s)
{
    ml__buf_puts(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        const char *esc = NULL;
        switch (*p) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default: break;
        }
        if (esc)
            ml__buf_puts(b, esc);
        else if (*p < 0x20)
            ml__buf_printf(b, "\\u%04x", *p);
        else
            ml__buf_append(b, p, 1);
    }
    ml__buf_puts(b, "\"");
}

/* The separator and key before a value. */
static void value_start(ml__json_writer *w, const char *key)
{
    if (w->comma)
        ml__buf_puts(&w->buf, ",");
    if (key) {
        write_string(&w->buf, key);
        ml__buf_puts(&w->buf, ":");
    }
    w->comma = true;
}

static void jw_open(ml__json_writer *w, const char *key, const char *bracket)
{
    value_start(w, key);
    ml__buf_puts(&w->buf, bracket);
    w->comma = false;
}

static void jw_close(ml__json_writer *w, const char *bracket)
{
    ml__buf_puts(&w->buf, bracket);
    w->comma = true;
}

void ml__jw_object(ml__json_writer *w, const char *key) { jw_open(w, key, "{"); }
void ml__jw_array(ml__json_writer *w, const char *key) { jw_open(w, key, "["); }
void ml__jw_end_object(ml__json_writer *w) { jw_close(w, "}"); }
void ml__jw_end_array(ml__json_writer *w) { jw_close(w, "]"); }

void ml__jw_string(ml__json_writer *w, const char *key, const char *value)
{
    if (!value) {
        ml__jw_null(w, key);
        return;
    }
    value_start(w, key);
    write_string(&w->buf, value);
}

void ml__jw_int(ml__json_writer *w, const char *key, int64_t value)
{
    value_start(w, key);
    ml__buf_printf(&w->buf, "%" PRId64, value);
}

void ml__jw_bool(ml__json_writer *w, const char *key, bool value) { ml__jw_raw(w, key, value ? "true" : "false"); }
void ml__jw_null(ml__json_writer *w, const char *key) { ml__jw_raw(w, key, "null"); }

void ml__jw_raw(ml__json_writer *w, const char *key, const char *text)
{
    value_start(w, key);
    ml__buf_puts(&w->buf, text);
}

void ml__jw_strings(ml__json_writer *w, const char *key, const ml__strvec *v)
{
    ml__jw_array(w, key);
    for (size_t i = 0; i < v->count; i++)
        ml__jw_string(w, NULL, v->items[i]);
    ml__jw_end_array(w);
}

char *ml__jw_take(ml__json_writer *w, size_t *len)
{
    size_t n = w->buf.len;
    char *text = ml__buf_take(&w->buf);
    w->comma = false;
    if (len)
        *len = text ? n : 0;
    return text;
}

int ml__jw_finish(ml__json_writer *w, char **out, ml_error **err)
{
    *out = ml__jw_take(w, NULL);
    return *out ? ML_OK : ml__error_set(err, ML_ENOMEM, "out of memory");
}
