/* Variables in spec values: ${NAME}, ${NAME:-default} and $$. One spec
 * then serves several versions or registries; the values come from the
 * caller (never from getenv: no hidden input). */
#include <stdlib.h>
#include <string.h>

#include "spec.h"

/* Names in messages are cut to this many bytes. */
#define NAME_MAX_QUOTE 64

static bool name_char(char ch, bool first)
{
    bool alpha = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '_';
    return alpha || (!first && ch >= '0' && ch <= '9');
}

int ml__spec_vars_check(const char *const *items, size_t count, ml_error **err)
{
    if (count && !items)
        return ml__error_set(err, ML_EINVAL, "ml_spec_options: variables is NULL");
    for (size_t i = 0; i < count; i++)
        if (!items[i] || !strchr(items[i], '='))
            return ml__error_set(err, ML_EINVAL, "ml_spec_options: variables[%zu] is not NAME=VALUE", i);
    return ML_OK;
}

/* The later of two entries for a name wins: the caller lists the
 * environment first and its overrides after. */
static const char *lookup(const ml__spec_vars *vars, const char *name, size_t len)
{
    for (size_t i = vars->count; i-- > 0;) {
        const char *item = vars->items[i];
        if (strncmp(item, name, len) == 0 && item[len] == '=')
            return item + len + 1;
    }
    return NULL;
}

static int expand_error(ml_error **err, const char *what, const char *name, size_t len)
{
    return ml__error_set_printable(err, ML_ESPEC, "%s \"%.*s%s\"", what,
                                   (int)(len > NAME_MAX_QUOTE ? NAME_MAX_QUOTE : len), name,
                                   len > NAME_MAX_QUOTE ? "..." : "");
}

/* One ${...} at text[i] (i points at '$'); appends its value to out and
 * returns the index after it through *next. */
static int expand_one(const ml__spec_vars *vars, const char *text, size_t len, size_t i, size_t *next,
                      ml__buf *out, ml_error **err)
{
    size_t start = i + 2, j = start;
    while (j < len && name_char(text[j], j == start))
        j++;
    const char *name = text + start;
    size_t name_len = j - start;
    const char *close = memchr(text + j, '}', len - j);
    if (!close)
        return expand_error(err, "unterminated variable (no closing \"}\")", text + i, len - i);
    if (name_len == 0 || (text[j] != '}' && (text[j] != ':' || j + 1 >= len || text[j + 1] != '-')))
        return expand_error(err, "invalid variable (expected ${NAME} or ${NAME:-default})", text + i,
                            (size_t)(close - text) + 1 - i);
    const char *value = lookup(vars, name, name_len);
    if (text[j] == ':') { /* as in the shell: unset or empty takes the default */
        const char *deflt = text + j + 2;
        size_t deflt_len = (size_t)(close - deflt);
        const char *inner = memchr(deflt, '$', deflt_len);
        if (inner && inner + 1 < close && inner[1] == '{')
            return expand_error(err, "nested variable in the default of", name, name_len);
        if (!value || !*value) {
            ml__buf_append(out, deflt, deflt_len);
            value = "";
        }
    } else if (!value) {
        return expand_error(err, "undefined variable", name, name_len);
    }
    ml__buf_append(out, value, strlen(value));
    *next = (size_t)(close - text) + 1;
    return ML_OK;
}

int ml__spec_expand(const ml__spec_vars *vars, const char *text, size_t len, char **out, size_t *offset,
                    ml_error **err)
{
    ml__buf buf = {0};
    *offset = 0;
    for (size_t i = 0; i < len;) {
        if (text[i] != '$' || i + 1 >= len || (text[i + 1] != '$' && text[i + 1] != '{')) {
            ml__buf_append(&buf, text + i++, 1); /* a lone '$' stays as written */
            continue;
        }
        if (text[i + 1] == '$') {
            ml__buf_append(&buf, "$", 1);
            i += 2;
            continue;
        }
        *offset = i;
        int rc = expand_one(vars, text, len, i, &i, &buf, err);
        if (rc != ML_OK) {
            ml__buf_free(&buf);
            return rc;
        }
    }
    *out = ml__buf_take(&buf);
    return *out ? ML_OK : ml__error_set(err, ML_ENOMEM, "out of memory");
}
