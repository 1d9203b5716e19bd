// The viewer in a real browser (Debian's chromium through playwright-core), against a
// running `steppe-atlas serve`:  node viewer.mjs BASE_URL [SCREENSHOT.png]
//
// Opens /?year=1723&lang=kk#map=5/45.00/70.00 and checks that the slider and URL follow,
// that → steps the year, space plays, moving the map rewrites #map=, no tile request fails,
// and that a click on Turkistan (placed with the Web Mercator formulas, not the page's
// own code) pops up its Kazakh name, not its id, with its holder's name. Then a page from
// a second origin (a static server here) reads the TileJSON and a tile through CORS.
import { chromium } from 'playwright-core';
import http from 'node:http';
import fs from 'node:fs';

const base = process.argv[2];
const follow = process.argv[3] === '--follow';
const shot = follow ? process.argv[4] : process.argv[3];
if (!base) {
  console.error('usage: node viewer.mjs BASE_URL [SCREENSHOT.png] | node viewer.mjs BASE_URL --follow [SCREENSHOT.png]');
  process.exit(2);
}
const fail = (msg) => {
  throw new Error(msg);
};
const check = (cond, msg) => {
  if (!cond) fail(msg);
  console.log('ok: ' + msg);
};

const executablePath = process.env.CHROMIUM ||
  ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => fs.existsSync(p));
const browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-gpu'] });
let server;
// A tiny static server on another port: a second origin for CORS checks. It serves the
// page given and the pmtiles JS library.
async function otherOrigin(html) {
  const lib = fs.readFileSync(new URL('./node_modules/pmtiles/dist/pmtiles.js', import.meta.url));
  server = http.createServer((req, res) => {
    const js = req.url === '/pmtiles.js';
    res.writeHead(200, { 'content-type': js ? 'text/javascript' : 'text/html; charset=utf-8' });
    res.end(js ? lib : html);
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const origin = `http://127.0.0.1:${server.address().port}`;
  check(origin !== new URL(base).origin, 'the second page is on another origin: ' + origin);
  return origin;
}

// The export's raw .pmtiles read by the pmtiles JS library (HTTP ranges) from a page on
// another origin: its header and a tile must match what /tiles serves.
async function pmtilesFromAnotherOrigin(meta) {
  const url = meta.tiles.pmtiles.find((u) => /\/\d+\.pmtiles$/.test(u));
  const year = +/(\d+)\.pmtiles$/.exec(url)[1];
  const z = meta.tiles.maxzoom;
  const [w, s, e, n] = meta.bbox;
  const lon = (w + e) / 2, lat = (s + n) / 2, phi = (lat * Math.PI) / 180;
  const x = Math.floor(((lon + 180) / 360) * 2 ** z);
  const y = Math.floor(((1 - Math.log(Math.tan(phi) + 1 / Math.cos(phi)) / Math.PI) / 2) * 2 ** z);
  const html = `<!doctype html><meta charset="utf-8"><script src="/pmtiles.js"></script><script>
    (async () => {
      try {
        const p = new pmtiles.PMTiles(${JSON.stringify(url)});
        const h = await p.getHeader();
        const t = await p.getZxy(${z}, ${x}, ${y});
        const direct = new Uint8Array(await (await fetch(${JSON.stringify(`${base}/tiles/${year}/${z}/${x}/${y}.${meta.tiles.format || 'png'}`)})).arrayBuffer());
        const got = new Uint8Array(t.data);
        window.result = { minZoom: h.minZoom, maxZoom: h.maxZoom, len: got.length,
          same: got.length === direct.length && got.every((b, i) => b === direct[i]) };
      } catch (e) { window.result = { error: String(e) }; }
    })();
  </script>`;
  const origin = await otherOrigin(html);
  const page = await browser.newPage();
  const ranges = [];
  page.on('request', (r) => { if (r.url().includes('/pmtiles/') && r.headers().range) ranges.push(r.headers().range); });
  await page.goto(origin + '/');
  await page.waitForFunction(() => window.result, null, { timeout: 15000 });
  const r = await page.evaluate(() => window.result);
  check(!r.error && r.minZoom === meta.tiles.minzoom && r.maxZoom === meta.tiles.maxzoom,
    `pmtiles JS read the header of ${url} from ${origin}: ${JSON.stringify(r)}`);
  check(r.same && r.len > 0 && ranges.length > 0,
    `tile ${z}/${x}/${y} through HTTP ranges (${ranges.join(' ')}) equals /tiles' (${r.len} bytes)`);
  server.close();
  server = null;
}
// --follow: any dataset or export. Opened bare, the viewer takes its period, start year
// and view from /api/meta, writes them to the URL, and loads its tiles without a failure.
async function followTheData() {
  const meta = await (await fetch(base + '/api/meta')).json();
  const page = await browser.newPage({ viewport: { width: 900, height: 600 } });
  const failed = [];
  page.on('response', (r) => { if (r.status() >= 400) failed.push(r.status() + ' ' + r.url()); });
  page.on('requestfailed', (r) => failed.push('failed ' + r.url()));
  page.on('pageerror', (e) => failed.push('page error: ' + e.message));
  await page.goto(base + '/');
  await page.waitForSelector('body[data-ready="1"]', { timeout: 30000 });
  const [min, max, value] = await page.$eval('#slider', (s) => [+s.min, +s.max, +s.value]);
  check(min === meta.from && max === meta.to && value === meta.from, `the slider runs ${min}–${max} from ${value}`);
  await page.waitForFunction(() => /^#map=\d+\/-?[\d.]+\/-?[\d.]+$/.test(location.hash));
  const u = new URL(page.url());
  const [, z, lat, lon] = /^#map=(\d+)\/(-?[\d.]+)\/(-?[\d.]+)$/.exec(u.hash).map(Number);
  const [w, s, e, n] = meta.bbox;
  check(u.searchParams.get('year') === String(meta.from) && lon >= w && lon <= e && lat >= s && lat <= n,
    `the URL opens on the data: ${u.search}${u.hash} within ${meta.bbox}`);
  await page.waitForFunction(() => {
    const imgs = [...document.querySelectorAll('img.leaflet-tile')];
    return imgs.length > 0 && imgs.every((i) => i.complete && i.classList.contains('leaflet-tile-loaded'));
  }, null, { timeout: 30000 });
  await page.waitForLoadState('networkidle');
  const src = await page.$eval('img.leaflet-tile', (i) => i.src);
  const maxNative = Math.min(meta.tiles.maxzoom, z);
  check(src.includes('/tiles/' + (meta.tiles.years ? meta.tiles.years[0] : meta.from) + '/' + maxNative + '/'),
    'tiles of the first year at the served zoom: ' + src);
  check(src.split('?')[0].endsWith('.' + (meta.tiles.format || 'png')), 'tiles in the served format: ' + src);
  await page.keyboard.press('ArrowLeft');
  check(await page.inputValue('#slider') === String(meta.from), '← stops at the first year');
  await page.keyboard.press('ArrowRight');
  await page.waitForFunction((y) => new URL(location.href).searchParams.get('year') === String(y), meta.from + 1);
  check(true, '→ steps to ' + (meta.from + 1));
  const legend = await page.textContent('#legend');
  const alive = meta.polities.filter((p) => (p.from == null || p.from <= meta.from + 1) && (p.to == null || meta.from + 1 <= p.to));
  check(alive.every((p) => legend.includes(p.names[meta.lang]) || p.dated_names.length), 'the legend names the polities');
  const credit = await page.textContent('.leaflet-control-attribution');
  check(!meta.credit || credit.includes(meta.credit.slice(0, 20)), 'the data credit is in the attribution');
  await page.waitForLoadState('networkidle');
  if (shot) await page.screenshot({ path: shot });
  check(failed.length === 0, 'no failed requests ' + JSON.stringify(failed));
  if (meta.tiles.pmtiles && meta.tiles.pmtiles.length) await pmtilesFromAnotherOrigin(meta);
  console.log('all viewer checks passed');
}

try {
  if (follow) {
    await followTheData();
    process.exitCode = 0;
  } else {
  const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
  const failed = [];
  page.on('response', (r) => {
    if (r.status() >= 400) failed.push(r.status() + ' ' + r.url());
  });
  page.on('requestfailed', (r) => failed.push('failed ' + r.url()));
  page.on('pageerror', (e) => failed.push('page error: ' + e.message));

  const tilesLoaded = async () => {
    await page.waitForFunction(() => {
      const imgs = [...document.querySelectorAll('img.leaflet-tile')];
      return imgs.length > 0 && imgs.every((i) => i.complete) &&
        imgs.filter((i) => i.classList.contains('leaflet-tile-loaded')).length >= 4;
    }, null, { timeout: 30000 });
    await page.waitForLoadState('networkidle');
  };
  const url = () => new URL(page.url());

  await page.goto(base + '/?year=1723&lang=kk#map=5/45.00/70.00');
  await page.waitForSelector('body[data-ready="1"]', { timeout: 30000 });
  check(await page.inputValue('#slider') === '1723', 'the slider shows 1723');
  check((await page.textContent('#year')).trim() === '1723', 'the year label shows 1723');
  check(url().searchParams.get('year') === '1723' && url().searchParams.get('lang') === 'kk',
    'the query round-trips: ' + url().search);
  check(url().hash === '#map=5/45.00/70.00', 'the hash round-trips: ' + url().hash);
  check(await page.inputValue('#lang') === 'kk', 'the language switch shows kk');
  await tilesLoaded();
  const tileSrc = await page.$$eval('img.leaflet-tile', (is) => is.map((i) => i.src));
  check(tileSrc.every((s) => /\/tiles\/1723\/5\//.test(s)), 'tiles of 1723 at zoom 5 are shown (' + tileSrc.length + ')');

  await page.keyboard.press('ArrowRight');
  await page.waitForFunction(() => new URL(location.href).searchParams.get('year') === '1724');
  check(await page.inputValue('#slider') === '1724', '→ moves the slider to 1724');
  check(url().searchParams.get('year') === '1724' && url().hash === '#map=5/45.00/70.00', '→ writes year=1724 to the URL');
  await tilesLoaded();
  check(failed.length === 0, 'no failed requests ' + JSON.stringify(failed));

  // Turkistan, placed with the Web Mercator formulas from the view the URL asked for.
  const [lon, lat, z, lon0, lat0] = [68.27, 43.297, 5, 70.0, 45.0];
  const world = (lo, la) => {
    const s = 256 * 2 ** z;
    const phi = (la * Math.PI) / 180;
    return [((lo + 180) / 360) * s, ((1 - Math.log(Math.tan(phi) + 1 / Math.cos(phi)) / Math.PI) / 2) * s];
  };
  const box = await page.locator('#map').boundingBox();
  const [tx, ty] = world(lon, lat);
  const [cx, cy] = world(lon0, lat0);
  await page.mouse.click(box.x + box.width / 2 + (tx - cx), box.y + box.height / 2 + (ty - cy));
  await page.waitForSelector('.leaflet-popup-content .popup', { timeout: 15000 });
  const popup = await page.textContent('.leaflet-popup-content');
  const rows = await page.$$eval('.leaflet-popup-content li', (ls) => ls.map((l) => [l.querySelector('b')?.textContent, l.textContent]));
  // What the popup should say, asked of the API independently.
  const q = await (await fetch(`${base}/api/features?year=1724&lon=${lon}&lat=${lat}&radius_km=3&lang=kk`)).json();
  const town = q.features.find((f) => f.layer === 'cities');
  const meta = await (await fetch(`${base}/api/meta`)).json();
  const holder = meta.polities.find((p) => p.id === town.controlled_by);
  check(town && town.name === 'Түркістан', 'the API names the town Түркістан');
  const row = rows.find(([name]) => name === 'Түркістан');
  check(row, 'the popup lists the town by name: ' + JSON.stringify(rows.map((r) => r[0])));
  check(!/\bturkistan\b/.test(popup), 'the popup shows no ids');
  check(holder && row[1].includes(holder.names.kk), `the popup names the town's holder: ${row[1]}`);
  if (shot) await page.screenshot({ path: shot });

  // Moving the map rewrites #map=; space plays and pauses.
  await page.click('.leaflet-control-zoom-in');
  await page.waitForFunction(() => location.hash.startsWith('#map=6/'));
  check(true, 'zooming in writes #map=6/… to the URL: ' + url().hash);
  await page.keyboard.press('Escape');
  await page.locator('#year').click();
  await page.keyboard.press('Space');
  await page.waitForFunction(() => +new URL(location.href).searchParams.get('year') >= 1725, null, { timeout: 5000 });
  await page.keyboard.press('Space');
  const stopped = url().searchParams.get('year');
  await page.waitForTimeout(1200);
  check(url().searchParams.get('year') === stopped, `space plays and pauses (stopped at ${stopped})`);

  // A page on another origin uses the server's TileJSON and tiles (CORS).
  const page2html = `<!doctype html><meta charset="utf-8"><body><script>
    (async () => {
      try {
        const tj = await (await fetch(${JSON.stringify(base + '/tiles/1723.json')})).json();
        const tileUrl = tj.tiles[0].replace('{z}', '2').replace('{x}', '2').replace('{y}', '1');
        const r = await fetch(tileUrl);
        const blob = await r.blob();
        const img = new Image();
        img.crossOrigin = 'anonymous';
        img.src = tileUrl;
        await img.decode();
        const c = document.createElement('canvas');
        c.width = img.width; c.height = img.height;
        const g = c.getContext('2d');
        g.drawImage(img, 0, 0);
        g.getImageData(0, 0, 1, 1); // throws on a canvas tainted by a tile without CORS
        window.result = { ok: r.ok, type: blob.type, size: img.width, absolute: /^https?:/.test(tj.tiles[0]) };
      } catch (e) { window.result = { error: String(e) }; }
    })();
  </script>`;
  const origin2 = await otherOrigin(page2html);
  const page2 = await browser.newPage();
  await page2.goto(origin2 + '/');
  await page2.waitForFunction(() => window.result, null, { timeout: 15000 });
  const r = await page2.evaluate(() => window.result);
  check(!r.error, 'the other origin read the TileJSON and a tile ' + JSON.stringify(r));
  check(r.ok && r.type === 'image/png' && r.absolute && r.size >= 256, 'the tile is a PNG at an absolute URL');
  console.log('all viewer checks passed');
  }
} finally {
  if (server) server.close();
  await browser.close();
}
