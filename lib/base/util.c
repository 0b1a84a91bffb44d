#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

static bool buf_reserve(ml__buf *b, size_t extra)
{
    size_t need;
    if (b->oom || !ml__size_add(b->len, extra, &need) || !ml__size_add(need, 1, &need)) {
        b->oom = true;
        return false;
    }
    if (need <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    char *p = realloc(b->data, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

void ml__buf_append(ml__buf *b, const void *data, size_t len)
{
    if (!buf_reserve(b, len))
        return;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void ml__buf_puts(ml__buf *b, const char *s) { ml__buf_append(b, s, strlen(s)); }

void ml__buf_append_line(ml__buf *b, const void *data, size_t len)
{
    ml__buf_append(b, data, len);
    ml__buf_puts(b, "\n");
}

void ml__buf_vprintf(ml__buf *b, const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0 || !buf_reserve(b, (size_t)n)) {
        b->oom = true;
        return;
    }
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void ml__buf_printf(ml__buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ml__buf_vprintf(b, fmt, ap);
    va_end(ap);
}

char *ml__buf_take(ml__buf *b)
{
    char *out = NULL;
    if (!b->oom)
        out = b->data ? b->data : ml__strdup("");
    else
        free(b->data);
    *b = (ml__buf){0};
    return out;
}

void ml__buf_free(ml__buf *b)
{
    free(b->data);
    *b = (ml__buf){0};
}

int ml__strvec_push_take(ml__strvec *v, char *s)
{
    if (!s)
        return ML_ENOMEM;
    if (ml__grow((void **)&v->items, &v->cap, v->count + 1, sizeof(*v->items)) != ML_OK) {
        free(s);
        return ML_ENOMEM;
    }
    v->items[v->count++] = s;
    return ML_OK;
}

int ml__strvec_push(ml__strvec *v, const char *s) { return ml__strvec_push_take(v, ml__strdup(s)); }

int ml__strvec_pushf(ml__strvec *v, const char *fmt, ...)
{
    ml__buf b = {0};
    va_list ap;
    va_start(ap, fmt);
    ml__buf_vprintf(&b, fmt, ap);
    va_end(ap);
    return ml__strvec_push_take(v, ml__buf_take(&b));
}

int ml__options_read(const ml__options_kind *kind, const void *opts, void *out, ml_error **err)
{
    if (!opts)
        return ML_OK;
    uint32_t head[2]; /* version, flags: read before trusting the size */
    memcpy(head, opts, sizeof(head));
    if (head[0] == 0 || head[0] > kind->version)
        return ml__error_set(err, ML_EINVAL, "%s version %" PRIu32 " is not supported (this library knows 1 to %" PRIu32
                             ")", kind->name, head[0], kind->version);
    if (head[1] & ~kind->known_flags)
        return ml__error_set(err, ML_EINVAL, "%s version %" PRIu32 ": unknown flags 0x%" PRIx32, kind->name, head[0],
                             head[1] & ~kind->known_flags);
    memcpy(out, opts, kind->sizes[head[0] - 1]);
    return ML_OK;
}

const char *ml__strvec_at(const ml__strvec *v, size_t i) { return v && i < v->count ? v->items[i] : NULL; }

bool ml__strvec_contains(const ml__strvec *v, const char *s)
{
    for (size_t i = 0; i < v->count; i++)
        if (strcmp(v->items[i], s) == 0)
            return true;
    return false;
}

int ml__strvec_merge(ml__strvec *dst, const ml__strvec *src)
{
    for (size_t i = 0; i < src->count; i++)
        if (!ml__strvec_contains(dst, src->items[i]) && ml__strvec_push(dst, src->items[i]) != ML_OK)
            return ML_ENOMEM;
    return ML_OK;
}

void ml__strvec_free(ml__strvec *v)
{
    for (size_t i = 0; i < v->count; i++)
        free(v->items[i]);
    free(v->items);
    *v = (ml__strvec){0};
}

/* FNV-1a, 64 bits. */
static size_t str_hash(const char *s)
{
    uint64_t h = 14695981039346656037u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return (size_t)h;
}

/* The slot holding s, or the free slot where it belongs. */
static const char **strset_slot(const char **slots, size_t cap, const char *s)
{
    size_t i = str_hash(s) & (cap - 1);
    while (slots[i] && strcmp(slots[i], s) != 0)
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

static int strset_grow(ml__strset *set)
{
    size_t cap;
    if (!ml__size_mul(set->cap ? set->cap : 8, 2, &cap))
        return ML_ENOMEM;
    const char **slots = calloc(cap, sizeof(*slots));
    if (!slots)
        return ML_ENOMEM;
    for (size_t i = 0; i < set->cap; i++)
        if (set->slots[i])
            *strset_slot(slots, cap, set->slots[i]) = set->slots[i];
    free(set->slots);
    set->slots = slots;
    set->cap = cap;
    return ML_OK;
}

int ml__strset_add(ml__strset *set, const char *s, bool *added)
{
    /* At most half full: probe runs stay short. */
    if (set->count >= set->cap / 2 && strset_grow(set) != ML_OK)
        return ML_ENOMEM;
    const char **slot = strset_slot(set->slots, set->cap, s);
    *added = !*slot;
    if (*added) {
        *slot = s;
        set->count++;
    }
    return ML_OK;
}

bool ml__strset_contains(const ml__strset *set, const char *s)
{
    return set->cap && *strset_slot(set->slots, set->cap, s);
}

void ml__strset_free(ml__strset *set)
{
    free(set->slots);
    *set = (ml__strset){0};
}

void ml__wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    for (size_t i = 0; v && i < n; i++)
        v[i] = 0;
}

char *ml__strdup(const char *s) { return s ? ml__strndup(s, strlen(s)) : NULL; }

char *ml__strndup(const char *s, size_t n)
{
    if (!s || n == SIZE_MAX)
        return NULL;
    char *p = malloc(n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *ml__asprintf(const char *fmt, ...)
{
    ml__buf b = {0};
    va_list ap;
    va_start(ap, fmt);
    ml__buf_vprintf(&b, fmt, ap);
    va_end(ap);
    return ml__buf_take(&b);
}

int ml__str_replace(char **p, const char *s)
{
    char *copy = NULL;
    if (s && !(copy = ml__strdup(s)))
        return ML_ENOMEM;
    free(*p);
    *p = copy;
    return ML_OK;
}

bool ml__str_eq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

bool ml__has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static unsigned char ascii_lower(unsigned char c) { return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c; }

bool ml__ieq_n(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return false;
    for (size_t i = 0; i < alen; i++)
        if (ascii_lower((unsigned char)a[i]) != ascii_lower((unsigned char)b[i]))
            return false;
    return true;
}

bool ml__has_iprefix(const char *s, const char *prefix)
{
    for (; *prefix; s++, prefix++)
        if (ascii_lower((unsigned char)*s) != ascii_lower((unsigned char)*prefix))
            return false;
    return true;
}

size_t ml__utf8_sequence(const unsigned char *s, size_t left)
{
    if (s[0] < 0x80)
        return 1;
    size_t n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
    if (n == 0 || s[0] > 0xf4 || n > left)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
        (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
        return 0;
    return n;
}

/* One character (or invalid byte) at s: how many bytes it takes, and
 * whether it prints as itself. C1 controls are U+0080..U+009F. */
static size_t printable_char(const unsigned char *s, size_t left, bool *printable)
{
    size_t n = ml__utf8_sequence(s, left);
    if (n == 1)
        *printable = s[0] >= 0x20 && s[0] != 0x7f;
    else
        *printable = n > 1 && !(s[0] == 0xc2 && s[1] < 0xa0);
    return n ? n : 1;
}

char *ml__sanitize(const char *s, size_t len, size_t max)
{
    const unsigned char *u = (const unsigned char *)s;
    ml__buf b = {0};
    size_t i = 0;
    while (i < len) {
        bool printable;
        size_t n = printable_char(u + i, len - i, &printable);
        if (n > max - i) /* i <= max: every step checks */
            break;
        ml__buf_append(&b, printable ? s + i : "?", printable ? n : 1);
        i += n;
    }
    if (i < len)
        ml__buf_puts(&b, "...");
    return ml__buf_take(&b);
}

char *ml__sanitize_vprintf(const char *fmt, va_list ap)
{
    ml__buf b = {0};
    ml__buf_vprintf(&b, fmt, ap);
    char *out = b.oom ? NULL : ml__sanitize(b.data, b.len, b.len);
    ml__buf_free(&b);
    return out;
}

int ml__error_vset_printable(ml_error **err, int code, const char *fmt, va_list ap)
{
    char *message = ml__sanitize_vprintf(fmt, ap);
    if (!message)
        return ml__error_set(err, ML_ENOMEM, "out of memory");
    ml__error_set(err, code, "%s", message);
    free(message);
    return code;
}

int ml__error_set_printable(ml_error **err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = ml__error_vset_printable(err, code, fmt, ap);
    va_end(ap);
    return rc;
}

bool ml__size_add(size_t a, size_t b, size_t *out)
{
    if (a > SIZE_MAX - b)
        return false;
    *out = a + b;
    return true;
}

bool ml__size_mul(size_t a, size_t b, size_t *out)
{
    if (a && b > SIZE_MAX / a)
        return false;
    *out = a * b;
    return true;
}

int ml__grow(void **items, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return ML_OK;
    size_t n = *cap ? *cap : 4, bytes;
    while (n < need)
        if (!ml__size_mul(n, 2, &n))
            return ML_ENOMEM;
    if (!ml__size_mul(n, elem, &bytes))
        return ML_ENOMEM;
    void *p = realloc(*items, bytes);
    if (!p)
        return ML_ENOMEM;
    *items = p;
    *cap = n;
    return ML_OK;
}

void ml__log_v(void (*fn)(int, const char *, void *), void *payload, int level, const char *fmt, va_list ap)
{
    if (!fn)
        return;
    ml__buf b = {0};
    ml__buf_vprintf(&b, fmt, ap);
    char *msg = ml__buf_take(&b);
    if (msg)
        fn(level, msg, payload);
    free(msg);
}

void ml__format_iec(uint64_t bytes, char buf[ML__IEC_MAX])
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double v = (double)bytes;
    size_t u = 0;
    /* Past 1023.95 of a unit, "%.1f" would round up to "1024.0": the next
     * unit says it. */
    while (v >= (u ? 1023.95 : 1024) && u + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, ML__IEC_MAX, "%u B", (unsigned)bytes);
    else
        snprintf(buf, ML__IEC_MAX, "%.1f %s", v, units[u]);
}

uint64_t ml__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void ml__sleep_ms(uint32_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}
