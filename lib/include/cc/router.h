/* Route table: method + path pattern with {param} segments, and optionally a last "{*name}"
 * segment that matches the rest of the path (zero or more segments; its value is the remainder
 * as sent, still percent-encoded). A fixed-length pattern wins over a catch-all that matches the
 * same literals. "/api/calls" and "/api/calls/" are
 * the same route. Matching distinguishes "no such path" (404) from "path exists, other method"
 * (405). The table is built once at start and read concurrently afterwards. */
#pragma once

#include "cc/util.h"

#define CC_ROUTER_MAX_PARAMS 8

struct cc_router;

struct cc_route_match {
        const void *handler; /* what was registered */
        const char *pattern; /* the registered pattern (metrics label) */
        size_t nparams;
        struct {
                const char *name;  /* borrowed from the table */
                const char *value; /* written into the caller's scratch buffer */
        } params[CC_ROUTER_MAX_PARAMS];
};

struct cc_router *cc_router_new(void);
void cc_router_free(struct cc_router *r);
/* method "GET"...; pattern "/api/calls/{id}/notes". -EINVAL for a malformed pattern, -EEXIST for
 * a duplicate. handler is opaque to the router. */
int cc_router_add(struct cc_router *r, const char *method, const char *pattern,
                  const void *handler) CC_MUSTCHECK;
/* 0 on match; -ENOENT when no path matches; -EPERM when the path matches only under other
 * methods (405). scratch holds the decoded parameter values (size >= strlen(path)+1). When the
 * path matches other methods, allow (if not NULL) receives "GET, POST" style text. */
int cc_router_match(const struct cc_router *r, const char *method, const char *path, char *scratch,
                    size_t scratch_len, struct cc_route_match *ret_match, char *allow,
                    size_t allow_len) CC_MUSTCHECK;
