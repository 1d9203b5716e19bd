// A MapLibre GL JS page of a web developer's own, on another origin than the server:
//   node maplibre-cross-origin.mjs BASE_URL
//
// A tiny static server on a second loopback port serves the page. It loads MapLibre
// from the steppe-atlas server and opens two maps: one with a raster source given by the
// server's TileJSON (/tiles/1723.json), one with the generated vector style
// (/vector/style.json: TileJSON, .pbf tiles, sprite and glyphs, all cross-origin). Both
// must load without an error event, and each must draw something other than its
// background, with pixels read back from the canvas.
import { chromium } from 'playwright-core';
import http from 'node:http';
import fs from 'node:fs';

const base = process.argv[2];
if (!base) {
  console.error('usage: node maplibre-cross-origin.mjs BASE_URL');
  process.exit(2);
}
const check = (cond, msg) => {
  if (!cond) throw new Error(msg);
  console.log('ok: ' + msg);
};

const page = `<!doctype html><meta charset="utf-8">
<link rel="stylesheet" href="${base}/vector/maplibre-gl.css">
<script src="${base}/vector/maplibre-gl.js"></script>
<style>body { margin: 0 } .m { width: 512px; height: 384px; float: left }</style>
<div id="raster" class="m"></div><div id="vector" class="m"></div>
<script>
  window.results = {};
  function watch(id, style) {
    const errors = [];
    const map = new maplibregl.Map({ container: id, style, center: [68.3, 43.3], zoom: 4,
      canvasContextAttributes: { preserveDrawingBuffer: true }, attributionControl: false });
    map.on('error', (e) => errors.push(String((e.error && e.error.message) || e.error || e)));
    map.once('idle', () => {
      const c = map.getCanvas();
      const g = document.createElement('canvas');
      g.width = c.width; g.height = c.height;
      const ctx = g.getContext('2d');
      ctx.drawImage(c, 0, 0);
      const px = ctx.getImageData(0, 0, g.width, g.height).data;
      const colours = new Set();
      for (let i = 0; i < px.length; i += 4 * 97) colours.add(px[i] + ',' + px[i + 1] + ',' + px[i + 2]);
      window.results[id] = { errors, colours: colours.size };
    });
  }
  watch('raster', { version: 8, sources: { atlas: { type: 'raster', url: ${JSON.stringify(base + '/tiles/1723.json')}, tileSize: 256 } },
    layers: [{ id: 'atlas', type: 'raster', source: 'atlas' }] });
  watch('vector', ${JSON.stringify(base + '/vector/style.json')});
</script>`;

const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(page);
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const origin = `http://127.0.0.1:${server.address().port}`;
const executablePath = process.env.CHROMIUM ||
  ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => fs.existsSync(p));
const browser = await chromium.launch({
  executablePath,
  args: ['--no-sandbox', '--use-gl=angle', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'],
});
try {
  check(origin !== new URL(base).origin, `the page is on another origin (${origin}) than the server (${base})`);
  const tab = await browser.newPage();
  const failed = [];
  tab.on('requestfailed', (r) => failed.push(r.url() + ' ' + (r.failure() && r.failure().errorText)));
  tab.on('console', (m) => { if (m.type() === 'error') failed.push('console: ' + m.text()); });
  await tab.goto(origin + '/');
  await tab.waitForFunction(() => window.results && window.results.raster && window.results.vector, null,
    { timeout: 60000 });
  const r = await tab.evaluate(() => window.results);
  for (const id of ['raster', 'vector']) {
    check(r[id].errors.length === 0, `${id} map loaded cross-origin with no error: ${JSON.stringify(r[id].errors)}`);
    check(r[id].colours >= 4, `${id} map drew the atlas (${r[id].colours} colours sampled)`);
  }
  check(failed.length === 0, 'no request failed: ' + JSON.stringify(failed));
  console.log('all cross-origin checks passed');
} finally {
  server.close();
  await browser.close();
}
