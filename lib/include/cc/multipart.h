/* multipart/form-data (RFC 7578 over RFC 2046) read in place: the parts of a request body that
 * is already in memory, as pointers into it. Nothing is copied or decoded, so an upload of any
 * size costs no memory beyond its body. Delimiter and header lines must end in CRLF, as every
 * browser and HTTP client sends them. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "cc/util.h"

/* RFC 2046 caps a boundary at 70 characters. */
#define CC_MULTIPART_BOUNDARY_MAX 70

/* One part. Strings are pointers into the body with lengths (not NUL-terminated); a parameter
 * that was quoted comes without its quotes, quoted-pair escapes left as sent. NULL when the part
 * had no such header or parameter. */
struct cc_multipart_part {
        const char *name; /* Content-Disposition: form-data; name="..." */
        size_t name_len;
        const char *filename; /* ...; filename="..." */
        size_t filename_len;
        const char *content_type; /* the part's Content-Type value */
        size_t content_type_len;
        const char *data; /* the part's content */
        size_t len;
};

/* A reader over one body; caller storage, nothing to free. */
struct cc_multipart {
        const char *body;
        size_t len;
        size_t pos;                                /* just after the last delimiter read */
        char delim[CC_MULTIPART_BOUNDARY_MAX + 5]; /* "\r\n--" boundary */
        size_t delim_len;
        bool done;
};

/* The boundary of a Content-Type header value "multipart/form-data; boundary=..." (the type
 * matched case-insensitively, the parameter quoted or not), copied into ret_boundary (NUL-
 * terminated). -EINVAL when the type is not multipart/form-data or the boundary is missing,
 * empty or longer than CC_MULTIPART_BOUNDARY_MAX. */
int cc_multipart_boundary(const char *content_type,
                          char ret_boundary[CC_MULTIPART_BOUNDARY_MAX + 1]) CC_MUSTCHECK;

/* Starts reading body (borrowed; it must outlive the reader and the parts) as the multipart
 * document content_type announces. -EINVAL as cc_multipart_boundary, or when the body holds no
 * delimiter line at all. */
int cc_multipart_init(struct cc_multipart *mp, const char *content_type, const void *body,
                      size_t len) CC_MUSTCHECK;

/* The next part: 0 and ret_part, -ENOENT after the closing delimiter, -EINVAL when the body is
 * malformed (a part without its header block or its next delimiter, a header line that is not
 * "Name: value"). */
int cc_multipart_next(struct cc_multipart *mp, struct cc_multipart_part *ret_part) CC_MUSTCHECK;

/* The first part named `name` in a whole body: 0 and ret_part, -ENOENT when there is none,
 * -EINVAL as above (the whole body is checked up to the part found). */
int cc_multipart_find(const char *content_type, const void *body, size_t len, const char *name,
                      struct cc_multipart_part *ret_part) CC_MUSTCHECK;

/* Whether the part's name is `name` (exactly). */
bool cc_multipart_name_is(const struct cc_multipart_part *part, const char *name);
