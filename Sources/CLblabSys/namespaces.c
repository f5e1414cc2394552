#define _GNU_SOURCE
#include "CLblabSys.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

int lblab_setns_net(int fd) { return setns(fd, CLONE_NEWNET); }

static int make_shared_mount(const char *dir) {
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) return -1;
    // Same dance as iproute2: make the directory a shared mount so namespace mounts
    // propagate to other mount namespaces; bind it onto itself if it is not a mount yet.
    if (mount("", dir, "none", MS_SHARED | MS_REC, NULL) == 0) return 0;
    if (errno != EINVAL) return -1;
    if (mount(dir, dir, "none", MS_BIND | MS_REC, NULL) != 0) return -1;
    return mount("", dir, "none", MS_SHARED | MS_REC, NULL);
}

// The directory made a shared mount by this process (once: with MS_REC, the mount call walks
// every namespace mounted under it, so repeating it per namespace made creation quadratic).
static pthread_mutex_t prepared_lock = PTHREAD_MUTEX_INITIALIZER;
static char prepared_dir[4096];

static int prepare_dir(const char *dir) {
    pthread_mutex_lock(&prepared_lock);
    int rc = 0;
    if (strcmp(prepared_dir, dir) != 0) {
        rc = make_shared_mount(dir);
        if (rc == 0 && strlen(dir) < sizeof prepared_dir) strcpy(prepared_dir, dir);
    }
    pthread_mutex_unlock(&prepared_lock);
    return rc;
}

int lblab_netns_create(const char *dir, const char *name) {
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) { errno = ENAMETOOLONG; return -1; }
    if (prepare_dir(dir) != 0) return -1;
    int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
    if (fd < 0) return -1;
    close(fd);
    int saved = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (saved < 0) { int e = errno; unlink(path); errno = e; return -1; }
    int rc = -1, err = 0;
    if (unshare(CLONE_NEWNET) != 0) { err = errno; goto out; }
    if (mount("/proc/thread-self/ns/net", path, "none", MS_BIND, NULL) != 0) { err = errno; }
    else rc = 0;
    // Staying in the new namespace would run everything after this on the wrong network
    // stack: there is no sane way on.
    if (setns(saved, CLONE_NEWNET) != 0) abort();
out:
    close(saved);
    if (rc != 0) { umount2(path, MNT_DETACH); unlink(path); errno = err; }
    return rc;
}

int lblab_netns_delete(const char *path) {
    if (umount2(path, MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) return -1;
    if (unlink(path) != 0 && errno != ENOENT) return -1;
    return 0;
}

int lblab_exec_in_netns(int nsfd, const char *file, char *const argv[]) {
    if (setns(nsfd, CLONE_NEWNET) != 0) return -1;
    execvp(file, argv);
    return -1;
}

int lblab_sysctl_write(const char *key, const char *value) {
    char path[512];
    size_t n = strlen("/proc/sys/"), k = strlen(key), v = strlen(value);
    if (n + k >= sizeof path || v > 256) { errno = ENAMETOOLONG; return -1; }
    memcpy(path, "/proc/sys/", n);
    for (size_t i = 0; i < k; i++) path[n + i] = key[i] == '.' ? '/' : key[i];
    path[n + k] = 0;
    char line[258];
    memcpy(line, value, v);
    line[v] = '\n';
    int fd;
    do fd = open(path, O_WRONLY | O_CLOEXEC); while (fd < 0 && errno == EINTR);
    if (fd < 0) return -1;
    ssize_t w;
    do w = write(fd, line, v + 1); while (w < 0 && errno == EINTR);
    int e = errno;
    close(fd);
    if (w < 0) { errno = e; return -1; }
    if ((size_t)w != v + 1) { errno = EIO; return -1; }
    return 0;
}
