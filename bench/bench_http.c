/* A minimal server on the shared library: GET /bench answers a fixed small JSON body. Used by
 * bench/run_http.sh to compare our HTTP stack with nginx serving the same bytes, and (any GET under
 * /api/) as the upstream of bench/bench_proxy.sh.
 * Usage: bench_http <port> [threads] [log level] */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cc/http.h"
#include "cc/log.h"

static const char body[] = "{\"status\":\"ok\",\"service\":\"bench\"}";

static void h_bench(struct cc_http_req *req)
{
        cc_http_reply_raw(req, 200, "application/json", body, sizeof(body) - 1);
}

static const struct cc_http_route routes[] = {
    {"GET", "/bench", h_bench, CC_ROLE_NONE, 0},
    /* A trivial upstream for bench/bench_proxy.sh: whatever the gateway forwards. */
    {"GET", "/api/{*rest}", h_bench, CC_ROLE_NONE, 0},
};

int main(int argc, char **argv)
{
        if (argc < 2) {
                fprintf(stderr, "usage: %s <port> [threads] [log level]\n", argv[0]);
                return 2;
        }
        enum cc_log_level level = CC_LOG_WARN;
        if (argc > 3 && cc_log_level_parse(argv[3], &level) < 0) {
                fprintf(stderr, "bad log level %s\n", argv[3]);
                return 2;
        }
        cc_log_init("bench", level);

        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &set, NULL); /* before the server threads inherit the mask */

        struct cc_http_server_config cfg = {
            .service = "bench",
            .bind_addr = "127.0.0.1",
            .port = atoi(argv[1]),
            .threads = argc > 2 ? atoi(argv[2]) : 0,
            .max_body = 1 << 20,
            .conn_timeout_s = 30,
        };
        char err[256];
        struct cc_http_server *srv =
            cc_http_server_new(&cfg, routes, CC_ARRAY_SIZE(routes), err, sizeof(err));
        if (!srv) {
                fprintf(stderr, "bench_http: %s\n", err);
                return 1;
        }
        if (cc_http_server_start(srv) < 0) {
                fprintf(stderr, "bench_http: cannot listen on port %s\n", argv[1]);
                cc_http_server_free(srv);
                return 1;
        }
        fprintf(stderr, "bench_http: listening on 127.0.0.1:%d\n", cc_http_server_port(srv));
        int sig;
        sigwait(&set, &sig);
        cc_http_server_free(srv);
        return 0;
}
