/* Listing referrers and carrying them along with copied images. */
#include <stdlib.h>
#include <string.h>

#include "copy.h"
#include "referrers.h"

/* Signatures of signatures, attestations of SBOMs: followed this deep. */
#define REFERRERS_DEPTH 4
/* Pages of one referrers answer read at most (a registry that keeps
 * sending "next" is not followed for ever; a warning says so). */
#define REFERRERS_PAGES_MAX 64
/* The tag schema keeps this much of a digest's hex. */
#define TAG_HEX_MAX 64

void ml__subjects_clear(ml__subject *s, size_t n)
{
    for (size_t i = 0; s && i < n; i++)
        ml__manifest_clear(&s[i].refs);
}

/* "<alg>:<hex>" -> "<alg>-<hex>", the hex cut to 64 characters (OCI
 * distribution spec, referrers tag schema). */
static char *schema_tag(const char *digest)
{
    size_t alg = strcspn(digest, ":");
    return ml__asprintf("%.*s-%.*s", (int)alg, digest, TAG_HEX_MAX, digest + alg + (digest[alg] ? 1 : 0));
}

static int empty_index(ml__manifest *m)
{
    *m = (ml__manifest){.kind = ML__KIND_OCI_INDEX, .media_type = ml__strdup(ML__MT_OCI_INDEX)};
    return m->media_type ? ML_OK : ML_ENOMEM;
}

/* An answer (API or tag) into s->refs; absent means no referrers. */
static int take_index(ml__subject *s, ml__item *it, ml_error **err)
{
    if (it->rc == ML_ENOTFOUND)
        return empty_index(&s->refs) == ML_OK ? ML_OK : ml__error_set(err, ML_ENOMEM, "out of memory");
    int rc = ml__item_take_error(it, err);
    if (rc == ML_OK)
        rc = ml__manifest_parse(&s->refs, it->body, it->len, ML__MT_OCI_INDEX, err);
    if (rc == ML_OK && !ml__kind_is_list(s->refs.kind))
        rc = ml__error_set(err, ML_EMANIFEST, "not an index (%s)", s->refs.media_type);
    return rc == ML_OK ? ML_OK : ml__error_prefix(err, rc, "referrers of %s", s->digest);
}

/* The API may answer in pages: the rest, one page of every subject at a
 * time, appended to what the first page gave. */
static int take_page(ml__subject *sub, ml__item *it, ml_error **err)
{
    ml__manifest page = {0};
    int rc = ml__item_take_error(it, err);
    if (rc == ML_OK)
        rc = ml__manifest_parse(&page, it->body, it->len, ML__MT_OCI_INDEX, err);
    for (size_t i = 0; rc == ML_OK && i < page.manifest_count; i++)
        if (ml__manifest_append(&sub->refs, &page.manifests[i]) != ML_OK)
            rc = ml__error_set(err, ML_ENOMEM, "out of memory");
    ml__manifest_clear(&page);
    return rc == ML_OK ? ML_OK : ml__error_prefix(err, rc, "referrers of %s", sub->digest);
}

/* The page to read next for one subject, in *page: none when the answer
 * had no "next", or when "next" names a page read already (a registry
 * whose "next" loops back would be followed up to the page limit, its
 * referrers listed again each time). `read` holds the pages read. */
static int next_page(ml__item *first, ml__strvec *read, const char *digest, ml__strvec *warnings,
                     const char **page)
{
    *page = NULL;
    if (first->rc != ML_OK || !first->next)
        return ML_OK;
    if (ml__str_eq(first->next, digest) || ml__strvec_contains(read, first->next)) {
        free(first->next);
        first->next = NULL;
        return ml__strvec_pushf(warnings, "referrers of %s: the registry's next page is one read already; "
                                          "not read again", digest);
    }
    int rc = ml__strvec_push(read, first->next);
    *page = rc == ML_OK ? first->next : NULL;
    return rc;
}

static int more_pages(ml_client *c, ml__subject *s, ml__item *firsts, const size_t *index, size_t m,
                      ml__strvec *warnings, ml_error **err)
{
    ml__item *pages = calloc(m ? m : 1, sizeof(*pages));
    size_t *from = calloc(m ? m : 1, sizeof(*from));
    ml__strvec *read = calloc(m ? m : 1, sizeof(*read));
    int rc = pages && from && read ? ML_OK : ml__error_set(err, ML_ENOMEM, "out of memory");
    for (int round = 1; rc == ML_OK && round < REFERRERS_PAGES_MAX; round++) {
        size_t n = 0;
        for (size_t k = 0; rc == ML_OK && k < m; k++) {
            const char *page = NULL;
            if (next_page(&firsts[k], &read[k], s[index[k]].digest, warnings, &page) != ML_OK)
                rc = ml__error_set(err, ML_ENOMEM, "out of memory");
            if (page) {
                pages[n] = (ml__item){.repo = s[index[k]].repo, .reference = page};
                from[n++] = k;
            }
        }
        if (rc != ML_OK || n == 0)
            break;
        if (ml__store_get_referrers(c, pages, n) != ML_OK)
            rc = ml__error_set(err, ML_ENOMEM, "out of memory");
        for (size_t p = 0; p < n; p++) {
            ml__item *first = &firsts[from[p]];
            free(first->next);
            first->next = pages[p].next; /* the page after this one, or NULL */
            pages[p].next = NULL;
            if (rc == ML_OK)
                rc = take_page(&s[index[from[p]]], &pages[p], err);
            ml__item_clear(&pages[p]);
        }
    }
    for (size_t k = 0; rc == ML_OK && k < m; k++)
        if (firsts[k].rc == ML_OK && firsts[k].next &&
            ml__strvec_pushf(warnings, "referrers of %s: more than %d pages; the rest is not listed",
                             s[index[k]].digest, REFERRERS_PAGES_MAX) != ML_OK)
            rc = ml__error_set(err, ML_ENOMEM, "out of memory");
    for (size_t k = 0; read && k < m; k++)
        ml__strvec_free(&read[k]);
    free(read);
    free(pages);
    free(from);
    return rc;
}

/* Asks the stores' referrers API; *fallback[i] tells who lacks it. */
static int list_api(ml_client *c, ml__subject *s, size_t n, bool *fallback, ml__strvec *warnings, ml_error **err)
{
    ml__batch b;
    if (ml__batch_init(&b, n) != ML_OK)
        return ml__error_set(err, ML_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        fallback[i] = !ml__store_can(c, s[i].repo, ML__STORE_REFERRERS_API);
        if (!fallback[i])
            ml__batch_add(&b, i, s[i].repo, s[i].digest);
    }
    int rc = ml__store_get_referrers(c, b.items, b.count) == ML_OK ? ML_OK
                                                                   : ml__error_set(err, ML_ENOMEM, "out of memory");
    for (size_t k = 0; rc == ML_OK && k < b.count; k++) {
        ml__subject *sub = &s[b.index[k]];
        /* Without the API the route is unknown: 404 (or 405). */
        if (b.items[k].rc == ML_ENOTFOUND || b.items[k].rc == ML_EUNSUPPORTED)
            fallback[b.index[k]] = true;
        else if ((rc = take_index(sub, &b.items[k], err)) == ML_OK)
            sub->api = true;
    }
    if (rc == ML_OK)
        rc = more_pages(c, s, b.items, b.index, b.count, warnings, err);
    ml__batch_clear(&b);
    return rc;
}

/* One pass over each repository for all of its subjects (a layout's
 * index.json): reading every manifest per subject would be quadratic. */
static int scan_repo(ml_client *c, ml__subject *s, size_t n, size_t first, bool *done, ml__store_subject *batch,
                     ml_error **err)
{
    size_t m = 0;
    for (size_t i = first; i < n; i++)
        if (!done[i] && ml__ref_same_repo(s[i].repo, s[first].repo)) {
            batch[m++] = (ml__store_subject){s[i].digest, &s[i].refs};
            done[i] = true;
        }
    ml_error *e = NULL;
    int rc = ml__store_scan_referrers(c, s[first].repo, batch, m, &e);
    if (rc == ML_ENOTFOUND) /* no layout yet, or no scan: nothing found */
        rc = ML_OK;
    if (rc != ML_OK && err) {
        ml_error_free(*err);
        *err = e;
        e = NULL;
    }
    ml_error_free(e);
    return rc;
}

/* oras and notation list a layout's referrers in index.json by digest,
 * with no tag-schema index. */
static int scan_repos(ml_client *c, ml__subject *s, size_t n, ml_error **err)
{
    bool *done = calloc(n ? n : 1, sizeof(*done));
    ml__store_subject *batch = calloc(n ? n : 1, sizeof(*batch));
    int rc = done && batch ? ML_OK : ml__error_set(err, ML_ENOMEM, "out of memory");
    for (size_t i = 0; rc == ML_OK && i < n; i++)
        if (!done[i])
            rc = scan_repo(c, s, n, i, done, batch, err);
    free(done);
    free(batch);
    return rc;
}

static int list_tag_schema(ml_client *c, ml__subject *s, size_t n, const bool *fallback, ml_error **err)
{
    ml__batch b;
    char **tags = calloc(n ? n : 1, sizeof(*tags));
    int rc = tags && ml__batch_init(&b, n) == ML_OK ? ML_OK : ML_ENOMEM;
    if (rc != ML_OK) {
        free(tags);
        return ml__error_set(err, rc, "out of memory");
    }
    for (size_t i = 0; rc == ML_OK && i < n; i++) {
        if (!fallback[i])
            continue;
        if (!(tags[b.count] = schema_tag(s[i].digest)))
            rc = ml__error_set(err, ML_ENOMEM, "out of memory");
        ml__batch_add(&b, i, s[i].repo, tags[b.count]);
    }
    if (rc == ML_OK && ml__store_get_manifests(c, b.items, b.count) != ML_OK)
        rc = ml__error_set(err, ML_ENOMEM, "out of memory");
    for (size_t k = 0; rc == ML_OK && k < b.count; k++)
        rc = take_index(&s[b.index[k]], &b.items[k], err);
    if (rc == ML_OK)
        rc = scan_repos(c, s, n, err);
    for (size_t k = 0; k < b.count; k++)
        free(tags[k]);
    free(tags);
    ml__batch_clear(&b);
    return rc;
}

/* Overlapping pages, or an index naming one twice: each referrer once. */
static int drop_repeats(ml__manifest *refs)
{
    ml__strset seen = {0};
    size_t kept = 0;
    int rc = ML_OK;
    for (size_t i = 0; i < refs->manifest_count; i++) {
        bool added = true;
        if (rc == ML_OK)
            rc = ml__strset_add(&seen, refs->manifests[i].digest, &added);
        if (added)
            refs->manifests[kept++] = refs->manifests[i];
        else
            ml__descriptor_clear(&refs->manifests[i]);
    }
    refs->manifest_count = kept;
    ml__strset_free(&seen);
    return rc;
}

int ml__referrers_list(ml_client *c, ml__subject *s, size_t n, ml__strvec *warnings, ml_error **err)
{
    bool *fallback = calloc(n ? n : 1, sizeof(*fallback));
    int rc = fallback ? list_api(c, s, n, fallback, warnings, err) : ml__error_set(err, ML_ENOMEM, "out of memory");
    if (rc == ML_OK)
        rc = list_tag_schema(c, s, n, fallback, err);
    for (size_t i = 0; rc == ML_OK && i < n; i++)
        if (drop_repeats(&s[i].refs) != ML_OK)
            rc = ml__error_set(err, ML_ENOMEM, "out of memory");
    free(fallback);
    return rc;
}

/* ---- copying ------------------------------------------------------------- */

static bool lists_digest(const ml__manifest *index, const char *digest)
{
    for (size_t i = 0; i < index->manifest_count; i++)
        if (ml__str_eq(index->manifests[i].digest, digest))
            return true;
    return false;
}

/* One referrer to copy: where it is, its descriptor, and what it is for. */
typedef struct pending {
    const ml_ref *from;
    const ml__descriptor *desc;
    size_t subject;
    bool first;   /* the first time this digest is pending: copied once */
    bool skip;    /* not listed for this subject at the target, with a warning */
} pending;

typedef struct copy_job {
    const ml__subject *src; /* the subjects todo[].subject indexes */
    pending *todo;
    size_t count;
    ml__strvec *warnings;
    ml__copy copy;   /* the first occurrence of each digest, */
    size_t *todo_of; /* and its place in todo */
} copy_job;

static void copy_job_clear(copy_job *j)
{
    free(j->todo);
    free(j->todo_of);
    ml__copy_clear(&j->copy);
}

/* What the target lacks, subject by subject. */
static int find_pending(const ml__subject *dst, size_t n, copy_job *j)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += j->src[i].refs.manifest_count;
    ml__strset seen = {0};
    int rc = (j->todo = calloc(total ? total : 1, sizeof(*j->todo))) ? ML_OK : ML_ENOMEM;
    for (size_t i = 0; rc == ML_OK && i < n; i++)
        for (size_t r = 0; rc == ML_OK && r < j->src[i].refs.manifest_count; r++) {
            const ml__descriptor *d = &j->src[i].refs.manifests[r];
            bool first = false;
            if (lists_digest(&dst[i].refs, d->digest) || (rc = ml__strset_add(&seen, d->digest, &first)) != ML_OK)
                continue;
            j->todo[j->count++] = (pending){j->src[i].repo, d, i, first, false};
        }
    ml__strset_free(&seen);
    return rc;
}

/* A referrer belongs with the image its subject names: one listed for
 * another image, or with no subject (a stale or forged tag-schema index, a
 * registry's mistake), is not written into that image's referrers at the
 * target. Copied at all only when listed for its own subject somewhere. */
static int check_subject(void *payload, size_t k, const ml__manifest *m, ml_error **err)
{
    copy_job *j = payload;
    const char *digest = j->copy.gets[k].reference, *subject = m->has_subject ? m->subject.digest : NULL;
    const char *listed_for = NULL;
    size_t listed = 0, wrong = 0;
    for (size_t i = 0; i < j->count; i++) {
        pending *p = &j->todo[i];
        if (!ml__str_eq(p->desc->digest, digest))
            continue;
        listed++;
        if (ml__str_eq(j->src[p->subject].digest, subject))
            continue;
        listed_for = j->src[p->subject].digest;
        p->skip = true;
        wrong++;
    }
    if (wrong == listed)
        return ml__error_set(err, ML_EMANIFEST, "listed as a referrer of %s, but %s%s", listed_for,
                             subject ? "its subject is " : "it has no subject", subject ? subject : "");
    for (size_t i = 0; i < j->count; i++) {
        const pending *p = &j->todo[i];
        if (p->skip && ml__str_eq(p->desc->digest, digest) &&
            ml__strvec_pushf(j->warnings, "referrer %s not listed for %s: its subject is %s", digest,
                             j->src[p->subject].digest, subject) != ML_OK)
            return ml__error_set(err, ML_ENOMEM, "out of memory");
    }
    return ML_OK;
}

/* A stale tag-schema entry, or a kind of referrer we cannot copy, costs
 * that referrer, not the whole push; a failing registry stops it. */
static bool skip_referrer(void *payload, size_t k, ml__item *failed)
{
    copy_job *j = payload;
    int rc = failed->rc;
    if (rc != ML_ENOTFOUND && rc != ML_EUNSUPPORTED && rc != ML_EMANIFEST && rc != ML_EDIGEST && rc != ML_ETOOBIG)
        return false;
    const char *digest = j->todo[j->todo_of[k]].desc->digest;
    for (size_t i = 0; i < j->count; i++)
        j->todo[i].skip |= ml__str_eq(j->todo[i].desc->digest, digest);
    /* Without memory for the warning the referrer is still left behind. */
    ml__strvec_pushf(j->warnings, "referrer %s left behind: %s", digest, ml_error_message(failed->err));
    return true;
}

static int copy_referrers(ml_client *c, const ml_ref *to, copy_job *j, size_t *copied, ml_error **err)
{
    size_t firsts = 0;
    for (size_t k = 0; k < j->count; k++)
        firsts += j->todo[k].first;
    if (!(j->todo_of = calloc(firsts ? firsts : 1, sizeof(*j->todo_of))) || ml__copy_init(&j->copy, firsts) != ML_OK)
        return ml__error_set(err, ML_ENOMEM, "out of memory");
    for (size_t k = 0, m = 0; k < j->count; k++)
        if (j->todo[k].first) {
            j->todo_of[m] = k;
            j->copy.gets[m++] = (ml__item){.repo = j->todo[k].from, .reference = j->todo[k].desc->digest};
        }
    j->copy.check = check_subject;
    size_t failed = 0;
    int rc = ml__copy_read(c, &j->copy, skip_referrer, j, &failed, err);
    if (rc != ML_OK && rc != ML_ENOMEM)
        return ml__error_prefix(err, rc, "copy referrer %s", j->copy.gets[failed].reference);
    return rc == ML_OK ? ml__copy_write(c, to, &j->copy, copied, err) : rc;
}

/* Where the target lacks the API, its tag-schema index gains what was
 * copied for each subject (one PUT per subject, after the manifests). */
static int update_tag_schema(ml_client *c, const ml_ref *to, ml__subject *dst, size_t n, const copy_job *j,
                             ml_error **err)
{
    int rc = ML_OK;
    for (size_t i = 0; rc == ML_OK && i < n; i++) {
        bool grew = false;
        for (size_t k = 0; rc == ML_OK && k < j->count; k++) {
            const pending *p = &j->todo[k];
            if (p->subject != i || p->skip || dst[i].api || lists_digest(&dst[i].refs, p->desc->digest))
                continue;
            ml__descriptor d = {0};
            rc = ml__descriptor_copy(&d, p->desc);
            if (rc == ML_OK && (rc = ml__manifest_append(&dst[i].refs, &d)) != ML_OK)
                ml__descriptor_clear(&d);
            grew = true;
        }
        if (rc != ML_OK || !grew)
            continue;
        char *json = NULL, *tag = schema_tag(dst[i].digest);
        size_t len = 0;
        rc = tag ? ml__manifest_emit(&dst[i].refs, &json, &len, err) : ML_ENOMEM;
        if (rc == ML_OK)
            rc = ml__store_put_manifest(c, to, tag, ML__MT_OCI_INDEX, json, len, err);
        free(json);
        free(tag);
    }
    return rc == ML_ENOMEM ? ml__error_set(err, rc, "out of memory") : rc;
}

static int plan_pending(const ml_ref *to, const copy_job *j, ml__strvec *plan)
{
    char *target = ml__ref_repo_name(to);
    int rc = target ? ML_OK : ML_ENOMEM;
    for (size_t k = 0; rc == ML_OK && k < j->count; k++) {
        const ml__descriptor *d = j->todo[k].desc;
        if (j->todo[k].first)
            rc = ml__strvec_pushf(plan, "copy referrer %s (%s) into %s", d->digest,
                                  d->artifact_type ? d->artifact_type : d->media_type, target);
    }
    free(target);
    return rc;
}

/* Every referrer of this level is a subject of the next, copied now or
 * earlier: a signature added later to an SBOM copied before still follows. */
static int next_level(const ml__subject *src, size_t n, const ml__strvec *left, ml__subject **out, size_t *count)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += src[i].refs.manifest_count;
    *out = calloc(total ? total : 1, sizeof(**out));
    *count = 0;
    if (!*out)
        return ML_ENOMEM;
    for (size_t i = 0; i < n; i++)
        for (size_t r = 0; r < src[i].refs.manifest_count; r++) {
            const char *digest = src[i].refs.manifests[r].digest;
            /* One left behind has no place for its own referrers. */
            bool seen = ml__strvec_contains(left, digest);
            for (size_t k = 0; k < *count && !seen; k++)
                seen = strcmp((*out)[k].digest, digest) == 0;
            if (!seen)
                (*out)[(*count)++] = (ml__subject){.repo = src[i].repo, .digest = digest};
        }
    return ML_OK;
}

/* What one copy carries along, level after level. */
typedef struct copy_ctx {
    ml_client *c;
    const ml_ref *to;
    size_t *copied;
    ml__strvec *plan;     /* a dry run: described here, nothing written */
    ml__strvec *warnings;
} copy_ctx;

static int copy_level(const copy_ctx *x, ml__subject *s, size_t n, int depth, ml_error **err);

/* *left gets the digests of referrers left behind. */
static int copy_pending(const copy_ctx *x, ml__subject *src, ml__subject *dst, size_t n, ml__strvec *left,
                        ml_error **err)
{
    copy_job j = {.src = src, .warnings = x->warnings};
    int rc = find_pending(dst, n, &j) == ML_OK ? ML_OK : ml__error_set(err, ML_ENOMEM, "out of memory");
    if (rc == ML_OK && j.count && x->plan)
        rc = plan_pending(x->to, &j, x->plan) == ML_OK ? ML_OK : ml__error_set(err, ML_ENOMEM, "out of memory");
    else if (rc == ML_OK && j.count) {
        rc = copy_referrers(x->c, x->to, &j, x->copied, err);
        if (rc == ML_OK)
            rc = update_tag_schema(x->c, x->to, dst, n, &j, err);
    }
    for (size_t m = 0; rc == ML_OK && m < j.copy.count; m++)
        if (j.copy.skipped[m] && ml__strvec_push(left, j.copy.gets[m].reference) != ML_OK)
            rc = ml__error_set(err, ML_ENOMEM, "out of memory");
    copy_job_clear(&j);
    return rc;
}

static int copy_found(const copy_ctx *x, ml__subject *src, ml__subject *dst, size_t n, int depth, ml_error **err)
{
    ml__strvec left = {0};
    int rc = copy_pending(x, src, dst, n, &left, err);
    ml__subject *next = NULL;
    size_t m = 0;
    if (rc == ML_OK && depth + 1 < REFERRERS_DEPTH) {
        rc = next_level(src, n, &left, &next, &m) == ML_OK ? ML_OK : ml__error_set(err, ML_ENOMEM, "out of memory");
        if (rc == ML_OK)
            rc = copy_level(x, next, m, depth + 1, err);
    }
    ml__subjects_clear(next, m);
    free(next);
    ml__strvec_free(&left);
    return rc;
}

/* Lists the subjects' referrers, and the target's only for subjects that
 * have some (most have none). */
static int copy_level(const copy_ctx *x, ml__subject *s, size_t n, int depth, ml_error **err)
{
    ml__subject *src = calloc(n ? n : 1, sizeof(*src));
    ml__subject *dst = calloc(n ? n : 1, sizeof(*dst));
    size_t m = 0;
    int rc = src && dst ? ml__referrers_list(x->c, s, n, x->warnings, err)
                        : ml__error_set(err, ML_ENOMEM, "out of memory");
    for (size_t i = 0; rc == ML_OK && i < n; i++) {
        if (s[i].refs.manifest_count == 0)
            continue;
        src[m] = s[i];
        s[i].refs = (ml__manifest){0};
        dst[m] = (ml__subject){.repo = x->to, .digest = src[m].digest};
        m++;
    }
    if (rc == ML_OK && m)
        rc = ml__referrers_list(x->c, dst, m, x->warnings, err);
    if (rc == ML_OK && m)
        rc = copy_found(x, src, dst, m, depth, err);
    ml__subjects_clear(src, m);
    ml__subjects_clear(dst, m);
    free(src);
    free(dst);
    return rc;
}

int ml__referrers_copy(ml_client *c, const ml_ref *to, ml__subject *s, size_t n, size_t *copied, ml__strvec *plan,
                       ml__strvec *warnings, ml_error **err)
{
    copy_ctx x = {c, to, copied, plan, warnings};
    return copy_level(&x, s, n, 0, err);
}
