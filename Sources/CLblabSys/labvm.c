#define _GNU_SOURCE
#include "lblab_labvm.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

pid_t lblab_spawn(const char *path, char *const argv[], char *const envp[], const char *cwd,
                  int in_fd, int out_fd, int err_fd, int new_session) {
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) return -1;
    pid_t pid = fork();
    if (pid < 0) { int e = errno; close(report[0]); close(report[1]); errno = e; return -1; }
    if (pid == 0) {
        // The child: only async-signal-safe calls from here on.
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        for (int s = 1; s < NSIG; s++) sigaction(s, &dfl, NULL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (new_session) setsid();
        int fds[3] = {in_fd, out_fd, err_fd};
        for (int i = 0; i < 3; i++) {
            int fd = fds[i];
            if (fd < 0) fd = open("/dev/null", i == 0 ? O_RDONLY : O_WRONLY);
            if (fd < 0 || (fd != i && dup2(fd, i) < 0)) goto fail;
            if (fd == i) fcntl(i, F_SETFD, 0);  // keep it across exec
        }
        if (cwd != NULL && chdir(cwd) != 0 && chdir("/") != 0) goto fail;
        execve(path, argv, envp);
    fail:;
        int err = errno;
        ssize_t w = write(report[1], &err, sizeof err);
        (void)w;
        _exit(127);
    }
    close(report[1]);
    int err = 0;
    ssize_t n;
    do { n = read(report[0], &err, sizeof err); } while (n < 0 && errno == EINTR);
    close(report[0]);
    if (n == (ssize_t)sizeof err) {
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
        errno = err;
        return -1;
    }
    return pid;
}

static int fill(sigset_t *set, const int *signals, int count) {
    sigemptyset(set);
    for (int i = 0; i < count; i++)
        if (sigaddset(set, signals[i]) != 0) return -1;
    return 0;
}

int lblab_signalfd(const int *signals, int count) {
    sigset_t set;
    if (fill(&set, signals, count) != 0) return -1;
    int e = pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (e != 0) { errno = e; return -1; }
    return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

int lblab_unblock_signals(const int *signals, int count) {
    sigset_t set;
    if (fill(&set, signals, count) != 0) return -1;
    int e = pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    if (e != 0) { errno = e; return -1; }
    return 0;
}

int lblab_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int lblab_accept_cloexec(int fd) {
    int c;
    do { c = accept4(fd, NULL, NULL, SOCK_CLOEXEC); } while (c < 0 && errno == EINTR);
    return c;
}
