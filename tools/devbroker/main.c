/* devbroker: a development Kafka cluster on loopback, hosted by librdkafka's mock cluster, so the
 * services and the tests have a broker without a JVM. It creates the project's topics at start,
 * publishes its bootstrap servers on stdout and in a file, and stages outages on command: a
 * line-oriented control port (down, up, rtt <ms>, topic <name> <partitions>, status) or SIGUSR1
 * (down) / SIGUSR2 (up). Topics and offsets live in memory only.
 *
 * Links only librdkafka and pthreads, so it does not use the cc library. */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *const builtin_topics[] = {
    "cc.users.v1", "cc.calls.v1",      "cc.agents.v1",     "cc.campaigns.v1",
    "cc.sms.v1",   "cc.sentiment.v1",  "cc.dlq.gateway",   "cc.dlq.telephony",
    "cc.dlq.sms",  "cc.dlq.sentiment", "cc.dlq.analytics",
};

#define NBUILTIN     (sizeof(builtin_topics) / sizeof(builtin_topics[0]))
#define MAX_CLIENTS  16
#define MAX_LINE     512
#define MAX_TOPICS   256
#define MAX_PARTS    1000
#define MAX_RTT_MS   600000
#define READY_WAIT_S 15

struct options {
        int brokers;
        int partitions;
        int control_port;
        const char *bootstrap_file;
        const char *topics[MAX_TOPICS];
        size_t ntopics;
};

struct cluster {
        rd_kafka_t *rk; /* hosts the mock cluster; never produces */
        rd_kafka_mock_cluster_t *mock;
        int brokers;
        int replication;
        bool down;
        int rtt_ms;
};

struct client {
        int fd;
        size_t len;
        char buf[MAX_LINE];
};

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        fputs("devbroker: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
}

/* The hosting client has no bootstrap servers by design; its warning about that is noise. */
static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
        if (strcmp(fac, "CONFWARN") == 0)
                return;
        fprintf(stderr, "devbroker: rdkafka %d %s: %s\n", level, fac, buf);
}

static void usage(FILE *f)
{
        fprintf(f, "usage: devbroker [--brokers N] [--partitions P] [--control-port PORT]\n"
                   "                 [--bootstrap-file PATH] [--topic NAME]...\n"
                   "control commands: down | up | rtt <ms> | topic <name> <partitions> | "
                   "status\n"
                   "signals: SIGUSR1 = down, SIGUSR2 = up, SIGTERM/SIGINT = stop\n");
}

static bool parse_int(const char *s, int min, int max, int *ret)
{
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
                return false;
        *ret = (int)v;
        return true;
}

/* Kafka's own rule: 1-249 characters of [a-zA-Z0-9._-], and not "." or "..". */
static bool topic_name_valid(const char *name)
{
        size_t n = strlen(name);
        if (n == 0 || n > 249 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
                return false;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)name[i];
                if (!isalnum(c) && c != '.' && c != '_' && c != '-')
                        return false;
        }
        return true;
}

static int parse_options(int argc, char **argv, struct options *o)
{
        static const struct option longopts[] = {
            {"brokers", required_argument, NULL, 'b'},
            {"partitions", required_argument, NULL, 'p'},
            {"control-port", required_argument, NULL, 'c'},
            {"bootstrap-file", required_argument, NULL, 'f'},
            {"topic", required_argument, NULL, 't'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0},
        };
        int opt;
        *o = (struct options){.brokers = 3, .partitions = 3};
        while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
                switch (opt) {
                case 'b':
                        if (!parse_int(optarg, 1, 64, &o->brokers)) {
                                note("--brokers: expected 1..64, got '%s'", optarg);
                                return -1;
                        }
                        break;
                case 'p':
                        if (!parse_int(optarg, 1, MAX_PARTS, &o->partitions)) {
                                note("--partitions: expected 1..%d, got '%s'", MAX_PARTS, optarg);
                                return -1;
                        }
                        break;
                case 'c':
                        if (!parse_int(optarg, 0, 65535, &o->control_port)) {
                                note("--control-port: expected 0..65535, got '%s'", optarg);
                                return -1;
                        }
                        break;
                case 'f':
                        o->bootstrap_file = optarg;
                        break;
                case 't':
                        if (!topic_name_valid(optarg)) {
                                note("--topic: invalid topic name '%s'", optarg);
                                return -1;
                        }
                        if (o->ntopics == MAX_TOPICS) {
                                note("--topic: at most %d extra topics", MAX_TOPICS);
                                return -1;
                        }
                        o->topics[o->ntopics++] = optarg;
                        break;
                case 'h':
                        usage(stdout);
                        exit(0);
                default:
                        usage(stderr);
                        return -1;
                }
        }
        if (optind != argc) {
                note("unexpected argument '%s'", argv[optind]);
                usage(stderr);
                return -1;
        }
        return 0;
}

static int create_topic(struct cluster *cl, const char *name, int partitions, char *why,
                        size_t why_len)
{
        rd_kafka_resp_err_t err =
            rd_kafka_mock_topic_create(cl->mock, name, partitions, cl->replication);
        if (err) {
                snprintf(why, why_len, "%s", rd_kafka_err2str(err));
                return -1;
        }
        return 0;
}

/* The mock applies a broker's up/down and rtt per broker id (1..N); -1 for "all" is not honoured
 * by every 2.0.x build, so address each broker. */
static int set_all_brokers(struct cluster *cl, bool up, char *why, size_t why_len)
{
        for (int id = 1; id <= cl->brokers; id++) {
                rd_kafka_resp_err_t err = up ? rd_kafka_mock_broker_set_up(cl->mock, id)
                                             : rd_kafka_mock_broker_set_down(cl->mock, id);
                if (err) {
                        snprintf(why, why_len, "broker %d: %s", id, rd_kafka_err2str(err));
                        return -1;
                }
        }
        cl->down = !up;
        return 0;
}

static int set_all_rtt(struct cluster *cl, int rtt_ms, char *why, size_t why_len)
{
        for (int id = 1; id <= cl->brokers; id++) {
                rd_kafka_resp_err_t err = rd_kafka_mock_broker_set_rtt(cl->mock, id, rtt_ms);
                if (err) {
                        snprintf(why, why_len, "broker %d: %s", id, rd_kafka_err2str(err));
                        return -1;
                }
        }
        cl->rtt_ms = rtt_ms;
        return 0;
}

/* Asks the cluster, as any client would, whether every topic is there with a leader for each
 * partition: the bootstrap file must not appear before a client can use it. */
static int wait_ready(const char *bootstrap, const char *const *topics, size_t ntopics,
                      int partitions)
{
        char errstr[512];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof(errstr)) ||
            rd_kafka_conf_set(conf, "client.id", "devbroker-probe", errstr, sizeof(errstr))) {
                note("probe config: %s", errstr);
                rd_kafka_conf_destroy(conf);
                return -1;
        }
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (!rk) {
                note("probe client: %s", errstr);
                rd_kafka_conf_destroy(conf);
                return -1;
        }
        int rc = -1;
        time_t deadline = time(NULL) + READY_WAIT_S;
        while (rc != 0 && time(NULL) < deadline) {
                const struct rd_kafka_metadata *md = NULL;
                if (rd_kafka_metadata(rk, 1, NULL, &md, 2000) != RD_KAFKA_RESP_ERR_NO_ERROR)
                        continue;
                size_t found = 0;
                for (size_t i = 0; i < ntopics; i++) {
                        for (int t = 0; t < md->topic_cnt; t++) {
                                const struct rd_kafka_metadata_topic *mt = &md->topics[t];
                                if (strcmp(mt->topic, topics[i]) != 0 || mt->err)
                                        continue;
                                bool led = mt->partition_cnt == partitions;
                                for (int p = 0; led && p < mt->partition_cnt; p++)
                                        led = mt->partitions[p].leader >= 0;
                                found += led;
                        }
                }
                rd_kafka_metadata_destroy(md);
                if (found == ntopics)
                        rc = 0;
        }
        rd_kafka_destroy(rk);
        return rc;
}

/* Written to a temporary name and renamed, so a reader never sees half a line. */
static int write_bootstrap_file(const char *path, const char *bootstrap)
{
        char tmp[PATH_MAX];
        if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp)) {
                note("--bootstrap-file: path too long");
                return -1;
        }
        FILE *f = fopen(tmp, "w");
        if (!f) {
                note("%s: %s", tmp, strerror(errno));
                return -1;
        }
        bool ok = fprintf(f, "%s\n", bootstrap) > 0;
        ok = fflush(f) == 0 && ok;
        ok = fsync(fileno(f)) == 0 && ok;
        ok = fclose(f) == 0 && ok;
        if (!ok || rename(tmp, path) != 0) {
                note("%s: %s", path, strerror(errno));
                unlink(tmp);
                return -1;
        }
        return 0;
}

static int open_listener(int port)
{
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
                note("control socket: %s", strerror(errno));
                return -1;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        struct sockaddr_in sa = {
            .sin_family = AF_INET,
            .sin_port = htons((uint16_t)port),
            .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
        };
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 16) != 0) {
                note("control port 127.0.0.1:%d: %s", port, strerror(errno));
                close(fd);
                return -1;
        }
        return fd;
}

static void send_line(int fd, const char *line)
{
        size_t len = strlen(line), off = 0;
        while (off < len) {
                ssize_t n = send(fd, line + off, len - off, MSG_NOSIGNAL);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return; /* the client went away; nothing to tell it */
                off += (size_t)n;
        }
}

/* Runs one control command and writes its one-line answer (without newline) into out. */
static void run_command(struct cluster *cl, char *line, char *out, size_t out_len)
{
        char why[256] = "";
        char *save = NULL;
        char *cmd = strtok_r(line, " \t\r", &save);
        char *arg1 = cmd ? strtok_r(NULL, " \t\r", &save) : NULL;
        char *arg2 = arg1 ? strtok_r(NULL, " \t\r", &save) : NULL;
        char *extra = arg2 ? strtok_r(NULL, " \t\r", &save) : NULL;
        int n;

        if (!cmd) {
                snprintf(out, out_len, "error empty command");
        } else if (strcmp(cmd, "down") == 0 || strcmp(cmd, "up") == 0) {
                bool up = cmd[0] == 'u';
                if (arg1)
                        snprintf(out, out_len, "error %s takes no argument", cmd);
                else if (set_all_brokers(cl, up, why, sizeof(why)) != 0)
                        snprintf(out, out_len, "error %s", why);
                else
                        snprintf(out, out_len, "ok brokers=%d down=%d", cl->brokers, !up);
                if (strncmp(out, "ok", 2) == 0)
                        note("all brokers %s", up ? "up" : "down");
        } else if (strcmp(cmd, "rtt") == 0) {
                if (!arg1 || arg2 || !parse_int(arg1, 0, MAX_RTT_MS, &n))
                        snprintf(out, out_len, "error usage: rtt <ms 0..%d>", MAX_RTT_MS);
                else if (set_all_rtt(cl, n, why, sizeof(why)) != 0)
                        snprintf(out, out_len, "error %s", why);
                else
                        snprintf(out, out_len, "ok rtt=%d", n);
        } else if (strcmp(cmd, "topic") == 0) {
                if (!arg1 || !arg2 || extra || !parse_int(arg2, 1, MAX_PARTS, &n))
                        snprintf(out, out_len, "error usage: topic <name> <partitions 1..%d>",
                                 MAX_PARTS);
                else if (!topic_name_valid(arg1))
                        snprintf(out, out_len, "error invalid topic name");
                else if (create_topic(cl, arg1, n, why, sizeof(why)) != 0)
                        snprintf(out, out_len, "error %s", why);
                else
                        snprintf(out, out_len, "ok topic=%s partitions=%d", arg1, n);
        } else if (strcmp(cmd, "status") == 0) {
                snprintf(out, out_len, "ok brokers=%d down=%d rtt=%d", cl->brokers, cl->down,
                         cl->rtt_ms);
        } else {
                snprintf(out, out_len, "error unknown command '%.64s'", cmd);
        }
}

/* Consumes complete lines from a client's buffer; returns false when the client must go. */
static bool serve_client(struct cluster *cl, struct client *c)
{
        ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len, 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
                return true;
        if (n <= 0)
                return false;
        c->len += (size_t)n;
        c->buf[c->len] = '\0';
        char *nl;
        while ((nl = memchr(c->buf, '\n', c->len)) != NULL) {
                char answer[512];
                *nl = '\0';
                run_command(cl, c->buf, answer, sizeof(answer) - 1);
                strcat(answer, "\n");
                send_line(c->fd, answer);
                size_t used = (size_t)(nl + 1 - c->buf);
                memmove(c->buf, nl + 1, c->len - used);
                c->len -= used;
                c->buf[c->len] = '\0';
        }
        if (c->len == sizeof(c->buf) - 1) {
                send_line(c->fd, "error line too long\n");
                return false;
        }
        return true;
}

static void accept_client(int lfd, struct client *clients)
{
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0)
                return;
        for (int i = 0; i < MAX_CLIENTS; i++) {
                if (clients[i].fd < 0) {
                        clients[i] = (struct client){.fd = fd};
                        return;
                }
        }
        send_line(fd, "error busy\n");
        close(fd);
}

/* Serves signals and the control port until SIGTERM/SIGINT. */
static int run(struct cluster *cl, int sfd, int lfd)
{
        struct client clients[MAX_CLIENTS];
        for (int i = 0; i < MAX_CLIENTS; i++)
                clients[i].fd = -1;

        for (;;) {
                struct pollfd pfd[2 + MAX_CLIENTS];
                int idx[MAX_CLIENTS];
                nfds_t n = 0;
                pfd[n++] = (struct pollfd){.fd = sfd, .events = POLLIN};
                pfd[n++] = (struct pollfd){.fd = lfd, .events = POLLIN}; /* -1 is ignored */
                for (int i = 0; i < MAX_CLIENTS; i++) {
                        if (clients[i].fd >= 0) {
                                idx[n - 2] = i;
                                pfd[n++] = (struct pollfd){.fd = clients[i].fd, .events = POLLIN};
                        }
                }
                if (poll(pfd, n, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        note("poll: %s", strerror(errno));
                        return -1;
                }
                for (nfds_t k = 2; k < n; k++) {
                        struct client *c = &clients[idx[k - 2]];
                        if (pfd[k].revents && !serve_client(cl, c)) {
                                close(c->fd);
                                c->fd = -1;
                        }
                }
                if (pfd[1].revents & POLLIN)
                        accept_client(lfd, clients);
                if (pfd[0].revents & POLLIN) {
                        struct signalfd_siginfo si;
                        if (read(sfd, &si, sizeof(si)) != sizeof(si))
                                continue;
                        char why[256];
                        if (si.ssi_signo == SIGUSR1 || si.ssi_signo == SIGUSR2) {
                                bool up = si.ssi_signo == SIGUSR2;
                                if (set_all_brokers(cl, up, why, sizeof(why)) != 0)
                                        note("%s: %s", up ? "up" : "down", why);
                                else
                                        note("all brokers %s", up ? "up" : "down");
                                continue;
                        }
                        note("stopping on signal %u", si.ssi_signo);
                        break;
                }
        }
        for (int i = 0; i < MAX_CLIENTS; i++)
                if (clients[i].fd >= 0)
                        close(clients[i].fd);
        return 0;
}

int main(int argc, char **argv)
{
        struct options o;
        struct cluster cl = {0};
        char errstr[512];
        int sfd = -1, lfd = -1, rc = 1;

        if (parse_options(argc, argv, &o) != 0)
                return 2;

        /* Blocked before librdkafka starts its threads, so they inherit the mask and every one
         * of these signals reaches the signalfd. */
        sigset_t sigs;
        sigemptyset(&sigs);
        sigaddset(&sigs, SIGTERM);
        sigaddset(&sigs, SIGINT);
        sigaddset(&sigs, SIGUSR1);
        sigaddset(&sigs, SIGUSR2);
        if (sigprocmask(SIG_BLOCK, &sigs, NULL) != 0 ||
            (sfd = signalfd(-1, &sigs, SFD_CLOEXEC)) < 0) {
                note("signalfd: %s", strerror(errno));
                return 1;
        }
        signal(SIGPIPE, SIG_IGN);

        /* A stale file from an earlier run would point at dead ports; whoever waits for the file
         * must only see ours. */
        if (o.bootstrap_file)
                unlink(o.bootstrap_file);

        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        if (rd_kafka_conf_set(conf, "client.id", "devbroker", errstr, sizeof(errstr))) {
                note("config: %s", errstr);
                rd_kafka_conf_destroy(conf);
                goto out;
        }
        rd_kafka_conf_set_log_cb(conf, on_log);
        cl.rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (!cl.rk) {
                note("rd_kafka_new: %s", errstr);
                rd_kafka_conf_destroy(conf);
                goto out;
        }
        cl.mock = rd_kafka_mock_cluster_new(cl.rk, o.brokers);
        if (!cl.mock) {
                note("cannot create the mock cluster");
                goto out;
        }
        cl.brokers = o.brokers;
        cl.replication = o.brokers < 3 ? o.brokers : 3;

        const char *all[NBUILTIN + MAX_TOPICS];
        size_t nall = 0;
        for (size_t i = 0; i < NBUILTIN; i++)
                all[nall++] = builtin_topics[i];
        for (size_t i = 0; i < o.ntopics; i++) {
                bool dup = false;
                for (size_t j = 0; j < nall && !dup; j++)
                        dup = strcmp(all[j], o.topics[i]) == 0;
                if (!dup)
                        all[nall++] = o.topics[i];
        }
        for (size_t i = 0; i < nall; i++) {
                if (create_topic(&cl, all[i], o.partitions, errstr, sizeof(errstr)) != 0) {
                        note("topic %s: %s", all[i], errstr);
                        goto out;
                }
        }

        const char *bootstrap = rd_kafka_mock_cluster_bootstraps(cl.mock);
        if (wait_ready(bootstrap, all, nall, o.partitions) != 0) {
                note("the mock cluster did not become ready within %d s", READY_WAIT_S);
                goto out;
        }
        if (o.control_port > 0 && (lfd = open_listener(o.control_port)) < 0)
                goto out;
        if (o.bootstrap_file && write_bootstrap_file(o.bootstrap_file, bootstrap) != 0)
                goto out;
        printf("bootstrap=%s\n", bootstrap);
        fflush(stdout);
        note("%d brokers, %zu topics x %d partitions (replication %d)%s", cl.brokers, nall,
             o.partitions, cl.replication, lfd >= 0 ? ", control port open" : "");

        rc = run(&cl, sfd, lfd) == 0 ? 0 : 1;
        if (o.bootstrap_file)
                unlink(o.bootstrap_file);

out:
        if (lfd >= 0)
                close(lfd);
        if (cl.mock)
                rd_kafka_mock_cluster_destroy(cl.mock);
        if (cl.rk)
                rd_kafka_destroy(cl.rk);
        if (sfd >= 0)
                close(sfd);
        return rc;
}
