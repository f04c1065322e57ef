// The NetDumplings dashboard: an eater like any other, connected back to the port that served it.
// Everything it keeps is bounded (it must run for days), everything it shows is set as text (a
// dumpling is data from the network, never markup), and the DOM is redrawn at most twice a second
// however fast dumplings come.
'use strict';
(() => {
  const LIMIT = {
    recentLookups: 200, shownLookups: 25,
    names: 5000, shownNames: 50, kitchensPerName: 8,
    devices: 2000, shownDevices: 100, ipsPerDevice: 4,
    kitchens: 64, ratePoints: 120,
    chefs: 16, recentPerChef: 50, shownPerChef: 10, shownRows: 50, columns: 8, sections: 6,
    extraFigures: 32, text: 200,
  };
  const KNOWN = ['SystemStatusChef', 'DNSLookupChef', 'ARPChef', 'PacketCountChef'];
  // What the page shows: the sample chefs, the hub's status, and the newer built-in chefs when a kitchen runs them.
  const DEFAULT_CHEFS = [...KNOWN, 'ServerNameChef', 'TLSChef', 'FlowChef', 'DNSAnswerChef', 'DHCPChef'];
  const REDRAW_MS = 500;

  const params = new URLSearchParams(location.search);
  const token = params.get('token');
  const chefFilter = params.get('chefs') ? params.get('chefs').split(',').map(s => s.trim()).filter(Boolean) : DEFAULT_CHEFS;
  const name = 'dashboard-' + Array.from(crypto.getRandomValues(new Uint8Array(3)), b => b.toString(16).padStart(2, '0')).join('');
  const $ = id => document.getElementById(id);
  const decoder = new TextDecoder();

  const state = {
    connection: 'connecting', attempt: 0, retryAt: 0, closeReason: '',
    received: 0, status: null, statusAt: 0,
    lookups: [],                 // newest last, at most recentLookups
    names: new Map(),            // name -> { live, last, snaps: Map(kitchen -> count) }; Map order = least recently seen first
    devices: new Map(),          // mac -> { ip, ips[], first, last, notes: Set }
    packets: new Map(),          // kitchen -> { counts, total, t, rate, at }
    rates: [],                   // { at, rate }
    chefs: new Map(),            // other chef -> { interval, intervalKitchen, intervalAt, recent[] }
  };
  let dirty = true;

  // ---- the connection: reconnect with backoff (0.5 s doubling to 5 s, with jitter) ----
  let socket = null;
  function connect() {
    const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
    const url = scheme + location.host + '/' + (token ? '?token=' + encodeURIComponent(token) : '');
    let opened = false;
    try { socket = new WebSocket(url); } catch (e) { scheduleReconnect(String(e)); return; }
    socket.binaryType = 'arraybuffer';
    socket.onopen = () => {
      opened = true;
      socket.send(JSON.stringify({ eater_name: name, chefs: chefFilter }));
      state.attempt = 0; state.closeReason = '';
      setConnection('live');
    };
    socket.onmessage = e => eat(typeof e.data === 'string' ? e.data : decoder.decode(e.data));
    socket.onclose = e => {
      socket = null;
      // A close with a reason (a refused announcement, a hub shutting down) says why; a failed upgrade says nothing, so ask the hub.
      if (e.reason) scheduleReconnect(`closed ${e.code}: ${e.reason}`);
      else if (!opened) explainRefusal();
      else scheduleReconnect(`connection lost (${e.code})`);
    };
  }

  async function explainRefusal() {
    let reason = 'the hub does not answer';
    try {
      const probe = await fetch('status.json' + (token ? '?token=' + encodeURIComponent(token) : ''), { cache: 'no-store' });
      if (probe.status === 401) reason = 'the hub needs its eater token: open this page as /?token=<eater token>';
      else if (probe.ok) reason = 'the hub refused the connection (at its connection limit?)';
      else reason = `the hub answered ${probe.status}`;
    } catch { /* the hub is down: the default reason stands */ }
    scheduleReconnect(reason);
  }

  function scheduleReconnect(reason) {
    state.attempt++;
    state.closeReason = reason;
    const delay = Math.min(5000, 500 * 2 ** Math.min(state.attempt - 1, 4)) * (0.8 + Math.random() * 0.4);
    state.retryAt = Date.now() + delay;
    setConnection('reconnecting');
    setTimeout(connect, delay);
  }

  function setConnection(value) {
    state.connection = value;
    document.body.dataset.connection = value;
    dirty = true;
    drawConnection();
  }

  // ---- eating: one dumpling at a time, into bounded state ----
  function eat(text) {
    state.received++;
    let d;
    try { d = JSON.parse(text); } catch { return; }
    const meta = d && d.metadata;
    if (!meta || typeof meta.chef !== 'string') return;
    const p = d.payload;
    const kitchen = typeof meta.kitchen === 'string' ? meta.kitchen : '';
    const when = typeof meta.creation_time === 'number' ? meta.creation_time : Date.now() / 1000;
    switch (meta.chef) {
      case 'SystemStatusChef':
        if (meta.kitchen == null && isObject(p)) { state.status = p; state.statusAt = Date.now(); }
        break;
      case 'DNSLookupChef':
        if (isObject(p) && isObject(p.lookup)) lookup(String(p.lookup.hostname), num(p.lookup.when) || when, kitchen);
        else if (isObject(p) && isObject(p.lookups_seen)) lookupsSeen(p.lookups_seen, kitchen);
        break;
      case 'ARPChef':
        if (isObject(p)) arp(p);
        break;
      case 'PacketCountChef':
        if (isObject(p) && isObject(p.packet_counts)) packetCounts(p.packet_counts, kitchen, when);
        break;
      default:
        otherChef(meta.chef, meta.driver, p, kitchen, when);
    }
    dirty = true;
  }

  function lookup(hostname, when, kitchen) {
    state.lookups.push({ hostname: cut(hostname), when, kitchen });
    if (state.lookups.length > LIMIT.recentLookups) state.lookups.splice(0, state.lookups.length - LIMIT.recentLookups);
    const entry = touchName(hostname);
    entry.live++;
    entry.last = Math.max(entry.last, when);
  }

  function lookupsSeen(seen, kitchen) {
    for (const [hostname, v] of Object.entries(seen)) {
      if (!isObject(v)) continue;
      const entry = touchName(hostname);
      entry.snaps.delete(kitchen);
      entry.snaps.set(kitchen, num(v.count));
      if (entry.snaps.size > LIMIT.kitchensPerName) entry.snaps.delete(entry.snaps.keys().next().value);
      entry.last = Math.max(entry.last, num(v.latest));
    }
  }

  // A name moves to the end of the map when seen; past the limit the least recently seen go.
  function touchName(hostname) {
    let entry = state.names.get(hostname);
    if (entry) state.names.delete(hostname);
    else entry = { live: 0, last: 0, snaps: new Map() };
    state.names.set(hostname, entry);
    while (state.names.size > LIMIT.names) state.names.delete(state.names.keys().next().value);
    return entry;
  }

  // Live lookups since this page opened, or the kitchens' own tables (since they started): whichever knows more.
  function nameCount(entry) {
    let snap = 0;
    for (const c of entry.snaps.values()) snap += c;
    return Math.max(entry.live, snap);
  }

  function arp(p) {
    const mac = String(p.src_hw || '').toLowerCase();
    if (!mac || /^(00:)+00$|^(ff:)+ff$/.test(mac)) return;
    const ip = String(p.src_ip || '');
    const time = num(p.time) || Date.now() / 1000;
    let device = state.devices.get(mac);
    if (device) state.devices.delete(mac);
    else device = { ip, ips: [], first: time, last: time, notes: new Set() };
    if (ip && ip !== device.ip) {
      device.ips = [device.ip, ...device.ips.filter(x => x !== ip)].slice(0, LIMIT.ipsPerDevice);
      device.ip = ip;
    }
    device.first = Math.min(device.first, time);
    device.last = Math.max(device.last, time);
    if (p.notes === 'source device is new') device.notes.add('new');
    else if (p.notes === 'source device has new IP address') device.notes.add('new IP');
    state.devices.set(mac, device);
    while (state.devices.size > LIMIT.devices) state.devices.delete(state.devices.keys().next().value);
  }

  function packetCounts(counts, kitchen, when) {
    const clean = {};
    let total = 0;
    for (const [layer, v] of Object.entries(counts).slice(0, 64)) { clean[cut(layer, 40)] = num(v); }
    total = num(clean.Ethernet) || Math.max(0, ...Object.values(clean));
    const previous = state.packets.get(kitchen);
    let rate = 0, layerRates = {};
    if (previous && when > previous.t && total >= previous.total) {
      const seconds = when - previous.t;
      rate = (total - previous.total) / seconds;
      for (const [layer, v] of Object.entries(clean)) layerRates[layer] = Math.max(0, (v - num(previous.counts[layer])) / seconds);
    }
    state.packets.delete(kitchen);
    state.packets.set(kitchen, { counts: clean, total, t: when, rate, layerRates, at: Date.now() });
    while (state.packets.size > LIMIT.kitchens) state.packets.delete(state.packets.keys().next().value);
    state.rates.push({ at: Date.now(), rate: currentRate() });
    if (state.rates.length > LIMIT.ratePoints) state.rates.splice(0, state.rates.length - LIMIT.ratePoints);
  }

  // The sum of each kitchen's latest rate, leaving out kitchens silent for a minute.
  function currentRate() {
    let sum = 0;
    const now = Date.now();
    for (const k of state.packets.values()) if (now - k.at < 60000) sum += k.rate;
    return sum;
  }

  function otherChef(chef, driver, payload, kitchen, when) {
    let entry = state.chefs.get(chef);
    if (!entry) {
      if (state.chefs.size >= LIMIT.chefs) return;
      entry = { interval: undefined, intervalKitchen: '', intervalAt: 0, recent: [], count: 0 };
      state.chefs.set(chef, entry);
    }
    entry.count++;
    if (driver === 'interval') {
      entry.interval = payload; entry.intervalKitchen = kitchen; entry.intervalAt = when;
    } else {
      // Only a line of text is kept of each, never the payload itself; a lone wrapper key ({"flow": {...}}) is left out.
      const keys = isObject(payload) ? Object.keys(payload) : [];
      const inner = keys.length === 1 && isObject(payload[keys[0]]) ? payload[keys[0]] : payload;
      entry.recent.push({ when, kitchen, text: summarize(inner) });
      if (entry.recent.length > LIMIT.recentPerChef) entry.recent.splice(0, entry.recent.length - LIMIT.recentPerChef);
    }
  }

  // ---- drawing: at most every REDRAW_MS, only what changed ----
  function draw() {
    if (!dirty) return;
    dirty = false;
    $('self-received').textContent = fmt(state.received);
    drawConnection();
    drawStatus();
    drawPackets();
    drawDns();
    drawDevices();
    drawChefs();
  }

  function drawConnection() {
    const badge = $('connection');
    const notice = $('notice');
    if (state.connection === 'live') {
      badge.textContent = 'live';
      notice.hidden = true;
    } else if (state.connection === 'reconnecting') {
      const seconds = Math.max(0, Math.ceil((state.retryAt - Date.now()) / 1000));
      badge.textContent = 'reconnecting';
      notice.hidden = false;
      notice.textContent = `Reconnecting to the hub (attempt ${state.attempt}${seconds ? `, next in ${seconds} s` : ''}): ${state.closeReason}. What is shown is as it was.`;
    } else {
      badge.textContent = 'connecting';
    }
  }

  function drawStatus() {
    const s = state.status;
    if (!s) return;
    $('total-in').textContent = fmt(s.total_dumplings_in);
    $('total-out').textContent = fmt(s.total_dumplings_out);
    $('total-dropped').textContent = fmt(s.total_dumplings_dropped);
    $('total-invalid').textContent = fmt(s.total_invalid_dumplings);
    $('total-refused').textContent = fmt(s.total_refused_connections);
    $('total-kitchens').textContent = fmt(s.dumpling_kitchen_count);
    $('total-eaters').textContent = fmt(s.dumpling_eater_count);
    $('uptime').textContent = duration(num(s.server_uptime));
    $('hub-version').textContent = typeof s.hub_version === 'string' ? cut(s.hub_version) : '';

    const kitchens = array(s.dumpling_kitchens).slice(0, LIMIT.shownRows);
    fill('kitchens', kitchens.map(k => {
      const info = obj(k.info_from_kitchen), hub = obj(k.info_from_hub);
      const chefs = array(info.chefs).slice(0, 20).map(c => String(c).replace(/^.*\./, '')).join(', ');
      return row([info.kitchen_name, hostPort(hub), info.interface, info.filter, chefs,
        [info.poke_interval, 'num'], [fmt(hub.dumplings_received), 'num']]);
    }), more(s.dumpling_kitchen_count, kitchens.length, 'kitchens'));

    let self = null;
    const eaters = array(s.dumpling_eaters).slice(0, LIMIT.shownRows);
    fill('eaters', eaters.map(e => {
      const info = obj(e.info_from_eater), hub = obj(e.info_from_hub);
      const tr = row([info.eater_name, hostPort(hub), [fmt(hub.dumplings_sent), 'num'], [fmt(hub.dumplings_dropped), 'num'],
        [hub.queue_dumplings === undefined ? '' : `${fmt(hub.queue_dumplings)} (${bytes(hub.queue_bytes)})`, 'num']]);
      if (info.eater_name === name) { tr.className = 'self'; self = hub; }
      return tr;
    }), more(s.dumpling_eater_count, eaters.length, 'eaters'));
    if (self) $('self-dropped').textContent = fmt(self.dumplings_dropped);

    // The mesh (hubs joined through NATS), shown as the hub reports it.
    const meshKeys = Object.keys(s).filter(k => /mesh|nats/i.test(k));
    $('mesh').hidden = meshKeys.length === 0;
    if (meshKeys.length) $('mesh-body').replaceChildren(...meshKeys.map(k => valueBlock(k, s[k])));

    // Figures a newer hub adds, so they are seen before this page learns their names.
    const known = new Set(['total_dumplings_in', 'total_dumplings_out', 'server_uptime', 'dumpling_kitchen_count', 'dumpling_eater_count',
      'total_dumplings_dropped', 'total_invalid_dumplings', 'total_refused_connections', 'hub_version']);
    const extra = Object.entries(s).filter(([k, v]) => !known.has(k) && !meshKeys.includes(k) && (typeof v !== 'object' || v === null))
      .slice(0, LIMIT.extraFigures);
    $('hub-more').hidden = extra.length === 0;
    $('hub-extra').replaceChildren(...extra.flatMap(([k, v]) => [el('dt', k.replace(/_/g, ' ')), el('dd', typeof v === 'number' ? fmt(v) : cut(String(v)))]));
  }

  function drawPackets() {
    const totals = new Map(), rates = new Map();
    for (const k of state.packets.values()) {
      for (const [layer, v] of Object.entries(k.counts)) totals.set(layer, (totals.get(layer) || 0) + v);
      for (const [layer, v] of Object.entries(k.layerRates || {})) rates.set(layer, (rates.get(layer) || 0) + v);
    }
    const rows = [...totals.entries()].sort((a, b) => b[1] - a[1]).map(([layer, v]) => {
      const tr = row([layer, [fmt(v), 'num'], [fmt(Math.round(rates.get(layer) || 0)), 'num']]);
      tr.dataset.layer = layer;
      return tr;
    });
    fill('packet-counts', rows);
    $('packet-rate').textContent = state.packets.size ? `${fmt(Math.round(currentRate()))} packets/s` : '';
    chart($('rate-chart'), state.rates.map(r => r.rate));
  }

  function chart(canvas, values) {
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth || 480, height = canvas.clientHeight || 120;
    if (canvas.width !== Math.round(width * ratio)) { canvas.width = Math.round(width * ratio); canvas.height = Math.round(height * ratio); }
    const g = canvas.getContext('2d');
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, width, height);
    const max = Math.max(1, ...values);
    g.strokeStyle = '#e2ddd2'; g.lineWidth = 1;
    g.beginPath(); g.moveTo(0, height - 0.5); g.lineTo(width, height - 0.5); g.stroke();
    g.fillStyle = '#6f6a60'; g.font = '11px system-ui, sans-serif';
    if (values.length < 2) { g.fillText('packets/s, from PacketCountChef', 4, 12); return; }
    g.fillText(`${fmt(Math.round(max))}/s`, 4, 12);
    const step = width / (LIMIT.ratePoints - 1);
    const x0 = width - step * (values.length - 1);
    g.beginPath();
    values.forEach((v, i) => { const x = x0 + i * step, y = height - 2 - (v / max) * (height - 18); i ? g.lineTo(x, y) : g.moveTo(x, y); });
    g.strokeStyle = '#b5651d'; g.lineWidth = 2; g.stroke();
  }

  function drawDns() {
    const recent = state.lookups.slice(-LIMIT.shownLookups).reverse();
    $('dns-recent').replaceChildren(...recent.map(l => {
      const li = el('li');
      li.append(el('time', clock(l.when)), el('span', l.hostname, 'text'));
      if (l.kitchen) li.title = `from ${l.kitchen}`;
      return li;
    }));
    const filter = $('dns-filter').value.trim().toLowerCase();
    const matches = [];
    for (const [hostname, entry] of state.names) if (!filter || hostname.toLowerCase().includes(filter)) matches.push([hostname, nameCount(entry), entry.last]);
    matches.sort((a, b) => b[1] - a[1] || b[2] - a[2]);
    fill('dns-top', matches.slice(0, LIMIT.shownNames).map(([hostname, count, last]) => {
      const tr = row([cut(hostname), [fmt(count), 'num'], stamp(last)]);
      tr.dataset.name = hostname;
      return tr;
    }));
    $('dns-more').textContent = matches.length > LIMIT.shownNames ? `${fmt(matches.length - LIMIT.shownNames)} more names (filter to find them)` : '';
  }

  function drawDevices() {
    const devices = [...state.devices.entries()].sort((a, b) => b[1].last - a[1].last);
    fill('device-table', devices.slice(0, LIMIT.shownDevices).map(([mac, d]) => {
      const notes = el('td');
      for (const n of d.notes) notes.append(el('span', n, n === 'new' ? 'tag new' : 'tag newip'));
      const ip = d.ips.length ? `${d.ip} (was ${d.ips.join(', ')})` : d.ip;
      const tr = row([mac, ip, stamp(d.first), stamp(d.last)]);
      tr.append(notes);
      tr.dataset.mac = mac;
      return tr;
    }));
    $('devices-more').textContent = devices.length > LIMIT.shownDevices ? `${fmt(devices.length - LIMIT.shownDevices)} more devices` : '';
  }

  // Chefs this page has no view for: their latest interval dumpling as tables, their packet dumplings as lines.
  function drawChefs() {
    const panels = [];
    for (const [chef, entry] of state.chefs) {
      const panel = el('section', null, 'panel');
      panel.dataset.chef = chef;
      const h = el('h2', chef);
      h.append(el('span', ` ${fmt(entry.count)} dumplings`, 'muted'));
      panel.append(h);
      if (entry.interval !== undefined) {
        panel.append(el('h3', `latest summary${entry.intervalKitchen ? ' from ' + entry.intervalKitchen : ''}, ${clock(entry.intervalAt)}`));
        const value = entry.interval;
        if (isObject(value)) {
          for (const [k, v] of Object.entries(value).slice(0, LIMIT.sections)) panel.append(valueBlock(k, v));
        } else panel.append(valueBlock('', value));
      }
      if (entry.recent.length) {
        panel.append(el('h3', 'latest'));
        const list = el('ol', null, 'recent');
        for (const r of entry.recent.slice(-LIMIT.shownPerChef).reverse()) {
          const li = el('li');
          li.append(el('time', clock(r.when)), el('span', r.text, 'text'));
          list.append(li);
        }
        panel.append(list);
      }
      panels.push(panel);
    }
    $('chefs').replaceChildren(...panels);
  }

  // Any JSON value as a small table: objects of objects (name -> figures), arrays of objects, or key/value pairs.
  function valueBlock(title, value) {
    const block = el('div');
    if (title) block.append(el('h3', title.replace(/_/g, ' ')));
    let entries;
    if (Array.isArray(value)) entries = value.map((v, i) => [String(i + 1), v]);
    else if (isObject(value)) entries = Object.entries(value);
    else { block.append(el('p', summarize(value))); return block; }
    const nested = entries.filter(([, v]) => isObject(v));
    if (nested.length && nested.length === entries.length) {
      // Rows sorted by their numbers, biggest first: the top of whatever the chef counts.
      const total = v => Object.values(v).reduce((s, x) => s + (typeof x === 'number' ? x : 0), 0);
      const rows = entries.slice();
      if (!Array.isArray(value)) rows.sort((a, b) => total(b[1]) - total(a[1]));
      const columns = [...new Set(rows.slice(0, LIMIT.shownRows).flatMap(([, v]) => Object.keys(v)))].slice(0, LIMIT.columns);
      const table = el('table');
      const head = el('tr');
      const numeric = c => rows.some(([, v]) => typeof v[c] === 'number');
      head.append(el('th', Array.isArray(value) ? '#' : ''), ...columns.map(c => el('th', c.replace(/_/g, ' '), numeric(c) ? 'num' : '')));
      table.append(el('thead'));
      table.tHead.append(head);
      const body = el('tbody');
      for (const [k, v] of rows.slice(0, LIMIT.shownRows))
        body.append(row([cut(k), ...columns.map(c => isTime(c, v[c]) ? stamp(v[c]) : typeof v[c] === 'number' ? [fmt(v[c]), 'num'] : summarize(v[c]))]));
      table.append(body);
      block.append(table);
    } else {
      const dl = el('dl');
      for (const [k, v] of entries.slice(0, LIMIT.shownRows)) dl.append(el('dt', cut(k)), el('dd', isTime(k, v) ? stamp(v) : typeof v === 'number' ? fmt(v) : summarize(v)));
      block.append(dl);
    }
    if (entries.length > LIMIT.shownRows) block.append(el('p', `${fmt(entries.length - LIMIT.shownRows)} more`, 'muted'));
    return block;
  }

  // ---- small helpers ----
  function el(tag, text, className) {
    const e = document.createElement(tag);
    if (text !== null && text !== undefined) e.textContent = text;
    if (className) e.className = className;
    return e;
  }
  function row(cells) {
    const tr = el('tr');
    for (const c of cells) {
      const [value, cls] = Array.isArray(c) ? c : [c, ''];
      tr.append(el('td', value === null || value === undefined ? '' : cut(String(value)), cls));
    }
    return tr;
  }
  function fill(tableId, rows, footnote) {
    const body = $(tableId).tBodies[0];
    body.replaceChildren(...rows);
    if (footnote) body.append(footnote);
  }
  function more(count, shown, what) {
    const n = num(count) - shown;
    if (n <= 0) return null;
    const tr = el('tr');
    const td = el('td', `${fmt(n)} more ${what}`, 'muted');
    td.colSpan = 9;
    tr.append(td);
    return tr;
  }
  function summarize(value) {
    if (value === null || value === undefined) return '';
    if (typeof value !== 'object') return cut(String(value));
    const parts = [];
    const walk = (v, prefix) => {
      if (parts.length >= 12) return;
      if (isObject(v)) for (const [k, x] of Object.entries(v)) walk(x, prefix ? `${prefix}.${k}` : k);
      else if (Array.isArray(v)) parts.push(`${prefix}=[${v.slice(0, 5).map(x => typeof x === 'object' ? '…' : String(x)).join(', ')}${v.length > 5 ? ', …' : ''}]`);
      else if (isTime(prefix, v)) parts.push(`${prefix}=${stamp(v)}`);
      else parts.push(prefix ? `${prefix}=${v}` : String(v));
    };
    walk(value, '');
    return cut(parts.join('  '));
  }
  // Chefs give times as epoch seconds under names like these (PROTOCOL.md): shown as times, not as big numbers.
  function isTime(key, v) { return typeof v === 'number' && v > 1e9 && v < 1e10 && /(^|[._])(when|time|start|end|first_seen|last_seen|latest)$/.test(key); }
  function hostPort(hub) { return hub.host === undefined ? '' : `${hub.host}:${hub.port}`; }
  function isObject(v) { return v !== null && typeof v === 'object' && !Array.isArray(v); }
  function obj(v) { return isObject(v) ? v : {}; }
  function array(v) { return Array.isArray(v) ? v : []; }
  function num(v) { return typeof v === 'number' && isFinite(v) ? v : 0; }
  function cut(s, n = LIMIT.text) { s = String(s); return s.length > n ? s.slice(0, n - 1) + '…' : s; }
  function fmt(v) { return typeof v === 'number' && isFinite(v) ? v.toLocaleString('en-US', { maximumFractionDigits: 1 }) : '-'; }
  function bytes(v) { v = num(v); return v < 1024 ? `${v} B` : v < 1048576 ? `${(v / 1024).toFixed(1)} KiB` : `${(v / 1048576).toFixed(1)} MiB`; }
  function pad(n) { return String(n).padStart(2, '0'); }
  function clock(seconds) { const d = new Date(seconds * 1000); return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`; }
  function stamp(seconds) {
    if (!seconds) return '';
    const d = new Date(seconds * 1000);
    return d.toDateString() === new Date().toDateString() ? clock(seconds) : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${clock(seconds)}`;
  }
  function duration(seconds) {
    const s = Math.floor(seconds), days = Math.floor(s / 86400);
    return `${days ? days + 'd ' : ''}${pad(Math.floor(s / 3600) % 24)}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}`;
  }

  $('hub-host').textContent = location.host;
  $('self-name').textContent = name;
  $('dns-filter').addEventListener('input', () => { dirty = true; draw(); });
  setInterval(draw, REDRAW_MS);
  // The countdown in the reconnecting notice moves on its own.
  setInterval(() => { if (state.connection === 'reconnecting') drawConnection(); }, 1000);
  connect();
})();
