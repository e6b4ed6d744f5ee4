/* maglevd dashboard: renders /events (a snapshot, then updates) into the
 * page. Read-only. Every string from the daemon (names come from the
 * config) goes into the page as text (textContent), never as markup. */
'use strict';

(function () {
  const S = { version: null, vpp: null, fe: new Map(), feOrder: [], be: new Map(), skew: 0 };

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  /* a class from a state name: only [a-z0-9-] */
  function st(s) { return 'st-' + String(s || 'unknown').toLowerCase().replace(/[^a-z0-9-]/g, ''); }
  function badge(s, extra) { return el('span', 'badge ' + st(s) + (extra ? ' ' + extra : ''), s || 'unknown'); }
  function now() { return Date.now() + S.skew; }
  function ago(ms) {
    if (!ms) return 'never';
    const s = Math.max(0, Math.round((now() - ms) / 1000));
    if (s < 60) return s + ' s ago';
    if (s < 3600) return Math.floor(s / 60) + ' min ago';
    if (s < 86400) return Math.floor(s / 3600) + ' h ago';
    return Math.floor(s / 86400) + ' d ago';
  }
  function age(ms) {
    const e = el('span', 'age', ago(ms));
    e.dataset.ms = String(ms || 0);
    return e;
  }
  function latency(us) {
    if (!us) return '';
    return us < 1000 ? us + ' µs' : (us / 1000).toFixed(us < 10000 ? 2 : 1) + ' ms';
  }
  function rate(pps) {
    if (pps >= 1e6) return (pps / 1e6).toFixed(2) + ' Mpps';
    if (pps >= 1e3) return (pps / 1e3).toFixed(1) + ' kpps';
    return Math.round(pps) + ' pps';
  }
  function time(ms) { return ms ? new Date(ms).toLocaleString() : ''; }
  function vip(f) {
    const a = f.address.indexOf(':') >= 0 ? '[' + f.address + ']' : f.address;
    return f.port ? a + ' ' + f.protocol + ':' + f.port : a + ' (all ports)';
  }

  function renderVersion() {
    const v = S.version;
    document.getElementById('version').textContent = v ? v.version : '';
    if (v) document.title = 'maglevd ' + v.version;
  }

  function renderVPP() {
    const box = document.getElementById('vpp');
    box.replaceChildren();
    const v = S.vpp;
    const h = el('h2', null, 'VPP ');
    box.append(h);
    if (!v) return;
    if (!v.enabled) {
      h.append(el('span', 'muted', 'integration disabled (--vpp-api-addr "")'));
      return;
    }
    h.append(badge(v.state));
    if (v.dry_run) h.append(el('span', 'badge flag soft', 'dry run'));
    if (v.warmup_until_ms > now()) h.append(el('span', 'badge flag soft', 'warm-up'));
    const m = el('div', 'meta');
    m.append(el('span', null, v.address));
    if (v.version) m.append(el('span', null, 'VPP ' + v.version));
    const sync = el('span', null, 'last sync ');
    sync.append(age(v.last_sync_ms));
    m.append(sync);
    if (v.connected) {
      const c = el('span', null, 'connected ');
      c.append(age(v.connected_since_ms));
      m.append(c);
    }
    if (v.pending) m.append(el('span', null, v.pending + ' pending'));
    if (v.counters) {
      const c = v.counters;
      m.append(el('span', c.status === 'stale' ? 'err' : null, 'counters ' + c.status +
        (c.error ? ': ' + c.error : '')));
    }
    box.append(m);
    if (v.last_error && !v.connected) box.append(el('div', 'err', v.last_error));
  }

  function timeline(b) {
    const t = el('span', 'tl');
    for (const h of (b && b.history) || []) {
      const i = el('i', st(h.to));
      i.title = time(h.time_ms) + ': ' + h.from + ' → ' + h.to + ' (' + h.code +
        (h.detail ? ', ' + h.detail : '') + ')';
      t.append(i);
    }
    return t;
  }

  function backendRow(s) {
    const b = S.be.get(s.name);
    const tr = el('tr');
    tr.dataset.backend = s.name;
    tr.dataset.state = s.state;
    tr.append(el('td', null, s.name));
    tr.append(el('td', 'wide', s.address));
    const tdState = el('td');
    tdState.append(badge(s.state));
    if (s.held) tdState.append(' ', el('span', 'badge flag soft', 'held'));
    tr.append(tdState);
    const w = el('td', 'num', String(s.effective_weight));
    w.title = 'effective weight (configured ' + s.weight + (s.overridden ? ', overridden' : '') +
      (s.flush ? ', flush' : '') + ')' +
      (s.buckets !== undefined ? '; ' + s.buckets + ' buckets of the new-flow table, ' +
        s.bucket_share_pct.toFixed(1) + '% of new flows' : '');
    if (s.overridden) w.textContent += '*';
    tr.append(w);
    const vp = el('td', s.vpp ? 'vpp-' + st(s.vpp).slice(3) : 'muted', s.vpp || '—');
    if (s.vpp === 'failed' && s.vpp_error) vp.title = s.vpp_error;
    else if (s.vpp_weight >= 0) vp.title = 'VPP has weight ' + s.vpp_weight;
    tr.append(vp);
    const code = el('td', null, b ? b.last_code : '');
    if (b && b.last_detail) code.title = b.last_detail;
    tr.append(code);
    tr.append(el('td', 'num', b ? latency(b.latency_us) : ''));
    const a = el('td');
    if (b) a.append(age(b.last_probe_ms));
    tr.append(a);
    const tl = el('td', 'wide');
    tl.append(timeline(b));
    tr.append(tl);
    return tr;
  }

  function frontendCard(f) {
    const card = el('article', 'fe');
    card.dataset.frontend = f.name;
    card.dataset.state = f.state;
    const h = el('h2');
    h.append(el('span', 'name', f.name), badge(f.state));
    if (f.panic) h.append(el('span', 'badge flag', 'PANIC'));
    if (f.vpp_held) h.append(el('span', 'badge flag soft', 'held by warm-up'));
    card.append(h);
    const m = el('div', 'meta');
    m.append(el('span', null, 'VIP ' + vip(f)));
    m.append(el('span', null, 'active pool ' + (f.active_pool || 'none')));
    if (f.rates) {
      const r = el('span', 'rate', f.rates.known ? rate(f.rates.packets) : 'rate: measuring');
      if (f.rates.known) r.title = 'first session ' + rate(f.rates.first_session) +
        ', existing ' + rate(f.rates.existing_sessions) + ', no server ' +
        rate(f.rates.no_server);
      m.append(r);
    }
    if (f.description) m.append(el('span', null, f.description));
    card.append(m);
    const table = el('table');
    const head = el('tr');
    for (const [t, c] of [['backend'], ['address', 'wide'], ['state'], ['weight', 'num'],
      ['VPP'], ['probe'], ['latency', 'num'], ['last probe'], ['transitions', 'wide']]) {
      head.append(el('th', c, t));
    }
    const thead = el('thead');
    thead.append(head);
    const tbody = el('tbody');
    for (const p of f.pools) {
      const pr = el('tr', 'pool' + (p.name === f.active_pool ? ' active' : ''));
      const td = el('td', null, 'pool ' + p.name + (p.name === f.active_pool ? ' (active)' : ''));
      td.colSpan = 9;
      pr.append(td);
      tbody.append(pr);
      for (const s of p.backends) tbody.append(backendRow(s));
    }
    table.append(thead, tbody);
    const wrap = el('div', 'tablewrap');
    wrap.append(table);
    card.append(wrap);
    return card;
  }

  const cards = new Map();

  function renderFrontend(name) {
    const f = S.fe.get(name);
    const old = cards.get(name);
    if (!f) return;
    const card = frontendCard(f);
    if (old) old.replaceWith(card);
    else document.getElementById('frontends').append(card);
    cards.set(name, card);
  }

  function renderAll() {
    const main = document.getElementById('frontends');
    main.replaceChildren();
    cards.clear();
    if (!S.feOrder.length) main.append(el('p', 'panel muted', 'No frontends configured.'));
    for (const n of S.feOrder) renderFrontend(n);
    renderUnused();
    renderVPP();
    renderVersion();
  }

  function renderUnused() {
    const box = document.getElementById('unused');
    const names = [...S.be.values()].filter((b) => !b.frontends.length).map((b) => b.name);
    box.replaceChildren();
    box.classList.toggle('hidden', names.length === 0);
    if (!names.length) return;
    box.append(el('h2', null, 'Backends in no frontend'));
    const m = el('div', 'meta');
    for (const n of names) {
      const b = S.be.get(n);
      const s = el('span');
      s.dataset.backend = n;
      s.dataset.state = b.state;
      s.append(n + ' ', badge(b.state));
      m.append(s);
    }
    box.append(m);
  }

  function clock(d) {
    if (d.now_ms) S.skew = d.now_ms - Date.now();
  }

  function snapshot(d) {
    clock(d);
    S.version = d.version;
    S.vpp = d.vpp;
    S.fe = new Map(d.frontends.map((f) => [f.name, f]));
    S.feOrder = d.frontends.map((f) => f.name);
    S.be = new Map(d.backends.map((b) => [b.name, b]));
    renderAll();
  }

  function update(d) {
    clock(d);
    const touched = new Set();
    for (const f of d.frontends || []) {
      if (!S.fe.has(f.name)) S.feOrder.push(f.name);
      S.fe.set(f.name, f);
      touched.add(f.name);
    }
    let unused = false;
    for (const b of d.backends || []) {
      S.be.set(b.name, b);
      for (const n of b.frontends) touched.add(n);
      if (!b.frontends.length) unused = true;
    }
    for (const n of touched) renderFrontend(n);
    if (unused) renderUnused();
    if (d.vpp) {
      S.vpp = d.vpp;
      renderVPP();
    }
  }

  function setLive(on) {
    const l = document.getElementById('live');
    l.textContent = on ? 'live' : 'reconnecting';
    l.classList.toggle('off', !on);
  }

  function tick() {
    for (const e of document.querySelectorAll('.age')) e.textContent = ago(Number(e.dataset.ms));
  }

  function start() {
    const es = new EventSource('events');
    es.addEventListener('snapshot', (e) => snapshot(JSON.parse(e.data)));
    es.addEventListener('update', (e) => update(JSON.parse(e.data)));
    es.addEventListener('open', () => setLive(true));
    es.addEventListener('error', () => setLive(false));
    setInterval(tick, 1000);
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
