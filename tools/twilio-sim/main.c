/* twilio-sim: enough of Twilio's REST API for the call center (Calls, call updates, conference
 * participants, Messages, account fetch) with Twilio's response and error shapes and Basic auth,
 * playing each call's life back to its StatusCallback as signed form posts, plus a control API
 * under /sim for tests and development (inbound calls, digits, hangups, what was delivered).
 * See docs/twilio-sim.md. */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cc/log.h"
#include "sim.h"

#define MAX_ACCOUNTS 32

struct options {
        const char *bind;
        int port;
        const char *ready_file;
        const char *log_level;
        int threads;
        struct sim_config sim;
};

static void usage(FILE *out)
{
        fputs("usage: twilio-sim --port N --account ACxxxx:authtoken [--account ...]\n"
              "                  [--bind 127.0.0.1] [--ring-ms 200] [--talk-ms 1000]\n"
              "                  [--ready-file path] [--workers 4] [--threads 4]\n"
              "                  [--log-level info]\n"
              "  --port 0 picks a free port; --ready-file receives the bound port once serving.\n"
              "  To numbers ending 0001 are busy, 0002 no-answer, 0003 failed; others answer\n"
              "  after --ring-ms and hang up after --talk-ms.\n",
              out);
}

static int parse_int(const char *s, int min, int max, int *ret)
{
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (errno || end == s || *end || v < min || v > max)
                return -EINVAL;
        *ret = (int)v;
        return 0;
}

static int add_account(struct sim_config *cfg, const char *spec)
{
        const char *colon = strchr(spec, ':');
        if (!colon || colon == spec || !colon[1] || cfg->naccounts == MAX_ACCOUNTS)
                return -EINVAL;
        cfg->accounts = cc_xrealloc(cfg->accounts, (cfg->naccounts + 1) * sizeof(*cfg->accounts));
        cfg->accounts[cfg->naccounts++] = (struct sim_account){
            .sid = cc_xstrndup(spec, (size_t)(colon - spec)),
            .token = cc_xstrdup(colon + 1),
        };
        return 0;
}

static void free_accounts(struct sim_config *cfg)
{
        for (size_t i = 0; i < cfg->naccounts; i++) {
                free(cfg->accounts[i].sid);
                free(cfg->accounts[i].token);
        }
        free(cfg->accounts);
        cfg->accounts = NULL;
        cfg->naccounts = 0;
}

/* 0, or 2 with a message for a bad command line (the usual exit code for usage errors). */
static int parse_options(int argc, char **argv, struct options *o)
{
        static const struct option longopts[] = {
            {"port", required_argument, NULL, 'p'},
            {"bind", required_argument, NULL, 'b'},
            {"account", required_argument, NULL, 'a'},
            {"ring-ms", required_argument, NULL, 'r'},
            {"talk-ms", required_argument, NULL, 't'},
            {"ready-file", required_argument, NULL, 'f'},
            {"workers", required_argument, NULL, 'w'},
            {"threads", required_argument, NULL, 'T'},
            {"log-level", required_argument, NULL, 'l'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0},
        };
        bool have_port = false;
        int c, idx = 0;
        while ((c = getopt_long(argc, argv, "h", longopts, &idx)) != -1) {
                int r = 0;
                switch (c) {
                case 'p':
                        r = parse_int(optarg, 0, 65535, &o->port);
                        have_port = true;
                        break;
                case 'b':
                        o->bind = optarg;
                        break;
                case 'a':
                        r = add_account(&o->sim, optarg);
                        break;
                case 'r':
                        r = parse_int(optarg, 0, 3600000, &o->sim.ring_ms);
                        break;
                case 't':
                        r = parse_int(optarg, 0, 86400000, &o->sim.talk_ms);
                        break;
                case 'f':
                        o->ready_file = optarg;
                        break;
                case 'w':
                        r = parse_int(optarg, 1, 256, &o->sim.workers);
                        break;
                case 'T':
                        r = parse_int(optarg, 1, 256, &o->threads);
                        break;
                case 'l':
                        o->log_level = optarg;
                        break;
                case 'h':
                        usage(stdout);
                        exit(0);
                default:
                        usage(stderr);
                        return 2;
                }
                if (r < 0) {
                        fprintf(stderr, "twilio-sim: bad value for --%s: %s\n", longopts[idx].name,
                                optarg);
                        usage(stderr);
                        return 2;
                }
        }
        if (optind < argc || !have_port || o->sim.naccounts == 0) {
                fprintf(stderr, "twilio-sim: %s\n",
                        optind < argc ? "unexpected arguments"
                        : !have_port  ? "--port is required"
                                      : "at least one --account SID:TOKEN is required");
                usage(stderr);
                return 2;
        }
        return 0;
}

/* The port, written whole (rename) so a reader never sees half a number. */
static int write_ready_file(const char *path, int port)
{
        char *tmp = cc_xasprintf("%s.%d.tmp", path, (int)getpid());
        FILE *f = fopen(tmp, "w");
        int r = 0;
        if (!f) {
                r = -errno;
                goto out;
        }
        fprintf(f, "%d\n", port);
        if (fclose(f) != 0) {
                r = -errno;
                unlink(tmp);
                goto out;
        }
        if (rename(tmp, path) != 0) {
                r = -errno;
                unlink(tmp);
        }
out:
        free(tmp);
        return r;
}

int main(int argc, char **argv)
{
        struct options o = {
            .bind = "127.0.0.1",
            .log_level = "info",
            .threads = 4,
            .sim = {.ring_ms = 200, .talk_ms = 1000, .workers = 4},
        };
        int r = parse_options(argc, argv, &o);
        if (r) {
                free_accounts(&o.sim);
                return r;
        }
        enum cc_log_level level;
        if (cc_log_level_parse(o.log_level, &level) < 0) {
                fprintf(stderr, "twilio-sim: bad --log-level %s\n", o.log_level);
                free_accounts(&o.sim);
                return 2;
        }

        /* Block the stop signals before any thread exists so every thread inherits the mask
         * and only sigwait below sees them. */
        sigset_t stop;
        sigemptyset(&stop);
        sigaddset(&stop, SIGTERM);
        sigaddset(&stop, SIGINT);
        pthread_sigmask(SIG_BLOCK, &stop, NULL);
        signal(SIGPIPE, SIG_IGN);
        cc_log_init("twilio-sim", level);
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                cc_log_error(NULL, "curl_global_init failed");
                free_accounts(&o.sim);
                return 1;
        }

        int exit_code = 1;
        struct sim *sim = sim_new(&o.sim);
        struct cc_http_server *srv = NULL;
        char err[256];
        struct cc_http_server_config hc = {
            .service = "twilio-sim",
            .bind_addr = o.bind,
            .port = o.port,
            .threads = o.threads,
            .userdata = sim,
        };
        r = sim_start(sim);
        if (r < 0) {
                cc_log_error(NULL, "cannot start workers: %s", strerror(-r));
                goto out;
        }
        srv = cc_http_server_new(&hc, sim_routes, sim_nroutes, err, sizeof(err));
        if (!srv) {
                cc_log_error(NULL, "cannot create the HTTP server: %s", err);
                goto out;
        }
        r = cc_http_server_start(srv);
        if (r < 0) {
                cc_log_error(NULL, "cannot listen on %s:%d: %s", o.bind, o.port, strerror(-r));
                goto out;
        }
        int port = cc_http_server_port(srv);
        if (o.ready_file) {
                r = write_ready_file(o.ready_file, port);
                if (r < 0) {
                        cc_log_error(NULL, "cannot write %s: %s", o.ready_file, strerror(-r));
                        goto out;
                }
        }
        cc_log_info(NULL, "serving on %s:%d with %zu account(s)", o.bind, port, sim->cfg.naccounts);

        int sig = 0;
        sigwait(&stop, &sig);
        cc_log_info(NULL, "received %s, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
        exit_code = 0;

out:
        if (srv) {
                cc_http_server_stop(srv);
                cc_http_server_free(srv);
        }
        sim_free(sim);
        curl_global_cleanup();
        return exit_code;
}
