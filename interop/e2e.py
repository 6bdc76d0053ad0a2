#!/usr/bin/env python3
"""End-to-end scenario runner for stox against real third-party peers.

Starts a private Prosody (interop/prosody), writes a stox config, starts
`stox run --config FILE` (STOX_BIN, default target/release/stox), waits until
the gateway's XEP-0114 component has authenticated with Prosody and its SIP
ports are bound, then runs each scenario: sipp (interop/sipp) and slixmpp peers
(interop/peer/xmpp_peer.py) in parallel, each with a time limit, and checks
their exit codes.

    interop/e2e.py                    # all scenarios
    interop/e2e.py --only out-busy    # one (or a comma-separated list)
    interop/e2e.py --list             # names and what each asserts
    interop/e2e.py --selftest         # the plumbing without the gateway

Prints one PASS/FAIL line per scenario with its duration; on failure the peer
ladders, sipp's errors and the scenario's part of the stox log. Exits 1 if any
scenario failed, 2 if the harness itself could not start (missing tools:
run interop/setup.sh). Only the standard library is used here; slixmpp runs
in interop/.venv as a subprocess.
"""

from __future__ import annotations

import argparse
import re
import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SIPP_DIR = HERE / "sipp"
PEER = HERE / "peer" / "xmpp_peer.py"
VENV_PY = HERE / ".venv" / "bin" / "python"

C2S_PORT = 15222
COMPONENT_PORT = 15347
GATEWAY_SIP_PORT = 15060
GATEWAY_TLS_PORT = 15061  # the kamailio-tls variant's tls: listener
TRUNK_PORT = 15080
UAC_PORT = 15070
DEAD_PORT = 15099
TRANSFER_PORT = 15090  # the transfer target's sipp (variant "transfer", trunk pbx2)
KAMAILIO_PORT = 25060  # interop/kamailio: registrar + digest-authenticating proxy for pbx.test
KAMAILIO_TLS_PORT = 25061
PSTN_PORT = 25080  # the "PSTN" behind Kamailio (sipp); Kamailio trusts this exact source
KAMAILIO_DIR = HERE / "kamailio"
METRICS = "127.0.0.1:19090"
DOMAIN = "sip.test"
SECRET = "s3cret"

SCENARIO_LIMIT = 45.0  # seconds; every process of a scenario is killed after this
FAIL_GRACE = 3.0  # seconds the others get once one participant of a scenario has failed


def stamp() -> str:
    return time.strftime("%H:%M:%S")


def say(msg: str) -> None:
    print(msg, flush=True)


def die(msg: str, code: int = 2) -> None:
    print(f"e2e: {msg}", file=sys.stderr, flush=True)
    sys.exit(code)


# ----------------------------------------------------------------- Postgres

# The server the durable-call runs use (interop/postgres.sh makes sure one
# answers): STOX_PG (a server URL without database), else STOX_PG_URL's server
# part (as tests/store.rs), else the local one with trust auth.
PG_SERVER = os.environ.get("STOX_PG") or os.environ.get(
    "STOX_PG_URL", "postgres://postgres@127.0.0.1:5432/x").rsplit("/", 1)[0]


class ScratchDatabase:
    """A fresh PostgreSQL database for one run, dropped afterwards."""

    def __init__(self, prefix: str):
        import secrets
        self.name = f"{prefix}_{secrets.token_hex(4)}"
        self.url = f"{PG_SERVER}/{self.name}"

    def psql(self, sql: str, db: str = "postgres") -> subprocess.CompletedProcess:
        return subprocess.run(["psql", f"{PG_SERVER}/{db}", "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
                              capture_output=True, text=True, timeout=30)

    def query(self, sql: str) -> list[list[str]]:
        r = self.psql(sql, self.name)
        if r.returncode != 0:
            return []
        return [line.split("|") for line in r.stdout.splitlines() if line]

    def create(self) -> None:
        r = self.psql(f"CREATE DATABASE {self.name}")
        if r.returncode != 0:
            raise RuntimeError(f"cannot create a database at {PG_SERVER}: {r.stderr.strip()}")

    def drop(self) -> None:
        self.psql(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")


# ----------------------------------------------------------------- stox config

STOX_CONFIG = """\
[xmpp]
domain = "{domain}"
server = "127.0.0.1:{component_port}"
secret = "{secret}"

[sip]
listen = ["udp:127.0.0.1:{sip_port}", "tcp:127.0.0.1:{sip_port}"{listen_extra}]
timer_t1_ms = 100          # shortens RFC 3261 timers for tests
trunk_ping_secs = 0       # sipp scenarios expect calls, not OPTIONS pings
{sip_extra}

[database]
url = "sqlite://{dir}/stox-{variant}.db"

[[trunk]]
name = "{trunk_name}"
uri = "{trunk_uri}"
{trunk_extra}

[[number]]
did = "+15550001000"
jid = "bob@test"

[policy]
allow_outbound = ["alice@test", "bob@test"]

[calls]
ring_timeout_secs = 3

[metrics]
listen = "{metrics}"
"""

VARIANTS = {
    # the trunk is sipp's UAS
    "default": {"trunk_name": "pbx", "trunk_uri": f"sip:127.0.0.1:{TRUNK_PORT}"},
    # the trunk is sipp's UAS and demands digest credentials
    "auth-trunk": {"trunk_name": "pbx", "trunk_uri": f"sip:127.0.0.1:{TRUNK_PORT}",
                   "trunk_extra": 'username = "stox"\npassword = "s3cret"\nrealm = "pbx.test"'},
    # trickle ICE (issue 7): the trunk's media is passthrough, so SDP and ICE go end to end
    # (the default, embedded, anchors media and never trickles toward SIP)
    "passthrough": {"trunk_name": "pbx", "trunk_uri": f"sip:127.0.0.1:{TRUNK_PORT}",
                    "trunk_extra": 'media = "passthrough"'},
    # issue 7, blind transfer: a second trunk "pbx2" (a second sipp UAS) that a
    # REFER from the first names as the target
    "transfer": {"trunk_name": "pbx", "trunk_uri": f"sip:127.0.0.1:{TRUNK_PORT}",
                 "trunk_extra": f'\n[[trunk]]\nname = "pbx2"\nuri = "sip:127.0.0.1:{TRANSFER_PORT}"'},
    # the trunk is sipp's UAS over TCP
    "tcp-trunk": {"trunk_name": "pbx", "trunk_uri": f"sip:127.0.0.1:{TRUNK_PORT};transport=tcp"},
    # the trunk's calls must authenticate (inbound_auth): stox challenges with 401
    "inbound-auth": {"trunk_name": "pbx", "trunk_uri": f"sip:127.0.0.1:{TRUNK_PORT}",
                     # sipp 3.6 answers only the first challenge, and only MD5
                     "trunk_extra": 'username = "pbx1"\npassword = "open sesame"\ninbound_auth = true\n'
                                    'inbound_auth_algorithms = ["MD5"]'},
    # the only trunk is elsewhere (127.0.0.3), so the scanner on 127.0.0.1 is an
    # unconfigured source, as an internet scanner would be
    "scan": {"trunk_name": "pbx", "trunk_uri": "sip:127.0.0.3:15080"},
    # issue 7 DTMF: the trunk takes XEP-0181 digits as SIP INFO (even where the anchor
    # could send RFC 4733 events), so that sipp can check them
    "dtmf-info": {"trunk_name": "pbx", "trunk_uri": f"sip:127.0.0.1:{TRUNK_PORT}",
                  "trunk_extra": 'dtmf = "info"'},
    # the trunk is a TCP port where nothing listens
    "dead-trunk": {"trunk_name": "dead", "trunk_uri": f"sip:127.0.0.1:{DEAD_PORT};transport=tcp"},
    # the trunk is a real Kamailio (interop/kamailio): stox registers with digest
    # (401), its INVITEs are challenged (407), calls to numbers reach the sipp
    # "PSTN" behind it, and the PSTN's calls to +1555000xxxx reach stox's Contact
    "kamailio": {"trunk_name": "pbx", "trunk_uri": f"sip:127.0.0.1:{KAMAILIO_PORT}",
                 "kamailio": "plain",
                 "trunk_extra": 'username = "stox"\npassword = "s3cret"\nrealm = "pbx.test"\n'
                                'register = true\nregister_expires = 120'},
    # Kamailio challenging with algorithm=SHA-256 (RFC 7616/8760) instead of MD5
    "kamailio-sha256": {"trunk_name": "pbx", "trunk_uri": f"sip:127.0.0.1:{KAMAILIO_PORT}",
                        "kamailio": "sha256",
                        "trunk_extra": 'username = "stox"\npassword = "s3cret"\nrealm = "pbx.test"\n'
                                       'register = true\nregister_expires = 120'},
    # the same Kamailio reached over TLS (sips:, its certificate verified against
    # the test CA; our client certificate offered), and stox's own TLS listener,
    # which Kamailio uses to deliver inbound calls to the registered Contact
    "kamailio-tls": {"trunk_name": "pbx", "trunk_uri": f"sips:127.0.0.1:{KAMAILIO_TLS_PORT}",
                     "kamailio": "tls",
                     "listen_extra": f', "tls:127.0.0.1:{GATEWAY_TLS_PORT}"',
                     "sip_extra": 'tls_cert = "@CERTS@/server.pem"\ntls_key = "@CERTS@/server.key"',
                     "trunk_extra": 'username = "stox"\npassword = "s3cret"\nrealm = "pbx.test"\n'
                                    'register = true\nregister_expires = 120\n'
                                    'tls_ca = "@CERTS@/ca.pem"\n'
                                    'tls_client_cert = "@CERTS@/client.pem"\n'
                                    'tls_client_key = "@CERTS@/client.key"'},
}


def write_config(workdir: Path, variant: str) -> Path:
    path = workdir / f"stox-{variant}.toml"
    path.write_text(STOX_CONFIG.format(
        domain=DOMAIN, component_port=COMPONENT_PORT, secret=SECRET, sip_port=GATEWAY_SIP_PORT,
        dir=workdir, variant=variant, metrics=METRICS,
        **{"trunk_extra": "", "listen_extra": "", "sip_extra": "",
           **{k: v.replace("@CERTS@", str(workdir / "kamailio-tls" / "certs"))
              for k, v in VARIANTS[variant].items()}}))
    return path


# ----------------------------------------------------------------- scenarios


@dataclasses.dataclass
class Sipp:
    """One sipp process. role 'uas' listens on the trunk port; 'uac' calls the gateway."""
    scenario: str
    role: str
    service: str = "+15550001000"
    expect: str = "ok"  # "ok" = exit 0; "no-invite" = no INVITE seen before its -timeout
    timeout: int = 30
    transport: str = "udp"  # "tcp": sipp -t t1 (one TCP connection)
    port: int | None = None  # local port; default TRUNK_PORT (uas) / UAC_PORT (uac)
    target: str | None = None  # where a uac sends; default the gateway
    extra: tuple[str, ...] = ()  # more sipp arguments (e.g. -au/-ap credentials)
    tag: str = ""  # names its files apart when a scenario runs two sipps of one role (transfer)

    @property
    def files(self) -> str:
        return f"{self.role}-{self.tag}" if self.tag else self.role

    @property
    def local_port(self) -> int:
        return self.port or (TRUNK_PORT if self.role == "uas" else UAC_PORT)

    @property
    def path(self) -> Path:
        # "kamailio/sipp/x.xml" is relative to interop/, a bare name to interop/sipp/
        return HERE / self.scenario if "/" in self.scenario else SIPP_DIR / self.scenario


@dataclasses.dataclass
class Peer:
    label: str
    jid: str
    args: list[str]


@dataclasses.dataclass
class Scenario:
    name: str
    asserts: str
    peers: list[Peer]
    sipp: list[Sipp]
    variant: str = "default"


OUT_NUMBER = "+15551230001"
OUT_JID = f"{OUT_NUMBER}@{DOMAIN}"


def scenarios() -> list[Scenario]:
    alice = "alice@test/phone"
    bob_phone = "bob@test/phone"
    return [
        Scenario(
            "out-answer-hangup-xmpp",
            "alice's JMI propose to +15551230001@sip.test gets <proceed> from .../stox; the "
            "INVITE reaches the trunk with an SDP offer; 180 -> <session-info><ringing/>; 200 -> "
            "session-accept with RTP payload-types and an ICE transport; alice's session-terminate "
            "(success) after 1 s is acked and the trunk gets BYE and answers 200",
            [Peer("alice", alice, ["call", OUT_JID, "--mode", "jmi", "--hangup-after", "1",
                                   "--expect-ringing", "--expect-answered"])],
            [Sipp("uas_answer.xml", "uas")]),
        Scenario(
            "out-answer-hangup-sip",
            "as out-answer-hangup-xmpp, but the trunk sends BYE 1 s after the answer: the gateway "
            "answers it 200 and alice receives session-terminate with <success/>",
            [Peer("alice", alice, ["call", OUT_JID, "--mode", "jmi", "--expect-terminate", "success",
                                   "--expect-ringing", "--expect-answered"])],
            [Sipp("uas_answer_bye.xml", "uas")]),
        Scenario(
            "out-info-dtmf",
            "the trunk answers alice's call and sends the digits 4 and # as SIP INFO "
            "(application/dtmf-relay): each gets 200 and reaches alice as an XEP-0181 "
            "session-info <dtmf/>, in order; the trunk's BYE ends the call",
            [Peer("alice", alice, ["call", OUT_JID, "--mode", "jmi", "--expect-terminate", "success",
                                   "--expect-answered", "--expect-dtmf", "4#"])],
            [Sipp("uas_answer_info_bye.xml", "uas")]),
        # hold (issue 7)
        Scenario(
            "out-hold-sip",
            "the trunk answers alice's call, then holds it with a re-INVITE whose SDP is "
            "a=sendonly: alice receives session-info <hold/> and sipp checks the 200 answers "
            "a=recvonly; its re-INVITE with a=sendrecv gives alice <active/> and a 200 with "
            "a=sendrecv; the trunk's BYE ends the call",
            [Peer("alice", alice, ["--expect-info", "hold,active", "call", OUT_JID, "--mode", "jmi",
                                   "--expect-terminate", "success", "--expect-answered"])],
            [Sipp("uas_answer_hold_bye.xml", "uas")]),
        Scenario(
            "out-hold-xmpp",
            "alice sends session-info <hold/> 1 s after the answer: the trunk receives a "
            "re-INVITE whose SDP is a=sendonly and answers a=recvonly; her <unhold/> at 3 s "
            "becomes a re-INVITE with a=sendrecv; her hang-up at 5 s a BYE",
            [Peer("alice", alice, ["--hold-after", "1", "--unhold-after", "3", "--expect-info", "",
                                   "call", OUT_JID, "--mode", "jmi", "--hangup-after", "5",
                                   "--expect-answered"])],
            [Sipp("uas_answer_held.xml", "uas")]),
        Scenario(
            "out-hold-glare",
            "glare (RFC 3261 §14): alice's <hold/> reaches the trunk as a re-INVITE (a=sendonly); "
            "the trunk sends its own re-INVITE across it and gets 491 (ACKed), then answers ours "
            "491 (the gateway ACKs); the gateway, Call-ID owner, sends the hold re-INVITE again "
            "after 2.1-4 s (a=sendonly, answered a=recvonly); the trunk's re-INVITE sent again "
            "gets 200 with a=sendonly (alice still holds); the trunk's BYE ends the call, which "
            "stayed up throughout (alice gets no session-info, <success/>)",
            [Peer("alice", alice, ["--hold-after", "1", "--expect-info", "",
                                   "call", OUT_JID, "--mode", "jmi",
                                   "--expect-terminate", "success", "--expect-answered"])],
            [Sipp("uas_answer_glare.xml", "uas")]),
        Scenario(
            "out-content-add-reject",
            "passthrough media: 1 s after the answer alice sends content-add with a VP8 video "
            "content (ICE-UDP transport): the trunk gets a re-INVITE keeping the audio m= line "
            "and appending m=video (VP8, a=mid:video), declines it with port 0, and alice gets "
            "content-reject for it (no content-accept); the call goes on until the trunk's BYE "
            "(<success/>)",
            [Peer("alice", alice, ["--add-video-after", "1", "--expect-content-add", "reject",
                                   "--expect-info", "", "call", OUT_JID, "--mode", "jmi",
                                   "--expect-terminate", "success", "--expect-answered"])],
            [Sipp("uas_answer_video_reject_bye.xml", "uas")], variant="passthrough"),
        Scenario(
            "out-content-add-anchored",
            "anchored media (the default): alice's content-add of a VP8 video content 0.5 s after "
            "the answer is acked and answered content-reject at once (the anchor relays only the "
            "streams of the set-up); nothing reaches the trunk (sipp fails on any re-INVITE), "
            "whose BYE ends the call (<success/>)",
            [Peer("alice", alice, ["--add-video-after", "0.5", "--expect-content-add", "reject",
                                   "call", OUT_JID, "--mode", "jmi",
                                   "--expect-terminate", "success", "--expect-answered"])],
            [Sipp("uas_answer_bye.xml", "uas")]),
        Scenario(
            "out-content-add-remove",
            "passthrough media: alice's content-add of a VP8 video content reaches the trunk as "
            "a re-INVITE appending m=video; the trunk takes the stream (port 6002) and alice gets "
            "content-accept for it; her content-remove 2.5 s after the answer reaches the trunk as "
            "a re-INVITE with m=video port 0 and the audio still live; the trunk's BYE ends the "
            "call (<success/>)",
            [Peer("alice", alice, ["--add-video-after", "1", "--expect-content-add", "accept",
                                   "--remove-video-after", "2.5", "--expect-info", "",
                                   "call", OUT_JID, "--mode", "jmi",
                                   "--expect-terminate", "success", "--expect-answered"])],
            [Sipp("uas_answer_video_remove_bye.xml", "uas")], variant="passthrough"),
        Scenario(
            "out-hold-glare-update",
            "glare with UPDATE (RFC 3311 §5.2): as out-hold-glare, but the trunk's crossing offer "
            "is an UPDATE with SDP: 491 (no ACK), our hold re-INVITE answered 491 is retried after "
            "2.1-4 s and completes; the trunk's UPDATE sent again gets 200 with a=sendonly; the "
            "trunk's BYE ends the call (<success/>), no session-info to alice",
            [Peer("alice", alice, ["--hold-after", "1", "--expect-info", "",
                                   "call", OUT_JID, "--mode", "jmi",
                                   "--expect-terminate", "success", "--expect-answered"])],
            [Sipp("uas_answer_glare_update.xml", "uas")]),
        Scenario(
            "out-hold-glare-peer-first",
            "glare with RFC 3261 §14.1 timing: as out-hold-glare up to the two 491s, but the "
            "trunk (not the Call-ID's owner) retries its re-INVITE 500 ms later, inside the "
            "gateway's 2.1-4 s back-off: 200 (not 491) with a=sendonly, alice holding; that "
            "answer puts the call on hold, so the gateway sends no re-INVITE when its back-off "
            "ends (sipp waits 4.5 s for none); the trunk's BYE ends the call (<success/>)",
            [Peer("alice", alice, ["--hold-after", "1", "--expect-info", "",
                                   "call", OUT_JID, "--mode", "jmi",
                                   "--expect-terminate", "success", "--expect-answered"])],
            [Sipp("uas_answer_glare_peer_first.xml", "uas")]),
        Scenario(
            "out-content-add-glare",
            "passthrough media: alice's content-add (VP8 video) reaches the trunk as a re-INVITE "
            "appending m=video; the trunk's own re-INVITE crosses it and gets 491, and it answers "
            "ours 491; after the 2.1-4 s back-off the gateway sends the content-add's re-INVITE "
            "again, m=video still appended; the trunk takes the video and alice gets "
            "content-accept; the trunk's BYE ends the call (<success/>)",
            [Peer("alice", alice, ["--add-video-after", "1", "--expect-content-add", "accept",
                                   "--expect-info", "", "call", OUT_JID, "--mode", "jmi",
                                   "--expect-terminate", "success", "--expect-answered"])],
            [Sipp("uas_answer_video_glare.xml", "uas")], variant="passthrough"),
        Scenario(
            "out-content-add-hold",
            "passthrough media: alice's content-add (VP8 video) is taken by the trunk "
            "(content-accept); her <hold/> 2.5 s after the answer reaches the trunk as a re-INVITE "
            "with both streams a=sendonly, her <unhold/> at 4 s as one with both a=sendrecv; the "
            "trunk's BYE ends the call (<success/>)",
            [Peer("alice", alice, ["--add-video-after", "1", "--expect-content-add", "accept",
                                   "--hold-after", "2.5", "--unhold-after", "4", "--expect-info", "",
                                   "call", OUT_JID, "--mode", "jmi",
                                   "--expect-terminate", "success", "--expect-answered"])],
            [Sipp("uas_answer_video_hold_bye.xml", "uas")], variant="passthrough"),
        Scenario(
            "out-content-remove-sip",
            "passthrough media: alice's content-add (VP8 video) is taken by the trunk "
            "(content-accept); the trunk then removes it with a re-INVITE setting m=video to port "
            "0: its 200 answers the video at port 0 with the audio still live, and alice gets "
            "content-remove for 'video' (and nothing else); the trunk's BYE ends the call "
            "(<success/>)",
            [Peer("alice", alice, ["--add-video-after", "1", "--expect-content-add", "accept",
                                   "--expect-content-remove", "video", "--expect-info", "",
                                   "call", OUT_JID, "--mode", "jmi",
                                   "--expect-terminate", "success", "--expect-answered"])],
            [Sipp("uas_answer_video_removed_bye.xml", "uas")], variant="passthrough"),
        Scenario(
            "in-content-add-reject",
            "passthrough media, inbound: bob answers and 1 s later sends content-add with a VP8 "
            "video content (creator responder): the caller gets a re-INVITE appending m=video "
            "and declines it (port 0); bob gets content-reject naming his content (creator "
            "responder); the caller's BYE ends bob's session with <success/>",
            [Peer("bob/phone", bob_phone, ["--add-video-after", "1", "--expect-content-add", "reject",
                                           "--expect-info", "", "answer", "--mode", "accept",
                                           "--delay", "0.5", "--expect-terminate", "success"])],
            [Sipp("uac_call_video_reject.xml", "uac", "+15550001000")], variant="passthrough"),
        Scenario(
            "in-content-remove-sip",
            "passthrough media, inbound: bob's content-add (VP8 video, creator responder) is "
            "taken by the caller (content-accept); the caller then removes it with a re-INVITE "
            "setting m=video to port 0: answered port 0 with the audio live, and bob gets "
            "content-remove for 'video' with creator responder; the caller's BYE ends bob's "
            "session with <success/>",
            [Peer("bob/phone", bob_phone, ["--add-video-after", "1", "--expect-content-add", "accept",
                                           "--expect-content-remove", "video", "--expect-info", "",
                                           "answer", "--mode", "accept", "--delay", "0.5",
                                           "--expect-terminate", "success"])],
            [Sipp("uac_call_video_removed.xml", "uac", "+15550001000")], variant="passthrough"),
        Scenario(
            "in-content-add-anchored",
            "anchored media (the default), inbound: bob's content-add of a VP8 video content "
            "(creator responder) 0.3 s after his answer is acked and answered content-reject "
            "naming his content (creator responder); nothing reaches the caller (sipp fails on "
            "any re-INVITE), whose BYE ends bob's session with <success/>",
            [Peer("bob/phone", bob_phone, ["--add-video-after", "0.3", "--expect-content-add", "reject",
                                           "answer", "--mode", "accept", "--delay", "0.5",
                                           "--expect-terminate", "success"])],
            [Sipp("uac_call.xml", "uac", "+15550001000")]),
        Scenario(
            "in-content-add-remove",
            "passthrough media, inbound: bob answers, sends content-add with a VP8 video content "
            "(creator responder) 1 s later: the caller gets a re-INVITE appending m=video, takes "
            "it and bob gets content-accept; bob's content-remove at 2.5 s reaches the caller as "
            "a re-INVITE with m=video port 0, the audio still live; the caller's BYE ends bob's "
            "session with <success/>",
            [Peer("bob/phone", bob_phone, ["--add-video-after", "1", "--expect-content-add", "accept",
                                           "--remove-video-after", "2.5", "--expect-info", "",
                                           "answer", "--mode", "accept", "--delay", "0.5",
                                           "--expect-terminate", "success"])],
            [Sipp("uac_call_video_remove.xml", "uac", "+15550001000")], variant="passthrough"),
        Scenario(
            "in-hold-sip",
            "the caller holds bob's answered call with a re-INVITE whose SDP is a=sendonly: bob "
            "receives session-info <hold/>, sipp checks the 200 answers a=recvonly; its "
            "re-INVITE with a=sendrecv gives bob <active/> and a 200 with a=sendrecv; BYE",
            [Peer("bob/phone", bob_phone, ["--expect-info", "hold,active", "answer", "--mode", "accept",
                                           "--delay", "0.5", "--expect-terminate", "success"])],
            [Sipp("uac_call_reinvite_hold.xml", "uac", "+15550001000")]),
        Scenario(
            "in-hold-xmpp",
            "bob answers, sends session-info <hold/> after 1 s and <unhold/> after 2.5 s: the "
            "caller receives re-INVITEs with a=sendonly (answered a=recvonly) and then a=sendrecv; "
            "the caller's BYE ends bob's session with <success/>",
            [Peer("bob/phone", bob_phone, ["--hold-after", "1", "--unhold-after", "2.5",
                                           "--expect-info", "", "answer", "--mode", "accept",
                                           "--delay", "0.5", "--expect-terminate", "success"])],
            [Sipp("uac_call_held.xml", "uac", "+15550001000")]),
        Scenario(
            "in-hold-glare",
            "glare, inbound: bob's <hold/> reaches the caller as a re-INVITE (a=sendonly); the "
            "caller's own re-INVITE crosses it and gets 491 (ACKed), then the caller answers ours "
            "491 (the gateway ACKs); the gateway, not the Call-ID's owner, sends the hold "
            "re-INVITE again within 0-2 s (a=sendonly, answered a=recvonly); the caller's "
            "re-INVITE sent again gets 200 with a=sendonly (bob still holds); the caller's BYE "
            "ends bob's session with <success/>, no session-info to bob",
            [Peer("bob/phone", bob_phone, ["--hold-after", "1", "--expect-info", "",
                                           "answer", "--mode", "accept", "--delay", "0.5",
                                           "--expect-terminate", "success"])],
            [Sipp("uac_call_glare.xml", "uac", "+15550001000")]),
        Scenario(
            "out-trickle-ice",
            "passthrough media: alice's INVITE advertises half trickle (a=ice-options:trickle, "
            "Recv-Info: trickle-ice); the trunk answers with Supported: trickle-ice and ICE, then "
            "trickles 198.51.100.7:50002 by INFO (RFC 8840): 200, and alice gets a transport-info "
            "with that candidate; alice trickles 192.0.2.99:40999 after the answer: the trunk gets "
            "an INFO (Info-Package: trickle-ice, sdpfrag with a=mid:0 and that candidate); the "
            "trunk's BYE ends the call",
            [Peer("alice", alice, ["call", OUT_JID, "--mode", "jmi", "--expect-terminate", "success",
                                   "--expect-answered", "--trickle-after-answer", "192.0.2.99:40999",
                                   "--expect-transport-info", "198.51.100.7:50002"])],
            [Sipp("uas_answer_trickle_bye.xml", "uas")], variant="passthrough"),
        Scenario(
            "out-ice-restart",
            "passthrough media: the trunk answers alice's call with ICE, then re-INVITEs with new "
            "ice-ufrag/pwd and a candidate at 198.51.100.8:50004; alice gets a transport-info with "
            "the new credentials and that candidate at generation 1, and answers with new "
            "credentials (ufrag rst1) and a candidate at 192.0.2.77:41000; the re-INVITE's 200 "
            "carries both; the trunk's BYE ends the call",
            [Peer("alice", alice, ["call", OUT_JID, "--mode", "jmi", "--expect-terminate", "success",
                                   "--expect-answered", "--answer-ice-restart", "192.0.2.77:41000",
                                   "--expect-transport-info", "198.51.100.8:50004"])],
            [Sipp("uas_answer_ice_restart_bye.xml", "uas")], variant="passthrough"),
        Scenario(
            "in-trickle-ice",
            "passthrough media: an INVITE with Supported: trickle-ice and an ICE offer; bob's "
            "answer goes back in a 200 that advertises half trickle; the caller trickles "
            "198.51.100.9:50006 by INFO: 200, and bob gets a transport-info with it; bob trickles "
            "192.0.2.88:42000 after his session-accept: the caller gets it by INFO; its BYE ends "
            "the call",
            [Peer("bob/phone", "bob@test/phone", ["answer", "--mode", "accept", "--delay", "0.3",
                                                  "--expect-terminate", "success",
                                                  "--trickle-after-answer", "192.0.2.88:42000",
                                                  "--expect-transport-info", "198.51.100.9:50006"])],
            [Sipp("uac_call_trickle.xml", "uac", "+15550001000")], variant="passthrough"),
        Scenario(
            "out-dtmf-info",
            "issue 7, XMPP -> SIP DTMF: the trunk (dtmf = \"info\") answers alice's call; alice "
            "types 5 and # as XEP-0181 session-info <dtmf/>, each acked; the trunk receives two "
            "INFOs in the dialog, in order, with Content-Type application/dtmf-relay and the "
            "bodies Signal=5 / Signal=# with Duration=100, answers each 200, then sends BYE: "
            "alice receives session-terminate <success/>",
            [Peer("alice", alice, ["call", OUT_JID, "--mode", "jmi", "--expect-terminate", "success",
                                   "--expect-answered", "--send-dtmf", "5#"])],
            [Sipp("uas_answer_dtmf_info_bye.xml", "uas")], variant="dtmf-info"),
        Scenario(
            "out-dtmf-rfc4733",
            "issue 7, XMPP -> SIP DTMF in-band: the call is anchored by the embedded relay and "
            "both alice's offer and the trunk's answer carry telephone-event, so with the default "
            "dtmf = \"auto\" alice's digits 5 and # are acked and go as RFC 4733 events in the "
            "RTP toward the trunk (asserted here: no INFO reaches the trunk, as sipp fails on any "
            "unexpected request; the packets themselves are decoded in tests/media_dtmf.rs, and "
            "the relay's end-of-call log line shows sip_out=8); alice hangs up after 1.5 s and "
            "the trunk gets the BYE",
            [Peer("alice", alice, ["call", OUT_JID, "--mode", "jmi", "--hangup-after", "1.5",
                                   "--expect-answered", "--send-dtmf", "5#"])],
            [Sipp("uas_answer.xml", "uas")]),
        Scenario(
            "out-direct",
            "without JMI, alice's session-initiate to +15551230001@sip.test/stox is acked, the "
            "trunk gets the INVITE, ringing and session-accept reach alice, her hang-up after 1 s "
            "becomes a BYE",
            [Peer("alice", alice, ["call", OUT_JID + "/stox", "--mode", "direct", "--hangup-after", "1",
                                   "--expect-ringing", "--expect-answered"])],
            [Sipp("uas_answer.xml", "uas")]),
        Scenario(
            "out-cancel",
            "the trunk rings (180 -> ringing); alice's session-terminate <cancel/> 1 s after "
            "session-initiate is acked and becomes a CANCEL; the trunk answers 200 + 487 and gets "
            "the ACK",
            [Peer("alice", alice, ["call", OUT_JID, "--mode", "jmi", "--cancel-after", "1",
                                   "--expect-ringing"])],
            [Sipp("uas_ring.xml", "uas")]),
        Scenario(
            "out-busy",
            "486 Busy Here from the trunk -> session-terminate <busy/>; the gateway ACKs the 486",
            [Peer("alice", alice, ["call", OUT_JID, "--mode", "jmi", "--expect-terminate", "busy"])],
            [Sipp("uas_busy.xml", "uas")]),
        Scenario(
            "out-decline",
            "603 Decline from the trunk -> session-terminate <decline/>; the gateway ACKs the 603",
            [Peer("alice", alice, ["call", OUT_JID, "--mode", "jmi", "--expect-terminate", "decline"])],
            [Sipp("uas_decline.xml", "uas")]),
        Scenario(
            "out-unreachable",
            "with the trunk at sip:127.0.0.1:15099;transport=tcp (nothing listens), alice's call to "
            "+15559990000 ends with session-terminate timeout|gone|general-error|connectivity-error",
            [Peer("alice", alice, ["call", f"+15559990000@{DOMAIN}", "--mode", "jmi", "--expect-terminate",
                                   "timeout|gone|general-error|connectivity-error", "--timeout", "25"])],
            [], variant="dead-trunk"),
        Scenario(
            "out-forbidden",
            "carol (not in allow_outbound) gets a JMI <reject/> or an IQ error to session-initiate "
            "(or a bounced propose), and the trunk receives no INVITE within 6 s",
            [Peer("carol", "carol@test/phone", ["call", OUT_JID, "--mode", "jmi", "--expect-reject",
                                                "--timeout", "10"])],
            [Sipp("uas_answer.xml", "uas", expect="no-invite", timeout=6)]),
        Scenario(
            "in-answer-hangup-sip",
            "INVITE to +15550001000 -> JMI propose to bob@test from <caller>@sip.test/stox; bob's "
            "ringing -> 180; after bob's proceed (0.5 s) the gateway sends session-initiate with "
            "RTP payload-types and an ICE transport to bob/phone; bob's session-accept -> 200 with "
            "SDP; the caller's BYE -> session-terminate <success/> to bob, 200 to the BYE",
            [Peer("bob/phone", bob_phone, ["answer", "--mode", "accept", "--delay", "0.5",
                                           "--expect-terminate", "success"])],
            [Sipp("uac_call.xml", "uac", "+15550001000")]),
        Scenario(
            "in-answer-hangup-xmpp",
            "as in-answer-hangup-sip, but bob hangs up 1 s after answering: his session-terminate is "
            "acked and the caller gets BYE",
            [Peer("bob/phone", bob_phone, ["answer", "--mode", "accept", "--delay", "0.5",
                                           "--hangup-after", "1"])],
            [Sipp("uac_call_wait_bye.xml", "uac", "+15550001000")]),
        Scenario(
            "in-two-devices",
            "the propose reaches bob's phone and laptop; the phone answers after 1 s and gets the "
            "session (terminated with success by the caller's BYE); the laptop, still ringing, gets "
            "a JMI <finish/> (or <retract/>) from the gateway",
            [Peer("bob/phone", bob_phone, ["answer", "--mode", "accept", "--delay", "1",
                                           "--expect-terminate", "success"]),
             Peer("bob/laptop", "bob@test/laptop", ["answer", "--mode", "ignore", "--expect-finish"])],
            [Sipp("uac_call.xml", "uac", "+15550001000")]),
        Scenario(
            "in-cancel",
            "the caller's CANCEL while bob rings -> 200 + 487 to the caller and a JMI <retract/> to bob",
            [Peer("bob/phone", bob_phone, ["answer", "--mode", "ignore", "--expect-retract"])],
            [Sipp("uac_cancel.xml", "uac", "+15550001000")]),
        Scenario(
            "in-reject-busy",
            "bob's JMI <reject/> with <busy/> after 0.5 s -> 486 to the caller",
            [Peer("bob/phone", bob_phone, ["answer", "--mode", "reject", "--reject-reason", "busy",
                                           "--delay", "0.5"])],
            [Sipp("uac_486.xml", "uac", "+15550001000")]),
        Scenario(
            "in-reject-decline",
            "bob's JMI <reject/> with <decline/> after 0.5 s -> 603 to the caller",
            [Peer("bob/phone", bob_phone, ["answer", "--mode", "reject", "--reject-reason", "decline",
                                           "--delay", "0.5"])],
            [Sipp("uac_603.xml", "uac", "+15550001000")]),
        Scenario(
            "in-no-answer",
            "bob lets it ring: after ring_timeout_secs (3) the caller gets 480 and bob a JMI <retract/>",
            [Peer("bob/phone", bob_phone, ["answer", "--mode", "ignore", "--expect-retract"])],
            [Sipp("uac_480.xml", "uac", "+15550001000")]),
        # ---- early media and delayed offer (issue 7) ----
        Scenario(
            "out-early-media",
            "the trunk answers alice's INVITE with a reliable 183 with SDP (Require: 100rel, "
            "RSeq: 1): the gateway PRACKs it (RAck 1 1 INVITE, 200), alice gets <ringing/> and, "
            "from the embedded anchor, session-accept with payload-types within 1.5 s of her "
            "session-initiate, although the trunk's 200 (without SDP) comes 2 s after the 183; "
            "the 183's answer stands, the call runs until the trunk's BYE -> <success/>",
            [Peer("alice", alice, ["call", OUT_JID, "--mode", "jmi", "--expect-terminate", "success",
                                   "--expect-ringing", "--expect-answered",
                                   "--expect-accept-within", "1.5"])],
            [Sipp("uas_early_media_bye.xml", "uas")]),
        Scenario(
            "in-late-offer",
            "an INVITE without SDP to +15550001000: the embedded anchor makes the offer, bob is "
            "proposed to and answers; the 200 carries the gateway's SDP offer (m=audio, RTP/AVP, "
            "PCMU), sipp's ACK carries the answer, sipp's BYE ends bob's session with <success/>",
            [Peer("bob/phone", bob_phone, ["answer", "--mode", "accept", "--delay", "0.5",
                                           "--expect-terminate", "success"])],
            [Sipp("uac_late_offer.xml", "uac", "+15550001000")]),
        Scenario(
            "in-unknown",
            "an INVITE to +15550009999 (no [[number]] entry) is answered 404",
            [],
            [Sipp("uac_404.xml", "uac", "+15550009999")]),
        Scenario(
            "in-tcp",
            "as in-answer-hangup-sip, but the caller uses SIP over TCP: every response and the "
            "session-terminate on BYE travel over the caller's own connection",
            [Peer("bob/phone", bob_phone, ["answer", "--mode", "accept", "--delay", "0.5",
                                           "--expect-terminate", "success"])],
            [Sipp("uac_call.xml", "uac", "+15550001000", transport="tcp")]),
        Scenario(
            "out-auth",
            "the trunk answers the first INVITE with 401 WWW-Authenticate (MD5, qop=auth); the "
            "gateway re-sends it with Authorization from the trunk's username/password, "
            "which sipp verifies (verifyauth) before answering; alice hangs up",
            [Peer("alice", alice, ["call", OUT_JID, "--mode", "jmi", "--hangup-after", "1",
                                   "--expect-answered"])],
            [Sipp("uas_auth.xml", "uas")], variant="auth-trunk"),
        Scenario(
            "sipvicious",
            "SIPVicious (svmap, then svwar with REGISTER, INVITE and OPTIONS and a dictionary holding "
            "the real DID) from an address that is not a trunk's finds no extension, and the scan "
            "did reach stox (counted as refused input)",
            [], [], variant="scan"),
        Scenario(
            "out-tcp",
            "as out-answer-hangup-xmpp, but the trunk is configured with transport=tcp: the "
            "gateway opens a TCP connection, and INVITE, ACK and BYE go over it",
            [Peer("alice", alice, ["call", OUT_JID, "--mode", "jmi", "--hangup-after", "1",
                                   "--expect-answered"])],
            [Sipp("uas_answer.xml", "uas", transport="tcp")], variant="tcp-trunk"),
        Scenario(
            "in-auth",
            "the trunk has inbound_auth: its INVITE gets 401 with SHA-256 and MD5 challenges; "
            "sipp answers the MD5 one with the trunk's password, and only then is bob rung; "
            "he answers and the caller's BYE ends the call",
            [Peer("bob/phone", bob_phone, ["answer", "--mode", "accept", "--delay", "0.5",
                                           "--expect-terminate", "success"])],
            [Sipp("uac_call_auth.xml", "uac", "+15550001000",
                  extra=("-au", "pbx1", "-ap", "open sesame"))], variant="inbound-auth"),
        Scenario(
            "kam-register",
            "stox REGISTERs with the real Kamailio as user stox, answers its 401 (MD5, qop=auth) "
            "and is registered: stox_trunk_registered{trunk=pbx} is 1 and Kamailio logged the "
            "binding to stox's listen address",
            [], [], variant="kamailio"),
        Scenario(
            "kam-out",
            "alice calls +15551230001: stox's INVITE to Kamailio is challenged with 407, the retry "
            "carries Proxy-Authorization, Kamailio relays it (Record-Route, credentials stripped) "
            "to the sipp PSTN, which answers; alice hangs up and the BYE follows the Route set",
            [Peer("alice", alice, ["call", OUT_JID, "--mode", "jmi", "--hangup-after", "1",
                                   "--expect-ringing", "--expect-answered"])],
            [Sipp("kamailio/sipp/uas_pstn.xml", "uas", port=PSTN_PORT)], variant="kamailio"),
        Scenario(
            "kam-in",
            "the sipp PSTN calls +15550001000 through Kamailio, which delivers it to stox's "
            "registered Contact with the number in To; bob answers; the PSTN's BYE (via the "
            "Record-Route) ends bob's session with <success/>",
            [Peer("bob/phone", bob_phone, ["answer", "--mode", "accept", "--delay", "0.5",
                                           "--expect-terminate", "success"])],
            [Sipp("kamailio/sipp/uac_pstn_inbound.xml", "uac", "+15550001000",
                  port=PSTN_PORT, target=f"127.0.0.1:{KAMAILIO_PORT}")], variant="kamailio"),
        Scenario(
            "kam-out-prack-timer",
            "through Kamailio, the PSTN answers stox's INVITE (which offers 100rel and a session "
            "timer) with a reliable 180 that stox PRACKs, then 200 with Session-Expires: "
            "90;refresher=uas; the PSTN refreshes with UPDATE and with re-INVITE and gets 200 with "
            "Session-Expires both times (the re-INVITE with SDP, ACKed); alice hangs up -> BYE",
            [Peer("alice", alice, ["call", OUT_JID, "--mode", "jmi", "--hangup-after", "4",
                                   "--expect-ringing", "--expect-answered"])],
            [Sipp("kamailio/sipp/uas_pstn_prack_timer.xml", "uas", port=PSTN_PORT)],
            variant="kamailio"),
        Scenario(
            "kam-sha256-register",
            "Kamailio challenges with algorithm=SHA-256: stox's REGISTER answers the 401 with a "
            "SHA-256 digest and is registered",
            [], [], variant="kamailio-sha256"),
        Scenario(
            "kam-sha256-out",
            "with SHA-256 challenges, alice's call through Kamailio answers the 407 with a "
            "SHA-256 Proxy-Authorization and reaches the PSTN; alice hangs up",
            [Peer("alice", alice, ["call", OUT_JID, "--mode", "jmi", "--hangup-after", "1",
                                   "--expect-answered"])],
            [Sipp("kamailio/sipp/uas_pstn.xml", "uas", port=PSTN_PORT)], variant="kamailio-sha256"),
        Scenario(
            "kam-tls-register",
            "over TLS (sips:127.0.0.1:25061, Kamailio's certificate verified against the test CA, "
            "a client certificate offered) stox registers with digest; the Contact Kamailio stores "
            "is stox's TLS listener with transport=tls",
            [], [], variant="kamailio-tls"),
        Scenario(
            "kam-tls-out",
            "alice calls +15551230001: the INVITE goes to Kamailio over TLS (407, then with "
            "credentials), Kamailio relays it over UDP to the sipp PSTN (double Record-Route); "
            "alice hangs up and the BYE goes back over TLS along the Route set",
            [Peer("alice", alice, ["call", OUT_JID, "--mode", "jmi", "--hangup-after", "1",
                                   "--expect-ringing", "--expect-answered"])],
            [Sipp("kamailio/sipp/uas_pstn.xml", "uas", port=PSTN_PORT)], variant="kamailio-tls"),
        Scenario(
            "kam-tls-in",
            "the sipp PSTN calls +15550001000 through Kamailio over UDP; Kamailio opens TLS to "
            "stox's listener (the registered Contact); bob answers; the PSTN's BYE ends it",
            [Peer("bob/phone", bob_phone, ["answer", "--mode", "accept", "--delay", "0.5",
                                           "--expect-terminate", "success"])],
            [Sipp("kamailio/sipp/uac_pstn_inbound.xml", "uac", "+15550001000",
                  port=PSTN_PORT, target=f"127.0.0.1:{KAMAILIO_PORT}")], variant="kamailio-tls"),
        Scenario(
            "kam-in-prack-timer",
            "the PSTN calls +15550001000 through Kamailio requiring 100rel and asking for a "
            "90 s session timer: bob's ringing becomes a reliable 180 the PSTN PRACKs; the 200 "
            "grants Session-Expires: 90;refresher=uac with Require: timer; the PSTN's UPDATE "
            "refresh gets 200 with Session-Expires; its BYE ends bob's session",
            [Peer("bob/phone", bob_phone, ["answer", "--mode", "accept", "--delay", "0.5",
                                           "--expect-terminate", "success"])],
            [Sipp("kamailio/sipp/uac_pstn_prack_timer.xml", "uac", "+15550001000",
                  port=PSTN_PORT, target=f"127.0.0.1:{KAMAILIO_PORT}")], variant="kamailio"),
        # ---- issue 7: blind transfer (REFER) and loop detection
        Scenario(
            "out-refer-blind",
            "the trunk answers alice's call and REFERs it to sip:2000@127.0.0.1:15090 (trunk "
            "pbx2, a second sipp): 202, NOTIFY sipfrag 'SIP/2.0 100 Trying' (active), the "
            "gateway's INVITE to the target with Referred-By, its 200 ACKed, NOTIFY 'SIP/2.0 200 "
            "OK' (terminated); the transferor BYEs (200) and alice's session stays up; the "
            "target's BYE 2 s later gets 200 and alice gets session-terminate <success/>",
            [Peer("alice", alice, ["call", OUT_JID, "--mode", "jmi", "--expect-answered",
                                   "--expect-terminate", "success"])],
            [Sipp("uas_answer_refer.xml", "uas"),
             Sipp("uas_transfer_target.xml", "uas", port=TRANSFER_PORT, tag="target")],
            variant="transfer"),
        Scenario(
            "out-loop-482",
            "the trunk sends the gateway's INVITE straight back as a proxy would (same Call-ID, "
            "its Via on top, Max-Forwards 69): 482 Loop Detected; its 404 to the original "
            "INVITE then ends alice's call with session-terminate <gone/>",
            [Peer("alice", alice, ["call", OUT_JID, "--mode", "jmi", "--expect-terminate", "gone"])],
            [Sipp("uas_loop.xml", "uas")]),
        Scenario(
            "out-transfer-command",
            "after the trunk answers, alice runs the gateway's XEP-0050 command 'transfer' on "
            "its call JID: a form with a 'target' field; submitting +15559990000 sends REFER "
            "(Refer-To sip:+15559990000@127.0.0.1:15080, Referred-By sip:alice@test); the 202 "
            "completes the command; the trunk's NOTIFYs (sipfrag 100, 200) get 200; then the "
            "gateway BYEs and alice gets session-terminate <success/>",
            [Peer("alice", alice, ["call", OUT_JID, "--mode", "jmi", "--expect-answered",
                                   "--transfer-to", "+15559990000", "--expect-terminate", "success"])],
            [Sipp("uas_answer_referred.xml", "uas")]),
    ]


# ----------------------------------------------------------------- processes


class Proc:
    """A child process with its output in a file."""

    def __init__(self, label: str, argv: list[str], log: Path, cwd: Path | None = None,
                 env: dict[str, str] | None = None):
        self.label = label
        self.argv = argv
        self.log = log
        self.fh = open(log, "wb")
        self.p = subprocess.Popen(argv, stdout=self.fh, stderr=subprocess.STDOUT, cwd=cwd, env=env,
                                  stdin=subprocess.DEVNULL, start_new_session=True)

    def poll(self):
        return self.p.poll()

    def wait(self, deadline: float) -> int | None:
        try:
            return self.p.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            return None

    def stop(self, grace: float = 3.0) -> int | None:
        if self.p.poll() is None:
            try:
                os.killpg(self.p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.p.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.p.wait()
        self.fh.close()
        return self.p.returncode

    def text(self) -> str:
        if not self.fh.closed:
            self.fh.flush()
        return self.log.read_text(errors="replace")


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex((host, port)) == 0


def bound_ports(proto: str) -> set[int]:
    """Local ports bound on /proc/net/{udp,tcp} (TCP: listening only)."""
    ports = set()
    for name in (proto, proto + "6"):
        try:
            lines = Path(f"/proc/net/{name}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            port = int(fields[1].rsplit(":", 1)[1], 16)
            if proto == "udp" or fields[3] == "0A":
                ports.add(port)
    return ports


def wait_for(pred, timeout: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


def tail(text: str, n: int) -> str:
    lines = text.splitlines()
    return "\n".join(lines[-n:])


def indent(text: str, prefix: str = "    ") -> str:
    return textwrap.indent(text, prefix) if text.strip() else prefix + "(empty)"


class Prosody:
    def __init__(self, workdir: Path):
        self.dir = workdir / "prosody"
        self.proc: Proc | None = None

    def start(self) -> None:
        busy = [p for p in (C2S_PORT, COMPONENT_PORT) if port_open(p)]
        if busy:
            die(f"ports {busy} are already in use (another Prosody or e2e run?)")
        r = subprocess.run([str(HERE / "prosody" / "prosody.sh"), str(self.dir)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            die(f"prosody.sh failed:\n{r.stdout}{r.stderr}")
        self.proc = Proc("prosody", ["prosody", "-F", "--config", str(self.dir / "prosody.cfg.lua")],
                         self.dir / "prosody.out")
        if not wait_for(lambda: port_open(C2S_PORT) and port_open(COMPONENT_PORT)
                        or self.proc.poll() is not None, 15):
            self.fail("did not open its ports in 15 s")
        if self.proc.poll() is not None:
            self.fail(f"exited with {self.proc.poll()}")
        say(f"{stamp()} prosody up: c2s 127.0.0.1:{C2S_PORT}, component 127.0.0.1:{COMPONENT_PORT} "
            f"({self.dir})")

    def fail(self, why: str) -> None:
        out = self.proc.text() if self.proc else ""
        self.stop()
        die(f"prosody {why}\n{tail(out, 30)}\n{tail(self.log_text(), 30)}")

    def log_text(self) -> str:
        try:
            return (self.dir / "prosody.log").read_text(errors="replace")
        except OSError:
            return ""

    def component_auths(self) -> int:
        return self.log_text().count("External component successfully authenticated")

    def stop(self) -> None:
        if self.proc:
            self.proc.stop()


class Kamailio:
    """The private Kamailio of interop/kamailio (run.sh), started for the variants that need it."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.mode: str | None = None
        self.proc: Proc | None = None
        self.dir: Path | None = None

    def ensure(self, mode: str | None) -> str | None:
        """Runs Kamailio in `mode` ("plain", "tls", "sha256") or stops it (None); the reason when it cannot."""
        if mode == self.mode and (mode is None or self.proc.poll() is None):
            return None
        self.stop()
        if mode is None:
            return None
        busy = [p for p in (KAMAILIO_PORT, KAMAILIO_TLS_PORT, PSTN_PORT)
                if p in bound_ports("udp") or p in bound_ports("tcp")]
        if busy:
            return f"Kamailio's ports {busy} are already bound by something else"
        self.dir = self.workdir / f"kamailio-{mode}"
        self.dir.mkdir(parents=True, exist_ok=True)
        argv = [str(KAMAILIO_DIR / "run.sh"), "-d", str(self.dir)]
        if mode == "tls":
            argv.append("--tls")
        if mode == "sha256":
            argv += ["--", "-A", "WITH_SHA256"]  # challenges with algorithm=SHA-256
        self.proc = Proc("kamailio", argv, self.dir / "kamailio.log")
        self.mode = mode

        def up() -> bool:
            ok = KAMAILIO_PORT in bound_ports("udp") and KAMAILIO_PORT in bound_ports("tcp")
            return ok and (mode != "tls" or KAMAILIO_TLS_PORT in bound_ports("tcp"))

        if not wait_for(lambda: up() or self.proc.poll() is not None, 15) or self.proc.poll() is not None:
            why = f"Kamailio ({mode}) did not start:\n{tail(self.proc.text(), 30)}"
            self.stop()
            return why
        say(f"{stamp()} kamailio up ({mode}): 127.0.0.1:{KAMAILIO_PORT}"
            + (f", tls {KAMAILIO_TLS_PORT}" if mode == "tls" else "") + f" ({self.dir})")
        return None

    def log_text(self) -> str:
        return self.proc.text() if self.proc else ""

    def stop(self) -> None:
        if self.proc:
            self.proc.stop(grace=5)
        self.proc = None
        self.mode = None


class Stox:
    def __init__(self, binary: Path, workdir: Path, prosody: Prosody):
        self.binary = binary
        self.workdir = workdir
        self.prosody = prosody
        self.proc: Proc | None = None
        self.variant: str | None = None
        self.starts = 0

    def start(self, variant: str, config: Path | None = None) -> str | None:
        """Start stox with a config variant (or with `config`, a file written
        elsewhere, logged under the name `variant`); None when ready, else the
        reason it is not."""
        self.stop()
        cfg = config or write_config(self.workdir, variant)
        self.starts += 1
        log = self.workdir / f"stox-{variant}-{self.starts}.log"
        env = dict(os.environ)
        env.setdefault("RUST_LOG", "debug")
        env.setdefault("RUST_BACKTRACE", "1")
        auths_before = self.prosody.component_auths()
        self.proc = Proc("stox", [str(self.binary), "run", "--config", str(cfg)], log, env=env)
        self.variant = variant

        def ready() -> bool:
            return (self.prosody.component_auths() > auths_before
                    and GATEWAY_SIP_PORT in bound_ports("udp")
                    and GATEWAY_SIP_PORT in bound_ports("tcp"))

        ok = wait_for(lambda: ready() or self.proc.poll() is not None, 20)
        if self.proc.poll() is not None:
            return f"stox exited with {self.proc.poll()} during start-up"
        if not ok:
            parts = []
            if self.prosody.component_auths() <= auths_before:
                parts.append(f"its component never authenticated with Prosody as {DOMAIN}")
            if GATEWAY_SIP_PORT not in bound_ports("udp"):
                parts.append(f"udp:{GATEWAY_SIP_PORT} not bound")
            if GATEWAY_SIP_PORT not in bound_ports("tcp"):
                parts.append(f"tcp:{GATEWAY_SIP_PORT} not listening")
            return "stox not ready after 20 s: " + "; ".join(parts)
        say(f"{stamp()} stox up ({variant}): component {DOMAIN} connected, SIP on "
            f"udp/tcp 127.0.0.1:{GATEWAY_SIP_PORT}; log {log}")
        return None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_offset(self) -> int:
        return self.proc.log.stat().st_size if self.proc else 0

    def log_since(self, offset: int) -> str:
        if not self.proc:
            return ""
        if not self.proc.fh.closed:
            self.proc.fh.flush()
        with open(self.proc.log, "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")

    def stop(self) -> None:
        if self.proc:
            self.proc.stop(grace=5)
            self.proc = None


# ----------------------------------------------------------------- running


def peer_argv(peer: Peer, xml_log: Path, gateway: bool = True) -> list[str]:
    # Against the gateway, its JMI proceed / propose must come from resource "stox".
    extra = ["--expect-resource", "stox"] if gateway else []
    return [str(VENV_PY), str(PEER), "--jid", peer.jid, "--server", f"127.0.0.1:{C2S_PORT}",
            "--xml-log", str(xml_log), *extra, *peer.args]


def sipp_argv(s: Sipp, sdir: Path) -> list[str]:
    base = ["sipp", "-sf", str(s.path), "-i", "127.0.0.1", "-m", "1", "-nostdin",
            "-trace_msg", "-message_file", str(sdir / f"{s.files}.msg"),
            "-trace_err", "-error_file", str(sdir / f"{s.files}.err"),
            "-timeout", f"{s.timeout}s"]
    if s.expect == "ok":
        base.append("-timeout_error")
    if s.transport == "tcp":
        base += ["-t", "t1"]
    base += list(s.extra)
    if s.role == "uas":
        return base + ["-p", str(s.local_port)]
    target = s.target or f"127.0.0.1:{GATEWAY_SIP_PORT}"
    return [base[0], target, *base[1:], "-p", str(s.local_port), "-s", s.service]


def exit_ok(kind: str, what, rc: int) -> bool:
    if kind == "peer" or what.expect == "ok":
        return rc == 0
    return rc in (97, 99)


def wait_ready(proc: Proc, timeout: float) -> bool:
    def ready():
        return "  ==  ready" in proc.text() or proc.poll() is not None
    return wait_for(ready, timeout) and proc.poll() is None


def run_scenario(sc: Scenario, workdir: Path, stox: Stox | None) -> tuple[bool, list[str], dict]:
    """Runs one scenario; returns (ok, problems, artefacts)."""
    sdir = workdir / sc.name
    sdir.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    peers: list[tuple[Peer, Proc]] = []
    sipps: list[tuple[Sipp, Proc]] = []
    deadline = time.monotonic() + SCENARIO_LIMIT

    def start_sipp(s: Sipp) -> Proc:
        p = Proc(f"sipp-{s.role}", sipp_argv(s, sdir), sdir / f"{s.files}.out", cwd=sdir)
        sipps.append((s, p))
        return p

    def start_peer(peer: Peer) -> Proc:
        safe = peer.label.replace("/", "-")
        p = Proc(peer.label, peer_argv(peer, sdir / f"{safe}.xml", gateway=stox is not None),
                 sdir / f"{safe}.ladder")
        peers.append((peer, p))
        return p

    # Outbound: the trunk (UAS) listens first, then the XMPP caller.
    for s in sc.sipp:
        if s.role == "uas":
            start_sipp(s)
    for uas in (s for s in sc.sipp if s.role == "uas"):
        if not wait_for(lambda: uas.local_port in bound_ports(uas.transport), 5):
            problems.append(f"sipp UAS did not bind {uas.transport}:{uas.local_port}")
    # Inbound: the XMPP callee(s) must be online before the SIP caller dials.
    for peer in sc.peers:
        p = start_peer(peer)
        if "answer" in peer.args and not wait_ready(p, 10):
            problems.append(f"{peer.label} did not come online")
    for s in sc.sipp:
        if s.role == "uac":
            start_sipp(s)

    # Wait for everyone; once a participant has failed, the others get a short
    # grace period and are then stopped (they could only time out).
    everyone = [("peer", peer, p) for peer, p in peers] + [("sipp", s, p) for s, p in sipps]
    failed_at: float | None = None
    while time.monotonic() < deadline:
        running = [e for e in everyone if e[2].poll() is None]
        if not running:
            break
        if failed_at is None:
            for kind, what, p in everyone:
                rc = p.poll()
                if rc is not None and not exit_ok(kind, what, rc):
                    failed_at = time.monotonic()
        elif time.monotonic() - failed_at > FAIL_GRACE:
            break
        time.sleep(0.05)
    for kind, what, p in everyone:
        label = what.label if kind == "peer" else f"sipp {what.scenario}"
        rc = p.poll()
        if rc is None:
            p.stop()
            why = ("stopped after another participant failed" if failed_at is not None
                   else f"still running after {SCENARIO_LIMIT:.0f} s (killed)")
            problems.append(f"{label}: {why}")
            continue
        p.stop()
        if kind == "peer":
            if rc != 0:
                verdict = [l for l in p.text().splitlines() if "  ==  FAIL" in l]
                problems.append(f"{label}: exit {rc}: "
                                + (verdict[-1].split("FAIL", 1)[1].strip() if verdict else "no verdict"))
        elif what.expect == "ok":
            if rc != 0:
                problems.append(f"{label}: exit {rc} (0 = the scenario's messages all arrived)")
        else:  # no-invite
            msgs = sdir / f"{what.files}.msg"
            got_invite = msgs.exists() and any(
                l.startswith("INVITE ") for l in msgs.read_text(errors="replace").splitlines())
            if got_invite:
                problems.append(f"{label}: the trunk received an INVITE (policy should block it)")
            elif rc not in (97, 99):
                problems.append(f"{label}: exit {rc}, expected its timeout with no call (97/99)")
    if stox is not None and not stox.alive():
        problems.append(f"stox died (exit {stox.proc.poll() if stox.proc else '?'})")
    return not problems, problems, {"peers": peers, "sipps": sipps, "dir": sdir}


def report_failure(sc: Scenario, problems: list[str], art: dict, stox_log: str) -> None:
    for p in problems:
        say(f"    - {p}")
    for peer, proc in art["peers"]:
        say(f"  ladder {peer.label} ({' '.join(peer.args)}):")
        lines = proc.text().splitlines()
        ready = [i for i, l in enumerate(lines) if "  ==  ready" in l]
        if ready:  # the log-in stanzas before "ready" stay in the artefacts
            lines = lines[ready[0]:]
        say(indent("\n".join(lines[-60:]), "    | "))
    for s, proc in art["sipps"]:
        err = art["dir"] / f"{s.files}.err"
        say(f"  sipp {s.role} {s.scenario}: errors:")
        say(indent(tail(err.read_text(errors='replace'), 15) if err.exists() else "(none)", "    | "))
        msg = art["dir"] / f"{s.files}.msg"
        if msg.exists():
            firsts = [l for l in msg.read_text(errors="replace").splitlines()
                      if l.startswith(("SIP/2.0 ", "INVITE ", "ACK ", "BYE ", "CANCEL ", "OPTIONS "))]
            say(f"  sipp {s.role} message lines: " + (" | ".join(firsts) or "(none)"))
    if stox_log is not None:
        say("  stox log (this scenario, last 60 lines):")
        say(indent(tail(stox_log, 60), "    | "))
    say(f"  artefacts: {art['dir']}")


def print_ladder(art: dict) -> None:
    """One time-ordered SIP/XMPP ladder of a scenario: the XMPP peers' stanza
    lines and sipp's messages (from its -trace_msg log), the gateway between."""
    events = []
    for peer, proc in art["peers"]:
        lines = proc.text().splitlines()
        ready = [i for i, l in enumerate(lines) if "  ==  ready" in l]
        for line in lines[ready[0] if ready else 0:]:
            m = re.match(r"(\d\d:\d\d:\d\d\.\d{3})  (<-|->)  (\S+)\s*(.*)", line)
            if not m or m.group(3).startswith("presence") or m.group(3).startswith("carbon"):
                continue
            arrow = "stox  --> " if m.group(2) == "<-" else "stox  <-- "
            events.append((m.group(1), f"{'':28}{arrow}{peer.label:<12} {m.group(3)}"))
    for s, _ in art["sipps"]:
        msg = art["dir"] / f"{s.files}.msg"
        if not msg.exists():
            continue
        when, direction = None, None
        for line in msg.read_text(errors="replace").splitlines():
            m = re.match(r"-+ \d{4}-\d\d-\d\d (\d\d:\d\d:\d\d\.\d{3})", line)
            if m:
                when, direction = m.group(1), None
                continue
            if when and direction is None and "message" in line:
                direction = "sent" if " sent" in line else "received"
                continue
            if when and direction and line.strip():
                arrow = " -->  stox" if direction == "sent" else " <--  stox"
                events.append((when, f"sipp {s.role:<4} {line.strip()[:40]:<40}{arrow}"[:80]))
                when = None
    for when, text in sorted(events, key=lambda e: e[0]):
        say(f"    {when}  {text}")


def check_tools() -> None:
    missing = [t for t in ("prosody", "prosodyctl", "sipp") if shutil.which(t) is None]
    if missing:
        die(f"missing {', '.join(missing)}: run interop/setup.sh first")
    if not VENV_PY.exists() or subprocess.run([str(VENV_PY), "-c", "import slixmpp"],
                                              capture_output=True).returncode != 0:
        die(f"{VENV_PY} with slixmpp is missing: run interop/setup.sh first")


def fetch_metrics(workdir: Path) -> None:
    try:
        with urllib.request.urlopen(f"http://{METRICS}/metrics", timeout=2) as r:
            body = r.read().decode(errors="replace")
        (workdir / "metrics.txt").write_text(body)
        say(f"{stamp()} metrics: {len(body.splitlines())} lines saved to {workdir / 'metrics.txt'}")
    except Exception as exc:  # noqa: BLE001 - informational only
        say(f"{stamp()} metrics: not reachable at http://{METRICS}/metrics ({exc})")


def metric(body: str, name: str) -> float:
    """The value of one sample line (`name{labels} value`), 0 when absent."""
    for line in body.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def check_metrics(ran: set[str]) -> tuple[bool, list[str]]:
    """The default gateway's /metrics after its scenarios: counters match what ran."""
    try:
        with urllib.request.urlopen(f"http://{METRICS}/metrics", timeout=2) as r:
            body = r.read().decode(errors="replace")
    except Exception as exc:  # noqa: BLE001
        return False, [f"/metrics not reachable: {exc}"]
    want = [("stox_xmpp_connected", 1, "the component link is up")]
    if "out-answer-hangup-xmpp" in ran:
        want.append(('stox_calls_answered_total{direction="outbound"}', 1, "an outbound call was answered"))
    if "in-answer-hangup-sip" in ran:
        want.append(('stox_calls_answered_total{direction="inbound"}', 1, "an inbound call was answered"))
    if "in-unknown" in ran:
        want.append(('stox_calls_failed_total{direction="inbound",status="404"}', 1, "404 counted"))
    if "out-busy" in ran:
        want.append(('stox_calls_failed_total{direction="outbound",status="486"}', 1, "486 counted"))
    if "out-forbidden" in ran:
        want.append(('stox_calls_failed_total{direction="outbound",status="403"}', 1, "403 counted"))
    problems = [f"{name} < {at_least} ({why}): {metric(body, name)}"
                for name, at_least, why in want if metric(body, name) < at_least]
    if metric(body, "stox_calls_active") != 0:
        problems.append(f"stox_calls_active is {metric(body, 'stox_calls_active')} after every call ended")
    return not problems, problems


def scan_result(workdir: Path) -> tuple[str, bool, float]:
    """SIPVicious from an address that is not a trunk's: svwar must
    find no extension, whatever the method, even with the real DID in its
    dictionary; and the scan must have reached stox (counted as refused)."""
    t0 = time.monotonic()
    before = metric_now('stox_input_refused_total{what="sip-unknown-source"}') + \
        metric_now('stox_input_refused_total{what="sip-rate-limited"}')
    words = workdir / "svwar-dict.txt"
    words.write_text("+15550001000\n15550001000\n5550001000\n1000\n100\nadmin\nbob\n")
    problems = []
    bin_dir = VENV_PY.parent
    for method in ("REGISTER", "INVITE", "OPTIONS"):
        cmd = [str(bin_dir / "sipvicious_svwar"), "-p", str(GATEWAY_SIP_PORT), "-P", str(UAC_PORT),
               "-m", method, "-d", str(words), "-e", "100-200", "127.0.0.1"]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        text = out.stdout + out.stderr
        (workdir / f"svwar-{method}.txt").write_text(text)
        if "5550001000" in text or "| Extension" in text:
            problems.append(f"svwar -m {method} found an extension: {text.strip()[-300:]!r}")
    out = subprocess.run([str(bin_dir / "sipvicious_svmap"), "-p", str(GATEWAY_SIP_PORT),
                          "-P", str(UAC_PORT), "127.0.0.1"], capture_output=True, text=True, timeout=60)
    (workdir / "svmap.txt").write_text(out.stdout + out.stderr)
    after = metric_now('stox_input_refused_total{what="sip-unknown-source"}') + \
        metric_now('stox_input_refused_total{what="sip-rate-limited"}')
    if after <= before:
        problems.append("the scan never reached stox (no refused input counted): the test would prove nothing")
    ok = not problems
    dt = time.monotonic() - t0
    say(f"{'PASS' if ok else 'FAIL'}  {'sipvicious':<24} {dt:5.1f}s")
    for p in problems:
        say(f"    - {p}")
    return ("sipvicious", ok, dt)


def registered_result(kamailio: Kamailio, name_: str) -> tuple[str, bool, float]:
    """stox registers with Kamailio through its 401 digest challenge: the metric says
    registered and Kamailio logged the binding of user stox (over TLS, a Contact
    on stox's TLS listener with transport=tls)."""
    t0 = time.monotonic()
    name = 'stox_trunk_registered{trunk="pbx"}'
    ok = wait_for(lambda: metric_now(name) == 1 and "registered stox:" in kamailio.log_text(), 10)
    problems = []
    if not ok:
        problems.append(f"{name} = {metric_now(name)}; Kamailio log: "
                        f"{tail(kamailio.log_text(), 15)!r}")
    else:
        want = (f"sip:stox@127.0.0.1:{GATEWAY_TLS_PORT};transport=tls" if kamailio.mode == "tls"
                else f"sip:stox@127.0.0.1:{GATEWAY_SIP_PORT}")
        if want not in kamailio.log_text():
            ok = False
            problems.append(f"Kamailio did not store the Contact {want}")
    dt = time.monotonic() - t0
    say(f"{'PASS' if ok else 'FAIL'}  {name_:<24} {dt:5.1f}s")
    for p in problems:
        say(f"    - {p}")
    return (name_, ok, dt)


def metric_now(name: str) -> float:
    try:
        with urllib.request.urlopen(f"http://{METRICS}/metrics", timeout=2) as r:
            return metric(r.read().decode(errors="replace"), name)
    except Exception:  # noqa: BLE001
        return 0.0


def metrics_result(results: list, binary: Path, workdir: Path) -> tuple[str, bool, float]:
    time.sleep(0.5)  # the last call's final events
    ran = {name for name, ok, _ in results if ok}
    ok, problems = check_metrics(ran)
    # `stox status` reads the same endpoint and must say the link is up.
    st = subprocess.run([str(binary), "status", "--config", str(workdir / "stox-default.toml")],
                        capture_output=True, text=True, timeout=10)
    if st.returncode != 0 or "xmpp link: up" not in st.stdout or "calls active: 0" not in st.stdout:
        ok = False
        problems.append(f"stox status: exit {st.returncode}: {st.stdout.strip()!r} {st.stderr.strip()!r}")
    say(f"{'PASS' if ok else 'FAIL'}  {'metrics':<24}   0.0s")
    for p in problems:
        say(f"    - {p}")
    return ("metrics", ok, 0.0)


def run_all(args) -> int:
    check_tools()
    all_sc = scenarios()
    if args.only:
        wanted = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in wanted if n not in {s.name for s in all_sc}]
        if unknown:
            die(f"unknown scenario(s) {unknown}; --list shows the names")
        selected = [s for s in all_sc if s.name in wanted]
    else:
        selected = all_sc
    binary = Path(args.stox or os.environ.get("STOX_BIN") or ROOT / "target" / "release" / "stox")
    if not binary.is_absolute():
        binary = (Path.cwd() / binary).resolve()
    if not os.access(binary, os.X_OK):
        die(f"stox binary not found at {binary} (set STOX_BIN or run cargo build --release)")
    busy = [p for p in (GATEWAY_SIP_PORT, TRUNK_PORT, UAC_PORT)
            if p in bound_ports("udp") or p in bound_ports("tcp")]
    if busy:
        die(f"ports {busy} are already bound by something else")

    workdir = Path(tempfile.mkdtemp(prefix="stox-e2e-"))
    say(f"{stamp()} e2e: {len(selected)} scenario(s), stox {binary}, work dir {workdir}")
    prosody = Prosody(workdir)
    stox = Stox(binary, workdir, prosody)
    kamailio = Kamailio(workdir)
    results: list[tuple[str, bool, float]] = []
    try:
        prosody.start()
        # group by config variant, in the listed order within each group
        order = sorted(selected, key=lambda s: list(VARIANTS).index(s.variant))
        for sc in order:
            t0 = time.monotonic()
            if stox.variant != sc.variant or not stox.alive():
                if stox.variant == "default" and stox.alive():
                    results.append(metrics_result(results, binary, workdir))
                stox.stop()
                why = kamailio.ensure(VARIANTS[sc.variant].get("kamailio"))
                why = why or stox.start(sc.variant)
                if why:
                    dt = time.monotonic() - t0
                    say(f"FAIL  {sc.name:<24} {dt:5.1f}s")
                    say(f"    - {why}")
                    say("  stox log (last 60 lines):")
                    say(indent(tail(stox.log_since(0), 60), "    | "))
                    results.append((sc.name, False, dt))
                    stox.stop()
                    stox.variant = None
                    continue
                t0 = time.monotonic()
            if sc.name == "sipvicious":
                results.append(scan_result(workdir))
                continue
            if sc.name in ("kam-register", "kam-tls-register", "kam-sha256-register"):
                results.append(registered_result(kamailio, sc.name))
                continue
            offset = stox.log_offset()
            ok, problems, art = run_scenario(sc, workdir, stox)
            dt = time.monotonic() - t0
            say(f"{'PASS' if ok else 'FAIL'}  {sc.name:<24} {dt:5.1f}s")
            if not ok:
                report_failure(sc, problems, art, stox.log_since(offset))
            elif args.ladder:
                print_ladder(art)
            elif args.verbose:
                for peer, proc in art["peers"]:
                    say(f"  ladder {peer.label}:")
                    say(indent(proc.text(), "    | "))
            results.append((sc.name, ok, dt))
            time.sleep(0.3)  # let the gateway forget the call before the next one
        if stox.alive():
            fetch_metrics(workdir)
            if stox.variant == "default":
                results.append(metrics_result(results, binary, workdir))
    finally:
        stox.stop()
        kamailio.stop()
        prosody.stop()
    passed = sum(1 for _, ok, _ in results if ok)
    failed = len(results) - passed
    if failed == 0 and not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        say(f"{stamp()} logs kept in {workdir}")
    say(f"e2e: {passed} passed, {failed} failed")
    return 0 if failed == 0 and passed >= len(selected) else 1


# ----------------------------------------------------------------- self-test


def selftest(args) -> int:
    """The harness without the gateway: Prosody, component port, peers calling each other."""
    check_tools()
    workdir = Path(tempfile.mkdtemp(prefix="stox-e2e-selftest-"))
    prosody = Prosody(workdir)
    results = []
    alice = "alice@test/phone"

    def run_pair(name: str, caller: list[str], callees: list[Peer]) -> None:
        sc = Scenario(name, "", callees + [Peer("alice", alice, caller)], [])
        t0 = time.monotonic()
        ok, problems, art = run_scenario(sc, workdir, None)
        dt = time.monotonic() - t0
        say(f"{'PASS' if ok else 'FAIL'}  {name:<34} {dt:5.1f}s")
        if not ok or args.verbose:
            report_failure(sc, problems, art, None)
        results.append(ok)

    try:
        prosody.start()
        # Component port: a XEP-0114 handshake with the right secret is accepted
        # and shows up in the log line e2e.py waits for.
        before = prosody.component_auths()
        comp = subprocess.run([str(VENV_PY), "-c", textwrap.dedent(f"""
            import asyncio
            from slixmpp import ComponentXMPP
            c = ComponentXMPP("{DOMAIN}", "{SECRET}", "127.0.0.1", {COMPONENT_PORT})
            done = asyncio.get_event_loop().create_future()
            c.add_event_handler("session_start", lambda _: done.set_result(True))
            c.connect()
            asyncio.get_event_loop().run_until_complete(asyncio.wait_for(done, 10))
            c.disconnect()
            print("component session started")
            """)], capture_output=True, text=True, timeout=30)
        ok = comp.returncode == 0 and wait_for(lambda: prosody.component_auths() > before, 5)
        say(f"{'PASS' if ok else 'FAIL'}  {'component-handshake':<34} (log line detected: "
            f"{prosody.component_auths() > before})")
        if not ok:
            say(indent(comp.stdout + comp.stderr))
        results.append(ok)
        time.sleep(0.5)

        peer_dom = ["--peer-domain", "test"]
        run_pair("jmi-answer-hangup-by-caller",
                 ["call", "bob@test", "--mode", "jmi", "--hangup-after", "1", "--expect-ringing",
                  "--expect-answered"],
                 [Peer("bob/phone", "bob@test/phone",
                       ["answer", "--mode", "accept", "--delay", "0.5", *peer_dom,
                        "--expect-terminate", "success"])])
        run_pair("jmi-answer-hangup-by-callee",
                 ["call", "bob@test", "--mode", "jmi", "--expect-terminate", "success",
                  "--expect-answered"],
                 [Peer("bob/phone", "bob@test/phone",
                       ["answer", "--mode", "accept", "--delay", "0.5", *peer_dom,
                        "--hangup-after", "1"])])
        run_pair("direct-answer",
                 ["call", "bob@test/phone", "--mode", "direct", "--hangup-after", "0.5",
                  "--expect-ringing", "--expect-answered"],
                 [Peer("bob/phone", "bob@test/phone",
                       ["answer", "--mode", "accept", "--delay", "0.5", *peer_dom,
                        "--expect-terminate", "success"])])
        run_pair("jmi-reject-busy",
                 ["call", "bob@test", "--mode", "jmi", "--expect-reject"],
                 [Peer("bob/phone", "bob@test/phone",
                       ["answer", "--mode", "reject", "--reject-reason", "busy", *peer_dom])])
        run_pair("jmi-retract-two-devices",
                 ["call", "bob@test", "--mode", "jmi", "--cancel-after", "1"],
                 [Peer("bob/phone", "bob@test/phone", ["answer", "--mode", "ignore", *peer_dom,
                                                       "--expect-retract"]),
                  Peer("bob/laptop", "bob@test/laptop", ["answer", "--mode", "ignore", *peer_dom,
                                                         "--expect-retract"])])
        run_pair("direct-cancel",
                 ["call", "bob@test/phone", "--mode", "direct", "--cancel-after", "1",
                  "--expect-ringing"],
                 [Peer("bob/phone", "bob@test/phone", ["answer", "--mode", "ignore", *peer_dom,
                                                       "--expect-terminate", "cancel"])])
        # hold (issue 7): the peer's --hold-after / --unhold-after / --expect-info plumbing
        run_pair("direct-hold",
                 ["--hold-after", "0.5", "--unhold-after", "1", "call", "bob@test/phone",
                  "--mode", "direct", "--hangup-after", "1.5"],
                 [Peer("bob/phone", "bob@test/phone", ["--expect-info", "hold,unhold", "answer",
                                                       "--mode", "accept", *peer_dom,
                                                       "--expect-terminate", "success"])])
        run_pair("gateway-absent-bounces",
                 ["call", OUT_JID, "--mode", "jmi", "--expect-error", "service-unavailable|remote-server-timeout",
                  "--timeout", "5"], [])
        # negative: an expectation that cannot hold must fail the peer (exit 1)
        sc = Scenario("neg", "", [Peer("alice", alice, ["call", "bob@test", "--mode", "jmi",
                                                        "--expect-terminate", "busy", "--timeout", "4"]),
                                  Peer("bob/phone", "bob@test/phone",
                                       ["answer", "--mode", "accept", *peer_dom,
                                        "--expect-terminate", "success", "--timeout", "4"])], [])
        t0 = time.monotonic()
        ok, problems, _ = run_scenario(sc, workdir, None)
        neg_ok = not ok and len(problems) == 2
        say(f"{'PASS' if neg_ok else 'FAIL'}  {'negative-expectation-fails':<34} "
            f"{time.monotonic() - t0:5.1f}s ({'; '.join(problems)})")
        results.append(neg_ok)
    finally:
        prosody.stop()
    passed = sum(results)
    failed = len(results) - passed
    if failed == 0 and not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        say(f"logs kept in {workdir}")
    say(f"selftest: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", help="run only these scenarios (comma-separated names)")
    p.add_argument("--list", action="store_true", help="list the scenarios and what each asserts")
    p.add_argument("--selftest", action="store_true",
                   help="check the harness without the gateway (Prosody, component port, peers)")
    p.add_argument("--stox", help="stox binary (default $STOX_BIN or target/release/stox)")
    p.add_argument("--keep", action="store_true", help="keep the work dir even when all pass")
    p.add_argument("--ladder", action="store_true",
                   help="print one time-ordered SIP/XMPP ladder per passing scenario")
    p.add_argument("-v", "--verbose", action="store_true", help="print the ladders of passing runs too")
    args = p.parse_args()
    if args.list:
        for sc in scenarios():
            sipp = ", ".join(f"{s.scenario}" for s in sc.sipp) or "no sipp"
            say(f"{sc.name}  [{sipp}; config {sc.variant}]")
            say(textwrap.fill(sc.asserts, 96, initial_indent="    ", subsequent_indent="    "))
        return 0
    if args.selftest:
        return selftest(args)
    return run_all(args)


if __name__ == "__main__":
    sys.exit(main())
