/*! touchstream.js: Touchstream's browser tracker (served as GET /t.js). */
(function (w, d) {
  'use strict';
  var V = '1.0.0', A = 'ts_aid', U = 'ts_uid', C = 'ts_camp';
  var CLICK_IDS = ['gclid', 'gbraid', 'wbraid', 'dclid', 'msclkid', 'yclid', 'fbclid', 'ttclid', 'li_fat_id', 'twclid', 'sccid', 'epik', 'rdt_cid'];
  var prev = w.touchstream;
  if (prev && prev.loaded) return; // included twice
  var s = d.currentScript || d.querySelector('script[data-write-key]');
  var at = function (n) { return s && s.getAttribute(n); };
  var key = at('data-write-key') || '';
  var cookieless = !!s && s.hasAttribute('data-cookieless');
  var base = (at('data-endpoint') || (s && s.src ? new URL(s.src, location.href).origin : location.origin)).replace(/\/+$/, '');
  var url = base + '/v1/batch?writeKey=' + encodeURIComponent(key);
  var now = function () { return w.performance && performance.now ? performance.now() : Date.now(); };

  function store(area) { try { return cookieless ? null : w[area]; } catch (e) { return null; } }
  function get(area, k) { try { var st = store(area); return st ? st.getItem(k) : null; } catch (e) { return null; } }
  function set(area, k, v) { try { var st = store(area); if (st) v == null ? st.removeItem(k) : st.setItem(k, v); } catch (e) {} }
  function cookie(v) {
    if (cookieless) return null;
    try {
      if (v === undefined) { var m = d.cookie.match(/(?:^|;\s*)ts_aid=([^;]+)/); return m ? decodeURIComponent(m[1]) : null; }
      d.cookie = A + '=' + encodeURIComponent(v) + '; path=/; max-age=' + (v ? 63072000 : 0) + '; SameSite=Lax' + (location.protocol === 'https:' ? '; Secure' : '');
    } catch (e) {}
    return null;
  }
  function uuid() {
    var b = crypto.getRandomValues(new Uint8Array(16)), h = [];
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    for (var i = 0; i < 16; i++) h.push((b[i] + 256).toString(16).slice(1) + ([3, 5, 7, 9].indexOf(i) >= 0 ? '-' : ''));
    return h.join('');
  }

  // Identity: first-party anonymous id in localStorage and a cookie, or in memory only when cookieless.
  var aid = get('localStorage', A) || cookie();
  if (!aid) aid = uuid();
  function saveAid() { set('localStorage', A, aid); cookie(aid); }
  saveAid();
  var uid = get('localStorage', U);

  // Campaign: utm_* and click ids of the landing URL, kept for the session.
  var camp = null;
  function readCampaign() {
    var q = new URLSearchParams(location.search), c = {}, any = false;
    ['source', 'medium', 'name', 'term', 'content'].forEach(function (k) {
      var v = q.get('utm_' + (k === 'name' ? 'campaign' : k)); if (v) { c[k] = v; any = true; }
    });
    CLICK_IDS.forEach(function (k) { var v = q.get(k); if (v) { c[k] = v; any = true; } });
    if (any) { camp = c; set('sessionStorage', C, JSON.stringify(c)); }
    else if (!camp) { try { camp = JSON.parse(get('sessionStorage', C) || 'null'); } catch (e) { camp = null; } }
  }

  readCampaign();

  // Engaged time: counted only while the page is visible and focused.
  // After leaving (pagehide or hidden) nothing counts until the page is
  // shown again, so pagehide followed by visibilitychange reports once.
  var engaged = 0, since = null, left = false;
  function active() { return !left && d.visibilityState === 'visible' && (!d.hasFocus || d.hasFocus()); }
  function tick() {
    var t = now();
    if (since !== null) engaged += t - since;
    since = active() ? t : null;
  }
  function takeEngaged() { tick(); var e = Math.round(engaged); engaged = 0; return e; }

  // Page state (what the last page view reported).
  var page = null, referrer = d.referrer || '';
  function pageInfo() {
    return { url: location.href, path: location.pathname, referrer: referrer, title: d.title, search: location.search };
  }

  function context(p) {
    var c = { library: { name: 'touchstream.js', version: V }, page: p || page || pageInfo(), userAgent: navigator.userAgent, locale: navigator.language };
    if (camp) c.campaign = Object.assign({}, camp);
    if (w.screen) c.screen = { width: screen.width, height: screen.height, density: w.devicePixelRatio || 1 };
    try { c.timezone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) {}
    return c;
  }

  // Queue and delivery: batches of up to 10, every 2 s; beacon when the page goes away.
  var q = [], timer = null, backoff = 2000;
  function enqueue(ev, p) {
    ev.messageId = uuid();
    ev.anonymousId = aid;
    if (uid) ev.userId = uid;
    ev.context = context(p);
    ev.originalTimestamp = new Date().toISOString();
    q.push(ev);
    if (q.length >= 10) flush();
    else if (!timer) timer = setTimeout(flush, backoff);
  }
  function body(batch) { return JSON.stringify({ batch: batch, writeKey: key, sentAt: new Date().toISOString() }); }
  function flush(beacon) {
    if (timer) { clearTimeout(timer); timer = null; }
    while (q.length) {
      var batch = q.splice(0, 10), b = body(batch);
      if (beacon === true && navigator.sendBeacon) {
        try { if (navigator.sendBeacon(url, new Blob([b], { type: 'text/plain' }))) continue; } catch (e) {}
      }
      send(batch, b);
    }
  }
  function send(batch, b) {
    var retry = function () {
      q = batch.concat(q).slice(0, 100); // keep the oldest; the collector deduplicates on messageId
      backoff = Math.min(backoff * 2, 60000);
      if (!timer) timer = setTimeout(flush, backoff);
    };
    try {
      fetch(url, { method: 'POST', body: b, keepalive: b.length < 60000, credentials: 'omit', headers: { 'Content-Type': 'text/plain' } })
        .then(function (r) { if (r.status === 429 || r.status >= 500) retry(); else backoff = 2000; }, retry);
    } catch (e) { retry(); }
  }

  // Calls.
  function props(p) { return p && typeof p === 'object' ? Object.assign({}, p) : {}; }
  function reportEngagement() {
    var e = takeEngaged();
    if (e > 0 && page) enqueue({ type: 'track', event: 'Page Engagement', properties: { engagement_time_msec: e, url: page.url, path: page.path, title: page.title } }, page);
  }
  var api = {
    loaded: true,
    track: function (name, p) { if (name) enqueue({ type: 'track', event: String(name), properties: props(p) }); },
    page: function (name, p) {
      if (name && typeof name === 'object') { p = name; name = null; }
      if (page) { reportEngagement(); referrer = page.url; }
      readCampaign();
      page = pageInfo();
      var ev = { type: 'page', properties: Object.assign({}, page, props(p)) };
      if (name) ev.name = String(name);
      enqueue(ev);
    },
    identify: function (id, traits) {
      if (id && typeof id === 'object') { traits = id; id = null; }
      if (id != null && id !== '') { uid = String(id); set('localStorage', U, uid); }
      enqueue({ type: 'identify', traits: props(traits) });
    },
    reset: function () { uid = null; set('localStorage', U, null); aid = uuid(); saveAid(); },
    flush: flush,
    anonymousId: function () { return aid; }
  };
  w.touchstream = api;

  // Listeners.
  tick();
  ['focus', 'blur'].forEach(function (e) { w.addEventListener(e, tick); });
  function back() { left = false; tick(); }
  w.addEventListener('pageshow', back);
  function leave() { reportEngagement(); left = true; since = null; flush(true); }
  d.addEventListener('visibilitychange', function () { if (d.visibilityState === 'hidden') leave(); else back(); });
  w.addEventListener('pagehide', leave);
  function spa() {
    var u = location.href.split('#')[0];
    if (page && page.url.split('#')[0] !== u) api.page();
  }
  ['pushState', 'replaceState'].forEach(function (m) {
    var orig = history[m];
    if (typeof orig === 'function') history[m] = function () { var r = orig.apply(this, arguments); spa(); return r; };
  });
  w.addEventListener('popstate', spa);
  d.addEventListener('click', function (e) {
    var el = e.target;
    if (el && !el.closest) el = el.parentElement;
    el = el && el.closest && el.closest('[data-ts-event]');
    if (!el) return;
    var p = {}, a = el.attributes;
    for (var i = 0; i < a.length; i++) if (a[i].name.indexOf('data-ts-prop-') === 0) p[a[i].name.slice(13).replace(/-/g, '_')] = a[i].value;
    api.track(el.getAttribute('data-ts-event'), p);
  }, true);

  // Calls queued by the stub before this script ran, then the first page view.
  var pending = prev ? (Array.isArray(prev) ? prev : prev.q || []) : [], paged = false;
  pending.forEach(function (c) {
    if (c && api[c[0]]) { paged = paged || c[0] === 'page'; api[c[0]].apply(null, [].slice.call(c, 1)); }
  });
  if (!paged && at('data-auto-page') !== 'false') api.page();
})(window, document);
