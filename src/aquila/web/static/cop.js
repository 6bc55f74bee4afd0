// Aquila's common operational picture. Every layer comes from the API with the signed-in user's token, so the
// page only ever holds what the server released to that user; every feature shows its label. No innerHTML with
// data anywhere: item properties are other nations' input, written as text only.
// The map library (1 MB) is imported once the first catalog page is in (see start): started beside the search,
// its start-up (compiling, a worker, WebGL) took the cores the server needed and the page was slower.
let maplibregl = null;

const LEVELS = ['NU', 'NR', 'NC', 'NS', 'CTS'];
const FULL = {NU: 'NATO UNCLASSIFIED', NR: 'NATO RESTRICTED', NC: 'NATO CONFIDENTIAL', NS: 'NATO SECRET',
              CTS: 'COSMIC TOP SECRET'};
const COLOUR = {NU: '#43a047', NR: '#8e6fe0', NC: '#3d7fe0', NS: '#e53935', CTS: '#ff9800'};
const FINDINGS = 'maritime-findings';
const PAGE = 10000;            // items per search page (the API's largest)
const MAX_FOOTPRINTS = 20000;  // newest first; the status line says when there are more
const FIELDS = ['id', 'collection', 'geometry', 'properties.datetime', 'properties.platform',
                'properties.sec:classification', 'properties.sec:releasable_to', 'properties.sec:caveats',
                'properties.sec:originator'];

/** The label as people read it: `NATO RESTRICTED REL TO EST, NATO // BALTIC` (as aquila.security.Label.marking). */
export function marking(p) {
  const rel = (p['sec:releasable_to'] || []).slice().sort();
  const cav = (p['sec:caveats'] || []).slice().sort();
  const who = rel.length ? `REL TO ${rel.join(', ')}` : `${p['sec:originator']} ONLY`;
  return `${FULL[p['sec:classification']] || p['sec:classification']} ${who}${cav.length ? ' // ' + cav.join(' ') : ''}`;
}

const state = {
  token: null, me: null, map: null,
  items: new Map(),        // "collection/id" -> item (footprints, findings, alerted items)
  detections: new Map(),   // finding key -> detection features
  outlook: null, subscriptions: [], alerts: [], alertIds: new Set(), more: false,
  highest: 0, abort: new AbortController(), visible: {},
};
window.cop = {state, marking};

const $ = (id) => document.getElementById(id);
function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}
function markingEl(p) {
  const m = el('span', marking(p), 'marking');
  m.dataset.level = p['sec:classification'];
  return m;
}

async function api(path, opts = {}) {
  const r = await fetch(path, {...opts, signal: state.abort.signal,
    headers: {...(opts.headers || {}), Authorization: `Bearer ${state.token}`,
              ...(opts.body ? {'Content-Type': 'application/json'} : {})}});
  if (r.status === 401 && state.me) { signOut('your token was refused (expired or revoked): sign in again'); throw new Error('401'); }
  if (!r.ok) {
    let msg = `${r.status}`;
    try { const b = await r.json(); msg = `${r.status} ${b.code}: ${b.description}`; } catch (e) { /* not JSON */ }
    const err = new Error(msg); err.status = r.status; throw err;
  }
  return r.json();
}

// --- label bookkeeping: the banners show the highest classification on the screen ---------------------------
function seen(p) {
  const k = LEVELS.indexOf(p['sec:classification']);
  if (k > state.highest) {
    state.highest = k;
    for (const id of ['banner-top', 'banner-bottom']) {
      $(id).textContent = FULL[LEVELS[k]];
      $(id).dataset.level = LEVELS[k];
    }
  }
}

// --- the map --------------------------------------------------------------------------------------------------
const EMPTY = {type: 'FeatureCollection', features: []};
async function makeMap() {
  maplibregl = await import('./vendor/maplibre-gl.mjs');
  const map = new maplibregl.Map({
    container: 'map', center: [22, 52], zoom: 3.2, attributionControl: false, maxPitch: 0,
    style: {version: 8, sources: {}, layers: [{id: 'sea', type: 'background', paint: {'background-color': '#0b2233'}}]},
  });
  map.addControl(new maplibregl.NavigationControl({showCompass: false}), 'top-left');
  map.addControl(new maplibregl.ScaleControl({unit: 'metric'}), 'bottom-left');
  return new Promise((resolve) => map.on('load', () => {
    for (const s of ['aois', 'revisit', 'opportunities', 'footprints', 'detections', 'highlight']) {
      // footprints: a small tile buffer (the default 128 px copies a polygon into up to four tiles; a 1 px
      // outline needs only a few), which makes each frame of 10,000 footprints ~40 % cheaper to draw
      map.addSource(s, {type: 'geojson', data: EMPTY, ...(s === 'footprints' ? {tolerance: 0.5, buffer: 4} : {})});
    }
    const L = (spec) => map.addLayer(spec);
    L({id: 'revisit', type: 'fill', source: 'revisit', paint: {'fill-opacity': 0.55, 'fill-color': [
      'interpolate', ['linear'], ['coalesce', ['get', 'max_gap_h'], 48], 0, '#1a9850', 2, '#91cf60', 4, '#fee08b',
      8, '#fc8d59', 16, '#d73027']}});
    L({id: 'aois', type: 'line', source: 'aois', paint: {'line-color': '#ffd54f', 'line-width': 1.6,
      'line-dasharray': [3, 2]}});
    L({id: 'aoi-points', type: 'circle', source: 'aois', filter: ['==', ['geometry-type'], 'Point'],
      paint: {'circle-radius': 6, 'circle-color': 'rgba(0,0,0,0)', 'circle-stroke-color': '#ffd54f',
              'circle-stroke-width': 1.6}});
    L({id: 'opportunities', type: 'line', source: 'opportunities', paint: {'line-width': 1,
      'line-color': ['match', ['get', 'sensor'], 'sar', '#80deea', '#ffcc80'], 'line-opacity': 0.45}});
    // one fill layer with its outline (a separate line layer costs a second pass over every polygon)
    L({id: 'footprints', type: 'fill', source: 'footprints', paint: {
      'fill-color': ['match', ['get', 'sec:classification'], ...Object.entries(COLOUR).flatMap(([k, v]) =>
        [k, v + '40']), '#99999940'],
      'fill-outline-color': ['match', ['get', 'sec:classification'], ...Object.entries(COLOUR).flat(), '#999']}});
    L({id: 'footprint-points', type: 'circle', source: 'footprints', filter: ['==', ['geometry-type'], 'Point'],
      paint: {'circle-radius': 4, 'circle-opacity': 0.8,
              'circle-color': ['match', ['get', 'sec:classification'], ...Object.entries(COLOUR).flat(), '#999']}});
    L({id: 'vessels', type: 'circle', source: 'detections', filter: ['==', ['get', 'dark'], false],
      paint: {'circle-radius': 3.5, 'circle-color': '#4fc3f7', 'circle-stroke-color': '#01579b',
              'circle-stroke-width': 1}});
    L({id: 'dark-vessels', type: 'circle', source: 'detections', filter: ['==', ['get', 'dark'], true],
      paint: {'circle-radius': 5, 'circle-color': '#ff1744', 'circle-stroke-color': '#fff', 'circle-stroke-width': 1.2}});
    L({id: 'unseen-ais', type: 'circle', source: 'detections', filter: ['==', ['get', 'kind'], 'ais-unseen'],
      paint: {'circle-radius': 4, 'circle-color': 'rgba(0,0,0,0)', 'circle-stroke-color': '#ffab00',
              'circle-stroke-width': 1.5}});
    L({id: 'highlight', type: 'line', source: 'highlight', paint: {'line-color': '#ffff00', 'line-width': 3}});
    L({id: 'highlight-points', type: 'circle', source: 'highlight', filter: ['==', ['geometry-type'], 'Point'],
      paint: {'circle-radius': 10, 'circle-color': 'rgba(0,0,0,0)', 'circle-stroke-color': '#ffff00',
              'circle-stroke-width': 3}});
    for (const id of ['footprints', 'footprint-points', 'vessels', 'dark-vessels', 'unseen-ais', 'opportunities',
                      'revisit', 'aois', 'aoi-points']) {
      map.on('click', id, (e) => select(e.features[0], e.lngLat, id));
      map.on('mouseenter', id, () => { map.getCanvas().style.cursor = 'pointer'; });
      map.on('mouseleave', id, () => { map.getCanvas().style.cursor = ''; });
    }
    resolve(map);
  }));
}

// The offline basemap: vector tiles cut at set-up time (basemap.mjs), only those in view loaded. Added once the
// view is known (fitted to the first catalog page): tiles of a provisional view would be loaded and drawn for
// nothing, on the cores the first search needs.
function basemap() {
  const map = state.map;
  if (map.getSource('countries')) return;
  map.addSource('countries', {type: 'vector', maxzoom: 6,
                              tiles: [new URL('vendor/basemap/', location.href).href + '{z}/{x}/{y}.pbf']});
  // borders as the fill's 1 px outline: a line layer would tessellate every border in view again
  map.addLayer({id: 'land', type: 'fill', source: 'countries', 'source-layer': 'countries',
                paint: {'fill-color': '#1b2a36', 'fill-outline-color': '#36506a'}}, 'revisit');  // under every layer
}

// --- what a click shows: the feature's label first, then what it is ------------------------------------------
function select(f, lngLat, layer) {
  const p = f.properties;
  let label = null;
  const rows = [];
  if (layer.startsWith('footprint')) {
    const item = state.items.get(p._k);
    label = item.properties;
    rows.push(['item', `${item.collection}/${item.id}`], ['time', item.properties.datetime],
              ['platform', item.properties.platform], ['originator', item.properties['sec:originator']]);
  } else if (['vessels', 'dark-vessels', 'unseen-ais'].includes(layer)) {
    const finding = state.items.get(p._k);
    label = finding.properties;
    const ais = p.ais ? JSON.parse(p.ais) : null;
    rows.push(['what', p.kind === 'ais-unseen' ? 'AIS vessel not seen' : (p.dark ? 'DARK vessel (no AIS)' : 'vessel')],
              ['finding', `${finding.collection}/${finding.id}`]);
    if (p.length_m !== undefined) rows.push(['length', `${Math.round(p.length_m)} m`], ['heading', `${p.heading_deg} deg`],
                                            ['confidence', p.confidence]);
    if (ais) rows.push(['MMSI', ais.mmsi], ['name', ais.name], ['match', `${Math.round(ais.match_distance_m)} m`]);
    if (p.mmsi) rows.push(['MMSI', p.mmsi], ['name', p.name]);
  } else if (layer === 'aois' || layer === 'aoi-points') {
    if (p.subscription) rows.push(['your subscription', p.subscription]);
    else { label = areaLabel(p.id); rows.push(['area', p.name], ['id', p.id]); }
  } else if (layer === 'opportunities') {
    label = areaLabel(p.aoi);
    rows.push(['satellite', `${p.satellite} (${p.owner}, ${p.sensor})`], ['area', p.aoi], ['from', p.start],
              ['to', p.end], ['best GSD', `${p.best_gsd_m} m`], ['off-nadir', `${p.min_off_nadir_deg} deg`]);
  } else if (layer === 'revisit') {
    label = areaLabel(p.aoi);
    rows.push(['area', p.aoi], ['longest gap', p.max_gap_h === undefined ? 'never seen' : `${p.max_gap_h} h`],
              ['accesses/day', p.accesses_per_day]);
  }
  const box = el('div');
  const unlabelled = !layer.startsWith('aoi') ? 'orbit data (no label)'
    : (p.subscription ? 'your standing query: only you see it' : 'no label: an area for every user');
  box.append(label ? markingEl(label) : el('span', unlabelled, 'dim'));
  const dl = el('dl');
  for (const [k, v] of rows) if (v !== undefined && v !== null) dl.append(el('dt', k), el('dd', v));
  box.append(dl);
  new maplibregl.Popup({maxWidth: '360px'}).setLngLat(lngLat).setDOMContent(box).addTo(state.map);
  $('selected').hidden = false;
  $('selected-marking').replaceChildren(box.firstChild.cloneNode(true));
  $('selected-props').replaceChildren(...dl.cloneNode(true).childNodes);
}

// --- the layers' data -----------------------------------------------------------------------------------------
function key(item) { return `${item.collection}/${item.id}`; }

function drawFootprints() {
  const feats = [];
  for (const [k, it] of state.items) {
    if (!it.geometry) continue;
    feats.push({type: 'Feature', geometry: it.geometry,
                properties: {_k: k, 'sec:classification': it.properties['sec:classification']}});
  }
  state.map.getSource('footprints').setData({type: 'FeatureCollection', features: feats});
  counts();
}

function drawDetections() {
  const feats = [];
  for (const list of state.detections.values()) feats.push(...list);
  state.map.getSource('detections').setData({type: 'FeatureCollection', features: feats});
  counts();
}

function keep(item) {
  state.items.set(key(item), item);
  seen(item.properties);
}

// The first page is asked for while the map starts (`first`); the rest page by page, newest first.
function searchCatalog(body) { return api('/search', {method: 'POST', body: JSON.stringify(body)}); }
const CATALOG = {limit: PAGE, fields: {include: FIELDS, exclude: ['links']},
                 sortby: [{field: 'properties.datetime', direction: 'desc'}]};

async function loadCatalog(first) {
  let body = CATALOG;
  let n = 0;
  for (let page = await first; ; page = await searchCatalog(body)) {
    for (const f of page.features) keep(f);
    if (n === 0) { fit(); basemap(); }  // the view first: the map then tiles it once, at the zoom it shows
    n += page.features.length;
    drawFootprints();
    const next = (page.links || []).find((l) => l.rel === 'next');
    if (!next || n >= MAX_FOOTPRINTS) { state.more = Boolean(next); break; }
    body = next.merge ? {...body, ...next.body} : next.body;
  }
}


async function loadFindings() {
  const page = await api('/search', {method: 'POST', body: JSON.stringify(
    {collections: [FINDINGS], limit: 200, sortby: [{field: 'properties.datetime', direction: 'desc'}]})});
  const queue = page.features.slice();
  const worker = async () => { while (queue.length) await loadFinding(queue.shift()); };
  await Promise.all([worker(), worker(), worker(), worker()]);
}

async function loadFinding(item) {
  keep(item);
  const asset = (item.assets || {}).detections;
  if (!asset || !asset.href) return;
  const href = new URL(asset.href, location.href);
  if (href.origin !== location.origin) return;  // the token goes to this server only
  try {
    const fc = await api(href.pathname);
    const k = key(item);
    state.detections.set(k, (fc.features || []).map((f) => ({type: 'Feature', geometry: f.geometry,
      properties: {...f.properties, _k: k, dark: f.properties.kind === 'ais-unseen' ? null : Boolean(f.properties.dark),
                   ais: f.properties.ais ? JSON.stringify(f.properties.ais) : undefined}})));
  } catch (e) {
    if (e.status !== 404) throw e;  // withdrawn meanwhile
  }
  drawDetections();
}

async function loadOutlook() {
  for (let attempt = 0; ; attempt++) {
    try {
      state.outlook = await api('/outlook');
      break;
    } catch (e) {
      if (e.status !== 503 || attempt > 60) throw e;
      status('computing the collection outlook...');
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
  const o = state.outlook;
  for (const f of o.aois.features) if (f.properties['sec:classification']) seen(f.properties);  // the banner
  for (const f of o.opportunities.features) {
    f.properties.start_ms = Date.parse(f.properties.start);
  }
  state.map.getSource('revisit').setData(o.revisit);
  drawAois();
  horizon();
}

// An area of interest's label (its sec: properties in the outlook), or null: the operator's, for every user.
// The opportunities and heat-map cells over a labelled area carry its label too: they say where it is.
function areaLabel(id) {
  const area = state.outlook && state.outlook.aois.features.find((f) => f.properties.id === id);
  return area && area.properties['sec:classification'] ? area.properties : null;
}

function drawAois() {
  const feats = state.outlook ? state.outlook.aois.features.slice() : [];
  for (const s of state.subscriptions) {
    const g = s.intersects || (s.bbox && {type: 'Polygon', coordinates: [[[s.bbox[0], s.bbox[1]], [s.bbox[2], s.bbox[1]],
      [s.bbox[2], s.bbox[3]], [s.bbox[0], s.bbox[3]], [s.bbox[0], s.bbox[1]]]]});
    if (g) feats.push({type: 'Feature', geometry: g, properties: {name: `my subscription ${s.id}`, subscription: s.id}});
  }
  state.map.getSource('aois').setData({type: 'FeatureCollection', features: feats});
  counts();
}

async function loadSubscriptions() {
  const r = await api('/subscriptions');
  state.subscriptions = r.subscriptions || [];
  drawAois();
}

// --- opportunities: the timeline and the horizon slider -------------------------------------------------------
function horizon() {
  const hours = Number($('horizon').value);
  $('horizon-h').textContent = `${hours} h`;
  if (!state.outlook) return;
  const now = Date.now(), until = now + hours * 3600e3;
  const shown = state.outlook.opportunities.features.filter((f) => f.properties.start_ms <= until &&
                                                                   Date.parse(f.properties.end) >= now);
  state.map.getSource('opportunities').setData({type: 'FeatureCollection', features: shown});
  state.shownOpportunities = shown.length;
  $('opp-count').textContent = `(${shown.length} in ${hours} h)`;
  const list = $('opps');
  list.replaceChildren();
  for (const f of shown.slice(0, 100)) {
    const p = f.properties;
    const li = el('li', `${p.start.slice(11, 16)}Z ${p.satellite} (${p.owner}, ${p.sensor}) - ${p.aoi}, ${p.best_gsd_m} m`);
    li.addEventListener('click', () => flyTo(f));
    list.append(li);
  }
  timeline(shown, now, until);
  counts();
}

function timeline(shown, t0, t1) {
  const c = $('timeline'), ctx = c.getContext('2d');
  const w = c.width = c.clientWidth || 300, h = c.height;
  ctx.clearRect(0, 0, w, h);
  const owners = [...new Set(state.outlook.opportunities.features.map((f) => f.properties.owner))].sort();
  const row = (h - 14) / Math.max(owners.length, 1);
  ctx.font = '9px sans-serif';
  ctx.fillStyle = '#8aa0b3';
  for (let k = 0; k <= 4; k++) {
    const x = k / 4 * (w - 1);
    ctx.fillRect(x, h - 12, 1, 4);
    const hours = (t1 - t0) / 3600e3 * k / 4;
    ctx.fillText(`+${Number.isInteger(hours) ? hours : hours.toFixed(1)}h`, Math.min(x, w - 24), h - 1);
  }
  for (const f of shown) {
    const p = f.properties;
    const x = (Math.max(p.start_ms, t0) - t0) / (t1 - t0) * w;
    ctx.fillStyle = p.sensor === 'sar' ? '#80deea' : '#ffcc80';
    ctx.fillRect(x, owners.indexOf(p.owner) * row, 2, Math.max(row - 1, 1));
  }
}

function fit() {  // the released footprints and findings, else the areas of interest
  let b = null;
  if (state.items.size) {
    let w = 180, s = 90, e = -180, n = -90;
    for (const it of state.items.values()) {
      const bb = it.bbox || bounds(it.geometry)?.flat();
      if (!bb) continue;
      w = Math.min(w, bb[0]); s = Math.min(s, bb[1]); e = Math.max(e, bb[2]); n = Math.max(n, bb[3]);
    }
    if (w <= e) b = [[w, s], [e, n]];
  } else if (state.outlook) {
    b = bounds({type: 'GeometryCollection', coordinates: state.outlook.aois.features.map((f) => f.geometry.coordinates)});
  }
  if (b) state.map.fitBounds(b, {padding: 40, maxZoom: 7, duration: 0});
}

function flyTo(f) {
  const b = bounds(f.geometry);
  if (b) state.map.fitBounds(b, {padding: 60, maxZoom: 8, duration: 600});
  flash(f.geometry);
}

function bounds(g) {
  let w = 180, s = 90, e = -180, n = -90;
  const walk = (c) => { if (typeof c[0] === 'number') { w = Math.min(w, c[0]); e = Math.max(e, c[0]);
    s = Math.min(s, c[1]); n = Math.max(n, c[1]); } else c.forEach(walk); };
  if (!g) return null;
  walk(g.coordinates);
  return w <= e ? [[w, s], [e, n]] : null;
}

let flashTimer = null;
function flash(geometry) {
  state.map.getSource('highlight').setData({type: 'FeatureCollection', features: [{type: 'Feature', geometry,
                                                                                  properties: {}}]});
  clearTimeout(flashTimer);
  flashTimer = setTimeout(() => state.map.getSource('highlight').setData(EMPTY), 15000);
}

// --- live alerts: the SSE stream read with fetch (EventSource cannot send the token) ----------------------------
function addAlert(a, fresh) {
  if (state.alertIds.has(a.id)) return;
  state.alertIds.add(a.id);
  state.alerts.unshift(a);
  const it = a.item;
  const li = el('li', null, fresh ? 'fresh' : '');
  li.append(markingEl(it.properties), el('div', `${(a.published || '').slice(11, 19)}Z ${it.collection}/${it.id}`));
  const p = it.properties;
  if (p['aquila:vessels'] !== undefined) li.append(el('div', `${p['aquila:vessels']} vessels, ${p['aquila:dark_vessels']} dark`, 'dim'));
  li.addEventListener('click', () => flyTo(it));
  $('alerts').prepend(li);
  if (it.collection === FINDINGS) loadFinding(it).catch(() => {}); else { keep(it); drawFootprints(); }
  if (fresh) flash(it.geometry);
}

async function streamAlerts() {
  let last = null, delay = 1000;
  for (;;) {
    try {
      const r = await fetch('/alerts/stream', {signal: state.abort.signal, headers: {
        Authorization: `Bearer ${state.token}`, ...(last !== null ? {'Last-Event-ID': last} : {})}});
      if (r.status === 401) { signOut('your token was refused (expired or revoked): sign in again'); return; }
      if (!r.ok) throw new Error(`${r.status}`);
      $('alert-state').textContent = '(live)';
      document.body.dataset.alerts = 'connected';
      delay = 1000;
      const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const {value, done} = await reader.read();
        if (done) break;
        buf += value;
        let cut;
        while ((cut = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, cut); buf = buf.slice(cut + 2);
          let event = 'message', data = '', id = null;
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) event = line.slice(6).trim();
            else if (line.startsWith('data:')) data += line.slice(5).trim();
            else if (line.startsWith('id:')) id = line.slice(3).trim();
          }
          if (id !== null) last = id;
          if (event === 'alert') addAlert(JSON.parse(data), true);
          if (event === 'end') { $('alert-state').textContent = '(ended: sign in again)'; return; }
        }
      }
    } catch (e) {
      if (state.abort.signal.aborted) return;
    }
    $('alert-state').textContent = '(reconnecting)';
    document.body.dataset.alerts = 'reconnecting';
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 30000);
  }
}

async function replayAlerts() {
  const since = new Date(Date.now() - 24 * 3600e3).toISOString();
  const r = await api(`/alerts?since=${encodeURIComponent(since)}&limit=100`);
  for (const a of r.alerts) addAlert(a, false);
}

// --- the panel ------------------------------------------------------------------------------------------------
const LAYERS = [
  ['footprints', 'Catalog footprints', ['footprints', 'footprint-points'], '#8e6fe0'],
  ['vessels', 'Vessels (AIS matched)', ['vessels'], '#4fc3f7'],
  ['dark', 'Dark vessels', ['dark-vessels'], '#ff1744'],
  ['unseen', 'AIS not seen', ['unseen-ais'], '#ffab00'],
  ['aois', 'Areas of interest', ['aois', 'aoi-points'], '#ffd54f'],
  ['revisit', 'Revisit (longest gap)', ['revisit'], '#fc8d59'],
  ['opportunities', 'Opportunities', ['opportunities'], '#80deea'],
];

function counts() {
  const det = [...state.detections.values()].flat();
  const n = {
    footprints: [...state.items.values()].filter((i) => i.geometry).length,
    vessels: det.filter((f) => f.properties.dark === false).length,
    dark: det.filter((f) => f.properties.dark === true).length,
    unseen: det.filter((f) => f.properties.kind === 'ais-unseen').length,
    aois: (state.outlook ? state.outlook.aois.features.length : 0) + state.subscriptions.length,
    revisit: state.outlook ? state.outlook.revisit.features.length : 0,
    opportunities: state.shownOpportunities || 0,
  };
  for (const [id] of LAYERS) {
    const c = document.querySelector(`#layers [data-layer="${id}"] .count`);
    if (c) c.textContent = String(n[id]);
  }
  state.counts = n;
  return n;
}

function panel() {
  const ul = $('layers');
  ul.replaceChildren();
  for (const [id, name, layers, colour] of LAYERS) {
    const li = el('li');
    li.dataset.layer = id;
    const box = el('input'); box.type = 'checkbox'; box.checked = true;
    box.addEventListener('change', () => { for (const l of layers) state.map.setLayoutProperty(l, 'visibility',
                                                                                             box.checked ? 'visible' : 'none'); });
    const sw = el('span', '', 'swatch'); sw.style.background = colour;
    li.append(box, sw, el('span', name), el('span', '0', 'count'));
    ul.append(li);
  }
  $('horizon').addEventListener('input', horizon);
}

function status(text) { $('status').textContent = text; }

// --- sign-in ----------------------------------------------------------------------------------------------------
function signOut(why) {
  state.abort.abort();
  sessionStorage.removeItem('aquila-token');
  if (why) sessionStorage.setItem('aquila-signin-msg', why);
  location.replace(location.pathname);
}

async function start(token) {
  state.token = token;
  state.me = null;
  // the first catalog page (the picture's longest wait) is asked for with the sign-in, not after it; it is
  // read only once /me has accepted the token
  const first = searchCatalog(CATALOG);
  first.catch(() => {});  // awaited below; a failure is reported there
  try {
    state.me = await api('/me');
  } catch (e) {
    sessionStorage.removeItem('aquila-token');
    $('signin-error').textContent = `sign-in refused: ${e.message}`;
    $('signin').hidden = false;
    return;
  }
  sessionStorage.setItem('aquila-token', token);
  const m = state.me;
  $('who').textContent = `${m.subject} - ${m.nation}, ${m.clearance_name}${m.caveats.length ? ' // ' + m.caveats.join(' ') : ''}`;
  $('signin').hidden = true;
  $('signout').hidden = false;
  $('panel').hidden = false;
  $('signout').addEventListener('click', () => signOut());
  panel();
  status('loading the library...');
  await first.catch(() => {});  // a failure is reported by loadCatalog below
  state.map = await makeMap();
  window.cop.map = state.map;
  const t0 = performance.now();
  const alerts = streamAlerts();
  await Promise.all([loadCatalog(first).finally(basemap), loadFindings(), loadSubscriptions(), replayAlerts()]);
  state.catalogMs = performance.now() - t0;
  document.body.dataset.catalog = 'ready';
  status(`${state.counts.footprints} footprints${state.more ? ` (the newest ${MAX_FOOTPRINTS}; narrow with a subscription)` : ''} released to ${m.nation}`);
  loadOutlook().then(() => { document.body.dataset.outlook = 'ready'; if (!state.items.size) fit(); },
                     (e) => { status(`outlook unavailable: ${e.message}`); document.body.dataset.outlook = 'failed'; });
  return alerts;
}

function boot() {
  const msg = sessionStorage.getItem('aquila-signin-msg');
  if (msg) { $('signin-error').textContent = msg; sessionStorage.removeItem('aquila-signin-msg'); }
  const frag = new URLSearchParams(location.hash.slice(1)).get('token');
  if (frag) history.replaceState(null, '', location.pathname);  // out of the address bar and the history
  const token = frag || sessionStorage.getItem('aquila-token');
  $('signin').addEventListener('submit', (e) => {
    e.preventDefault();
    const t = $('token').value.trim();
    if (t) start(t);
  });
  if (token) { $('signin').hidden = true; start(token); }
}

boot();
