// Cuts the picture's offline basemap (world-atlas countries at 1:50m, Natural Earth) into vector tiles
// z0-6 once, at set-up time (`make web`), so the browser loads and draws only the tiles in view instead of
// decoding and tiling the whole world at every start (that was ~0.8 s of CPU of a 2-core machine).
//   node basemap.mjs [OUT_DIR]        (default build/basemap: OUT_DIR/{z}/{x}/{y}.pbf, layer "countries")
import fs from 'node:fs';
import path from 'node:path';
import GeoJSONVT from 'geojson-vt';
import vtpbf from 'vt-pbf';
import * as topojson from 'topojson-client';

export const MAX_ZOOM = 6;  // 1:50m holds detail to about z5; deeper views overzoom the z6 tiles

// world-atlas is cut for spherical renderers: a ring that crosses the antimeridian jumps by 360 deg. Unwrapped
// (each jump undone), it tiles right on a flat map; Antarctica (010) is left out (it would cover the bottom).
function unwrap(ring) {
  const out = [];
  let shift = 0;
  for (let k = 0; k < ring.length; k++) {
    const [lon, lat] = ring[k];
    if (k > 0) {
      const d = lon - ring[k - 1][0];
      if (d > 180) shift -= 360; else if (d < -180) shift += 360;
    }
    out.push([lon + shift, lat]);
  }
  return out;
}

const here = path.dirname(new URL(import.meta.url).pathname);
const out = path.resolve(process.argv[2] || path.join(here, 'build', 'basemap'));
const topo = JSON.parse(fs.readFileSync(path.join(here, 'node_modules/world-atlas/countries-50m.json'), 'utf8'));
const fc = topojson.feature(topo, topo.objects.countries);
fc.features = fc.features.filter((f) => f.id !== '010' && f.geometry);
for (const f of fc.features) {
  const polys = f.geometry.type === 'Polygon' ? [f.geometry.coordinates] : f.geometry.coordinates;
  for (const poly of polys) for (let r = 0; r < poly.length; r++) poly[r] = unwrap(poly[r]);
  f.properties = {name: f.properties.name};
}
const index = new GeoJSONVT(fc, {maxZoom: MAX_ZOOM, indexMaxZoom: MAX_ZOOM, indexMaxPoints: 0, tolerance: 3,
                             extent: 4096, buffer: 64});
fs.rmSync(out, {recursive: true, force: true});
let n = 0, bytes = 0;
for (const {z, x, y} of index.tileCoords) {
  const tile = index.getTile(z, x, y);
  if (!tile || !tile.features.length) continue;
  const pbf = vtpbf.fromGeojsonVt({countries: tile}, {version: 2});
  fs.mkdirSync(path.join(out, String(z), String(x)), {recursive: true});
  fs.writeFileSync(path.join(out, String(z), String(x), `${y}.pbf`), pbf);
  n += 1;
  bytes += pbf.length;
}
fs.writeFileSync(path.join(out, 'done'), `${n} tiles, z0-${MAX_ZOOM}\n`);
console.log(`basemap: ${n} tiles z0-${MAX_ZOOM}, ${(bytes / 1e6).toFixed(1)} MB, in ${out}`);
