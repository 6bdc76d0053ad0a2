#!/usr/bin/env node
// Headless Chromium (Debian's /usr/bin/chromium) under playwright-core, as a
// line-based RPC bridge for interop/media.py:
//
//   node drive.js --url http://127.0.0.1:P/call.html --profile DIR [--chromium /usr/bin/chromium] [--no-loopback]
//
// stdin:  one JSON command a line: {"id": 1, "op": "login", "args": [{...}]}
//         -> window.media[op](...args) in the page
// stdout: one JSON line each: {"id": 1, "ok": true, "result": ...} | {"id": 1, "ok": false, "error": "..."}
//         {"ready": true} once the page has loaded; {"console": "..."} for page console
//         lines; {"exit": code} last.
// The driver owns the scenario; this file only carries calls and output.
'use strict';
const readline = require('readline');
const { chromium } = require('playwright-core');

function arg(name, dflt) {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
}

const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

// The flags the rig needs: headless on a shared box without a GPU or network,
// WebRTC without a user gesture, and host candidates that are real addresses
// (no mDNS .local names, loopback allowed) so the gateway and baresip can reach them.
const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
  '--autoplay-policy=no-user-gesture-required',
  '--allow-loopback-in-peer-connection',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
];

async function main() {
  const url = arg('--url');
  const profile = arg('--profile');
  if (!url || !profile) throw new Error('usage: drive.js --url URL --profile DIR [--chromium PATH]');
  // --no-loopback: Chrome then gathers on the machine's real interface only, one
  // IPv4 socket, so an ICE agent that does not follow Chrome's nomination
  // (baresip 1.0.0 keeps the pair of the SDP's default address) ends up on the same pair.
  const flags = process.argv.includes('--no-loopback')
    ? FLAGS.filter((f) => f !== '--allow-loopback-in-peer-connection') : FLAGS;
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: arg('--chromium', '/usr/bin/chromium'),
    headless: true,
    args: flags,
    ignoreDefaultArgs: ['--mute-audio'],
  });
  const page = context.pages()[0] || (await context.newPage());
  page.on('console', (m) => out({ console: `${m.type()}: ${m.text()}` }));
  page.on('pageerror', (e) => out({ console: `pageerror: ${e.message}` }));
  await page.goto(url);
  await page.waitForFunction(() => !!window.media, null, { timeout: 10000 });
  out({ ready: true, chromium: context.browser() ? context.browser().version() : null });

  let pending = 0;
  let closing = false;
  const finish = async (code) => {
    closing = true;
    await context.close().catch(() => {});
    out({ exit: code });
    process.exit(code);
  };
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', async (line) => {
    if (!line.trim()) return;
    let cmd;
    try {
      cmd = JSON.parse(line);
    } catch (e) {
      out({ ok: false, error: `bad command: ${line}` });
      return;
    }
    if (cmd.op === 'quit') return finish(0);
    pending++;
    try {
      const result = await page.evaluate(([op, args]) => window.media[op](...args), [cmd.op, cmd.args || []]);
      out({ id: cmd.id, ok: true, result: result === undefined ? null : result });
    } catch (e) {
      out({ id: cmd.id, ok: false, error: String(e && e.message ? e.message : e) });
    }
    pending--;
  });
  rl.on('close', () => { if (!closing) finish(pending ? 1 : 0); });
}

main().catch((e) => {
  out({ fatal: String(e && e.stack ? e.stack : e) });
  out({ exit: 2 });
  process.exit(2);
});
