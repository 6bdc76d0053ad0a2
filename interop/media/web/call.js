// The browser end of interop/media.py, bundled by esbuild into dist/call.bundle.js.
//
// window.media is driven by drive.js (playwright-core page.evaluate):
//   login({ws, jid, password, resource, gateway, ipv4Only, tellGateway})  StanzaJS over
//                                 WebSocket, presence with caps (also sent to the gateway
//                                 unless tellGateway=false); ipv4Only: no IPv6 ICE candidates
//   call(target, {tone})          outgoing Jingle RTP audio session carrying a sine tone
//   answer({tone, timeoutMs})     waits for an incoming session-initiate (or a JMI propose,
//                                 answered with <proceed/>) and accepts it, sending the tone
//   waitAccepted / waitTerminated / hangup
//   measure({expect, seconds})    Web Audio analysis of the received track + getStats()
//   dtmf({digits, duration, gapMs}) XEP-0181 <dtmf/> session-infos to the peer, one per
//                                 digit, each awaited (result or error) before the next
//   events() / info() / sdp()     what happened (time-stamped), call state, both SDPs
//
// StanzaJS 12 has no XEP-0353 (Jingle Message Initiation) support, only its old
// namespace constant. The gateway rings by direct session-initiate when every
// device's caps show Jingle RTP without JMI — StanzaJS's case. For a gateway
// that proposes anyway, answer() also accepts a propose with a minimal JMI
// (<ringing/>, <proceed/>) defined below as a StanzaJS stanza extension.
import * as XMPP from 'stanza';

const NS_JMI = 'urn:xmpp:jingle-message:0';
const NS_DTMF = 'urn:xmpp:jingle:dtmf:0';
const t0 = performance.now();
const events = [];
const raw = [];

function note(kind, detail = {}) {
  const e = { t: Math.round(performance.now() - t0), kind, ...detail };
  events.push(e);
  const line = `${(e.t / 1000).toFixed(3)} ${kind} ${JSON.stringify(detail)}`;
  document.getElementById('log').textContent += line + '\n';
  console.log('media: ' + line);
}

function waitFor(pred, timeoutMs, what) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const tick = () => {
      const v = pred();
      if (v) return resolve(v);
      if (performance.now() - started > timeoutMs) return reject(new Error(`timeout waiting for ${what}`));
      setTimeout(tick, 50);
    };
    tick();
  });
}

let client = null;
let session = null; // the one media session of this page
let audioCtx = null;
const state = { ipv4Only: false, incoming: [], accepted: false, terminated: null, remoteTrack: null, discoFrom: [], proposes: [] };

function ctx() {
  if (!audioCtx) audioCtx = new AudioContext();
  return audioCtx;
}

// A sine at `freq` Hz as a MediaStream (OscillatorNode -> MediaStreamAudioDestinationNode).
function toneStream(freq) {
  const ac = ctx();
  const osc = new OscillatorNode(ac, { type: 'sine', frequency: freq });
  const gain = new GainNode(ac, { gain: 0.5 });
  const dest = new MediaStreamAudioDestinationNode(ac, { channelCount: 1 });
  osc.connect(gain).connect(dest);
  osc.start();
  return dest.stream;
}

// Every Jingle IQ the page sends, with its outcome, so a hang-up can be checked as acked.
function watchIqs() {
  const send = client.sendIQ.bind(client);
  client.sendIQ = async (iq) => {
    const action = iq.jingle && iq.jingle.action;
    if (action) note('jingle-out', { action, to: iq.to });
    try {
      const r = await send(iq);
      if (action) note('jingle-out-result', { action });
      return r;
    } catch (err) {
      if (action) note('jingle-out-error', { action, error: (err.error && err.error.condition) || String(err) });
      throw err;
    }
  };
}

// Minimal XEP-0353: enough to answer a propose (ringing + proceed) and see retract/finish.
function defineJmi() {
  client.stanzas.define({
    element: 'propose', namespace: NS_JMI, path: 'message.jmiPropose',
    fields: { id: XMPP.JXT.attribute('id') },
  });
  for (const name of ['ringing', 'proceed', 'retract', 'finish', 'accept', 'reject']) {
    client.stanzas.define({
      element: name, namespace: NS_JMI, path: `message.jmi${name[0].toUpperCase()}${name.slice(1)}`,
      fields: { id: XMPP.JXT.attribute('id') },
    });
  }
}

// XEP-0181 (Jingle DTMF), which StanzaJS 12 lacks: <dtmf code='5' duration='150'/> in a
// session-info, as iq.jingle.dtmf.
function defineDtmf() {
  client.stanzas.define({
    element: 'dtmf', namespace: NS_DTMF, path: 'iq.jingle.dtmf',
    fields: { code: XMPP.JXT.attribute('code'), duration: XMPP.JXT.integerAttribute('duration') },
  });
}

function bindSession(s) {
  session = s;
  if (state.ipv4Only) {
    // Passthrough hands our candidates to baresip 1.0.0, which is IPv4-only here and
    // refuses a call whose SDP connection address is IPv6 (Chrome's preferred host
    // candidate is ::1). So the IPv6 ones are not signalled at all.
    const signal = s.onIceCandidate.bind(s);
    s.onIceCandidate = (e) => {
      if (e.candidate && e.candidate.address && e.candidate.address.includes(':')) {
        note('candidate-withheld', { address: e.candidate.address, protocol: e.candidate.protocol });
        return;
      }
      signal(e);
    };
  }
  s.parent.on('peerTrackAdded', (sess, track, stream) => {
    if (sess !== session) return;
    note('remote-track', { kind: track.kind, id: track.id });
    state.remoteTrack = track;
    const el = document.getElementById('remote');
    el.srcObject = stream || new MediaStream([track]);
    el.play().catch((e) => note('audio-element-play-failed', { error: String(e) }));
  });
}

// Remote IPv6 candidates are ignored as well, so that Chrome cannot nominate an
// IPv6 pair baresip does not use (see bindSession).
function ignoreRemoteIpv6() {
  const proto = RTCPeerConnection.prototype;
  const setRemote = proto.setRemoteDescription;
  proto.setRemoteDescription = function (desc) {
    if (desc && desc.sdp) {
      const lines = desc.sdp.split('\r\n');
      const kept = lines.filter((l) => !(l.startsWith('a=candidate:') && l.split(' ')[4].includes(':')));
      if (kept.length !== lines.length) note('remote-ipv6-candidates-ignored', { count: lines.length - kept.length });
      desc = { type: desc.type, sdp: kept.join('\r\n') };
    }
    return setRemote.call(this, desc);
  };
  const addCandidate = proto.addIceCandidate;
  proto.addIceCandidate = function (c) {
    const line = c && (c.candidate || '');
    if (line && line.split(' ')[4] && line.split(' ')[4].includes(':')) {
      note('remote-ipv6-candidate-ignored', {});
      return Promise.resolve();
    }
    return addCandidate.apply(this, arguments);
  };
}

async function login({ ws, jid, password, resource = 'browser', gateway = 'sip.test', ipv4Only = false,
  tellGateway = true }) {
  state.ipv4Only = ipv4Only;
  if (ipv4Only) ignoreRemoteIpv6();
  client = XMPP.createClient({
    jid, password, resource,
    transports: { websocket: ws, bosh: false },
    // Loopback only: no STUN (no network); host candidates are enough.
    jingle: { iceServers: [] },
  });
  defineJmi();
  defineDtmf();
  watchIqs();
  client.on('session:started', () => note('session-started', { jid: client.jid }));
  client.on('disconnected', () => note('disconnected'));
  client.on('stream:error', (e) => note('stream-error', { e: JSON.stringify(e) }));
  // Raw Jingle traffic both ways, for the driver's failure report.
  client.on('raw:incoming', (xml) => { if (xml.includes('urn:xmpp:jingle')) raw.push(`<- ${xml}`); });
  client.on('raw:outgoing', (xml) => { if (xml.includes('urn:xmpp:jingle')) raw.push(`-> ${xml}`); });
  client.on('iq:set:jingle', (iq) => note('jingle-in', { action: iq.jingle.action, from: iq.from,
    contents: (iq.jingle.contents || []).map((c) => c.name) }));
  client.on('iq:get:disco', (iq) => {
    note('disco-query', { from: iq.from, node: iq.disco && iq.disco.node });
    state.discoFrom.push(iq.from);
  });
  // Kept from login on, so a session-initiate racing answer() is not lost.
  client.on('jingle:incoming', (s) => {
    note('jingle-incoming', { from: s.peerID, sid: s.sid });
    state.incoming.push(s);
  });
  client.on('jingle:outgoing', (s) => note('jingle-outgoing', { to: s.peerID, sid: s.sid }));
  client.on('jingle:ringing', (s) => note('jingle-ringing', { sid: s.sid }));
  client.on('jingle:accepted', (s) => {
    note('jingle-accepted', { sid: s.sid });
    if (s === session) state.accepted = true;
  });
  client.on('jingle:terminated', (s, reason) => {
    const r = reason && reason.condition;
    note('jingle-terminated', { sid: s.sid, reason: r });
    if (s === session) state.terminated = r || 'unknown';
  });
  client.on('message', (m) => {
    if (m.jmiPropose) {
      note('jmi-propose', { from: m.from, id: m.jmiPropose.id });
      state.proposes.push({ from: m.from, id: m.jmiPropose.id });
    }
    for (const k of ['jmiRetract', 'jmiFinish', 'jmiProceed', 'jmiReject']) {
      if (m[k]) note(k, { from: m.from, id: m[k].id });
    }
  });
  client.jingle.on('log', (level, msg) => {
    if (level === 'error') note('jingle-log-error', { msg: String(msg) });
  });
  const started = new Promise((resolve, reject) => {
    client.once('session:started', resolve);
    client.once('auth:failed', () => reject(new Error('auth failed')));
    client.once('disconnected', () => reject(new Error('disconnected before session start')));
  });
  client.connect();
  await started;
  // Caps (XEP-0115) built from StanzaJS's disco features: Jingle RTP audio, ICE-UDP, DTLS.
  client.updateCaps();
  const caps = client.disco.getCaps();
  client.sendPresence({ legacyCapabilities: caps });
  // Directed presence: the gateway learns the device (and asks disco#info for the caps)
  // only from presence addressed to it.
  // tellGateway=false leaves the gateway knowing nothing of this device, so it rings by JMI.
  if (tellGateway) {
    client.sendPresence({ to: gateway, legacyCapabilities: caps });
    note('presence-sent', { to: gateway, ver: caps && caps[0] && caps[0].value });
  }
  return { jid: client.jid, features: client.disco.getNodeInfo('').features || [] };
}

async function call(target, { tone = 1000 } = {}) {
  const stream = toneStream(tone);
  const s = client.jingle.createMediaSession(target, undefined, stream);
  bindSession(s);
  note('calling', { target, sid: s.sid, tone });
  await s.start({ offerToReceiveAudio: true });
  return { sid: s.sid };
}

async function answer({ tone = 440, timeoutMs = 20000 } = {}) {
  note('answering', { tone });
  const handled = new Set();
  // A JMI propose (should the gateway send one) gets <ringing/> and <proceed/>.
  const jmi = setInterval(() => {
    for (const p of state.proposes) {
      if (handled.has(p.id)) continue;
      handled.add(p.id);
      client.sendMessage({ to: p.from, type: 'chat', jmiRinging: { id: p.id } });
      client.sendMessage({ to: p.from, type: 'chat', jmiProceed: { id: p.id } });
      note('jmi-proceed-sent', { to: p.from, id: p.id });
    }
  }, 50);
  const s = await waitFor(() => state.incoming.find((x) => x !== session && x.state === 'pending'),
    timeoutMs, 'an incoming session').finally(() => clearInterval(jmi));
  bindSession(s);
  // The tracks the session-initiate announced may already be there.
  for (const r of s.pc.getReceivers()) {
    if (r.track && r.track.kind === 'audio' && !state.remoteTrack) s.onAddTrack(r.track, new MediaStream([r.track]));
  }
  const stream = toneStream(tone);
  await s.addTrack(stream.getAudioTracks()[0], stream);
  await s.accept();
  state.accepted = true;
  note('accepted-locally', { sid: s.sid, from: s.peerID, tone });
  return { sid: s.sid, from: s.peerID };
}

function waitAccepted(timeoutMs = 20000) {
  return waitFor(() => state.accepted || state.terminated, timeoutMs, 'session-accept')
    .then(() => ({ accepted: state.accepted, terminated: state.terminated }));
}

function waitTerminated(timeoutMs = 20000) {
  return waitFor(() => state.terminated, timeoutMs, 'session-terminate').then((r) => ({ reason: r }));
}

// Hang up and wait until our session-terminate has been answered (result or error).
async function hangup(timeoutMs = 10000) {
  const before = events.length;
  session.end('success');
  const outcome = await waitFor(() => events.slice(before).find(
    (e) => (e.kind === 'jingle-out-result' || e.kind === 'jingle-out-error') && e.action === 'session-terminate'),
  timeoutMs, 'the answer to our session-terminate');
  return { acked: outcome.kind === 'jingle-out-result', outcome };
}

// Sends each key of `digits` as its own XEP-0181 session-info to the session's peer
// and waits for its answer before the next (then `gapMs` more, so the far end hears
// separate presses). Returns [{code, ok, error?}] in order.
async function dtmf({ digits, duration = 150, gapMs = 300 } = {}) {
  const results = [];
  const initiator = session.role === 'initiator' ? client.jid : session.peerID;
  for (const code of digits) {
    note('dtmf-send', { code, duration });
    try {
      await client.sendIQ({ to: session.peerID, type: 'set',
        jingle: { action: 'session-info', sid: session.sid, initiator, dtmf: { code, duration } } });
      results.push({ code, ok: true });
    } catch (err) {
      results.push({ code, ok: false, error: (err.error && err.error.condition) || String(err) });
    }
    await new Promise((r) => setTimeout(r, gapMs));
  }
  return results;
}

// Analyse the received audio for `seconds`: per 50 ms frame, the loudest
// frequency (FFT peak) and the share of the power within ±40 Hz of `expect`.
async function measure({ expect, seconds = 5, timeoutMs = 15000 } = {}) {
  await waitFor(() => state.remoteTrack, timeoutMs, 'a remote audio track');
  const ac = ctx();
  if (ac.state !== 'running') await ac.resume();
  const src = new MediaStreamAudioSourceNode(ac, { mediaStream: new MediaStream([state.remoteTrack]) });
  const an = new AnalyserNode(ac, { fftSize: 4096, smoothingTimeConstant: 0 });
  src.connect(an);
  const bins = new Float32Array(an.frequencyBinCount);
  const wave = new Float32Array(an.fftSize);
  const hz = ac.sampleRate / an.fftSize;
  const frames = [];
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    await new Promise((r) => setTimeout(r, 50));
    an.getFloatTimeDomainData(wave);
    an.getFloatFrequencyData(bins);
    let sq = 0;
    for (const v of wave) sq += v * v;
    const rms = Math.sqrt(sq / wave.length);
    let total = 0, band = 0, peak = 0, peakBin = 0;
    for (let i = Math.ceil(60 / hz); i < bins.length; i++) { // skip DC/hum
      const p = Math.pow(10, bins[i] / 10);
      total += p;
      if (Math.abs(i * hz - expect) <= 40) band += p;
      if (p > peak) { peak = p; peakBin = i; }
    }
    frames.push({ rms, peakHz: peakBin * hz, share: total > 0 ? band / total : 0 });
  }
  src.disconnect();
  const loud = frames.filter((f) => f.rms > 0.003); // about -50 dBFS: not silence
  const onTone = loud.filter((f) => Math.abs(f.peakHz - expect) <= 40 && f.share > 0.5);
  const peaks = {};
  for (const f of loud) { const k = Math.round(f.peakHz / 10) * 10; peaks[k] = (peaks[k] || 0) + 1; }
  const dominant = Object.entries(peaks).sort((a, b) => b[1] - a[1])[0];
  const avg = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  return {
    expect, seconds, frameMs: 50, frames: frames.length, loudFrames: loud.length, onToneFrames: onTone.length,
    onToneSeconds: onTone.length * 0.05,
    dominantHz: dominant ? Number(dominant[0]) : null,
    meanShare: avg(loud.map((f) => f.share)),
    meanRms: avg(frames.map((f) => f.rms)),
    stats: await stats(),
  };
}

// The parts of getStats() that show media really flowed, and over what.
async function stats() {
  if (!session) return null;
  const pc = session.pc;
  const out = { iceConnectionState: pc.iceConnectionState, connectionState: pc.connectionState };
  const report = await pc.getStats();
  const byId = new Map();
  report.forEach((r) => byId.set(r.id, r));
  report.forEach((r) => {
    if (r.type === 'inbound-rtp' && r.kind === 'audio') {
      out.inbound = { packetsReceived: r.packetsReceived, bytesReceived: r.bytesReceived,
        packetsLost: r.packetsLost, jitter: r.jitter, codec: byId.get(r.codecId) && byId.get(r.codecId).mimeType };
    }
    if (r.type === 'outbound-rtp' && r.kind === 'audio') {
      out.outbound = { packetsSent: r.packetsSent, bytesSent: r.bytesSent,
        codec: byId.get(r.codecId) && byId.get(r.codecId).mimeType };
    }
    if (r.type === 'transport') {
      out.dtlsState = r.dtlsState;
      out.iceState = r.iceState;
      out.srtpCipher = r.srtpCipher;
      const pair = byId.get(r.selectedCandidatePairId);
      if (pair) {
        const l = byId.get(pair.localCandidateId), rm = byId.get(pair.remoteCandidateId);
        out.selectedPair = {
          local: l && `${l.address}:${l.port} ${l.candidateType}`,
          remote: rm && `${rm.address}:${rm.port} ${rm.candidateType}`,
          state: pair.state,
        };
      }
    }
  });
  return out;
}

window.media = {
  login, call, answer, waitAccepted, waitTerminated, hangup, measure, stats, dtmf,
  events: () => events,
  raw: () => raw,
  info: () => ({ accepted: state.accepted, terminated: state.terminated, remoteTrack: !!state.remoteTrack,
    discoFrom: state.discoFrom, proposes: state.proposes }),
  sdp: () => session && { local: session.pc.localDescription && session.pc.localDescription.sdp,
    remote: session.pc.remoteDescription && session.pc.remoteDescription.sdp },
};
note('page-loaded');
