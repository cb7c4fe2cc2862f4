/* Shared by the end-to-end tests: the real binaries started as processes against the test
 * database and broker. */
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"
#include "cc/util.h"

struct proc {
        pid_t pid;
        int port;
        char log[256];
};

/* Starts one binary with the test settings plus overrides ("NAME=value" or "NAME=" to unset), on
 * p->port when it is set, else on a free port. */
static inline void spawn(const char *name, const char *const *overrides, struct proc *p)
{
        char bin[1024];
        snprintf(bin, sizeof(bin), "%s/services/%s/cc-%s", cc_test_env("CC_TEST_BUILD_DIR"), name,
                 name);
        if (p->port <= 0)
                p->port = cc_test_free_port();
        snprintf(p->log, sizeof(p->log), "/tmp/cc-e2e-%s-%d.log", name, (int)getpid());
        /* Set here and inherited, so a missing CC_TEST_* setting fails the test, not the child. */
        cc_test_service_env(p->port);
        p->pid = fork();
        ck_assert_int_ge(p->pid, 0);
        if (p->pid == 0) {
                for (size_t i = 0; overrides && overrides[i]; i++) {
                        char *kv = strdup(overrides[i]);
                        char *eq = strchr(kv, '=');
                        *eq = '\0';
                        if (eq[1])
                                setenv(kv, eq + 1, 1);
                        else
                                unsetenv(kv);
                }
                int fd = open(p->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
                dup2(fd, STDERR_FILENO);
                dup2(fd, STDOUT_FILENO);
                execl(bin, bin, (char *)NULL);
                _exit(127);
        }
}

static inline bool wait_ready(const struct proc *p, int timeout_ms)
{
        char url[128];
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/readyz", p->port);
        for (int waited = 0; waited < timeout_ms; waited += 100) {
                int status;
                if (waitpid(p->pid, &status, WNOHANG) == p->pid)
                        return false;
                /* Probe with a raw connect first so curl is only used once something listens. */
                int fd = cc_test_connect("127.0.0.1", p->port);
                if (fd >= 0) {
                        close(fd);
                        struct cc_test_response r;
                        cc_test_http("GET", url, NULL, 0, NULL, &r);
                        long st = r.status;
                        cc_test_response_fini(&r);
                        if (st == 200)
                                return true;
                }
                usleep(100 * 1000);
        }
        return false;
}

static inline int stop(struct proc *p, int timeout_ms)
{
        kill(p->pid, SIGTERM);
        for (int waited = 0; waited < timeout_ms; waited += 50) {
                int status;
                if (waitpid(p->pid, &status, WNOHANG) == p->pid)
                        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                usleep(50 * 1000);
        }
        kill(p->pid, SIGKILL);
        waitpid(p->pid, NULL, 0);
        return -1;
}

static inline char *slurp(const char *path)
{
        FILE *f = fopen(path, "r");
        if (!f)
                return strdup("");
        char *buf = calloc(1, 65536);
        size_t n = fread(buf, 1, 65535, f);
        buf[n] = '\0';
        fclose(f);
        return buf;
}
