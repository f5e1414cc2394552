#define _GNU_SOURCE
#include "CLblabSys.h"

#include <errno.h>
#include <fcntl.h>
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

int lblab_netns_create(const char *dir, const char *name) {
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) { errno = ENAMETOOLONG; return -1; }
    if (make_shared_mount(dir) != 0) return -1;
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
