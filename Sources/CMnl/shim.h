/*
 * CMnl: libmnl plus the Linux netlink UAPI headers lblab needs.
 *
 * Swift cannot import function-like or expression macros, so the few that
 * LblabNetlink needs are re-exported as `static inline` functions with a
 * `cmnl_` prefix. Do not define _GNU_SOURCE here (it must match every other
 * module that includes the libc headers).
 */
#ifndef LBLAB_CMNL_SHIM_H
#define LBLAB_CMNL_SHIM_H

#include <stddef.h>
#include <stdint.h>
#include <unistd.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_link.h>
#include <linux/veth.h>
#include <linux/genetlink.h>
#include <linux/neighbour.h>
#include <linux/if_addr.h>
#include <linux/ip_vs.h>

/* libmnl >= 1.0.5 defines MNL_SOCKET_DUMP_SIZE; 1.0.4 (Debian 12) does not. */
#ifndef MNL_SOCKET_DUMP_SIZE
#define MNL_SOCKET_DUMP_SIZE 32768
#endif

/// NLMSG_ALIGN(len): netlink message alignment (4 bytes).
static inline uint32_t cmnl_nlmsg_align(uint32_t len) { return NLMSG_ALIGN(len); }

/// NLMSG_HDRLEN: aligned size of struct nlmsghdr.
static inline uint32_t cmnl_nlmsg_hdrlen(void) { return (uint32_t)NLMSG_HDRLEN; }

/// MNL_ALIGN(len): libmnl attribute/message alignment (4 bytes).
static inline uint32_t cmnl_align(uint32_t len) { return MNL_ALIGN(len); }

/// NLA_ALIGN(len): attribute alignment.
static inline uint32_t cmnl_nla_align(uint32_t len) { return NLA_ALIGN(len); }

/// MNL_SOCKET_BUFFER_SIZE: min(page size, 8192); enough for one request.
static inline size_t cmnl_socket_buffer_size(void) { return (size_t)MNL_SOCKET_BUFFER_SIZE; }

/// MNL_SOCKET_DUMP_SIZE: receive buffer for dumps (32 KiB), so no reply is truncated.
static inline size_t cmnl_socket_dump_size(void) { return (size_t)MNL_SOCKET_DUMP_SIZE; }

/// MNL_SOCKET_AUTOPID: let the kernel choose the port id (bind with nl_pid 0).
static inline unsigned int cmnl_socket_autopid(void) { return MNL_SOCKET_AUTOPID; }

/// NLA_TYPE_MASK: attribute type without the NESTED / NET_BYTEORDER flags.
static inline uint16_t cmnl_nla_type_mask(void) { return (uint16_t)NLA_TYPE_MASK; }

#endif /* LBLAB_CMNL_SHIM_H */
