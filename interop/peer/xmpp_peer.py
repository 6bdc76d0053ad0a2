#!/usr/bin/env python3
"""Scriptable XMPP peer for the stox interop harness (slixmpp).

Plays an XMPP user the way Conversations places and takes calls: XEP-0353 Jingle
Message Initiation (propose / ringing / proceed / accept / reject / retract /
finish), then XEP-0166 Jingle IQs with an XEP-0167 RTP audio description, an
XEP-0176 ICE-UDP transport and an XEP-0320 DTLS fingerprint.

Every stanza sent or received is printed as one ladder line on stdout:

    HH:MM:SS.mmm  ->  jingle:session-initiate  to=... sid=...
    HH:MM:SS.mmm  <-  jmi:proceed              from=... id=...
    HH:MM:SS.mmm  ==  PASS                     answered, terminate sent and acked

Exit status 0 when the role's expectations hold, 1 otherwise (the reason is the
last ladder line), 2 on a usage error.

Roles:
    xmpp_peer.py --jid alice@test/phone --password alice call TARGET --mode jmi|direct
        [--hangup-after S | --cancel-after S] [--expect-terminate R[|R...]]
        [--expect-reject] [--expect-error COND] [--expect-answered] [--expect-ringing]
        [--expect-dtmf DIGITS] [--send-dtmf DIGITS [--dtmf-after S] [--dtmf-duration MS]]
    xmpp_peer.py --jid bob@test/phone --password bob answer --mode accept|reject|ignore
        [--delay S] [--reject-reason busy|decline] [--hangup-after S]
        [--expect-terminate R] [--expect-finish] [--expect-retract]
    --add-video-after S [--expect-content-add accept|reject] [--remove-video-after S] (before
        the role): content-add of a VP8 video content 'video' S s after the answer, the answer
        (content-accept / content-reject) asserted; content-remove of it later (issue 7);
        --expect-content-remove NAME: the SIP side's removal arrives as content-remove
    --hangup-on-usr1 (before the role): once answered, stay in the call until SIGUSR1, then
        send session-terminate <success/> (interop/cluster.py hangs up after the adoption)
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import logging
import secrets
import signal
import sys
import xml.etree.ElementTree as ET

from slixmpp import ClientXMPP, JID
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

NS_CLIENT = "jabber:client"
NS_JINGLE = "urn:xmpp:jingle:1"
NS_RTP = "urn:xmpp:jingle:apps:rtp:1"
NS_RTP_INFO = "urn:xmpp:jingle:apps:rtp:info:1"
NS_DTMF = "urn:xmpp:jingle:dtmf:0"
NS_RAW_UDP = "urn:xmpp:jingle:transports:raw-udp:1"
NS_ICE = "urn:xmpp:jingle:transports:ice-udp:1"
NS_DTLS = "urn:xmpp:jingle:apps:dtls:0"
NS_JMI = "urn:xmpp:jingle-message:0"
NS_HINTS = "urn:xmpp:hints"
NS_CARBONS = "urn:xmpp:carbons:2"
NS_FORWARD = "urn:xmpp:forward:0"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"

JMI_ACTIONS = ("propose", "ringing", "proceed", "accept", "reject", "retract", "finish")


def q(ns: str, tag: str) -> str:
    return "{%s}%s" % (ns, tag)


# ---------------------------------------------------------------- ladder output

_xml_log = None


def now() -> str:
    return datetime.datetime.now().strftime("%H:%M:%S.%f")[:-3]


def ladder(direction: str, kind: str, summary: str = "") -> None:
    print(f"{now()}  {direction}  {kind:<28} {summary}".rstrip(), flush=True)


def reason_of(parent: ET.Element | None) -> str | None:
    """Name of the condition inside a Jingle <reason/> under parent."""
    if parent is None:
        return None
    reason = parent.find(q(NS_JINGLE, "reason"))
    if reason is None:
        return None
    for child in reason:
        if child.tag != q(NS_JINGLE, "text"):
            return child.tag.split("}", 1)[-1]
    return ""


def codecs_of(content: ET.Element) -> str:
    desc = content.find(q(NS_RTP, "description"))
    if desc is None:
        return "no-description"
    pts = [
        "%s/%s" % (pt.get("name") or "?", pt.get("id"))
        for pt in desc.findall(q(NS_RTP, "payload-type"))
    ]
    return ",".join(pts) or "no-payload-types"


def describe(xml: ET.Element) -> tuple[str, str]:
    """(kind, summary) for a message / iq / presence element."""
    tag = xml.tag.split("}", 1)[-1]
    attrs = []
    for key in ("from", "to", "type", "id"):
        if xml.get(key):
            attrs.append(f"{key}={xml.get(key)}")
    if tag == "message":
        carbon = None
        for wrap in ("received", "sent"):
            el = xml.find(q(NS_CARBONS, wrap))
            if el is not None:
                inner = el.find(f"{q(NS_FORWARD, 'forwarded')}/{q(NS_CLIENT, 'message')}")
                if inner is not None:
                    kind, summary = describe(inner)
                    return f"carbon-{wrap}:{kind}", summary
                carbon = wrap
        for child in xml:
            if child.tag.startswith("{%s}" % NS_JMI):
                action = child.tag.split("}", 1)[1]
                extra = [f"sid={child.get('id')}"]
                r = reason_of(child)
                if r is not None:
                    extra.append(f"reason={r}")
                desc = child.find(q(NS_RTP, "description"))
                if desc is not None:
                    extra.append(f"media={desc.get('media')}")
                return f"jmi:{action}", " ".join(attrs + extra)
        if carbon:
            return f"carbon-{carbon}", " ".join(attrs)
        err = error_condition(xml)
        if err:
            return "message:error", " ".join(attrs + [f"condition={err}"])
        return "message", " ".join(attrs)
    if tag == "iq":
        jingle = xml.find(q(NS_JINGLE, "jingle"))
        if jingle is not None:
            action = jingle.get("action", "?")
            extra = [f"sid={jingle.get('sid')}"]
            if action == "session-info":
                info = [c.tag.split("}", 1)[-1] for c in jingle]
                action = "session-info(%s)" % ",".join(info)
            r = reason_of(jingle)
            if r is not None:
                extra.append(f"reason={r}")
            for content in jingle.findall(q(NS_JINGLE, "content")):
                extra.append(f"content={content.get('name')}:{codecs_of(content)}")
            return f"jingle:{action}", " ".join(attrs + extra)
        if xml.get("type") == "error":
            return "iq:error", " ".join(attrs + [f"condition={error_condition(xml)}"])
        payload = [c.tag for c in xml]
        return f"iq:{xml.get('type')}", " ".join(attrs + payload)
    if tag == "presence":
        return "presence", " ".join(attrs)
    return f"stream:{tag}", ""


def error_condition(xml: ET.Element) -> str | None:
    err = xml.find(q(NS_CLIENT, "error"))
    if err is None:
        return None
    for child in err:
        if child.tag.startswith("{%s}" % NS_STANZAS) and not child.tag.endswith("}text"):
            return child.tag.split("}", 1)[1]
    return "unknown"


# ---------------------------------------------------------------- stanza builders


def jmi_element(action: str, sid: str, reason: str | None = None, media: bool = False) -> ET.Element:
    el = ET.Element(q(NS_JMI, action), {"id": sid})
    if media:
        ET.SubElement(el, q(NS_RTP, "description"), {"media": "audio"})
    if reason:
        r = ET.SubElement(el, q(NS_JINGLE, "reason"))
        ET.SubElement(r, q(NS_JINGLE, reason))
    return el


def fingerprint() -> str:
    return ":".join("%02X" % b for b in secrets.token_bytes(32))


def transport_element(setup: str) -> ET.Element:
    tr = ET.Element(
        q(NS_ICE, "transport"),
        {"ufrag": secrets.token_hex(4), "pwd": secrets.token_hex(12)},
    )
    fp = ET.SubElement(tr, q(NS_DTLS, "fingerprint"), {"hash": "sha-256", "setup": setup})
    fp.text = fingerprint()
    port = 40000 + secrets.randbelow(20000) // 2 * 2
    ET.SubElement(
        tr,
        q(NS_ICE, "candidate"),
        {
            "component": "1",
            "foundation": "1",
            "generation": "0",
            "id": secrets.token_hex(5),
            "ip": "127.0.0.1",
            "network": "0",
            "port": str(port),
            "priority": "2113937151",
            "protocol": "udp",
            "type": "host",
        },
    )
    return tr


def payload(desc: ET.Element, pt: str, name: str, rate: str, channels: str | None = None,
            params: dict[str, str] | None = None) -> None:
    attrs = {"id": pt, "name": name, "clockrate": rate}
    if channels:
        attrs["channels"] = channels
    el = ET.SubElement(desc, q(NS_RTP, "payload-type"), attrs)
    for k, v in (params or {}).items():
        ET.SubElement(el, q(NS_RTP, "parameter"), {"name": k, "value": v})


def offer_content(name: str) -> ET.Element:
    content = ET.Element(
        q(NS_JINGLE, "content"), {"creator": "initiator", "name": name, "senders": "both"}
    )
    desc = ET.SubElement(content, q(NS_RTP, "description"), {"media": "audio"})
    payload(desc, "111", "opus", "48000", "2", {"minptime": "10", "useinbandfec": "1"})
    payload(desc, "0", "PCMU", "8000")
    payload(desc, "126", "telephone-event", "8000")
    ET.SubElement(desc, q(NS_RTP, "rtcp-mux"))
    content.append(transport_element("actpass"))
    return content


def video_content(name: str, creator: str) -> ET.Element:
    """content-add (issue 7): a VP8 video content with an ICE-UDP transport, built as
    `offer_content` builds the audio one."""
    content = ET.Element(q(NS_JINGLE, "content"), {"creator": creator, "name": name, "senders": "both"})
    desc = ET.SubElement(content, q(NS_RTP, "description"), {"media": "video"})
    payload(desc, "96", "VP8", "90000")
    ET.SubElement(desc, q(NS_RTP, "rtcp-mux"))
    content.append(transport_element("actpass"))
    return content


def answer_content(offer: ET.Element) -> ET.Element:
    """A session-accept content matching an offered content: PCMU + telephone-event."""
    content = ET.Element(
        q(NS_JINGLE, "content"),
        {
            "creator": offer.get("creator", "initiator"),
            "name": offer.get("name", "audio"),
            "senders": offer.get("senders", "both"),
        },
    )
    odesc = offer.find(q(NS_RTP, "description"))
    desc = ET.SubElement(content, q(NS_RTP, "description"), {"media": "audio"})
    te_pt = "101"
    if odesc is not None:
        for pt in odesc.findall(q(NS_RTP, "payload-type")):
            if (pt.get("name") or "").lower() == "telephone-event" and pt.get("clockrate") in (None, "8000"):
                te_pt = pt.get("id") or te_pt
    payload(desc, "0", "PCMU", "8000")
    payload(desc, te_pt, "telephone-event", "8000", params={"events": "0-15"})
    if odesc is not None and odesc.find(q(NS_RTP, "rtcp-mux")) is not None:
        ET.SubElement(desc, q(NS_RTP, "rtcp-mux"))
    content.append(transport_element("active"))
    return content


def jingle_element(action: str, sid: str, **attrs: str) -> ET.Element:
    return ET.Element(q(NS_JINGLE, "jingle"), {"action": action, "sid": sid, **attrs})


def reason_element(condition: str) -> ET.Element:
    r = ET.Element(q(NS_JINGLE, "reason"))
    ET.SubElement(r, q(NS_JINGLE, condition))
    return r


# ---------------------------------------------------------------- the peer



def has_transport(content: ET.Element) -> bool:
    """ICE-UDP, or raw UDP: in signalling-only passthrough a plain-RTP SIP
    peer's c=/m= becomes an XEP-0177 raw-udp transport (the media anchor of
    issue 6 will offer ICE instead)."""
    return (
        content.find(q(NS_ICE, "transport")) is not None
        or content.find(q(NS_RAW_UDP, "transport")) is not None
    )

def trickle_jingle(sid: str, initiator: str, content_name: str, creds: dict[str, str], where: str,
                   generation: str = "0", complete: bool = False) -> ET.Element:
    """trickle ICE (issue 7): a transport-info with one srflx candidate at
    `where` (ip:port), as a client whose STUN/TURN answer came late."""
    ip, port = where.rsplit(":", 1)
    j = jingle_element("transport-info", sid, initiator=initiator)
    content = ET.SubElement(j, q(NS_JINGLE, "content"), {"creator": "initiator", "name": content_name})
    tr = ET.SubElement(content, q(NS_ICE, "transport"), creds)
    ET.SubElement(tr, q(NS_ICE, "candidate"), {
        "component": "1", "foundation": "2", "generation": generation,
        "id": secrets.token_hex(5), "ip": ip, "port": port, "priority": "1694498815",
        "protocol": "udp", "type": "srflx", "rel-addr": "127.0.0.1", "rel-port": port})
    if complete:
        ET.SubElement(tr, "{urn:xmpp:jingle:transports:ice:0}gathering-complete")
    return j


class Done(Exception):
    pass


def setup_call_client(client: ClientXMPP, *plugins: str) -> None:
    """What every test user here shares: plain auth on the loopback rig, disco
    features of a Jingle RTP + JMI client, ladder logging, and the JMI/Jingle
    handlers (`_log_in`, `_log_out`, `_on_message`, `_on_jingle`,
    `_session_start` of `client`)."""
    client.enable_plaintext = True
    client.enable_starttls = False
    client.enable_direct_tls = False
    client.plugin["feature_mechanisms"].unencrypted_plain = True
    client.plugin["feature_mechanisms"].unencrypted_scram = True
    for plugin in ("xep_0030", "xep_0199", *plugins):
        client.register_plugin(plugin)
    for feature in (NS_JINGLE, NS_RTP, "urn:xmpp:jingle:apps:rtp:audio", NS_ICE, NS_DTLS,
                    NS_JMI, NS_RTP_INFO):
        client.plugin["xep_0030"].add_feature(feature)
    client.add_filter("in", client._log_in)
    client.add_filter("out", client._log_out)
    client.register_handler(Callback("jmi", MatchXPath(q(NS_CLIENT, "message")), client._on_message))
    client.register_handler(Callback(
        "jingle", MatchXPath("%s/%s" % (q(NS_CLIENT, "iq"), q(NS_JINGLE, "jingle"))),
        client._on_jingle))
    client.add_event_handler("session_start", client._session_start)


class Peer(ClientXMPP):
    def __init__(self, args: argparse.Namespace):
        super().__init__(args.jid, args.password)
        self.args = args
        setup_call_client(self, "xep_0280", "xep_0115")
        self.add_event_handler("failed_auth", lambda *_: self.finish(False, "authentication failed"))
        self.add_event_handler("disconnected", self._disconnected)
        self.outcome: asyncio.Future = asyncio.get_event_loop().create_future()
        # call state
        self.sid: str | None = None
        self.peer_jid: JID | None = None
        self.events: list[str] = []
        self.initiated = False
        self.answered = False
        self.ringing = False
        self.dtmf: list[str] = []  # XEP-0181 digits received in session-info
        # trickle ICE (issue 7): candidates received in transport-info, as "ip:port"
        self.trickled_in: list[str] = []
        self.remote_ufrag: str | None = None  # the SIP side's, from session-accept
        self.restarted = False  # an ICE restart from SIP was answered
        self.infos: list[str] = []  # hold: XEP-0167 hold/active/unhold/mute… received
        # content-add / content-remove (issue 7): content names per action received
        self.content_actions: dict[str, list[str]] = {}
        self.ended = False
        self.offer: ET.Element | None = None  # inbound session-initiate <jingle/>
        self.tasks: list[asyncio.Task] = []

    # -- plumbing

    def _log_in(self, stanza):
        kind, summary = describe(stanza.xml)
        if not kind.startswith("stream:"):
            ladder("<-", kind, summary)
            if _xml_log:
                _xml_log.write(f"{now()} <-\n{stanza}\n")
                _xml_log.flush()
        return stanza

    def _log_out(self, stanza):
        kind, summary = describe(stanza.xml)
        if not kind.startswith("stream:"):
            ladder("->", kind, summary)
            if _xml_log:
                _xml_log.write(f"{now()} ->\n{stanza}\n")
                _xml_log.flush()
        return stanza

    def note(self, what: str, summary: str = "") -> None:
        ladder("==", what, summary)

    def finish(self, ok: bool, reason: str) -> None:
        if not self.outcome.done():
            self.outcome.set_result((ok, reason))

    def _disconnected(self, *_):
        self.finish(False, "disconnected from the server")

    def later(self, delay: float, coro_fn) -> None:
        async def run():
            await asyncio.sleep(delay)
            try:
                await coro_fn()
            except Exception as exc:  # noqa: BLE001 - report every failure as a FAIL
                self.finish(False, f"{type(exc).__name__}: {exc}")
        self.tasks.append(asyncio.ensure_future(run()))

    def spawn(self, coro) -> None:
        async def run():
            try:
                await coro
            except Exception as exc:  # noqa: BLE001
                self.finish(False, f"{type(exc).__name__}: {exc}")
        self.tasks.append(asyncio.ensure_future(run()))

    def send_jmi(self, to, action: str, reason: str | None = None, media: bool = False) -> None:
        msg = self.make_message(mto=to, mtype="chat")
        msg["id"] = f"jm-{action}-{self.sid}"
        msg.append(jmi_element(action, self.sid, reason, media))
        msg.append(ET.Element(q(NS_HINTS, "store")))
        msg.send()

    async def send_jingle(self, to, jingle: ET.Element, what: str) -> bool:
        iq = self.make_iq_set(ito=to)
        iq.append(jingle)
        try:
            await iq.send(timeout=self.args.iq_timeout)
            return True
        except IqError as e:
            cond = e.iq["error"]["condition"]
            self.events.append(f"iq-error:{cond}")
            self.note("iq-error", f"{what} answered with error {cond}")
            self.on_iq_error(what, cond)
            return False
        except IqTimeout:
            self.finish(False, f"no answer to {what} within {self.args.iq_timeout}s")
            return False

    def on_iq_error(self, what: str, cond: str) -> None:
        self.finish(False, f"{what} answered with IQ error {cond}")

    async def _session_start(self, _event):
        self.send_presence(ppriority=0)
        if self.args.carbons:
            try:
                await self.plugin["xep_0280"].enable(timeout=5)
            except (IqError, IqTimeout) as exc:
                self.note("carbons", f"enable failed: {exc}")
        await asyncio.sleep(0.2)  # let the server register the presence
        self.note("ready", f"{self.boundjid.full} online")
        await self.start_role()

    async def start_role(self) -> None:
        raise NotImplementedError

    def _on_message(self, msg) -> None:
        xml = msg.xml
        if msg["type"] == "error":
            # Servers bounce with or without the original payload: match by id too.
            if self.sid and (msg["id"] == f"jm-propose-{self.sid}"
                             or xml.find(".//" + q(NS_JMI, "propose")) is not None):
                self.on_message_error(error_condition(xml) or "unknown")
            return
        for child in xml:
            if child.tag.startswith("{%s}" % NS_JMI):
                self.on_jmi(msg["from"], child.tag.split("}", 1)[1], child)

    def on_message_error(self, cond: str) -> None:
        self.finish(False, f"message bounced with {cond}")

    def _on_jingle(self, iq) -> None:
        if iq["type"] != "set":
            return
        jingle = iq.xml.find(q(NS_JINGLE, "jingle"))
        sid = jingle.get("sid")
        action = jingle.get("action")
        if self.sid is not None and sid != self.sid and action != "session-initiate":
            err = iq.reply(clear=True)
            err["type"] = "error"
            err["error"]["type"] = "cancel"
            err["error"]["condition"] = "item-not-found"
            err.send()
            self.note("unknown-sid", f"{action} for sid {sid}")
            return
        if action in ("content-accept", "content-reject", "content-add", "content-remove"):
            names = [c.get("name") for c in jingle.findall(q(NS_JINGLE, "content"))]
            self.content_actions.setdefault(action, []).extend(names)
            # XEP-0166 §7.2: creator and name identify a content; 'video' is ours
            mine = "initiator" if isinstance(self, Caller) else "responder"
            for c in jingle.findall(q(NS_JINGLE, "content")):
                if c.get("name") == "video" and action != "content-add" and c.get("creator") != mine:
                    self.finish(False, f"{action} names content video with creator "
                                       f"{c.get('creator')!r}, but we ({mine}) created it")
            if action == "content-accept":
                for c in jingle.findall(q(NS_JINGLE, "content")):
                    if c.find(f"{q(NS_RTP, 'description')}/{q(NS_RTP, 'payload-type')}") is None \
                            or not has_transport(c):
                        self.finish(False, f"content-accept of {c.get('name')} without a payload-type "
                                           "or a transport")
        self.on_jingle(iq, action, jingle)

    def on_jingle(self, iq, action: str, jingle: ET.Element) -> None:
        raise NotImplementedError

    def ack(self, iq) -> None:
        iq.reply(clear=True).send()

    def check_terminate(self, reason: str | None) -> None:
        expected = self.args.expect_terminate
        if expected is None:
            return
        allowed = [r.strip() for r in expected.replace(",", "|").split("|") if r.strip()]
        if reason in allowed:
            self.finish(True, f"session-terminate with reason {reason}")
        else:
            self.finish(False, f"session-terminate reason {reason!r}, expected {'|'.join(allowed)}")

    # -- hold (issue 7): --hold-after / --unhold-after / --expect-info

    def note_info(self, jingle: ET.Element) -> None:
        """Records XEP-0167 informational payloads other than ringing."""
        for child in jingle:
            if child.tag.startswith("{%s}" % NS_RTP_INFO) and not child.tag.endswith("}ringing"):
                self.infos.append(child.tag.split("}", 1)[1])

    def schedule_hold(self) -> None:
        """After the answer: session-info <hold/> and <unhold/> at the given times."""
        a = self.args
        for delay, payload in ((a.hold_after, "hold"), (a.unhold_after, "unhold")):
            if delay is not None:
                self.later(delay, lambda p=payload: self.send_info(p))
        if a.add_video_after is not None:
            self.later(a.add_video_after, self.content_add)
        if a.remove_video_after is not None:
            self.later(a.remove_video_after, self.content_remove)

    async def content_add(self) -> None:
        """content-add (issue 7): a video content named "video"."""
        if self.ended:
            self.finish(False, "the call ended before the content-add was sent")
            return
        caller = isinstance(self, Caller)
        initiator = self.boundjid.full if caller else (
            self.offer.get("initiator") if self.offer is not None else str(self.peer_jid))
        j = jingle_element("content-add", self.sid, initiator=initiator)
        j.append(video_content("video", "initiator" if caller else "responder"))
        await self.send_jingle(self.peer_jid, j, "content-add(video)")

    async def content_remove(self) -> None:
        """content-remove (issue 7) of the content "video"."""
        if self.ended:
            self.finish(False, "the call ended before the content-remove was sent")
            return
        if "video" not in self.content_actions.get("content-accept", []):
            self.finish(False, "content-remove due, but the video content was never accepted")
            return
        caller = isinstance(self, Caller)
        j = jingle_element("content-remove", self.sid)
        ET.SubElement(j, q(NS_JINGLE, "content"),
                      {"creator": "initiator" if caller else "responder", "name": "video"})
        if await self.send_jingle(self.peer_jid, j, "content-remove(video)"):
            self.events.append("content-removed:video")

    async def send_info(self, payload: str) -> None:
        if self.ended:
            self.finish(False, f"the call ended before <{payload}/> was sent")
            return
        j = jingle_element("session-info", self.sid)
        ET.SubElement(j, q(NS_RTP_INFO, payload))
        await self.send_jingle(self.peer_jid, j, f"session-info({payload})")

    def hold_checks(self, ok: bool, reason: str) -> tuple[bool, str]:
        want = self.args.expect_info
        if ok and want is not None and self.infos != [w for w in want.split(",") if w]:
            return False, reason + f"; session-info {','.join(self.infos) or 'none'} received, {want} expected"
        want = self.args.expect_content_add
        if ok and want is not None:
            accepted = "video" in self.content_actions.get("content-accept", [])
            rejected = "video" in self.content_actions.get("content-reject", [])
            if (want == "accept") != accepted or (want == "reject") != rejected:
                return False, reason + (f"; content-add of video: accept={accepted} reject={rejected}, "
                                        f"{want} expected")
        want = self.args.expect_content_remove
        if ok and want is not None and self.content_actions.get("content-remove", []) != [want]:
            return False, reason + (f"; content-remove for {self.content_actions.get('content-remove', [])} "
                                    f"received, [{want!r}] expected")
        if ok and self.args.remove_video_after is not None and "content-removed:video" not in self.events:
            return False, reason + "; the content-remove of video was never acked"
        return ok, reason


class Caller(Peer):
    async def start_role(self) -> None:
        a = self.args
        self.sid = a.sid or secrets.token_hex(8)
        target = JID(a.target)
        if a.mode == "jmi":
            self.send_jmi(target.bare, "propose", media=True)
            if a.cancel_after is not None:
                async def retract():
                    if not self.initiated and not self.ended:
                        self.ended = True
                        self.send_jmi(target.bare, "retract", reason="cancel")
                        self.note("retracted", "cancelled before proceed")
                        self.finish(True, "retracted before proceed")
                self.later(a.cancel_after, retract)
        else:
            self.peer_jid = target
            self.spawn(self.initiate())

    def on_jmi(self, frm: JID, action: str, el: ET.Element) -> None:
        if el.get("id") != self.sid:
            return
        a = self.args
        self.events.append(f"jmi:{action}")
        if action == "ringing":
            self.ringing = True
        elif action == "proceed":
            if self.peer_jid is not None:
                self.note("ignored", f"second proceed from {frm}")
                return
            if not frm.resource:
                self.finish(False, f"proceed from a bare JID {frm}")
                return
            if a.expect_resource and frm.resource != a.expect_resource:
                self.finish(False, f"proceed from {frm}, expected resource {a.expect_resource}")
                return
            self.peer_jid = frm
            self.spawn(self.initiate())
        elif action == "reject":
            self.ended = True
            r = reason_of(el)
            if a.expect_reject:
                self.finish(True, f"JMI reject (reason {r})")
            else:
                self.finish(False, f"unexpected JMI reject (reason {r})")
        elif action in ("retract", "finish"):
            self.note("jmi", f"{action} from {frm}")

    def on_message_error(self, cond: str) -> None:
        self.ended = True
        if self.args.expect_reject and self.error_matches(cond):
            self.finish(True, f"propose bounced with error {cond}")
        else:
            self.finish(False, f"propose bounced with error {cond}")

    def error_matches(self, cond: str) -> bool:
        if not self.args.expect_error:
            return True
        return cond in [c.strip() for c in self.args.expect_error.replace(",", "|").split("|")]

    async def initiate(self) -> None:
        a = self.args
        j = jingle_element("session-initiate", self.sid, initiator=self.boundjid.full)
        j.append(offer_content(a.content_name))
        self.offer = j  # trickle ICE (issue 7): later transport-infos reuse its credentials
        self.initiated = True
        # early media (issue 7): when the session-initiate left, for --expect-accept-within
        self.initiated_at = asyncio.get_running_loop().time()
        if a.cancel_after is not None:
            self.later(a.cancel_after, self.cancel)
        ok = await self.send_jingle(self.peer_jid, j, "session-initiate")
        if ok and a.expect_reject:
            self.note("initiated", "session-initiate acked; still waiting for a reject")

    def on_iq_error(self, what: str, cond: str) -> None:
        a = self.args
        if what == "session-initiate" and a.expect_reject:
            self.ended = True
            if self.error_matches(cond):
                self.finish(True, f"session-initiate refused with {cond}")
            else:
                self.finish(False, f"session-initiate refused with {cond}, expected {a.expect_error}")
            return
        self.finish(False, f"{what} answered with IQ error {cond}")

    async def trickle_candidate(self, where: str, restart: bool = False) -> None:
        """trickle ICE (issue 7): one more candidate at `where` (ip:port) after
        the answer, with the offer's credentials, as a client whose TURN
        allocation came late; or, answering an ICE restart, new credentials
        (ufrag rst1), generation 1 and end-of-candidates."""
        if self.ended:
            return
        offered = self.offer.find(q(NS_JINGLE, "content"))
        otr = offered.find(q(NS_ICE, "transport"))
        creds = ({"ufrag": "rst1", "pwd": secrets.token_hex(12)} if restart
                 else {"ufrag": otr.get("ufrag"), "pwd": otr.get("pwd")})
        j = trickle_jingle(self.sid, self.boundjid.full, offered.get("name"), creds, where,
                           generation="1" if restart else "0", complete=restart)
        await self.send_jingle(self.peer_jid, j, "transport-info")
    # --- issue 7 DTMF (--send-dtmf): one XEP-0181 session-info per digit, each
    # waiting for its IQ result (an IQ error fails the peer)
    async def send_dtmf(self) -> None:
        for code in self.args.send_dtmf:
            if self.ended:
                self.finish(False, "the call ended before every --send-dtmf digit was sent")
                return
            j = jingle_element("session-info", self.sid)
            d = ET.SubElement(j, q(NS_DTMF, "dtmf"))
            d.set("code", code)
            d.set("duration", str(self.args.dtmf_duration))
            if not await self.send_jingle(self.peer_jid, j, f"session-info(dtmf {code})"):
                return
            self.events.append(f"dtmf-sent:{code}")
            await asyncio.sleep(self.args.dtmf_gap)

    async def cancel(self) -> None:
        if self.ended:
            return
        if self.answered:
            self.finish(False, "call was answered before --cancel-after fired")
            return
        self.ended = True
        j = jingle_element("session-terminate", self.sid)
        j.append(reason_element("cancel"))
        if await self.send_jingle(self.peer_jid, j, "session-terminate(cancel)"):
            self.finish(True, "cancelled before answer; terminate acked")

    async def hangup(self) -> None:
        if self.ended:
            self.finish(False, "the call ended before --hangup-after fired")
            return
        self.ended = True
        j = jingle_element("session-terminate", self.sid)
        j.append(reason_element("success"))
        if await self.send_jingle(self.peer_jid, j, "session-terminate(success)"):
            self.finish(True, "answered; hung up; terminate acked")

    def on_jingle(self, iq, action: str, jingle: ET.Element) -> None:
        a = self.args
        if jingle.get("sid") != self.sid:
            err = iq.reply(clear=True)
            err["type"] = "error"
            err["error"]["condition"] = "item-not-found"
            err.send()
            return
        self.ack(iq)
        self.events.append(f"jingle:{action}")
        if action == "session-info":
            if jingle.find(q(NS_RTP_INFO, "ringing")) is not None:
                self.ringing = True
            for d in jingle.findall(q(NS_DTMF, "dtmf")):
                self.dtmf.append(d.get("code", "?"))
            self.note_info(jingle)
        elif action == "session-accept":
            contents = jingle.findall(q(NS_JINGLE, "content"))
            if not contents or all(
                c.find(f"{q(NS_RTP, 'description')}/{q(NS_RTP, 'payload-type')}") is None
                for c in contents
            ):
                self.finish(False, "session-accept without an RTP payload-type")
                return
            if all(not has_transport(c) for c in contents):
                self.finish(False, "session-accept without an ICE-UDP or raw-UDP transport")
                return
            self.answered = True
            # early media (issue 7): seconds from session-initiate to session-accept
            if getattr(self, "initiated_at", None) is not None and not hasattr(self, "accept_delay"):
                self.accept_delay = asyncio.get_running_loop().time() - self.initiated_at
            tr = jingle.find(f"{q(NS_JINGLE, 'content')}/{q(NS_ICE, 'transport')}")
            self.remote_ufrag = tr.get("ufrag") if tr is not None else None  # trickle ICE (issue 7)
            if a.trickle_after_answer:  # trickle ICE (issue 7)
                self.later(1.5, lambda: self.trickle_candidate(a.trickle_after_answer))
            # issue 7 DTMF: type digits into the answered call (--send-dtmf)
            if a.send_dtmf:
                self.later(a.dtmf_after, self.send_dtmf)
            if getattr(a, "transfer_to", None):  # issue 7: XEP-0050 transfer
                self.later(0.5, self.transfer)
            self.schedule_hold()
            if a.expect_reject:
                self.finish(False, "answered, but a reject was expected")
            elif a.cancel_after is not None:
                self.finish(False, "answered before --cancel-after fired")
            elif a.hangup_after is not None:
                self.later(a.hangup_after, self.hangup)
            elif a.expect_terminate is None:
                self.finish(True, "answered")
        elif action == "transport-info":  # trickle ICE (issue 7)
            for c in jingle.iter(q(NS_ICE, "candidate")):
                self.trickled_in.append(f"{c.get('ip')}:{c.get('port')}")
            tr = jingle.find(f"{q(NS_JINGLE, 'content')}/{q(NS_ICE, 'transport')}")
            if a.answer_ice_restart and tr is not None and self.remote_ufrag is not None \
                    and tr.get("ufrag") != self.remote_ufrag:
                # the SIP side restarted ICE: its candidates must be a new generation
                gens = {c.get("generation") for c in tr.findall(q(NS_ICE, "candidate"))}
                if gens != {"1"}:
                    self.finish(False, f"ICE restart transport-info with generation(s) {gens}, expected 1")
                    return
                self.remote_ufrag = tr.get("ufrag")
                self.restarted = True
                self.spawn(self.trickle_candidate(a.answer_ice_restart, restart=True))
        elif action == "session-terminate":
            self.ended = True
            r = reason_of(jingle)
            if a.expect_terminate is not None:
                if a.expect_answered and not self.answered:
                    self.finish(False, f"terminated ({r}) without having been answered")
                else:
                    self.check_terminate(r)
            elif a.expect_reject:
                self.finish(False, f"session-terminate ({r}) instead of a reject")
            else:
                self.finish(False, f"unexpected session-terminate (reason {r})")

    # -- issue 7, blind transfer asked from XMPP (XEP-0050 command "transfer")

    async def transfer(self) -> None:
        ns, xd = "http://jabber.org/protocol/commands", "jabber:x:data"
        iq = self.make_iq_set(ito=self.peer_jid)
        iq.append(ET.Element(q(ns, "command"), node="transfer", action="execute"))
        reply = await iq.send(timeout=self.args.iq_timeout)
        cmd = reply.xml.find(q(ns, "command"))
        fields = [] if cmd is None else cmd.findall(f"{q(xd, 'x')}/{q(xd, 'field')}")
        if cmd is None or cmd.get("status") != "executing" or not any(
                f.get("var") == "target" for f in fields):
            self.finish(False, "transfer command: no form with a target field")
            return
        self.note("transfer", "form received; submitting " + self.args.transfer_to)
        iq = self.make_iq_set(ito=self.peer_jid)
        submit = ET.Element(q(ns, "command"), node="transfer", action="complete",
                            sessionid=cmd.get("sessionid", ""))
        x = ET.SubElement(submit, q(xd, "x"), type="submit")
        field = ET.SubElement(x, q(xd, "field"), var="target")
        ET.SubElement(field, q(xd, "value")).text = self.args.transfer_to
        iq.append(submit)
        reply = await iq.send(timeout=self.args.iq_timeout)
        cmd = reply.xml.find(q(ns, "command"))
        if cmd is None or cmd.get("status") != "completed":
            self.finish(False, "transfer command: not completed")
            return
        self.transferred = True
        self.note("transfer", "completed: " + (cmd.findtext(q(ns, "note")) or ""))

    def final_checks(self, ok: bool, reason: str) -> tuple[bool, str]:
        a = self.args
        if ok and getattr(a, "transfer_to", None) and not getattr(self, "transferred", False):
            return False, reason + "; but the transfer command never completed"
        if ok and a.expect_ringing and not self.ringing:
            return False, reason + "; but no ringing (session-info or JMI) was received"
        if ok and a.expect_answered and not self.answered:
            return False, reason + "; but the call was never answered"
        if ok and a.expect_dtmf is not None and "".join(self.dtmf) != a.expect_dtmf:
            return False, reason + f"; DTMF {''.join(self.dtmf)!r} received, {a.expect_dtmf!r} expected"
        # early media (issue 7): the session-accept came at the 183, before the far end's 200
        within = getattr(a, "expect_accept_within", None)
        if ok and within is not None:
            delay = getattr(self, "accept_delay", None)
            if delay is None or delay > within:
                return False, reason + f"; session-accept {delay} s after session-initiate, expected <= {within} s"
        if ok and a.answer_ice_restart and not self.restarted:
            return False, reason + "; no ICE restart transport-info arrived"
        if ok and a.expect_transport_info and a.expect_transport_info not in self.trickled_in:
            return False, reason + (f"; no transport-info with candidate {a.expect_transport_info} "
                                    f"(got {self.trickled_in})")
        return ok, reason


class Answerer(Peer):
    async def start_role(self) -> None:
        pass  # wait for a propose or a session-initiate

    def from_gateway(self, frm: JID) -> bool:
        return frm.domain == self.args.peer_domain

    def on_jmi(self, frm: JID, action: str, el: ET.Element) -> None:
        a = self.args
        sid = el.get("id")
        if action == "propose":
            if not self.from_gateway(frm):
                self.note("ignored", f"propose from {frm} (not at {a.peer_domain})")
                return
            if self.sid is not None:
                self.note("ignored", f"second propose {sid}")
                return
            if a.expect_resource and frm.resource != a.expect_resource:
                self.finish(False, f"propose from {frm}, expected resource {a.expect_resource}")
                return
            self.sid = sid
            self.peer_jid = frm
            self.events.append("jmi:propose")
            self.send_jmi(frm, "ringing")
            self.ringing = True
            self.schedule_decision(jmi=True)
            return
        if sid != self.sid:
            return
        self.events.append(f"jmi:{action}")
        if action == "retract":
            self.ended = True
            if a.expect_retract:
                self.finish(True, f"retract from {frm} (reason {reason_of(el)})")
            elif a.expect_finish:
                self.finish(True, f"retract (accepted in place of finish) from {frm}")
            elif a.mode == "ignore" and a.expect_terminate is None:
                self.finish(True, "call retracted while ringing")
            else:
                self.finish(False, f"unexpected retract from {frm}")
        elif action == "finish":
            if not self.from_gateway(frm):
                self.note("ignored", f"finish from {frm}")
                return
            self.ended = True
            if a.expect_finish:
                self.finish(True, f"finish from {frm} (reason {reason_of(el)})")
            elif a.mode == "ignore" and not a.expect_retract and a.expect_terminate is None:
                self.finish(True, "call finished elsewhere while ringing")
            else:
                self.finish(False, f"unexpected finish from {frm} (reason {reason_of(el)})")
        elif action in ("accept", "proceed", "reject"):
            self.note("other-device", f"{action} from {frm}")

    def schedule_decision(self, jmi: bool) -> None:
        a = self.args
        if a.mode == "ignore":
            return
        if a.mode == "reject":
            self.later(a.delay, lambda: self.reject(jmi))
        else:
            self.later(a.delay, lambda: self.accept(jmi))

    async def reject(self, jmi: bool) -> None:
        if self.ended:
            self.finish(False, "the call ended before we could reject")
            return
        self.ended = True
        reason = self.args.reject_reason
        if jmi:
            self.send_jmi(self.peer_jid, "reject", reason=reason)
            await asyncio.sleep(0.5)  # give a bounce the chance to arrive
            self.finish(True, f"JMI reject ({reason}) sent")
        else:
            j = jingle_element("session-terminate", self.sid)
            j.append(reason_element(reason))
            if await self.send_jingle(self.peer_jid, j, f"session-terminate({reason})"):
                self.finish(True, f"session-terminate ({reason}) sent and acked")

    async def accept(self, jmi: bool) -> None:
        if self.ended:
            self.finish(False, "the call ended before we could accept")
            return
        if jmi:
            self.send_jmi(JID(self.boundjid.bare), "accept")
            self.send_jmi(self.peer_jid, "proceed")
            # session-initiate arrives next; on_jingle answers it.
        else:
            await self.session_accept()

    async def session_accept(self) -> None:
        j = jingle_element("session-accept", self.sid, responder=self.boundjid.full)
        for content in self.offer.findall(q(NS_JINGLE, "content")):
            j.append(answer_content(content))
        if await self.send_jingle(self.peer_jid, j, "session-accept"):
            self.answered = True
            self.schedule_hold()
            a = self.args
            if a.trickle_after_answer:  # trickle ICE (issue 7)
                self.later(1.5, lambda: self.trickle_after_accept(j))
            if a.hangup_after is not None:
                self.later(a.hangup_after, self.hangup)
            elif a.expect_terminate is None and not a.expect_finish and not a.expect_retract:
                self.finish(True, "answered; session-accept acked")

    async def hangup(self) -> None:
        if self.ended:
            self.finish(False, "the call ended before --hangup-after fired")
            return
        self.ended = True
        j = jingle_element("session-terminate", self.sid)
        j.append(reason_element("success"))
        if await self.send_jingle(self.peer_jid, j, "session-terminate(success)"):
            self.finish(True, "answered; hung up; terminate acked")

    async def trickle_after_accept(self, accept: ET.Element) -> None:
        """trickle ICE (issue 7): one more candidate, with our answer's credentials."""
        if self.ended:
            return
        content = accept.find(q(NS_JINGLE, "content"))
        tr = content.find(q(NS_ICE, "transport"))
        creds = {"ufrag": tr.get("ufrag"), "pwd": tr.get("pwd")}
        j = trickle_jingle(self.sid, self.offer.get("initiator") or str(self.peer_jid),
                           content.get("name"), creds, self.args.trickle_after_answer)
        await self.send_jingle(self.peer_jid, j, "transport-info")

    def on_jingle(self, iq, action: str, jingle: ET.Element) -> None:
        a = self.args
        frm = iq["from"]
        sid = jingle.get("sid")
        if action == "session-initiate":
            if self.sid is None:  # direct session-initiate, no JMI
                if not self.from_gateway(frm):
                    self.ack(iq)
                    self.note("ignored", f"session-initiate from {frm}")
                    return
                self.sid = sid
                self.peer_jid = frm
                self.offer = jingle
                self.ack(iq)
                if not self.validate_offer(jingle):
                    return
                self.events.append("jingle:session-initiate(direct)")
                ring = jingle_element("session-info", sid)
                ET.SubElement(ring, q(NS_RTP_INFO, "ringing"))
                self.spawn(self.send_jingle(frm, ring, "session-info(ringing)"))
                self.schedule_decision(jmi=False)
                return
            if sid != self.sid:
                self.ack(iq)
                self.note("ignored", f"session-initiate with another sid {sid}")
                return
            if frm != self.peer_jid:
                self.note("warning", f"session-initiate from {frm}, propose came from {self.peer_jid}")
                self.peer_jid = frm
            self.offer = jingle
            self.ack(iq)
            if not self.validate_offer(jingle):
                return
            self.events.append("jingle:session-initiate")
            if a.mode != "accept":
                self.finish(False, f"session-initiate received in mode {a.mode}")
                return
            self.spawn(self.session_accept())
            return
        if sid != self.sid:
            return
        self.ack(iq)
        self.events.append(f"jingle:{action}")
        if action == "transport-info":  # trickle ICE (issue 7)
            for c in jingle.iter(q(NS_ICE, "candidate")):
                self.trickled_in.append(f"{c.get('ip')}:{c.get('port')}")
        if action == "session-info":
            self.note_info(jingle)
        if action == "session-terminate":
            self.ended = True
            r = reason_of(jingle)
            if a.expect_terminate is not None:
                self.check_terminate(r)
            elif a.expect_retract and r == "cancel":
                self.finish(True, "session-terminate(cancel) (direct-mode equivalent of retract)")
            elif a.mode == "ignore" and not a.expect_finish and not a.expect_retract:
                self.finish(True, f"terminated while ringing ({r})")
            else:
                self.finish(False, f"unexpected session-terminate (reason {r})")

    def validate_offer(self, jingle: ET.Element) -> bool:
        contents = jingle.findall(q(NS_JINGLE, "content"))
        problems = []
        if not contents:
            problems.append("no content")
        for c in contents:
            if c.find(f"{q(NS_RTP, 'description')}/{q(NS_RTP, 'payload-type')}") is None:
                problems.append(f"content {c.get('name')} has no RTP payload-type")
            if not has_transport(c):
                problems.append(f"content {c.get('name')} has no ICE-UDP or raw-UDP transport")
        if not jingle.get("initiator"):
            problems.append("no initiator attribute")
        if problems:
            self.finish(False, "bad session-initiate: " + "; ".join(problems))
            return False
        return True

    def final_checks(self, ok: bool, reason: str) -> tuple[bool, str]:
        a = self.args
        if ok and a.mode == "accept" and not self.answered and not a.expect_finish:
            return False, reason + "; but we never answered"
        if ok and a.expect_transport_info and a.expect_transport_info not in self.trickled_in:
            return False, reason + (f"; no transport-info with candidate {a.expect_transport_info} "
                                    f"(got {self.trickled_in})")
        return ok, reason


# ---------------------------------------------------------------- main


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--jid", required=True, help="full JID to log in as, e.g. alice@test/phone")
    p.add_argument("--password", help="defaults to the JID's local part")
    p.add_argument("--server", default="127.0.0.1:15222", help="c2s host:port")
    p.add_argument("--timeout", type=float, default=20.0, help="overall timeout (s); exit 1 when reached")
    p.add_argument("--iq-timeout", type=float, default=5.0, help="wait for an IQ answer (s)")
    p.add_argument("--no-carbons", dest="carbons", action="store_false", help="do not enable XEP-0280")
    p.add_argument("--xml-log", help="also write every stanza's XML to this file")
    p.add_argument("--debug", action="store_true", help="slixmpp debug logging on stderr")
    p.add_argument("--expect-resource", metavar="RES",
                   help="the gateway's JMI proceed/propose must come from a full JID with this resource")
    p.add_argument("--expect-terminate", metavar="REASON[|REASON]",
                   help="assert a received session-terminate's reason (any of a |-list)")
    p.add_argument("--hangup-after", type=float, metavar="S",
                   help="S seconds after the call is answered, send session-terminate <success/>")
    p.add_argument("--hangup-on-usr1", action="store_true",
                   help="send session-terminate <success/> when SIGUSR1 arrives (after the answer); "
                        "the test harness decides when")
    # hold (issue 7)
    p.add_argument("--hold-after", type=float, metavar="S",
                   help="S seconds after the answer, send session-info <hold/>")
    p.add_argument("--unhold-after", type=float, metavar="S",
                   help="S seconds after the answer, send session-info <unhold/>")
    p.add_argument("--expect-info", metavar="P[,P...]",
                   help="assert these XEP-0167 session-info payloads (hold, active, unhold, mute…; "
                        "ringing aside) arrived, in order")
    # content-add / content-remove (issue 7)
    p.add_argument("--add-video-after", type=float, metavar="S",
                   help="S seconds after the answer, send content-add with a VP8 video content "
                        "named 'video' (ICE-UDP transport)")
    p.add_argument("--expect-content-add", choices=("accept", "reject"),
                   help="assert the content-add of 'video' got content-accept (and no reject), "
                        "or content-reject (and no accept)")
    p.add_argument("--expect-content-remove", metavar="NAME",
                   help="assert exactly one content-remove arrived, naming this content (the SIP "
                        "side set its stream's port to 0)")
    p.add_argument("--remove-video-after", type=float, metavar="S",
                   help="S seconds after the answer, send content-remove of 'video' (which must "
                        "have been accepted); its IQ result is asserted")
    sub = p.add_subparsers(dest="role", required=True)

    c = sub.add_parser("call", help="place a call")
    c.add_argument("target", help="bare JID (jmi) or full JID (direct) to call")
    c.add_argument("--mode", choices=("jmi", "direct"), default="jmi")
    c.add_argument("--sid", help="session id (random by default)")
    c.add_argument("--content-name", default="0")
    c.add_argument("--cancel-after", type=float, metavar="S",
                   help="S s after session-initiate (or the propose, before proceed) cancel the call")
    c.add_argument("--expect-reject", action="store_true",
                   help="assert a JMI reject, a bounced propose or an IQ error to session-initiate")
    c.add_argument("--expect-error", metavar="COND[|COND]",
                   help="implies --expect-reject: the stanza error condition(s) accepted")
    c.add_argument("--expect-answered", action="store_true", help="assert a session-accept arrived")
    c.add_argument("--expect-ringing", action="store_true",
                   help="assert <session-info><ringing/> (or JMI ringing) arrived")
    c.add_argument("--expect-dtmf", metavar="DIGITS",
                   help="assert these XEP-0181 <dtmf/> digits arrived in session-info, in order")
    # early media (issue 7)
    c.add_argument("--expect-accept-within", type=float, metavar="S",
                   help="assert the session-accept arrived at most S s after session-initiate "
                        "(early media: before a far end's delayed 200)")
    # trickle ICE (issue 7)
    c.add_argument("--trickle-after-answer", metavar="IP:PORT",
                   help="1.5 s after session-accept, send a transport-info with this srflx candidate")
    c.add_argument("--expect-transport-info", metavar="IP:PORT",
                   help="assert a transport-info arrived with a candidate at IP:PORT")
    c.add_argument("--answer-ice-restart", metavar="IP:PORT",
                   help="assert an ICE restart transport-info (new ufrag, generation 1) arrives and "
                        "answer it with new credentials (ufrag rst1) and a candidate at IP:PORT")
    # issue 7 DTMF: digits the caller types once answered
    c.add_argument("--send-dtmf", metavar="DIGITS", default="",
                   help="after the answer, send these keys as XEP-0181 session-info <dtmf/>, in order")
    c.add_argument("--dtmf-after", type=float, default=0.5, metavar="S",
                   help="seconds after the answer before the first --send-dtmf digit")
    c.add_argument("--dtmf-duration", type=int, default=100, metavar="MS",
                   help="the duration attribute of each --send-dtmf digit")
    c.add_argument("--dtmf-gap", type=float, default=0.05, metavar="S",
                   help="pause between two --send-dtmf digits (after the IQ result)")
    # issue 7, blind transfer asked from XMPP: the gateway's XEP-0050 command "transfer"
    c.add_argument("--transfer-to", metavar="TARGET",
                   help="0.5 s after the answer, run the gateway's ad-hoc command 'transfer' with "
                        "this target (form, submit, 'completed' asserted)")

    an = sub.add_parser("answer", help="wait for a call and handle it")
    an.add_argument("--mode", choices=("accept", "reject", "ignore"), default="accept")
    an.add_argument("--delay", type=float, default=0.0, help="seconds of ringing before accept/reject")
    an.add_argument("--reject-reason", default="busy", choices=("busy", "decline"))
    an.add_argument("--peer-domain", default="sip.test",
                    help="only take calls from JIDs at this domain (the gateway)")
    an.add_argument("--expect-finish", action="store_true",
                    help="assert a JMI <finish> (or <retract>) for the call reaches this device")
    an.add_argument("--expect-retract", action="store_true", help="assert a JMI <retract> for the call")
    # trickle ICE (issue 7)
    an.add_argument("--trickle-after-answer", metavar="IP:PORT",
                    help="1.5 s after our session-accept, send a transport-info with this srflx candidate")
    an.add_argument("--expect-transport-info", metavar="IP:PORT",
                    help="assert a transport-info arrived with a candidate at IP:PORT")

    # accept --expect-terminate / --hangup-after after the role as well
    for sp in (c, an):
        sp.add_argument("--expect-terminate", dest="expect_terminate_sub", metavar="REASON[|REASON]")
        sp.add_argument("--hangup-after", dest="hangup_after_sub", type=float, metavar="S")
        sp.add_argument("--timeout", dest="timeout_sub", type=float)
    args = p.parse_args(argv)
    for name in ("expect_terminate", "hangup_after", "timeout"):
        sub_value = getattr(args, name + "_sub", None)
        if sub_value is not None:
            setattr(args, name, sub_value)
    if args.password is None:
        args.password = JID(args.jid).user
    if args.hangup_on_usr1 and args.hangup_after is None:
        args.hangup_after = 1e9  # stay in the call once answered; SIGUSR1 hangs up
    if args.role == "call":
        if args.hangup_after is not None and args.cancel_after is not None:
            p.error("--hangup-after and --cancel-after exclude each other")
        if args.expect_error:
            args.expect_reject = True
    return args


async def amain(args: argparse.Namespace) -> int:
    global _xml_log
    if args.xml_log:
        _xml_log = open(args.xml_log, "a", encoding="utf-8")
    peer = (Caller if args.role == "call" else Answerer)(args)
    host, _, port = args.server.rpartition(":")
    if args.hangup_on_usr1:
        asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, lambda: peer.spawn(peer.hangup()))
    peer.connect(host, int(port))
    try:
        ok, reason = await asyncio.wait_for(asyncio.shield(peer.outcome), args.timeout)
    except asyncio.TimeoutError:
        ok, reason = False, "overall timeout (%.1fs); events so far: %s" % (
            args.timeout, ", ".join(peer.events) or "none")
    ok, reason = peer.final_checks(ok, reason)
    ok, reason = peer.hold_checks(ok, reason)
    ladder("==", "PASS" if ok else "FAIL", reason)
    for t in peer.tasks:
        t.cancel()
    peer.del_event_handler("disconnected", peer._disconnected)
    await asyncio.sleep(0.2)  # flush what is queued
    try:
        await asyncio.wait_for(peer.disconnect(wait=1.0), 3)
    except Exception:  # noqa: BLE001 - the verdict is already printed
        pass
    return 0 if ok else 1


def main() -> int:
    args = parse_args(sys.argv[1:])
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.ERROR,
                        format="%(levelname)-8s %(message)s", stream=sys.stderr)
    if not args.debug:
        logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    return loop.run_until_complete(amain(args))


if __name__ == "__main__":
    sys.exit(main())
