// Aquila's common operational picture. Every layer comes from the API with the signed-in user's token, so the
// page only ever holds what the server released to that user; every feature shows its label. No innerHTML with
// data anywhere: item properties are other nations' input, written as text only.
// The library's footprints are raster tiles the server draws from what it releases to the user (/tiles/): tens
// of thousands of polygons would cost the browser a parse, a tiling and a redraw of each in every frame. A click
// on them asks the search what lies there. Findings' vessels and what alerts bring are vector layers.
// The map library (1 MB) is imported once the tiles' description is in (see start): started beside it, its
// start-up (compiling, a worker, WebGL) took the cores the server needed and the page was slower.
let maplibregl = null;

const LEVELS = ['NU', 'NR', 'NC', 'NS', 'CTS'];
const FULL = {NU: 'NATO UNCLASSIFIED', NR: 'NATO RESTRICTED', NC: 'NATO CONFIDENTIAL', NS: 'NATO SECRET',
              CTS: 'COSMIC TOP SECRET'};
const COLOUR = {NU: '#43a047', NR: '#8e6fe0', NC: '#3d7fe0', NS: '#e53935', CTS: '#ff9800'};
const FINDINGS = 'maritime-findings';
const PICK_PX = 3;             // a click takes the footprints within this many pixels
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
  token: null, me: null, map: null, tiles: null,  // tiles: the footprint tiles' TileJSON
  items: new Map(),        // "collection/id" -> item (findings, alerted and clicked items)
  alerted: new Map(),      // "collection/id" -> item delivered by an alert (drawn over the tiles at once)
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
const TILES = `${location.origin}/tiles/`;
async function makeMap() {
  maplibregl = await import('./vendor/maplibre-gl.mjs');
  const map = new maplibregl.Map({
    container: 'map', center: [22, 52], zoom: 3.2, attributionControl: false, maxPitch: 0,
    // the footprint tiles are the user's own: the token goes with them (and to this server only)
    transformRequest: (url) => (url.startsWith(TILES) ? {url, headers: {Authorization: `Bearer ${state.token}`}}
                                                      : {url}),
    style: {version: 8, sources: {}, layers: [{id: 'sea', type: 'background', paint: {'background-color': '#0b2233'}}]},
  });
  map.addControl(new maplibregl.NavigationControl({showCompass: false}), 'top-left');
  map.addControl(new maplibregl.ScaleControl({unit: 'metric'}), 'bottom-left');
  return new Promise((resolve) => map.on('load', () => {
    for (const s of ['aois', 'revisit', 'opportunities', 'alerted', 'detections', 'highlight']) {
      map.addSource(s, {type: 'geojson', data: EMPTY});
    }
    const t = state.tiles;
    map.addSource('library', {type: 'raster', tiles: t.tiles, tileSize: t.tileSize || 512, minzoom: t.minzoom,
                              maxzoom: t.maxzoom, ...(t.bounds ? {bounds: t.bounds} : {})});
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
    L({id: 'footprints', type: 'raster', source: 'library', paint: {'raster-fade-duration': 0}});
    L({id: 'alerted', type: 'fill', source: 'alerted', paint: {
      'fill-color': ['match', ['get', 'sec:classification'], ...Object.entries(COLOUR).flatMap(([k, v]) =>
        [k, v + '40']), '#99999940'],
      'fill-outline-color': ['match', ['get', 'sec:classification'], ...Object.entries(COLOUR).flat(), '#999']}});
    L({id: 'alerted-points', type: 'circle', source: 'alerted', filter: ['==', ['geometry-type'], 'Point'],
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
    const CLICKABLE = ['alerted', 'alerted-points', 'vessels', 'dark-vessels', 'unseen-ais', 'opportunities',
                       'revisit', 'aois', 'aoi-points'];
    for (const id of CLICKABLE) {
      map.on('mouseenter', id, () => { map.getCanvas().style.cursor = 'pointer'; });
      map.on('mouseleave', id, () => { map.getCanvas().style.cursor = ''; });
    }
    // what a click shows: a vessel or an alerted item under the pointer; else the library's footprints there
    // (asked of the search); else the area, heat-map cell or opportunity there
    const ON_TOP = ['alerted', 'alerted-points', 'vessels', 'dark-vessels', 'unseen-ais'];
    const shown = (id) => map.getLayer(id) && map.getLayoutProperty(id, 'visibility') !== 'none';
    map.on('click', async (e) => {
      const hits = map.queryRenderedFeatures(e.point, {layers: CLICKABLE.filter(shown)});
      const top = hits.find((h) => ON_TOP.includes(h.layer.id));
      if (top) { select(top, e.lngLat, top.layer.id); return; }
      if (shown('footprints') && await pick(e.point, e.lngLat)) return;
      if (hits.length) select(hits[0], e.lngLat, hits[0].layer.id);
    });
    resolve(map);
  }));
}

// The offline basemap: vector tiles cut at set-up time (basemap.mjs), only those in view loaded. Added once the
// view is known (fitted to the footprints): tiles of a provisional view would be loaded and drawn for nothing.
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
  if (layer.startsWith('alerted') || layer === 'footprints') {
    const item = state.items.get(p._k);
    label = item.properties;
    rows.push(['item', `${item.collection}/${item.id}`], ['time', item.properties.datetime],
              ['platform', item.properties.platform], ['originator', item.properties['sec:originator']]);
    if (p._more) rows.push(['here', `${p._more + 1} footprints; the newest shown`]);
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

function drawAlerted() {
  const feats = [];
  for (const [k, it] of state.alerted) {
    if (!it.geometry) continue;
    feats.push({type: 'Feature', geometry: it.geometry,
                properties: {_k: k, 'sec:classification': it.properties['sec:classification']}});
  }
  state.map.getSource('alerted').setData({type: 'FeatureCollection', features: feats});
  counts();
}

// A click on the library's tiles: the footprints within PICK_PX of it, newest first, from the search; true
// when there were some (their newest is shown).
let picking = 0;
async function pick(point, lngLat) {
  const ticket = ++picking;
  const a = state.map.unproject([point.x - PICK_PX, point.y + PICK_PX]);
  const b = state.map.unproject([point.x + PICK_PX, point.y - PICK_PX]);
  const page = await searchCatalog({bbox: [a.lng, a.lat, b.lng, b.lat], limit: 50,
                                    fields: {include: FIELDS, exclude: ['links']},
                                    sortby: [{field: 'properties.datetime', direction: 'desc'}]});
  if (!page.features.length) return false;
  if (ticket !== picking) return true;  // a later click won
  const it = page.features[0];
  keep(it);
  select({properties: {_k: key(it), _more: page.features.length - 1}}, lngLat, 'footprints');
  return true;
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

function searchCatalog(body) { return api('/search', {method: 'POST', body: JSON.stringify(body)}); }

// The footprint tiles' description (TileJSON): asked for with the sign-in, it has the server build the user's
// footprints while the map library loads; it says how many, where and the highest classification among them.
function libraryTiles(t) {
  state.tiles = t;
  state.more = Boolean(t['aquila:more']);
  if (t['aquila:highest_classification']) seen({'sec:classification': t['aquila:highest_classification']});
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
  if (state.items.size || (state.tiles && state.tiles.bounds)) {
    let w = 180, s = 90, e = -180, n = -90;
    if (state.tiles && state.tiles.bounds) [w, s, e, n] = state.tiles.bounds;
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
  if (it.collection === FINDINGS) loadFinding(it).catch(() => {});
  else { keep(it); state.alerted.set(key(it), it); drawAlerted(); }
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
  ['footprints', 'Catalog footprints', ['footprints', 'alerted', 'alerted-points'], '#8e6fe0'],
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
    footprints: state.tiles ? state.tiles['aquila:footprints'] : 0,  // what the tiles draw (alerts are among them)
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
  // the footprint tiles' description (the server builds the user's footprints for it: the picture's longest
  // wait) is asked for with the sign-in, not after it; it is read only once /me has accepted the token
  const first = api('/tiles/footprints.json');
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
  try {
    libraryTiles(await first);
  } catch (e) {
    status(`the library's footprints are unavailable: ${e.message}`);
    throw e;
  }
  state.map = await makeMap();
  window.cop.map = state.map;
  fit();  // the view first: the map then loads its tiles once, at the zoom it shows
  basemap();
  const t0 = performance.now();
  const alerts = streamAlerts();
  await Promise.all([loadFindings(), loadSubscriptions(), replayAlerts()]);
  state.catalogMs = performance.now() - t0;
  counts();
  document.body.dataset.catalog = 'ready';
  const newest = state.more ? ` (the newest ${state.tiles['aquila:max_footprints']}; narrow with a subscription)` : '';
  status(`${state.counts.footprints} footprints${newest} released to ${m.nation}`);
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
