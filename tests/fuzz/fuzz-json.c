/* Fuzz target for the strict JSON reader and the writer: no crash, leak or
 * read past the buffer (the input is not NUL-terminated); an accepted
 * document prints as text the reader takes again, to the same text, and
 * every string in it survives the writer and the reader unchanged. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "json.h"

static void strings_round_trip(const ml__json *v)
{
    for (const ml__json *c = ml__json_first(v); c; c = ml__json_next(c)) {
        const char *s = ml__json_string(c);
        if (s) {
            ml__json_writer w = {0};
            ml__jw_object(&w, NULL);
            ml__jw_string(&w, ml__json_key(c) ? ml__json_key(c) : "k", s);
            ml__jw_end_object(&w);
            size_t len = 0;
            char *text = ml__jw_take(&w, &len);
            ml__json *back = NULL;
            require(text && ml__json_parse(&back, text, len, ML_EINVAL, NULL) == ML_OK);
            require(strcmp(ml__json_string(ml__json_first(back)), s) == 0);
            ml__json_free(back);
            free(text);
        }
        strings_round_trip(c);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ml__json *root = NULL;
    ml_error *err = NULL;
    if (ml__json_parse(&root, (const char *)data, size, ML_EMANIFEST, &err) != ML_OK) {
        require(root == NULL && (ml_error_code(err) == ML_EMANIFEST || ml_error_code(err) == ML_ENOMEM));
        ml_error_free(err);
        return 0;
    }
    char *text = ml__json_text(root);
    ml__json *again = NULL;
    require(text && ml__json_parse(&again, text, strlen(text), ML_EMANIFEST, NULL) == ML_OK);
    char *text2 = ml__json_text(again);
    require(text2 && strcmp(text, text2) == 0);
    strings_round_trip(root);
    free(text2);
    free(text);
    ml__json_free(again);
    ml__json_free(root);
    return 0;
}
