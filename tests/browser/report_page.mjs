// Browser test of an mhrfit report page in headless Chromium (puppeteer-core), run by
// tests/cli_report.sh and by bench/bench_report.c (--mode fps). Exits non-zero on the first failed check;
// a missing browser or module is a failure, never a skip.
//
//   node report_page.mjs --html FILE --mode full --run DIR --bin MHRFIT --shot PNG
//   node report_page.mjs --html FILE --mode damaged
//   node report_page.mjs --html FILE --mode detector --expect JSON
//   node report_page.mjs --html FILE --mode fps [--seconds S]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import puppeteer from 'puppeteer-core';

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const html = path.resolve(args.html);
const mode = args.mode || 'full';
const CHROMIUM = process.env.MHRFIT_CHROMIUM || '/usr/bin/chromium';

let passed = 0, failed = 0;
function check(name, ok, detail = '') {
  if (ok) passed++;
  else { failed++; console.log(`FAIL: ${name}${detail ? ': ' + detail : ''}`); }
}

const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'mhrfit-chromium-'));
const browser = await puppeteer.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--use-angle=swiftshader', '--enable-unsafe-swiftshader',
         '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
         '--disable-default-apps', `--user-data-dir=${profile}`, '--window-size=1400,1000'],
});
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1400, height: 1000 });
  const consoleErrors = [], requests = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push('page error: ' + e.message));
  page.on('request', (r) => requests.push(r.url()));
  const pageUrl = 'file://' + html;
  await page.goto(pageUrl, { waitUntil: 'load' });
  await page.waitForFunction(() => document.body.dataset.ready === '1' ||
                                   !document.getElementById('mf-error').hidden, { timeout: 120000 });
  const startError = await page.$eval('#mf-error', (e) => (e.hidden ? '' : e.textContent));
  check('the page starts', !startError, startError);
  const foreign = requests.filter((u) => !(u === pageUrl || u.startsWith('blob:') || u.startsWith('data:')));
  check('no network request (only the page itself, blob: and data: URLs)', foreign.length === 0, foreign.join(' '));
  const meta = await page.evaluate(() => JSON.parse(document.getElementById('mf-meta').textContent));
  const F = meta.frames.length, V = meta.cams.length;

  // A screenshot region (the 3-D canvas) decoded in the page: mean and variance of its grey levels.
  async function canvasShot() {
    await page.evaluate(() => window.mfReport.view.render(true));
    const box = await (await page.$('#mf-canvas3d')).boundingBox();
    const png = await page.screenshot({ clip: box, encoding: 'base64' });
    return page.evaluate(async (b64) => {
      const img = await createImageBitmap(await (await fetch('data:image/png;base64,' + b64)).blob());
      const c = new OffscreenCanvas(img.width, img.height);
      const g = c.getContext('2d');
      g.drawImage(img, 0, 0);
      const d = g.getImageData(0, 0, img.width, img.height).data;
      let s = 0, s2 = 0;
      const grey = new Float32Array(d.length / 4);
      for (let i = 0; i < grey.length; i++) {
        const v = 0.299 * d[4 * i] + 0.587 * d[4 * i + 1] + 0.114 * d[4 * i + 2];
        grey[i] = v; s += v; s2 += v * v;
      }
      const n = grey.length;
      return { variance: s2 / n - (s / n) * (s / n), grey: Array.from(grey) };
    }, png);
  }

  if (mode === 'fps') {
    const seconds = +(args.seconds || 5);
    await page.evaluate(() => { window.mfReport.rafTimes.length = 0; window.mfReport.drawnFrames = 0; window.mfReport.play(); });
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const st = await page.evaluate(() => { window.mfReport.pause();
      return { t: window.mfReport.rafTimes.slice(), drawn: window.mfReport.drawnFrames }; });
    const dt = [];
    for (let i = 1; i < st.t.length; i++) dt.push(st.t[i] - st.t[i - 1]);
    dt.sort((a, b) => a - b);
    const med = dt.length ? dt[dt.length >> 1] : NaN;
    const span = st.t.length > 1 ? (st.t[st.t.length - 1] - st.t[0]) / 1000 : NaN;
    console.log(JSON.stringify({ frames: F, animation_frames: st.t.length, fps_mean: (st.t.length - 1) / span,
                                 fps_median: 1000 / med, frames_shown: st.drawn }));
    check('playback ran', st.t.length > 10);
  } else {
    check('no console error', consoleErrors.length === 0, consoleErrors.join(' | '));
    // the 3-D view is drawn and changes between two frames
    await page.evaluate(() => window.mfReport.setFrame(0));
    const a = await canvasShot();
    check('the WebGL canvas is not blank (grey-level variance > 20)', a.variance > 20, `variance ${a.variance.toFixed(1)}`);
    const other = Math.min(F - 1, Math.floor(F * 0.9));
    await page.evaluate((f) => window.mfReport.setFrame(f), other);
    const b = await canvasShot();
    let diff = 0;
    for (let i = 0; i < a.grey.length; i++) if (Math.abs(a.grey[i] - b.grey[i]) > 8) diff++;
    if (mode === 'full') check(`the 3-D view changes between frames 0 and ${other}`, diff > 50, `${diff} pixels differ`);
    // the status strip
    const cells = await page.$$eval('#mf-strip .mf-cell', (cs) => cs.map((c) => ({
      status: c.dataset.status, color: getComputedStyle(c).backgroundColor })));
    check('the status strip has one cell per frame', cells.length === F, `${cells.length} cells for ${F} frames`);
    check('the strip cells carry the frame statuses', cells.every((c, f) => c.status === meta.status[f]));
    const notes = await page.$$eval('#mf-notes li', (l) => l.map((e) => e.textContent));
    if (mode === 'damaged' && args.notes) {
      check('the damaged run lists what is missing', notes.length > 0);
      for (const want of (args.notes || '').split('|').filter(Boolean))
        check(`a note mentions ${want}`, notes.some((n) => n.includes(want)), notes.join(' | '));
    }
    if (args['nan-frame'] !== undefined) {
      // a failed frame (NaN values): a failure colour, nothing drawn for it, no body
      const f = +args['nan-frame'];
      await page.evaluate((x) => window.mfReport.setFrame(x), f);
      const st = await page.evaluate(() => {
        const v = window.mfReport.view;
        return { kp: v.kpGeo.drawRange.count, links: v.linkGeo.drawRange.count, body: v.body ? v.body.visible : null,
                 hud: document.getElementById('mf-hud').textContent };
      });
      check(`frame ${f} failed: a failure colour in the strip`, cells[f].color === 'rgb(224, 49, 49)', cells[f].color);
      check(`frame ${f} failed: no keypoint or skeleton drawn`, st.kp === 0 && st.links === 0, JSON.stringify(st));
      check(`frame ${f} failed: no body shown`, st.body === false, JSON.stringify(st));
    }
    if (mode === 'detector') {
      // a run of a detector's keypoints: its keypoint set and skeleton, its 2-D keypoints in the
      // panels (--expect: {keypoints, links, frames: {index: {camera: finite 2-D keypoints}}})
      const want = JSON.parse(fs.readFileSync(args.expect, 'utf8'));
      check(`the page shows the run's ${want.keypoints} keypoints`, meta.n_keypoints === want.keypoints,
            `${meta.n_keypoints}`);
      check(`the layout's ${want.links} skeleton links`, meta.links.length === want.links, `${meta.links.length}`);
      check('the keypoints carry the layout\'s names', meta.keypoint_names.length === want.keypoints &&
            meta.keypoint_names.includes(want.name), meta.keypoint_names.join(','));
      check('no note of missing MHR70 files or stage 1', !notes.some((n) => /stage1|fit\.npz|70/.test(n)), notes.join(' | '));
      for (const [fs_, cams] of Object.entries(want.frames)) {
        const f = +fs_;
        await page.evaluate((x) => window.mfReport.setFrame(x), f);
        const st = await page.evaluate(() => {
          const v = window.mfReport.view;
          return { kp: v.kpGeo.drawRange.count, links: v.linkGeo.drawRange.count };
        });
        check(`frame ${f}: the ${want.keypoints} fitted keypoints in 3-D`, st.kp === want.keypoints, JSON.stringify(st));
        check(`frame ${f}: the ${want.links} skeleton lines in 3-D`, st.links === 2 * want.links, JSON.stringify(st));
        const panels = await page.$$eval('.mf-panel-canvas', (cs) => cs.map((c) => [c.dataset.cam, +c.dataset.marks,
                                                                                     +c.dataset.links]));
        check(`frame ${f}: one panel per camera`, panels.length === Object.keys(cams).length);
        for (const [cam, marks, links] of panels) {
          check(`frame ${f} ${cam}: ${cams[cam]} keypoint marks`, marks === cams[cam], `drew ${marks}`);
          check(`frame ${f} ${cam}: the skeleton reprojected`, links > 0 && links <= want.links, `${links} links`);
        }
      }
    }
    if (mode === 'full') {
      const rec = meta.status.findIndex((s) => s.startsWith('recovered'));
      check('the demo run has a recovered frame', rec >= 0);
      const okColor = cells.find((c) => c.status === 'ok').color;
      check('the recovered frame shows its status colour', rec >= 0 && cells[rec].color === 'rgb(28, 126, 214)' &&
            cells[rec].color !== okColor, rec >= 0 ? cells[rec].color : '');
      await page.evaluate(() => window.mfReport.setFrame(0));
      const cellsH = await page.$$('#mf-strip .mf-cell');
      await cellsH[rec].click();
      const slider = await page.$eval('#mf-slider', (s) => +s.value);
      check('clicking the recovered cell moves the slider there', slider === rec, `slider at ${slider}, cell ${rec}`);
      await page.evaluate(() => window.mfReport.setFrame(0));
      const firstProblem = meta.status.findIndex((s) => s !== 'ok');
      await page.click('#mf-next-problem');
      const after = await page.$eval('#mf-frame-label', (l) => +l.dataset.frame);
      check('"next problem" goes to the first frame that is not ok', after === firstProblem, `at ${after}, want ${firstProblem}`);
      // keyboard: right arrow steps one frame
      await page.evaluate(() => window.mfReport.setFrame(3));
      await page.keyboard.press('ArrowRight');
      check('the right arrow steps one frame', await page.$eval('#mf-frame-label', (l) => +l.dataset.frame) === 4);
      // play advances the frame counter
      await page.evaluate(() => window.mfReport.setFrame(0));
      await page.click('#mf-play');
      await new Promise((r) => setTimeout(r, 1200));
      const played = await page.$eval('#mf-frame-label', (l) => +l.dataset.frame);
      await page.keyboard.press(' ');
      const playing = await page.evaluate(() => window.mfReport.playing);
      check('play advances the frame counter', played > 0, `frame ${played} after 1.2 s`);
      check('space pauses', playing === false);
      // camera panels: as many keypoint marks as the frame has finite 2-D keypoints
      for (const f of [0, rec >= 0 ? rec : 1, F - 1]) {
        await page.evaluate((x) => window.mfReport.setFrame(x), f);
        const marks = await page.$$eval('.mf-panel-canvas', (cs) => cs.map((c) => [c.dataset.cam, +c.dataset.marks]));
        check(`frame ${f}: one panel per camera`, marks.length === V);
        for (const [cam, n] of marks) {
          const file = path.join(args.run, 'stage1', meta.frames[f], cam + '.npz');
          let want = 0;
          if (fs.existsSync(file)) {
            const r = spawnSync(args.bin, ['inspect', '--json', file], { encoding: 'utf8', maxBuffer: 1 << 26 });
            const kp = JSON.parse(r.stdout).pred_keypoints_2d;
            want = kp.filter((p) => p[0] !== null && p[1] !== null).length;
          }
          check(`frame ${f} ${cam}: ${want} keypoint marks`, n === want, `drew ${n}`);
        }
      }
      // the body: the run's GLB, skinned and animated, posed differently at two frames
      if (args.body === '1') {
        check('the page embeds the body', !!meta.body);
        // per frame: the skinned vertices' centroid (world) and the shown keypoints' centroid
        // (turned by the page's up rotation): the body must sit on its keypoints
        const pose = await page.evaluate(async (a, b) => {
          const v = window.mfReport.view, out = [];
          let mesh = null;
          v.body.traverse((o) => { if (o.isSkinnedMesh) mesh = o; });
          if (!mesh) return null;
          const V3 = mesh.position.constructor;
          for (const f of [a, b]) {
            window.mfReport.setFrame(f);
            const n = mesh.geometry.attributes.position.count, c = new V3(), p = new V3();
            for (let i = 0; i < n; i++) { mesh.getVertexPosition(i, p); mesh.localToWorld(p); c.add(p); }
            c.divideScalar(n);
            const kp = v.arrays.kp, K = v.K, k = new V3();
            let m = 0;
            for (let j = 0; j < K; j++) {
              const q = new V3(kp[(f * K + j) * 3], kp[(f * K + j) * 3 + 1], kp[(f * K + j) * 3 + 2]);
              if (Number.isFinite(q.x)) { k.add(q.applyMatrix4(v.world.matrix)); m++; }
            }
            k.divideScalar(m);
            out.push({ body: c.toArray(), kp: k.toArray(), visible: v.body.visible });
          }
          return out;
        }, 0, F - 1);
        check('the body is a skinned mesh, shown', pose && pose[0].visible && pose[1].visible);
        const d = (p, q) => Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2]);
        for (const [i, f] of [[0, 0], [1, F - 1]])
          check(`frame ${f}: the body sits on its keypoints (centroids within 0.15 m)`, pose && d(pose[i].body, pose[i].kp) < 0.15,
                pose ? d(pose[i].body, pose[i].kp).toFixed(3) + ' m' : '');
        check('the body moves with its keypoints between the first and the last frame', pose &&
              Math.abs(d(pose[0].body, pose[1].body) - d(pose[0].kp, pose[1].kp)) < 0.05 && d(pose[0].kp, pose[1].kp) > 0.05,
              pose ? `${d(pose[0].body, pose[1].body).toFixed(3)} vs ${d(pose[0].kp, pose[1].kp).toFixed(3)} m` : '');
      }
      // camera images under the panels (decoded asynchronously: wait for them)
      if (args.images === '1') {
        await page.evaluate(() => window.mfReport.setFrame(1));
        const drawn = await page.waitForFunction(() => [...document.querySelectorAll('.mf-panel-canvas')]
          .filter((c) => c.dataset.image === '1').length, { timeout: 20000 }).then((h) => h.jsonValue(), () => 0);
        check('camera images are drawn under the panels', drawn === V, `${drawn} of ${V}`);
      }
      // look through a camera
      await page.click('#mf-cam-buttons button[data-cam="' + meta.cams[0].name + '"]');
      const through = await page.evaluate(() => window.mfReport.view.lookingThrough);
      check('the camera button looks through the camera', through === 0);
      await page.click('#mf-cam-buttons button[data-cam="free"]');
      await page.evaluate(() => window.mfReport.setFrame(0));
    }
    // charts: one value per frame
    const charts = await page.$$eval('.mf-chart-canvas', (cs) => cs.map((c) => [c.dataset.chart, c.dataset.values]));
    const wantCharts = mode === 'full' ? ['loss', 'reproj', 'points', 'smoothing', 'mpjpe'] : [];
    for (const id of wantCharts) check(`chart ${id} present`, charts.some(([c]) => c === id));
    for (const [id, values] of charts)
      check(`chart ${id} holds one value per frame`, values.split(',').every((n) => +n === F), values);
    if (args.shot) {
      fs.mkdirSync(path.dirname(args.shot), { recursive: true });
      await page.evaluate(() => window.mfReport.view.render(true));
      await page.screenshot({ path: args.shot, fullPage: !!args.full });
    }
    check('no console error after the interaction', consoleErrors.length === 0, consoleErrors.join(' | '));
  }
} finally {
  await browser.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
