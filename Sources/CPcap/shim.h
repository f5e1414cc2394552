#ifndef LBLAB_CPCAP_SHIM_H
#define LBLAB_CPCAP_SHIM_H

// libpcap for LblabCapture. Do not define _GNU_SOURCE here: other module headers in this package
// do not, and clang refuses mismatched fd_set declarations between modules.
#include <pcap/pcap.h>
#include <poll.h>
#include <sys/time.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/// pcap_dump takes the dumper as `u_char *`; this keeps the cast out of Swift.
static inline void lblab_pcap_dump(pcap_dumper_t *dumper, const struct pcap_pkthdr *header,
                                   const u_char *bytes) {
    pcap_dump((u_char *)dumper, header, bytes);
}

/// Size of the libpcap error buffer (PCAP_ERRBUF_SIZE is a macro Swift may not import).
static inline int lblab_pcap_errbuf_size(void) { return PCAP_ERRBUF_SIZE; }

/// Lowers the calling thread's own scheduling priority to `nice` (Linux: setpriority on the
/// thread id changes that thread only). Returns 0, or -1 with errno set.
static inline int lblab_set_thread_nice(int nice) {
    return setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), nice);
}

#endif
