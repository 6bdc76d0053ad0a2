#!/usr/bin/env python3
"""Splits call setup time between the gateway and the rest, from the wire.

Captures loopback traffic (AF_PACKET, kernel timestamps; needs root) while
bench/load.sh runs and, per call (keyed by the caller number +1555777N that
uac_load.xml puts in From and the gateway puts in its JID), takes:

  t0 INVITE reaches stox (UDP, first copy)    t1 stox writes the JMI <propose/>
  t2 <proceed/> reaches stox                  t3 stox writes session-initiate
  t4 session-accept reaches stox              t5 stox sends 200 OK (UDP)

gateway = (t1-t0) + (t3-t2) + (t5-t4); xmpp = (t2-t1) + (t4-t3) (Prosody both
ways plus the answerer); total = t5-t0. Writes a JSON summary to OUT on SIGTERM.

    sniff.py SIP_PORT COMPONENT_PORT OUT
"""

import json
import re
import signal
import socket
import struct
import sys

SIP_PORT, COMP_PORT, OUT = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
SO_TIMESTAMPNS = 35

NUM = rb"\+1555777(\d+)@"
SIP_FROM = re.compile(rb"\r\nFrom:[^\r]*" + NUM)
STANZA = re.compile(rb"<(?:message|iq)\b")
ATTR = {k: re.compile(k.encode() + rb"=['\"]" + NUM) for k in ("from", "to")}

calls = {}  # number -> [t0..t5]
stop = False


def note(num, i, ts):
    slot = calls.setdefault(num, [None] * 6)
    if slot[i] is None:
        slot[i] = ts


def on_sip(payload, to_gw, ts):
    m = SIP_FROM.search(payload)
    if not m:
        return
    num = int(m.group(1))
    if to_gw and payload.startswith(b"INVITE "):
        note(num, 0, ts)
    elif not to_gw and payload.startswith(b"SIP/2.0 200") and b"INVITE\r\n" in payload:
        note(num, 5, ts)


def on_xmpp(payload, from_gw, ts):
    starts = [m.start() for m in STANZA.finditer(payload)]
    for a, b in zip(starts, starts[1:] + [len(payload)]):
        s = payload[a:b]
        m = ATTR["from" if from_gw else "to"].search(s)
        if not m or b"@sip.test" not in s[m.start():m.end() + 20]:
            continue
        num = int(m.group(1))
        if from_gw:
            if b"<propose" in s:
                note(num, 1, ts)
            elif b"session-initiate" in s:
                note(num, 3, ts)
        else:
            if b"<proceed" in s:
                note(num, 2, ts)
            elif b"session-accept" in s:
                note(num, 4, ts)


def pct(v, p):
    if not v:
        return None
    v = sorted(v)
    return v[max(1, min(len(v), -(-len(v) * p // 100))) - 1]


def summary():
    parts = {"gateway": [], "xmpp": [], "total": [], "gw_invite": [], "gw_proceed": [], "gw_accept": []}
    for t in calls.values():
        if None in t:
            continue
        ms = lambda a, b: (t[b] - t[a]) * 1000
        parts["gw_invite"].append(ms(0, 1))
        parts["gw_proceed"].append(ms(2, 3))
        parts["gw_accept"].append(ms(4, 5))
        parts["gateway"].append(ms(0, 1) + ms(2, 3) + ms(4, 5))
        parts["xmpp"].append(ms(1, 2) + ms(3, 4))
        parts["total"].append(ms(0, 5))
    out = {"calls_seen": len(calls), "complete": len(parts["total"])}
    for k, v in parts.items():
        out[k] = {"p50": pct(v, 50), "p99": pct(v, 99), "max": pct(v, 100),
                  "over_10ms": sum(1 for x in v if x > 10)}
    return out


def handle_term(*_):
    global stop
    stop = True


signal.signal(signal.SIGTERM, handle_term)
sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
sock.bind(("lo", 0))
sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
sock.settimeout(0.2)
print("ready", flush=True)
while not stop:
    try:
        data, anc, _, addr = sock.recvmsg(65536, 64)
    except socket.timeout:
        continue
    except InterruptedError:
        continue
    if addr[2] != PACKET_OUTGOING:  # loopback shows every packet twice
        continue
    ts = None
    for level, typ, val in anc:
        if level == socket.SOL_SOCKET and typ == SO_TIMESTAMPNS:
            sec, nsec = struct.unpack("qq", val[:16])
            ts = sec + nsec / 1e9
    if ts is None or len(data) < 14 + 20 or data[12:14] != b"\x08\x00":
        continue
    ip = data[14:]
    ihl = (ip[0] & 0x0F) * 4
    proto = ip[9]
    l4 = ip[ihl:]
    sport, dport = struct.unpack("!HH", l4[:4])
    if proto == 17 and SIP_PORT in (sport, dport):
        on_sip(l4[8:], dport == SIP_PORT, ts)
    elif proto == 6 and COMP_PORT in (sport, dport):
        off = (l4[12] >> 4) * 4
        payload = l4[off:]
        if payload:
            on_xmpp(payload, dport == COMP_PORT, ts)
with open(OUT, "w") as f:
    json.dump(summary(), f)
