/* JSON reading and writing: the only cJSON user.
 *
 * Every JSON input (manifests, image configs, bearer tokens, credential
 * files and helpers, registry error bodies, tag lists, cache entries) goes
 * through one strict reader; every JSON text the library writes comes from
 * one writer, so escaping and key order are the same everywhere. */
#ifndef ML_JSON_H
#define ML_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "util.h"

/* Real documents nest 4 levels; the limit keeps recursion shallow. */
#define ML__JSON_MAX_DEPTH 64
/* OCI descriptor.md: integers beyond 2^53 lose precision in parsers that
 * use doubles, so ml__json_int reports them as out of range. */
#define ML__JSON_INT_MAX INT64_C(9007199254740992)
/* Paths label messages: "manifests[2].platform.os". */
#define ML__JSON_PATH_LEN 128
/* Room for a value quoted by ml__json_quote. */
#define ML__JSON_QUOTE_LEN 96

/* A value inside a parsed document; the root owns the whole tree. */
typedef struct ml__json ml__json;

/* Parses one JSON object. Strict RFC 8259, beyond what cJSON checks: no raw
 * control characters, no "\u0000" (it would cut a C string short), valid
 * UTF-8, the number grammar exactly, nothing but white space after the
 * object, no key twice in any object (Go takes the last of duplicates,
 * cJSON the first), nesting at most ML__JSON_MAX_DEPTH. Errors carry
 * `code` and say where: "invalid JSON at byte 19", "manifests[1]:
 * duplicate key \"os\"". */
int ml__json_parse(ml__json **root, const char *text, size_t len, int code, ml_error **err);
void ml__json_free(ml__json *root);
/* Frees a document that held secrets (credentials, tokens), its strings
 * zeroed first. */
void ml__json_free_wiped(ml__json *root);

bool ml__json_is_object(const ml__json *v);
bool ml__json_is_array(const ml__json *v);
bool ml__json_is_null(const ml__json *v);
bool ml__json_is_number(const ml__json *v);
/* The member `key` of an object; NULL when absent or v is no object. */
const ml__json *ml__json_get(const ml__json *obj, const char *key);
/* A string's value; NULL when v is not a string. */
const char *ml__json_string(const ml__json *v);
/* An integer literal (no fraction or exponent): true, *out saturated to
 * +-(ML__JSON_INT_MAX + 1) so that range checks see what the text said. */
bool ml__json_int(const ml__json *v, int64_t *out);
/* A number's value as a double; NAN when v is no number. */
double ml__json_double(const ml__json *v);
/* Members of an object and elements of an array, in document order. */
const ml__json *ml__json_first(const ml__json *v);
const ml__json *ml__json_next(const ml__json *v);
size_t ml__json_count(const ml__json *v);
/* The key of an object member. */
const char *ml__json_key(const ml__json *member);
/* v as compact JSON text, numbers as written; free(). NULL on ENOMEM. */
char *ml__json_text(const ml__json *v);
/* Whether text is one JSON value the reader would take. */
bool ml__json_valid(const char *text);

/* Message helpers. Sets "<path>: <message>" (only the message for an
 * empty path) and returns code. */
int ml__json_fail(ml_error **err, int code, const char *path, const char *fmt, ...) ML__PRINTF(4, 5);
void ml__json_path_key(char out[ML__JSON_PATH_LEN], const char *base, const char *key);
void ml__json_path_index(char out[ML__JSON_PATH_LEN], const char *base, size_t i);
/* s quoted and escaped, shortened to about 80 bytes. */
const char *ml__json_quote(char buf[ML__JSON_QUOTE_LEN], const char *s);

/* Writer: compact JSON in a buffer, members in the order written. `key` is
 * the member name inside an object and NULL inside an array or at the top.
 * Out of memory shows as ml__buf_take returning NULL. */
typedef struct ml__json_writer {
    ml__buf buf;
    bool comma; /* a value was written at this level */
} ml__json_writer;

void ml__jw_object(ml__json_writer *w, const char *key);
void ml__jw_array(ml__json_writer *w, const char *key);
void ml__jw_end_object(ml__json_writer *w);
void ml__jw_end_array(ml__json_writer *w);
/* A NULL value is written as null. */
void ml__jw_string(ml__json_writer *w, const char *key, const char *value);
void ml__jw_int(ml__json_writer *w, const char *key, int64_t value);
void ml__jw_bool(ml__json_writer *w, const char *key, bool value);
void ml__jw_null(ml__json_writer *w, const char *key);
/* Writes text, which must be one JSON value, as it is. */
void ml__jw_raw(ml__json_writer *w, const char *key, const char *text);
/* ["a","b"] */
void ml__jw_strings(ml__json_writer *w, const char *key, const ml__strvec *v);
/* The text written; the writer is empty afterwards. NULL on ENOMEM. */
char *ml__jw_take(ml__json_writer *w, size_t *len);
/* ml__jw_take into *out for the public *_to_json calls: ML_OK or ML_ENOMEM. */
int ml__jw_finish(ml__json_writer *w, char **out, ml_error **err);

#endif
