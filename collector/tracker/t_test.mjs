// Tests t.js in a node:vm context with hand-written fakes of the browser.
// Run by TestScript (tracker_test.go): `node t_test.mjs [fixture.json]`;
// with a fixture path it writes every request t.js made there, for the Go
// integration test to replay against a real collector.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import vm from 'node:vm';
import { webcrypto } from 'node:crypto';

const SRC = fs.readFileSync(new URL('./t.js', import.meta.url), 'utf8');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const requests = []; // every request of every scenario, for the fixture

function storage() {
  const m = new Map();
  return {
    map: m,
    getItem: (k) => (m.has(k) ? m.get(k) : null),
    setItem: (k, v) => m.set(k, String(v)),
    removeItem: (k) => m.delete(k),
  };
}

function cookieJar() {
  const m = new Map();
  return {
    map: m,
    get cookie() { return [...m].map(([k, v]) => `${k}=${v}`).join('; '); },
    set cookie(s) {
      const [kv, ...attrs] = s.split(/;\s*/);
      const i = kv.indexOf('=');
      if (attrs.some((a) => a.toLowerCase() === 'max-age=0')) m.delete(kv.slice(0, i));
      else m.set(kv.slice(0, i), kv.slice(i + 1));
      this.last = s;
    },
  };
}

function element(attrs, parent = null) {
  const el = {
    attributes: Object.entries(attrs).map(([name, value]) => ({ name, value })),
    parentElement: parent,
    getAttribute: (n) => (n in attrs ? attrs[n] : null),
    hasAttribute: (n) => n in attrs,
    closest(sel) {
      const a = sel.match(/^\[([\w-]+)\]$/)[1];
      for (let e = this; e; e = e.parentElement) if (e.hasAttribute(a)) return e;
      return null;
    },
  };
  return el;
}

// browser builds a fake window; opts: url, attrs of the script tag, stub
// (calls queued before load), shared local/session storage and cookies.
function browser(opts) {
  const listeners = { window: {}, document: {} };
  const on = (where) => (type, fn) => (listeners[where][type] ||= []).push(fn);
  const timers = new Map();
  let timerSeq = 0;
  const b = {
    clock: 0,
    fetches: [],
    beacons: [],
    fetchStatus: 200,
    local: opts.local || storage(),
    session: opts.session || storage(),
    jar: opts.jar || cookieJar(),
  };
  let url = new URL(opts.url);
  const location = {
    get href() { return url.href; },
    get pathname() { return url.pathname; },
    get search() { return url.search; },
    get hash() { return url.hash; },
    get origin() { return url.origin; },
    get protocol() { return url.protocol; },
  };
  const nav = (u) => { url = new URL(u, url.href); };
  const history = {
    pushState: (s, t, u) => { if (u != null) nav(u); },
    replaceState: (s, t, u) => { if (u != null) nav(u); },
  };
  const script = element({ src: opts.src || 'http://127.0.0.1:8080/t.js', 'data-write-key': 'dev', ...(opts.attrs || {}) });
  script.src = script.getAttribute('src');
  const document = {
    currentScript: script,
    querySelector: () => script,
    title: 'Landing',
    referrer: 'https://www.google.com/',
    visibilityState: 'visible',
    focused: true,
    hasFocus() { return this.focused; },
    addEventListener: on('document'),
    get cookie() { return b.jar.cookie; },
    set cookie(s) { b.jar.cookie = s; },
  };
  const win = {
    document, location, history,
    localStorage: b.local,
    sessionStorage: b.session,
    navigator: {
      userAgent: 'FakeBrowser/1.0',
      language: 'en-GB',
      sendBeacon: (u, blob) => { b.beacons.push({ url: u, blob }); return true; },
    },
    screen: { width: 1440, height: 900 },
    devicePixelRatio: 2,
    performance: { now: () => b.clock },
    crypto: webcrypto,
    Blob, URL, URLSearchParams, Intl,
    fetch: (u, o) => { b.fetches.push({ url: u, opts: o }); return Promise.resolve({ status: b.fetchStatus }); },
    setTimeout: (fn, ms) => { timers.set(++timerSeq, { fn, ms }); return timerSeq; },
    clearTimeout: (id) => timers.delete(id),
    addEventListener: on('window'),
  };
  win.window = win;
  if (opts.stub) win.touchstream = opts.stub;
  b.win = win;
  b.doc = document;
  b.nav = nav;
  b.timers = timers;
  b.fire = (where, type, ev = {}) => (listeners[where][type] || []).forEach((fn) => fn(ev));
  b.runTimers = async () => {
    const due = [...timers];
    timers.clear();
    due.forEach(([, t]) => t.fn());
    await new Promise((r) => setImmediate(r));
  };
  b.load = () => { vm.runInContext(SRC, vm.createContext(win), { filename: 't.js' }); document.currentScript = null; };
  b.ts = () => win.touchstream;
  // sent returns the batches sent so far (parsed), each with how.
  b.fetched = () => b.fetches.map((f) => {
    requests.push({ url: f.url, contentType: f.opts.headers['Content-Type'], body: f.opts.body, via: 'fetch' });
    return JSON.parse(f.opts.body);
  });
  b.beaconed = async () => {
    const out = [];
    for (const x of b.beacons) {
      const body = await x.blob.text();
      requests.push({ url: x.url, contentType: x.blob.type, body, via: 'beacon' });
      out.push(JSON.parse(body));
    }
    return out;
  };
  return b;
}

// The stub of doc.go, as a page would run it before t.js.
function stub() {
  const ts = { q: [] };
  ['track', 'identify', 'page'].forEach((m) => { ts[m] = (...a) => ts.q.push([m, ...a]); });
  return ts;
}

const LANDING = 'https://shop.example/landing?utm_source=newsletter&utm_medium=email&utm_campaign=spring&utm_term=shoes&utm_content=hero&gclid=abc123&fbclid=fb9';
const CAMPAIGN = { source: 'newsletter', medium: 'email', name: 'spring', term: 'shoes', content: 'hero', gclid: 'abc123', fbclid: 'fb9' };

async function mainScenario() {
  const s = stub();
  s.identify('u-42', { plan: 'pro' });
  s.track('Signup Started', { step: 1 });
  const b = browser({ url: LANDING, stub: s });
  b.load();
  const ts = b.ts();
  assert.equal(typeof ts.track, 'function');
  assert.equal(b.fetches.length, 0, 'batched, not sent at once');
  ts.track('Added To Cart', { sku: 'A1', revenue: 12.5 });

  // Engagement: 1000 ms focused, 5000 ms blurred (not counted), 500 ms focused.
  b.clock = 1000; b.doc.focused = false; b.fire('window', 'blur');
  b.clock = 6000; b.doc.focused = true; b.fire('window', 'focus');
  b.clock = 6500;

  // A click inside a marked element (on a text node), and one outside.
  const button = element({ 'data-ts-event': 'CTA Clicked', 'data-ts-prop-plan-id': 'pro', 'data-ts-prop-position': 'hero', class: 'btn' });
  const span = element({}, button);
  b.fire('document', 'click', { target: { nodeType: 3, parentElement: span } });
  b.fire('document', 'click', { target: element({ class: 'plain' }) });

  // SPA navigation; a hash-only change is not a page view.
  b.win.history.pushState({}, '', '/pricing?x=1');
  b.doc.title = 'Pricing';
  b.win.history.replaceState({}, '', '/pricing?x=1#faq');

  await b.runTimers();
  assert.equal(b.fetches.length, 1);
  const f = b.fetches[0];
  assert.equal(f.url, 'http://127.0.0.1:8080/v1/batch?writeKey=dev');
  assert.equal(f.opts.method, 'POST');
  assert.equal(f.opts.keepalive, true);
  assert.equal(f.opts.headers['Content-Type'], 'text/plain');
  const [batch1] = b.fetched();
  assert.equal(batch1.writeKey, 'dev');
  assert.ok(!Number.isNaN(Date.parse(batch1.sentAt)));
  const evs = batch1.batch;
  assert.deepEqual(evs.map((e) => e.type + ':' + (e.event || '')),
    ['identify:', 'track:Signup Started', 'page:', 'track:Added To Cart', 'track:CTA Clicked', 'track:Page Engagement', 'page:']);

  const aid = b.local.getItem('ts_aid');
  assert.match(aid, UUID);
  assert.equal(b.jar.map.get('ts_aid'), aid);
  assert.match(b.jar.last, /; path=\/; max-age=63072000; SameSite=Lax; Secure$/);
  assert.equal(b.local.getItem('ts_uid'), 'u-42');
  assert.deepEqual(JSON.parse(b.session.getItem('ts_camp')), CAMPAIGN);
  const ids = new Set();
  for (const e of evs) {
    assert.match(e.messageId, UUID);
    ids.add(e.messageId);
    assert.equal(e.anonymousId, aid);
    assert.equal(e.userId, 'u-42', 'queued identify ran before the rest');
    assert.deepEqual(e.context.library, { name: 'touchstream.js', version: '1.0.0' });
    assert.deepEqual(e.context.campaign, CAMPAIGN);
    assert.equal(e.context.userAgent, 'FakeBrowser/1.0');
    assert.equal(e.context.locale, 'en-GB');
    assert.deepEqual(e.context.screen, { width: 1440, height: 900, density: 2 });
    assert.ok(!Number.isNaN(Date.parse(e.originalTimestamp)));
  }
  assert.equal(ids.size, evs.length, 'messageIds are unique');
  assert.deepEqual(evs[0].traits, { plan: 'pro' });
  assert.deepEqual(evs[1].properties, { step: 1 });

  const page = evs[2];
  assert.equal(page.properties.url, LANDING);
  assert.equal(page.properties.path, '/landing');
  assert.equal(page.properties.referrer, 'https://www.google.com/');
  assert.equal(page.properties.title, 'Landing');
  assert.deepEqual(page.context.page, { url: LANDING, path: '/landing', referrer: 'https://www.google.com/', title: 'Landing', search: new URL(LANDING).search });

  assert.deepEqual(evs[3].properties, { sku: 'A1', revenue: 12.5 });
  assert.deepEqual(evs[4].properties, { plan_id: 'pro', position: 'hero' });
  assert.equal(evs[4].context.page.url, LANDING);

  const eng = evs[5];
  assert.deepEqual(eng.properties, { engagement_time_msec: 1500, url: LANDING, path: '/landing', title: 'Landing' });
  assert.equal(eng.context.page.url, LANDING, 'engagement is reported with the page it belongs to');

  const spa = evs[6];
  assert.equal(spa.properties.url, 'https://shop.example/pricing?x=1');
  assert.equal(spa.properties.path, '/pricing');
  assert.equal(spa.properties.referrer, LANDING);
  assert.deepEqual(spa.context.campaign, CAMPAIGN, 'campaign kept for the session');

  // After load: identify changes the user; popstate back is a page view.
  // 500 ms more on /pricing, then back to the landing page.
  ts.identify('u-43');
  b.clock = 7000;
  b.nav(LANDING);
  b.fire('window', 'popstate');
  // Hidden at once: nothing engaged on the landing page; hidden → beacon.
  b.doc.visibilityState = 'hidden';
  b.fire('document', 'visibilitychange');
  assert.equal(b.fetches.length, 1, 'no fetch on hide');
  assert.equal(b.beacons.length, 1);
  assert.equal(b.beacons[0].url, 'http://127.0.0.1:8080/v1/batch?writeKey=dev');
  assert.equal(b.beacons[0].blob.type, 'text/plain');
  assert.equal(b.timers.size, 0, 'nothing left to send');
  const [beacon1] = await b.beaconed();
  assert.equal(beacon1.writeKey, 'dev');
  const ev2 = beacon1.batch;
  assert.deepEqual(ev2.map((e) => e.type + ':' + (e.event || '')), ['identify:', 'track:Page Engagement', 'page:']);
  assert.equal(ev2[0].userId, 'u-43');
  assert.equal(ev2[1].properties.engagement_time_msec, 500);
  assert.equal(ev2[1].properties.url, 'https://shop.example/pricing?x=1');
  assert.equal(ev2[2].properties.url, LANDING);
  assert.equal(ev2[2].properties.referrer, 'https://shop.example/pricing?x=1');

  // Hidden for a minute (not counted), visible and focused 200 ms, then pagehide.
  b.clock = 67000;
  b.doc.visibilityState = 'visible';
  b.fire('document', 'visibilitychange');
  b.clock = 67200;
  ts.track('Late Click');
  b.fire('window', 'pagehide');
  assert.equal(b.beacons.length, 2);
  const [, beacon2] = await b.beaconed();
  assert.deepEqual(beacon2.batch.map((e) => e.type + ':' + (e.event || '')), ['track:Late Click', 'track:Page Engagement']);
  assert.equal(beacon2.batch[1].properties.engagement_time_msec, 200);
  assert.equal(beacon2.batch[1].properties.url, LANDING);
  // A real browser fires visibilitychange (hidden) after pagehide: the time
  // between the two is not engagement, and nothing more is sent.
  b.clock = 67250;
  b.doc.visibilityState = 'hidden';
  b.fire('document', 'visibilitychange');
  assert.equal(b.beacons.length, 2, 'pagehide then hidden reports the engagement once');
  requests.splice(0, requests.length, ...dedupe(requests));
  return b;
}

function dedupe(rs) {
  const seen = new Set();
  return rs.filter((r) => (seen.has(r.body) ? false : (seen.add(r.body), true)));
}

// A reload in the same session: same anonymous id, campaign from sessionStorage.
async function reloadScenario(prev) {
  const b = browser({ url: 'https://shop.example/cart', local: prev.local, session: prev.session, jar: prev.jar, stub: [['track', 'Queued As Array']] });
  b.load();
  await b.runTimers();
  const [batch] = b.fetched();
  assert.deepEqual(batch.batch.map((e) => e.type + ':' + (e.event || '')), ['track:Queued As Array', 'page:']);
  const page = batch.batch[1];
  assert.equal(page.anonymousId, prev.local.getItem('ts_aid'));
  assert.equal(page.userId, 'u-43');
  assert.deepEqual(page.context.campaign, CAMPAIGN);
  assert.equal(page.properties.url, 'https://shop.example/cart');

  // The cookie alone restores the id (localStorage cleared).
  const local = storage();
  const c = browser({ url: 'https://shop.example/', local, jar: prev.jar });
  c.load();
  assert.equal(c.ts().anonymousId(), prev.local.getItem('ts_aid'));
  assert.equal(local.getItem('ts_aid'), prev.local.getItem('ts_aid'), 'written back');
}

// Cookieless: nothing stored anywhere, the events still carry an id and the campaign.
async function cookielessScenario() {
  const b = browser({ url: LANDING, attrs: { 'data-cookieless': '' } });
  b.load();
  b.ts().identify('u-1', { a: 1 });
  b.ts().track('X');
  b.clock = 300;
  b.fire('window', 'pagehide');
  const [batch] = await b.beaconed();
  assert.deepEqual(batch.batch.map((e) => e.type + ':' + (e.event || '')), ['page:', 'identify:', 'track:X', 'track:Page Engagement']);
  for (const e of batch.batch) {
    assert.match(e.anonymousId, UUID);
    assert.equal(e.anonymousId, batch.batch[0].anonymousId);
    assert.deepEqual(e.context.campaign, CAMPAIGN);
  }
  assert.equal(b.local.map.size, 0, 'localStorage untouched');
  assert.equal(b.session.map.size, 0, 'sessionStorage untouched');
  assert.equal(b.jar.map.size, 0, 'no cookie');
  assert.equal(b.jar.last, undefined, 'no cookie written at all');
}

// data-endpoint, 10 events flush at once, retry after a 503, hidden at load.
async function deliveryScenario() {
  const b = browser({ url: 'https://app.example/', attrs: { 'data-endpoint': 'https://collect.example.com/', 'data-auto-page': 'false' } });
  b.doc.visibilityState = 'hidden';
  b.load();
  b.fetchStatus = 503;
  for (let i = 0; i < 10; i++) b.ts().track('E' + i);
  assert.equal(b.fetches.length, 1, '10 events are sent at once');
  assert.equal(b.fetches[0].url, 'https://collect.example.com/v1/batch?writeKey=dev');
  await new Promise((r) => setImmediate(r));
  const first = JSON.parse(b.fetches[0].opts.body).batch.map((e) => e.messageId);
  assert.equal(first.length, 10);
  assert.equal([...b.timers.values()][0].ms, 4000, 'backoff doubled');
  b.fetchStatus = 200;
  await b.runTimers();
  assert.equal(b.fetches.length, 2);
  assert.deepEqual(JSON.parse(b.fetches[1].opts.body).batch.map((e) => e.messageId), first, 'same messageIds retried');
  // Never visible: no engaged time.
  b.clock = 5000;
  b.fire('window', 'pagehide');
  assert.equal(b.beacons.length, 0);
  // sendBeacon refusing falls back to fetch.
  b.win.navigator.sendBeacon = () => false;
  b.ts().track('Last');
  b.fire('window', 'pagehide');
  assert.equal(b.fetches.length, 3);
  assert.equal(b.fetches[2].opts.keepalive, true);
}

const main = await mainScenario();
const fixture = [...requests];
await reloadScenario(main);
await cookielessScenario();
await deliveryScenario();
if (process.argv[2]) fs.writeFileSync(process.argv[2], JSON.stringify(fixture, null, 2));
console.log(`t.js ok: ${fixture.length} requests from the main scenario`);
