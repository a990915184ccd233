"""Example conntrack lines (copied from a real kernel where we could make the flow, else
written from the kernel's print code; each constant says which) and --root tree builders."""

from __future__ import annotations

# --- Real: /proc/net/nf_conntrack -------------------------------------------------------
# Captured on kernel 6.18.44 in a throwaway namespace `ctwunit1` (nft rule
# `ct state new accept` on output), flows made on loopback with Python sockets; raw
# sockets for sctp (an INIT chunk), gre (version 0 header), protocol 33 and 253.
# nf_conntrack_acct=1 and nf_conntrack_timestamp=1 unless the name says NOACCT.

PROC_TCP_ESTABLISHED = "ipv4     2 tcp      6 431997 ESTABLISHED src=127.0.0.1 dst=127.0.0.1 sport=47654 dport=8080 packets=3 bytes=169 src=127.0.0.1 dst=127.0.0.1 sport=8080 dport=47654 packets=2 bytes=112 [ASSURED] mark=0 zone=0 delta-time=2 use=2"
PROC_TCP6_ESTABLISHED = "ipv6     10 tcp      6 431997 ESTABLISHED src=0000:0000:0000:0000:0000:0000:0000:0001 dst=0000:0000:0000:0000:0000:0000:0000:0001 sport=55508 dport=8080 packets=3 bytes=225 src=0000:0000:0000:0000:0000:0000:0000:0001 dst=0000:0000:0000:0000:0000:0000:0000:0001 sport=8080 dport=55508 packets=2 bytes=152 [ASSURED] mark=0 zone=0 delta-time=2 use=2"
PROC_TCP_TIME_WAIT_NOACCT = "ipv4     2 tcp      6 119 TIME_WAIT src=127.0.0.1 dst=127.0.0.1 sport=45722 dport=8090 src=127.0.0.1 dst=127.0.0.1 sport=8090 dport=45722 [ASSURED] mark=0 zone=0 use=2"
PROC_TCP_SYN_SENT = "ipv4     2 tcp      6 117 SYN_SENT src=127.0.0.1 dst=127.0.0.1 sport=55190 dport=8443 packets=1 bytes=60 [UNREPLIED] src=127.0.0.1 dst=127.0.0.1 sport=8443 dport=55190 packets=0 bytes=0 mark=0 zone=0 delta-time=2 use=2"
PROC_TCP_SYN_RECV = "ipv4     2 tcp      6 59 SYN_RECV src=127.0.0.1 dst=127.0.0.1 sport=57374 dport=8444 packets=1 bytes=60 src=127.0.0.1 dst=127.0.0.1 sport=8444 dport=57374 packets=1 bytes=60 mark=0 zone=0 delta-time=0 use=2"
PROC_TCP_CLOSE = "ipv4     2 tcp      6 7 CLOSE src=127.0.0.1 dst=127.0.0.1 sport=49632 dport=8081 packets=3 bytes=164 src=127.0.0.1 dst=127.0.0.1 sport=8081 dport=49632 packets=1 bytes=60 [ASSURED] mark=0 zone=0 delta-time=2 use=2"
# From the lead's benchmark namespace `ctwproto` (accounting and timestamps off).
PROC_UDP_UNREPLIED_NOACCT = "ipv4     2 udp      17 227 src=127.0.0.1 dst=127.1.132.185 sport=54496 dport=1000 [UNREPLIED] src=127.1.132.185 dst=127.0.0.1 sport=1000 dport=54496 mark=0 zone=0 use=2"
PROC_UDP_REPLIED = "ipv4     2 udp      17 27 src=127.0.0.1 dst=127.0.0.1 sport=41284 dport=5353 packets=1 bytes=29 src=127.0.0.1 dst=127.0.0.1 sport=5353 dport=41284 packets=1 bytes=29 mark=0 zone=0 delta-time=2 use=2"
PROC_UDP6_UNREPLIED = "ipv6     10 udp      17 27 src=0000:0000:0000:0000:0000:0000:0000:0001 dst=0000:0000:0000:0000:0000:0000:0000:0001 sport=44183 dport=5300 packets=1 bytes=49 [UNREPLIED] src=0000:0000:0000:0000:0000:0000:0000:0001 dst=0000:0000:0000:0000:0000:0000:0000:0001 sport=5300 dport=44183 packets=0 bytes=0 mark=0 zone=0 delta-time=2 use=2"
PROC_UDP6_NOACCT = "ipv6     10 udp      17 29 src=0000:0000:0000:0000:0000:0000:0000:0001 dst=0000:0000:0000:0000:0000:0000:0000:0001 sport=44898 dport=5301 [UNREPLIED] src=0000:0000:0000:0000:0000:0000:0000:0001 dst=0000:0000:0000:0000:0000:0000:0000:0001 sport=5301 dport=44898 mark=0 zone=0 use=2"
PROC_UDPLITE = "ipv4     2 udplite  136 27 src=127.0.0.1 dst=127.0.0.1 sport=60813 dport=4000 packets=1 bytes=29 [UNREPLIED] src=127.0.0.1 dst=127.0.0.1 sport=4000 dport=60813 packets=0 bytes=0 mark=0 zone=0 delta-time=2 use=2"
PROC_ICMP = "ipv4     2 icmp     1 27 src=127.0.0.1 dst=127.0.0.1 type=8 code=0 id=4242 packets=1 bytes=32 src=127.0.0.1 dst=127.0.0.1 type=0 code=0 id=4242 packets=1 bytes=32 mark=0 zone=0 delta-time=2 use=2"
PROC_ICMPV6 = "ipv6     10 icmpv6   58 27 src=0000:0000:0000:0000:0000:0000:0000:0001 dst=0000:0000:0000:0000:0000:0000:0000:0001 type=128 code=0 id=4243 packets=1 bytes=52 src=0000:0000:0000:0000:0000:0000:0000:0001 dst=0000:0000:0000:0000:0000:0000:0000:0001 type=129 code=0 id=4243 packets=1 bytes=52 mark=0 zone=0 delta-time=2 use=2"
PROC_SCTP = "ipv4     2 sctp     132 9 CLOSED src=127.0.0.1 dst=127.0.0.4 sport=40002 dport=3868 packets=1 bytes=52 [UNREPLIED] src=127.0.0.4 dst=127.0.0.1 sport=3868 dport=40002 packets=0 bytes=0 mark=0 zone=0 delta-time=0 use=2"
PROC_SCTP6 = "ipv6     10 sctp     132 9 CLOSED src=0000:0000:0000:0000:0000:0000:0000:0001 dst=0000:0000:0000:0000:0000:0000:0000:0001 sport=40003 dport=3868 packets=1 bytes=72 [UNREPLIED] src=0000:0000:0000:0000:0000:0000:0000:0001 dst=0000:0000:0000:0000:0000:0000:0000:0001 sport=3868 dport=40003 packets=0 bytes=0 mark=0 zone=0 delta-time=0 use=2"
PROC_GRE = "ipv4     2 gre      47 27 timeout=30, stream_timeout=180 src=127.0.0.1 dst=127.0.0.2 srckey=0x0 dstkey=0x0 packets=1 bytes=44 [UNREPLIED] src=127.0.0.2 dst=127.0.0.1 srckey=0x0 dstkey=0x0 packets=0 bytes=0 mark=0 zone=0 delta-time=2 use=2"
PROC_UNKNOWN = "ipv4     2 unknown  253 597 src=127.0.0.1 dst=127.0.0.3 packets=1 bytes=23 [UNREPLIED] src=127.0.0.3 dst=127.0.0.1 packets=0 bytes=0 mark=0 zone=0 delta-time=2 use=2"
# A DCCP Request sent on a kernel without the DCCP tracker (removed in 6.16): generic.
PROC_DCCP_AS_UNKNOWN = "ipv4     2 unknown  33 597 src=127.0.0.1 dst=127.0.0.5 packets=1 bytes=40 [UNREPLIED] src=127.0.0.5 dst=127.0.0.1 packets=0 bytes=0 mark=0 zone=0 delta-time=2 use=2"
# nft `ct zone set 5` in an output chain at priority -300
PROC_ZONE = "ipv4     2 udp      17 27 src=127.0.0.1 dst=127.0.0.1 sport=46891 dport=7000 packets=1 bytes=29 [UNREPLIED] src=127.0.0.1 dst=127.0.0.1 sport=7000 dport=46891 packets=0 bytes=0 mark=0 zone=5 delta-time=2 use=2"
# nft `ct original zone set 7`: printed inside the original tuple
PROC_ZONE_ORIG = "ipv4     2 udp      17 27 src=127.0.0.1 dst=127.0.0.1 sport=34382 dport=7001 zone-orig=7 packets=1 bytes=29 [UNREPLIED] src=127.0.0.1 dst=127.0.0.1 sport=7001 dport=34382 packets=0 bytes=0 mark=0 delta-time=2 use=2"
# nft `ct reply zone set 9`
PROC_ZONE_REPLY_NOACCT = "ipv4     2 udp      17 29 src=127.0.0.1 dst=127.0.0.1 sport=50272 dport=7004 [UNREPLIED] src=127.0.0.1 dst=127.0.0.1 sport=7004 dport=50272 zone-reply=9 mark=0 use=2"
# nft `ct mark set 0x2a`
PROC_MARK = "ipv4     2 udp      17 29 src=127.0.0.1 dst=127.0.0.1 sport=51659 dport=7003 packets=1 bytes=29 [UNREPLIED] src=127.0.0.1 dst=127.0.0.1 sport=7003 dport=51659 packets=0 bytes=0 mark=42 zone=0 delta-time=0 use=2"

PROC_REAL = (
    PROC_TCP_ESTABLISHED,
    PROC_TCP6_ESTABLISHED,
    PROC_TCP_TIME_WAIT_NOACCT,
    PROC_TCP_SYN_SENT,
    PROC_TCP_SYN_RECV,
    PROC_TCP_CLOSE,
    PROC_UDP_UNREPLIED_NOACCT,
    PROC_UDP_REPLIED,
    PROC_UDP6_UNREPLIED,
    PROC_UDP6_NOACCT,
    PROC_UDPLITE,
    PROC_ICMP,
    PROC_ICMPV6,
    PROC_SCTP,
    PROC_SCTP6,
    PROC_GRE,
    PROC_UNKNOWN,
    PROC_DCCP_AS_UNKNOWN,
    PROC_ZONE,
    PROC_ZONE_ORIG,
    PROC_ZONE_REPLY_NOACCT,
    PROC_MARK,
)

# --- Real: `conntrack -L` (conntrack-tools 1.4.7), same namespace and flows ---------------
# No l3 columns, IPv6 compressed, no `zone=0`, GRE without its two timeouts, protocol 33
# named dccp by the tool (with sport=0 dport=0 and no state). The summary line
# "conntrack v1.4.7 (conntrack-tools): 18 flow entries have been shown." went to stderr.
CT_L_TCP = "tcp      6 431987 ESTABLISHED src=127.0.0.1 dst=127.0.0.1 sport=47654 dport=8080 packets=3 bytes=169 src=127.0.0.1 dst=127.0.0.1 sport=8080 dport=47654 packets=2 bytes=112 [ASSURED] mark=0 delta-time=12 use=1"
CT_L_TCP6 = "tcp      6 431987 ESTABLISHED src=::1 dst=::1 sport=55508 dport=8080 packets=3 bytes=225 src=::1 dst=::1 sport=8080 dport=55508 packets=2 bytes=152 [ASSURED] mark=0 delta-time=12 use=1"
CT_L_TCP_NOACCT = "tcp      6 119 TIME_WAIT src=127.0.0.1 dst=127.0.0.1 sport=45722 dport=8090 src=127.0.0.1 dst=127.0.0.1 sport=8090 dport=45722 [ASSURED] mark=0 use=1"
CT_L_UDP6 = "udp      17 17 src=::1 dst=::1 sport=44183 dport=5300 packets=1 bytes=49 [UNREPLIED] src=::1 dst=::1 sport=5300 dport=44183 packets=0 bytes=0 mark=0 delta-time=12 use=1"
CT_L_ICMPV6 = "icmpv6   58 17 src=::1 dst=::1 type=128 code=0 id=4243 packets=1 bytes=52 src=::1 dst=::1 type=129 code=0 id=4243 packets=1 bytes=52 mark=0 delta-time=12 use=1"
CT_L_ICMP = "icmp     1 17 src=127.0.0.1 dst=127.0.0.1 type=8 code=0 id=4242 packets=1 bytes=32 src=127.0.0.1 dst=127.0.0.1 type=0 code=0 id=4242 packets=1 bytes=32 mark=0 delta-time=12 use=1"
CT_L_GRE = "gre      47 17 src=127.0.0.1 dst=127.0.0.2 srckey=0x0 dstkey=0x0 packets=1 bytes=44 [UNREPLIED] src=127.0.0.2 dst=127.0.0.1 srckey=0x0 dstkey=0x0 packets=0 bytes=0 mark=0 delta-time=12 use=1"
CT_L_DCCP = "dccp     33 587 src=127.0.0.1 dst=127.0.0.5 sport=0 dport=0 packets=1 bytes=40 [UNREPLIED] src=127.0.0.5 dst=127.0.0.1 sport=0 dport=0 packets=0 bytes=0 mark=0 delta-time=12 use=1"
CT_L_UNKNOWN = "unknown  253 587 src=127.0.0.1 dst=127.0.0.3 packets=1 bytes=23 [UNREPLIED] src=127.0.0.3 dst=127.0.0.1 packets=0 bytes=0 mark=0 delta-time=12 use=1"
CT_L_UDPLITE = "udplite  136 17 src=127.0.0.1 dst=127.0.0.1 sport=60813 dport=4000 packets=1 bytes=29 [UNREPLIED] src=127.0.0.1 dst=127.0.0.1 sport=4000 dport=60813 packets=0 bytes=0 mark=0 delta-time=12 use=1"
CT_L_ZONE = "udp      17 17 src=127.0.0.1 dst=127.0.0.1 sport=46891 dport=7000 packets=1 bytes=29 [UNREPLIED] src=127.0.0.1 dst=127.0.0.1 sport=7000 dport=46891 packets=0 bytes=0 mark=0 zone=5 delta-time=12 use=1"
CT_L_ZONE_ORIG = "udp      17 17 src=127.0.0.1 dst=127.0.0.1 sport=34382 dport=7001 zone-orig=7 packets=1 bytes=29 [UNREPLIED] src=127.0.0.1 dst=127.0.0.1 sport=7001 dport=34382 packets=0 bytes=0 mark=0 delta-time=12 use=1"
CT_L_ZONE_REPLY = "udp      17 29 src=127.0.0.1 dst=127.0.0.1 sport=50272 dport=7004 [UNREPLIED] src=127.0.0.1 dst=127.0.0.1 sport=7004 dport=50272 zone-reply=9 mark=0 use=1"
CT_L_MARK = "udp      17 29 src=127.0.0.1 dst=127.0.0.1 sport=51659 dport=7003 packets=1 bytes=29 [UNREPLIED] src=127.0.0.1 dst=127.0.0.1 sport=7003 dport=51659 packets=0 bytes=0 mark=42 delta-time=1 use=1"
CT_L_SCTP6 = "sctp     132 9 CLOSED src=::1 dst=::1 sport=40003 dport=3868 packets=1 bytes=72 [UNREPLIED] src=::1 dst=::1 sport=3868 dport=40003 packets=0 bytes=0 mark=0 delta-time=0 use=1"

CT_L_REAL = (
    CT_L_TCP,
    CT_L_TCP6,
    CT_L_TCP_NOACCT,
    CT_L_UDP6,
    CT_L_ICMPV6,
    CT_L_ICMP,
    CT_L_GRE,
    CT_L_DCCP,
    CT_L_UNKNOWN,
    CT_L_UDPLITE,
    CT_L_ZONE,
    CT_L_ZONE_ORIG,
    CT_L_ZONE_REPLY,
    CT_L_MARK,
    CT_L_SCTP6,
)

# --- Real: `conntrack -L -o extended`, same namespace --------------------------------------
CT_X_TCP6 = "ipv6     10 tcp      6 431905 ESTABLISHED src=::1 dst=::1 sport=55508 dport=8080 packets=3 bytes=225 src=::1 dst=::1 sport=8080 dport=55508 packets=2 bytes=152 [ASSURED] mark=0 delta-time=94 use=1"
CT_X_TCP_SYN_SENT = "ipv4     2 tcp      6 25 SYN_SENT src=127.0.0.1 dst=127.0.0.1 sport=55190 dport=8443 packets=1 bytes=60 [UNREPLIED] src=127.0.0.1 dst=127.0.0.1 sport=8443 dport=55190 packets=0 bytes=0 mark=0 delta-time=94 use=1"
CT_X_UDP_ZONE_REPLY = "ipv4     2 udp      17 27 src=127.0.0.1 dst=127.0.0.1 sport=50272 dport=7004 [UNREPLIED] src=127.0.0.1 dst=127.0.0.1 sport=7004 dport=50272 zone-reply=9 mark=0 use=1"
CT_X_DCCP = "ipv4     2 dccp     33 505 src=127.0.0.1 dst=127.0.0.5 sport=0 dport=0 packets=1 bytes=40 [UNREPLIED] src=127.0.0.5 dst=127.0.0.1 sport=0 dport=0 packets=0 bytes=0 mark=0 delta-time=94 use=1"
CT_X_UNKNOWN = "ipv4     2 unknown  253 505 src=127.0.0.1 dst=127.0.0.3 packets=1 bytes=23 [UNREPLIED] src=127.0.0.3 dst=127.0.0.1 packets=0 bytes=0 mark=0 delta-time=94 use=1"
CT_X_ICMPV6 = "ipv6     10 icmpv6   58 17 src=::1 dst=::1 type=128 code=0 id=4243 packets=1 bytes=52 src=::1 dst=::1 type=129 code=0 id=4243 packets=1 bytes=52 mark=0 delta-time=12 use=1"
CT_X_SCTP = "ipv4     2 sctp     132 9 CLOSED src=127.0.0.1 dst=127.0.0.4 sport=40002 dport=3868 packets=1 bytes=52 [UNREPLIED] src=127.0.0.4 dst=127.0.0.1 sport=3868 dport=40002 packets=0 bytes=0 mark=0 delta-time=0 use=1"
CT_X_GRE = "ipv4     2 gre      47 17 src=127.0.0.1 dst=127.0.0.2 srckey=0x0 dstkey=0x0 packets=1 bytes=44 [UNREPLIED] src=127.0.0.2 dst=127.0.0.1 srckey=0x0 dstkey=0x0 packets=0 bytes=0 mark=0 delta-time=12 use=1"

CT_X_REAL = (
    CT_X_TCP6,
    CT_X_TCP_SYN_SENT,
    CT_X_UDP_ZONE_REPLY,
    CT_X_DCCP,
    CT_X_UNKNOWN,
    CT_X_ICMPV6,
    CT_X_SCTP,
    CT_X_GRE,
)

# --- Written from the kernel's print code (ct_seq_show in nf_conntrack_standalone.c and
# the l4 trackers' print_conntrack/print_tuple), for layouts this lab cannot make:
# flowtable offload needs forwarding between two devices, [HW_OFFLOAD] a NIC, secctx
# SELinux, DCCP a kernel before 6.16, and the legacy layout a 2.4/2.6 kernel.

# Offloaded: no timeout (IPS_OFFLOAD skips it) and no TCP state (tcp_print_conntrack
# returns early); the flag replaces [ASSURED].
WRITTEN_OFFLOAD_TCP = "ipv4     2 tcp      6 src=10.0.0.2 dst=192.0.2.10 sport=40000 dport=443 src=192.0.2.10 dst=10.0.0.2 sport=443 dport=40000 [OFFLOAD] mark=0 zone=0 use=3"
WRITTEN_OFFLOAD_UDP = "ipv4     2 udp      17 src=10.0.0.2 dst=192.0.2.53 sport=5353 dport=53 packets=4 bytes=300 src=192.0.2.53 dst=10.0.0.2 sport=53 dport=5353 packets=4 bytes=500 [OFFLOAD] mark=0 zone=0 use=3"
WRITTEN_HW_OFFLOAD_TCP6 = "ipv6     10 tcp      6 src=2001:0db8:0000:0000:0000:0000:0000:0002 dst=2001:0db8:0000:0000:0000:0000:0000:00aa sport=40001 dport=443 src=2001:0db8:0000:0000:0000:0000:0000:00aa dst=2001:0db8:0000:0000:0000:0000:0000:0002 sport=443 dport=40001 [HW_OFFLOAD] mark=0 zone=0 use=3"
WRITTEN_SCTP_ESTABLISHED = "ipv4     2 sctp     132 210 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=2905 dport=2905 src=10.0.0.2 dst=10.0.0.1 sport=2905 dport=2905 [ASSURED] mark=0 zone=0 use=2"
WRITTEN_SCTP_COOKIE_WAIT = "ipv4     2 sctp     132 3 COOKIE_WAIT src=10.0.0.1 dst=10.0.0.2 sport=36412 dport=3868 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 sport=3868 dport=36412 mark=0 zone=0 use=2"
WRITTEN_SCTP_HEARTBEAT_SENT = "ipv4     2 sctp     132 30 HEARTBEAT_SENT src=10.0.0.1 dst=10.0.0.2 sport=2905 dport=2905 src=10.0.0.2 dst=10.0.0.1 sport=2905 dport=2905 [ASSURED] mark=0 zone=0 use=2"
WRITTEN_DCCP_OPEN = "ipv4     2 dccp     33 43190 OPEN src=10.0.0.1 dst=10.0.0.2 sport=5001 dport=5002 src=10.0.0.2 dst=10.0.0.1 sport=5002 dport=5001 [ASSURED] mark=0 zone=0 use=2"
WRITTEN_DCCP_REQUEST = "ipv4     2 dccp     33 240 REQUEST src=10.0.0.1 dst=10.0.0.2 sport=5001 dport=5002 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 sport=5002 dport=5001 mark=0 zone=0 use=2"
# PPTP data channel: version 1 GRE keys (call ids) printed as hex.
WRITTEN_GRE_PPTP = "ipv4     2 gre      47 179 timeout=180, stream_timeout=18000 src=10.0.0.5 dst=10.0.0.1 srckey=0x4001 dstkey=0x1a2b src=10.0.0.1 dst=10.0.0.5 srckey=0x1a2b dstkey=0x4001 [ASSURED] mark=0 zone=0 use=2"
# ct_show_zone prints zone-orig= after the original tuple and zone-reply= after the reply.
WRITTEN_ZONE_BOTH = "ipv4     2 tcp      6 300 ESTABLISHED src=10.1.0.1 dst=10.1.0.2 sport=41000 dport=22 zone-orig=3 src=10.1.0.2 dst=10.1.0.1 sport=22 dport=41000 zone-reply=4 [ASSURED] mark=7 use=2"
# ct_show_secctx: "secctx=%s " after mark=, before zone=.
WRITTEN_SECCTX = "ipv4     2 tcp      6 431999 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=50000 dport=80 src=10.0.0.2 dst=10.0.0.1 sport=80 dport=50000 [ASSURED] mark=0 secctx=system_u:object_r:unlabeled_t:s0 zone=0 use=2"
# 2.6.18 to 2.6.24 nf_conntrack printed the numeric "secmark=%u " instead.
WRITTEN_SECMARK_26 = "ipv4     2 tcp      6 431999 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=50000 dport=80 packets=10 bytes=1200 src=10.0.0.2 dst=10.0.0.1 sport=80 dport=50000 packets=8 bytes=9000 [ASSURED] mark=0 secmark=12 use=1"
# Legacy /proc/net/ip_conntrack (2.4 and 2.6 before nf_conntrack; CentOS 5's 2.6.18):
# no l3 columns, TCP state, [ASSURED], mark=, use=.
WRITTEN_LEGACY_TCP = "tcp      6 431999 ESTABLISHED src=192.168.1.10 dst=192.168.1.1 sport=51234 dport=22 packets=5 bytes=400 src=192.168.1.1 dst=192.168.1.10 sport=22 dport=51234 packets=4 bytes=600 [ASSURED] mark=0 secmark=0 use=1"
WRITTEN_LEGACY_UDP = "udp      17 29 src=192.168.1.10 dst=192.168.1.53 sport=32768 dport=53 [UNREPLIED] src=192.168.1.53 dst=192.168.1.10 sport=53 dport=32768 use=1"
WRITTEN_LEGACY_ICMP = "icmp     1 29 src=192.168.1.10 dst=192.168.1.1 type=8 code=0 id=512 [UNREPLIED] src=192.168.1.1 dst=192.168.1.10 type=0 code=0 id=512 use=1"
# 2.4: no packets/bytes, no mark
WRITTEN_LEGACY_SYN_SENT_24 = "tcp      6 117 SYN_SENT src=192.168.1.10 dst=203.0.113.7 sport=1025 dport=80 [UNREPLIED] src=203.0.113.7 dst=192.168.1.10 sport=80 dport=1025 use=1"

WRITTEN = (
    WRITTEN_OFFLOAD_TCP,
    WRITTEN_OFFLOAD_UDP,
    WRITTEN_HW_OFFLOAD_TCP6,
    WRITTEN_SCTP_ESTABLISHED,
    WRITTEN_SCTP_COOKIE_WAIT,
    WRITTEN_SCTP_HEARTBEAT_SENT,
    WRITTEN_DCCP_OPEN,
    WRITTEN_DCCP_REQUEST,
    WRITTEN_GRE_PPTP,
    WRITTEN_ZONE_BOTH,
    WRITTEN_SECCTX,
    WRITTEN_SECMARK_26,
    WRITTEN_LEGACY_TCP,
    WRITTEN_LEGACY_UDP,
    WRITTEN_LEGACY_ICMP,
    WRITTEN_LEGACY_SYN_SENT_24,
)

ALL_LINES = PROC_REAL + CT_L_REAL + CT_X_REAL + WRITTEN

# --- /proc/net/stat/nf_conntrack ---------------------------------------------------------
# Real, this machine (kernel 6.18, two CPUs), read in ctwunit1 after a few flows.
STATS_CURRENT = "entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart\n00000016  00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000  00000000 00000000 00000000 00000000\n00000016  00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000002  00000000 00000000 00000000 00000000\n"
# Written from the kernel's ct_cpu_seq_show of each generation, values made up.
# Up to 2.6.34: 16 columns, no search_restart.
STATS_PRE_2635 = "entries  searched found new invalid ignore delete delete_list insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete\n0000002a  00000010 00000100 00000020 00000003 00000004 00000005 00000006 00000007 00000001 00000002 00000000 00000000  00000000 00000000 00000000\n0000002a  00000001 00000001 00000001 00000001 00000001 00000001 00000001 00000001 00000001 00000001 00000001 00000001  00000001 00000001 00000001\n"
# 2.6.35 to 5.9: search_restart appended, `searched` still there.
STATS_2635 = "entries  searched found new invalid ignore delete delete_list insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart\n000003e8  00000000 0000000a 00000000 0000000b 00000000 00000000 00000000 00000000 00000000 000000ff 00000000 00000000  00000000 00000000 00000000 00000003\n000003e8  00000000 0000000a 00000000 0000000b 00000000 00000000 00000000 00000000 00000000 00000001 00000000 00000000  00000000 00000000 00000000 00000004\n000003e8  00000000 0000000a 00000000 0000000b 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000  00000000 00000000 00000000 00000005\n"
# 5.10 to 5.14: `searched` became `clashres`, `delete_list` still there.
STATS_510 = "entries  clashres found new invalid ignore delete delete_list insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart\n00000010  00000002 00000000 00000000 00000000 00000000 00000000 00000009 00000000 00000000 00000000 00000000 00000000  00000000 00000000 00000000 00000000\n00000010  00000003 00000000 00000000 00000000 00000000 00000000 00000001 00000000 00000000 00000000 00000000 00000000  00000000 00000000 00000000 00000000\n"
# 5.15+: `delete_list` became `chainlength` (same set as STATS_CURRENT).
STATS_515 = "entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart\n00000005  00000000 00000000 00000000 00000000 00000000 00000000 00000004 00000000 00000000 00000010 00000020 00000000  00000000 00000000 00000000 00000000\n"


def synthetic_table(n: int = 400, seed: int = 7) -> list:
    """`n` lines made from the ones above with varied original source, destination and
    port, so breakdowns have more than one key; deterministic for a given seed."""
    import random
    import re

    rng = random.Random(seed)
    templates = PROC_REAL + WRITTEN
    v4 = ["10.0.0.1", "10.0.0.2", "10.9.8.7", "192.0.2.1", "198.51.100.20", "127.0.0.1"]
    v6 = [
        "2001:0db8:0000:0000:0000:0000:0000:0001",
        "2001:0db8:0000:0000:0000:0000:0000:0002",
        "fd00:0000:0000:0000:0000:0000:0000:0010",
        "0000:0000:0000:0000:0000:0000:0000:0001",
    ]
    ports = ["22", "53", "80", "443", "8080", "3868"]
    out = []
    for _ in range(n):
        line = rng.choice(templates)
        pool = v6 if line.startswith("ipv6") else v4
        line = re.sub(r"src=\S+", "src=" + rng.choice(pool), line, count=1)
        line = re.sub(r"dst=\S+", "dst=" + rng.choice(pool), line, count=1)
        line = re.sub(r" dport=\d+", " dport=" + rng.choice(ports), line, count=1)
        out.append(line)
    return out


def write(root, path: str, text) -> str:
    """Write `text` at the absolute `path` inside the tree `root`; returns the file path."""
    import os

    full = os.path.join(str(root), path.lstrip("/"))
    os.makedirs(os.path.dirname(full), exist_ok=True)
    mode = "wb" if isinstance(text, bytes) else "w"
    with open(full, mode) as f:
        f.write(text)
    return full


NF = "/proc/sys/net/netfilter"


def modern_tree(
    root,
    lines=PROC_REAL,
    count=None,
    max_=262144,
    buckets=65536,
    stats=STATS_CURRENT,
    table_path="/proc/net/nf_conntrack",
) -> str:
    """A --root tree like a current kernel's; None leaves a file out."""
    if lines is not None:
        write(root, table_path, "".join(x + "\n" for x in lines))
    if count is None and lines is not None:
        count = len(lines)
    for name, value in (("count", count), ("max", max_), ("buckets", buckets)):
        if value is not None:
            write(root, f"{NF}/nf_conntrack_{name}", f"{value}\n")
    if stats is not None:
        write(root, "/proc/net/stat/nf_conntrack", stats)
    write(root, f"{NF}/nf_conntrack_tcp_timeout_established", "432000\n")
    write(root, f"{NF}/nf_conntrack_udp_timeout", "30\n")
    write(
        root,
        "/proc/slabinfo",
        "slabinfo - version: 2.1\n"
        "nf_conntrack         512    512    256   16    1 : tunables    0    0    0\n",
    )
    return str(root)


LEGACY_LINES = (
    WRITTEN_LEGACY_TCP,
    WRITTEN_LEGACY_UDP,
    WRITTEN_LEGACY_ICMP,
    WRITTEN_LEGACY_SYN_SENT_24,
)


def legacy_tree(root, lines=LEGACY_LINES, count=None, max_=65536) -> str:
    """A CentOS 5 style tree: /proc/net/ip_conntrack and ipv4/netfilter sysctls."""
    write(root, "/proc/net/ip_conntrack", "".join(x + "\n" for x in lines))
    nf4 = "/proc/sys/net/ipv4/netfilter"
    write(root, f"{nf4}/ip_conntrack_count", f"{len(lines) if count is None else count}\n")
    write(root, f"{nf4}/ip_conntrack_max", f"{max_}\n")
    write(root, f"{nf4}/ip_conntrack_tcp_timeout_established", "432000\n")
    write(root, "/proc/net/stat/ip_conntrack", STATS_PRE_2635)
    return str(root)
