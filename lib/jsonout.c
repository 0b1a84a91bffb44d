#include "jsonout.h"

void ml__json_strings(ml__buf *b, const ml__strvec *v)
{
    ml__buf_puts(b, "[");
    for (size_t i = 0; i < v->count; i++) {
        ml__buf_puts(b, i ? "," : "");
        ml__buf_json_string(b, v->items[i]);
    }
    ml__buf_puts(b, "]");
}

void ml__json_annotations(ml__buf *b, const ml__annotations *a)
{
    ml__buf_puts(b, "{");
    for (size_t i = 0; i < a->count; i++) {
        ml__buf_puts(b, i ? "," : "");
        ml__buf_json_string(b, a->keys[i]);
        ml__buf_puts(b, ":");
        ml__buf_json_string(b, a->values[i]);
    }
    ml__buf_puts(b, "}");
}

static void string_field(ml__buf *b, const char *key, const char *value)
{
    if (!value || !*value)
        return;
    ml__buf_printf(b, ",\"%s\":", key);
    ml__buf_json_string(b, value);
}

static void strings_field(ml__buf *b, const char *key, const ml__strvec *v)
{
    if (!v->count)
        return;
    ml__buf_printf(b, ",\"%s\":", key);
    ml__json_strings(b, v);
}

void ml__json_platform(ml__buf *b, const ml_platform *p)
{
    ml__buf_puts(b, "{\"architecture\":");
    ml__buf_json_string(b, p->architecture ? p->architecture : "");
    ml__buf_puts(b, ",\"os\":");
    ml__buf_json_string(b, p->os ? p->os : "");
    string_field(b, "variant", p->variant);
    string_field(b, "os.version", p->os_version);
    strings_field(b, "os.features", &p->os_features);
    strings_field(b, "features", &p->features);
    ml__buf_puts(b, "}");
}
