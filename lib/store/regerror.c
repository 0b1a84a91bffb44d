/* Registry answers that are small JSON documents: tag lists and error
 * bodies (distribution spec "Listing Tags", "Error Codes"). */
#include <string.h>

#include "json.h"
#include "registry.h"
#include "util.h"

/* Registry text quoted in messages: enough to tell what went wrong. */
#define QUOTE_MAX 512

/* Made printable: a registry's text may carry line breaks and terminal
 * escapes, and messages end up on terminals and in logs. */
static char *string_field(const ml__json *obj, const char *name)
{
    const char *s = ml__json_string(ml__json_get(obj, name));
    return s ? ml__sanitize(s, strlen(s), QUOTE_MAX) : NULL;
}

int ml__tags_parse(const char *body, size_t len, ml__strvec *tags)
{
    ml__json *root;
    if (ml__json_parse(&root, body, len, ML_EMANIFEST, NULL) != ML_OK)
        return ML_EMANIFEST;
    const ml__json *list = ml__json_get(root, "tags");
    int rc = ml__json_is_array(list) || ml__json_is_null(list) ? ML_OK : ML_EMANIFEST;
    for (const ml__json *t = ml__json_first(list); rc == ML_OK && t; t = ml__json_next(t)) {
        const char *tag = ml__json_string(t);
        rc = tag ? ml__strvec_push(tags, tag) : ML_EMANIFEST;
    }
    ml__json_free(root);
    return rc;
}

void ml__registry_error_parse(const char *body, size_t len, char **code, char **message)
{
    ml__json *root;
    *code = *message = NULL;
    if (ml__json_parse(&root, body, len, ML_EHTTP, NULL) != ML_OK)
        return;
    const ml__json *errors = ml__json_get(root, "errors");
    const ml__json *first = ml__json_is_array(errors) ? ml__json_first(errors) : NULL;
    if (ml__json_is_object(first)) {
        *code = string_field(first, "code");
        *message = string_field(first, "message");
    }
    ml__json_free(root);
}
