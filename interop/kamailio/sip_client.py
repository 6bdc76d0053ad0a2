#!/usr/bin/env python3
"""Minimal SIP client (stdlib only) for checks sipp cannot do here:
TLS (Debian's sipp 3.6.1 is built without TLS) and SHA-256 digest (sipp only
does MD5).  Talks to the private Kamailio of interop/kamailio.

  sip_client.py [--transport udp|tcp|tls] [--port 25060] [--ca CA.pem]
                [--user stox --password s3cret] [--algorithm MD5|SHA-256]
                STEP...

Steps, run in order, any failure exits 1:
  options       OPTIONS sip:pbx.test -> 200
  register      REGISTER -> 401 -> REGISTER with digest -> 200 (Expires 60)
  register-bad  REGISTER with a wrong password -> 401/403 again
  call:NUMBER   INVITE -> 407 -> ACK -> INVITE with digest -> 200 -> ACK -> BYE -> 200
                (the far end, e.g. sipp uas_pstn.xml on 25080, must answer)
  unregister    REGISTER Expires: 0 with digest -> 200

With --transport tls the server certificate is verified against --ca for the
name pbx.test (the handshake fails otherwise).
"""

import argparse
import hashlib
import os
import random
import re
import socket
import ssl
import sys
import time

REALM_HOST = "pbx.test"


def log(msg):
    print(f"sip_client: {msg}", file=sys.stderr, flush=True)


class Conn:
    def __init__(self, transport, host, port, ca):
        self.transport = transport
        self.host, self.port = host, port
        if transport == "udp":
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind(("127.0.0.1", 0))
            self.sock.connect((host, port))
        else:
            raw = socket.create_connection((host, port), timeout=5)
            if transport == "tls":
                ctx = ssl.create_default_context(cafile=ca) if ca else ssl._create_unverified_context()
                self.sock = ctx.wrap_socket(raw, server_hostname=REALM_HOST)
                log(f"TLS {self.sock.version()} {self.sock.cipher()[0]}, server cert subject "
                    f"{dict(x[0] for x in self.sock.getpeercert()['subject']) if ca else '(unverified)'}")
            else:
                self.sock = raw
        self.sock.settimeout(5)
        self.local = self.sock.getsockname()
        self.buf = b""

    def send(self, msg):
        self.sock.sendall(msg.encode()) if self.transport != "udp" else self.sock.send(msg.encode())
        log(">> " + msg.split("\r\n", 1)[0])

    def recv(self, timeout=10):
        deadline = time.time() + timeout
        while True:
            if self.transport == "udp":
                self.sock.settimeout(max(0.1, deadline - time.time()))
                data = self.sock.recv(65535).decode()
                msg = data
            else:
                while b"\r\n\r\n" not in self.buf:
                    self.sock.settimeout(max(0.1, deadline - time.time()))
                    chunk = self.sock.recv(65535)
                    if not chunk:
                        raise ConnectionError("connection closed")
                    self.buf += chunk
                head, rest = self.buf.split(b"\r\n\r\n", 1)
                m = re.search(rb"(?im)^(content-length|l)\s*:\s*(\d+)", head)
                n = int(m.group(2)) if m else 0
                while len(rest) < n:
                    rest += self.sock.recv(65535)
                msg = (head + b"\r\n\r\n" + rest[:n]).decode()
                self.buf = rest[n:]
            log("<< " + msg.split("\r\n", 1)[0])
            return msg


def header(msg, name):
    m = re.search(rf"(?im)^{name}\s*:\s*(.*)$", msg)
    return m.group(1).strip() if m else None


def status(msg):
    m = re.match(r"SIP/2\.0 (\d{3})", msg)
    return int(m.group(1)) if m else None


def digest(chal, method, uri, user, password, algorithm_override=None):
    params = dict(re.findall(r'(\w+)="?([^",]*)"?', chal.split(" ", 1)[1]))
    alg = params.get("algorithm", "MD5")
    if algorithm_override and algorithm_override != alg:
        raise AssertionError(f"challenge algorithm {alg}, expected {algorithm_override}")
    h = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}[alg]
    H = lambda s: h(s.encode()).hexdigest()
    ha1 = H(f"{user}:{params['realm']}:{password}")
    ha2 = H(f"{method}:{uri}")
    cnonce = "%08x" % random.getrandbits(32)
    if "qop" in params:
        resp = H(f"{ha1}:{params['nonce']}:00000001:{cnonce}:auth:{ha2}")
        extra = f',qop=auth,nc=00000001,cnonce="{cnonce}"'
    else:
        resp = H(f"{ha1}:{params['nonce']}:{ha2}")
        extra = ""
    return (f'Digest username="{user}",realm="{params["realm"]}",nonce="{params["nonce"]}",'
            f'uri="{uri}",response="{resp}",algorithm={alg}{extra}')


class Client:
    def __init__(self, a):
        self.a = a
        self.c = Conn(a.transport, a.host, a.port, a.ca)
        self.tag = "%x" % random.getrandbits(40)
        self.cseq = 0
        self.reg_callid = "%x@sip_client" % random.getrandbits(64)
        self.last_reg_chal = None
        t = a.transport.upper()
        lh, lp = self.c.local[0], self.c.local[1]
        self.via_host = f"{lh}:{lp}"
        self.contact = f"<sip:{a.user}@{lh}:{lp};transport={a.transport}>"
        self.vt = t

    def req(self, method, ruri, callid, to, extra="", body="", cseq=None, branch=None, from_tag=None):
        if cseq is None:
            self.cseq += 1
            cseq = self.cseq
        branch = branch or "z9hG4bK%x" % random.getrandbits(48)
        msg = (f"{method} {ruri} SIP/2.0\r\n"
               f"Via: SIP/2.0/{self.vt} {self.via_host};branch={branch};rport\r\n"
               f"Max-Forwards: 70\r\n"
               f"From: <sip:{self.a.user}@{REALM_HOST}>;tag={from_tag or self.tag}\r\n"
               f"To: {to}\r\n"
               f"Call-ID: {callid}\r\n"
               f"CSeq: {cseq} {method}\r\n"
               f"Contact: {self.contact}\r\n"
               f"User-Agent: stox-interop-sip_client\r\n"
               f"{extra}"
               f"Content-Length: {len(body.encode())}\r\n\r\n{body}")
        self.c.send(msg)
        return branch, cseq

    def final(self, timeout=10):
        while True:
            r = self.c.recv(timeout)
            if r.startswith("SIP/2.0") and status(r) >= 200:
                return r

    def options(self):
        self.req("OPTIONS", f"sip:{REALM_HOST}", "%x@opt" % random.getrandbits(64), f"<sip:{REALM_HOST}>")
        r = self.final()
        assert status(r) == 200, f"OPTIONS: {status(r)}"

    def register(self, expires=60, password=None, want=200):
        password = password or self.a.password
        to = f"<sip:{self.a.user}@{REALM_HOST}>"
        ruri = f"sip:{REALM_HOST}"
        self.req("REGISTER", ruri, self.reg_callid, to, f"Expires: {expires}\r\n")
        r = self.final()
        assert status(r) == 401, f"REGISTER without credentials: {status(r)}, want 401"
        chal = header(r, "WWW-Authenticate")
        log(f"challenge: {chal}")
        auth = digest(chal, "REGISTER", ruri, self.a.user, password, self.a.algorithm)
        self.req("REGISTER", ruri, self.reg_callid, to, f"Expires: {expires}\r\nAuthorization: {auth}\r\n")
        r = self.final()
        if want == "refused":
            assert status(r) in (401, 403), f"REGISTER with wrong password: {status(r)}, want 401/403"
        else:
            assert status(r) == want, f"REGISTER with credentials: {status(r)}, want {want}"

    def call(self, number):
        callid = "%x@call" % random.getrandbits(64)
        ruri = f"sip:{number}@{REALM_HOST}"
        to = f"<{ruri}>"
        lh = self.c.local[0]
        sdp = ("v=0\r\no=- 1 1 IN IP4 {0}\r\ns=-\r\nc=IN IP4 {0}\r\nt=0 0\r\n"
               "m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n").format(lh)
        ctype = "Content-Type: application/sdp\r\n"
        br, cs = self.req("INVITE", ruri, callid, to, ctype, sdp)
        r = self.final()
        assert status(r) == 407, f"INVITE without credentials: {status(r)}, want 407"
        self.req("ACK", ruri, callid, header(r, "To"), cseq=cs, branch=br)
        chal = header(r, "Proxy-Authenticate")
        log(f"challenge: {chal}")
        auth = digest(chal, "INVITE", ruri, self.a.user, self.a.password, self.a.algorithm)
        br, cs = self.req("INVITE", ruri, callid, to, ctype + f"Proxy-Authorization: {auth}\r\n", sdp)
        r = self.final(20)
        assert status(r) == 200, f"INVITE with credentials: {status(r)}, want 200"
        # RFC 3261 12.1.2: the UAC's route set is the Record-Route URIs in reverse order
        # (Kamailio puts two, TLS side and UDP side, when the call changes transport).
        rr = [u for line in re.findall(r"(?im)^Record-Route\s*:\s*(.*)$", r)
              for u in re.findall(r"<[^>]+>", line)]
        route = ", ".join(reversed(rr))
        target = re.search(r"<([^>]+)>", header(r, "Contact")).group(1)
        to_tagged = header(r, "To")
        rh = f"Route: {route}\r\n" if route else ""
        log(f"answered; route set {route}; remote target {target}")
        self.req("ACK", target, callid, to_tagged, rh, cseq=cs)
        time.sleep(0.5)
        self.req("BYE", target, callid, to_tagged, rh)
        r = self.final()
        assert status(r) == 200, f"BYE: {status(r)}"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--transport", default="udp", choices=["udp", "tcp", "tls"])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=25060)
    p.add_argument("--ca")
    p.add_argument("--user", default="stox")
    p.add_argument("--password", default="s3cret")
    p.add_argument("--algorithm", choices=["MD5", "SHA-256"], help="require this challenge algorithm")
    p.add_argument("steps", nargs="+")
    a = p.parse_args()
    cl = Client(a)
    try:
        for step in a.steps:
            if step == "options":
                cl.options()
            elif step == "register":
                cl.register()
            elif step == "register-bad":
                cl.register(password="wrong-" + os.urandom(3).hex(), want="refused")
            elif step == "unregister":
                cl.register(expires=0)
            elif step.startswith("call:"):
                cl.call(step[5:])
            else:
                p.error(f"unknown step {step}")
            log(f"ok: {step}")
    except (AssertionError, OSError, ConnectionError) as e:
        log(f"FAIL: {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
