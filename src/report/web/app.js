/* The report's entry point: reads the data, builds the 3-D view, the camera panels, the
 * transport (play/pause, slider, speed, keyboard), the status strip, the charts and the tables,
 * and keeps them on one current frame. window.mfReport exposes the state (frame, counts,
 * playback statistics) for scripts and tests. */
import * as THREE from 'three';
import { loadReportData, statusColor, STATUS_COLORS, FAILED_COLOR, fmt } from 'mhrfit/data.js';
import { View3D, VIEW_COLORS } from 'mhrfit/view3d.js';
import { CameraPanels } from 'mhrfit/panels.js';
import { Chart } from 'mhrfit/charts.js';

const $ = (id) => document.getElementById(id);
const CAM_SERIES_COLORS = ['#1c7ed6', '#e8590c', '#2f9e44', '#ae3ec9', '#f59f00', '#0ca678', '#d6336c', '#495057'];

function el(tag, attrs = {}, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function table(title, rows, head) {
  const box = el('figure', { class: 'mf-table' });
  box.append(el('figcaption', {}, title));
  const t = el('table');
  if (head) {
    const tr = el('tr');
    for (const h of head) tr.append(el('th', {}, h));
    t.append(tr);
  }
  for (const r of rows) {
    const tr = el('tr');
    r.forEach((c, i) => tr.append(el(i === 0 ? 'th' : 'td', {}, typeof c === 'number' ? fmt(c) : String(c))));
    t.append(tr);
  }
  box.append(t);
  return box;
}

/** Decodes embedded camera images lazily: a cache of ImageBitmaps keyed by frame and camera. */
class ImageStore {
  constructor(meta, arrays, onReady) {
    this.meta = meta;
    this.arrays = arrays;
    this.cache = new Map();
    this.onReady = onReady;
  }
  get(v, f) {
    const idx = this.meta.images ? this.meta.images.index[f * this.meta.cams.length + v] : -1;
    if (idx === undefined || idx < 0) return null;
    const hit = this.cache.get(idx);
    if (hit && hit.bitmap) return hit.bitmap;
    if (!hit) {
      const ent = this.meta.images.entries[idx];
      const bytes = this.arrays.images.subarray(ent.offset, ent.offset + ent.length);
      const rec = {};
      this.cache.set(idx, rec);
      createImageBitmap(new Blob([bytes], { type: ent.mime })).then((b) => { rec.bitmap = b; this.onReady(f); },
        (e) => console.warn('image', ent, e));
    }
    return null;
  }
}

export async function start() {
  const { meta, arrays } = await loadReportData();
  const F = meta.frames.length, V = meta.cams.length, K = meta.n_keypoints;
  const state = { frame: 0, playing: false, speed: 1, fps: meta.fps > 0 ? meta.fps : 30,
                  rafTimes: [], drawnFrames: 0 };
  window.mfReport = state;
  state.nFrames = F;
  document.title = meta.title;

  /* header: summary and notes */
  const counts = meta.status_counts || {};
  $('mf-summary').textContent = `${F} frames · ${V} cameras · ` +
    Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(' · ') +
    (meta.run_dir ? ` · run ${meta.run_dir}` : '');
  for (const n of meta.notes) $('mf-notes').append(el('li', {}, n));

  /* 3-D view */
  const view = new View3D($('mf-canvas3d'), meta, arrays);
  state.view = view;
  const bodyPromise = meta.body && arrays.glb ? view.loadBody(arrays.glb.buffer.slice(arrays.glb.byteOffset,
                                                    arrays.glb.byteOffset + arrays.glb.byteLength)) : Promise.resolve();
  const camButtons = $('mf-cam-buttons');
  const setViewButton = (name) => camButtons.querySelectorAll('button').forEach(
    (b) => b.classList.toggle('mf-on', b.dataset.cam === name));
  camButtons.querySelector('[data-cam=free]').addEventListener('click', () => { view.homeView(); setViewButton('free'); });
  meta.cams.forEach((cam, v) => {
    const b = el('button', { type: 'button', 'data-cam': cam.name, title: `look through ${cam.name}` }, cam.name);
    if (!cam.calibrated) b.disabled = true;
    b.addEventListener('click', () => { if (view.lookThrough(v)) setViewButton(cam.name); });
    camButtons.append(b);
  });
  const layerNames = { body: 'body', triangulated: 'triangulated', keypoints: 'keypoints', skeleton: 'skeleton',
                       cameras: 'cameras', grid: 'grid' };
  const addToggle = (name) => {
    const id = 'mf-layer-' + name;
    const lab = el('label', { for: id });
    const box = el('input', { type: 'checkbox', id });
    box.checked = view.layers[name].visible;
    box.addEventListener('change', () => view.setLayer(name, box.checked));
    lab.append(box, ' ' + layerNames[name]);
    $('mf-layers').append(lab);
  };
  bodyPromise.then(() => {
    for (const name of Object.keys(layerNames)) if (view.layers[name]) addToggle(name);
  });
  $('mf-legend3d').innerHTML = 'triangulated points by views used: ' +
    [2, 3, 4].map((n) => `<span><i style="background:${VIEW_COLORS[n]}"></i>${n}${n === 4 ? '+' : ''}</span>`).join('') +
    '<span><i class="mf-ring" style="border-color:#f03e3e"></i>outlier view</span>' +
    '<span><i style="background:#fd7e14"></i>fitted keypoints</span>';

  /* camera panels */
  let images = null;
  if (meta.images && arrays.images) {
    const store = new ImageStore(meta, arrays, (f) => { if (f === state.frame) panels.setFrame(f); });
    images = (v, f) => store.get(v, f);
  }
  const panels = new CameraPanels($('mf-panels'), meta, arrays, images);
  state.panels = panels;

  /* status strip */
  const strip = $('mf-strip');
  const cells = [];
  for (let f = 0; f < F; f++) {
    const c = el('div', { class: 'mf-cell', role: 'listitem', 'data-frame': String(f), 'data-status': meta.status[f],
                          title: `${meta.frames[f]}: ${meta.status[f]}` });
    c.style.background = statusColor(meta.status[f]);
    c.addEventListener('click', () => { pause(); setFrame(f); });
    strip.append(c);
    cells.push(c);
  }
  const seen = [...new Set(meta.status)];
  $('mf-strip-legend').innerHTML = seen.map((s) => `<span><i style="background:${statusColor(s)}"></i>${s}</span>`).join('');

  /* charts */
  const charts = [];
  const pick = (f) => { pause(); setFrame(f); };
  const addChart = (spec) => charts.push(new Chart($('mf-charts'), spec, F, pick));
  const series = meta.series || {};
  if (arrays.loss || arrays.data_loss) {
    const s = [];
    if (arrays.loss) s.push({ name: 'fit loss (best)', color: '#1c7ed6', values: arrays.loss });
    if (arrays.data_loss) s.push({ name: 'data loss (best)', color: '#2f9e44', values: arrays.data_loss });
    const th = [];
    if (meta.thresholds.bad_loss !== null) th.push({ value: meta.thresholds.bad_loss, label: 'bad_loss_threshold', color: '#1c7ed6' });
    if (meta.thresholds.bad_data_loss !== null) th.push({ value: meta.thresholds.bad_data_loss, label: 'bad_data_loss_threshold', color: '#2f9e44' });
    addChart({ id: 'loss', title: 'Fit loss and data loss', unit: 'log scale', log: true, series: s, thresholds: th });
  }
  if (arrays.tri_cam_err) {
    const s = meta.cams.map((cam, v) => ({ name: cam.name, color: CAM_SERIES_COLORS[v % CAM_SERIES_COLORS.length],
                                           values: Float32Array.from({ length: F }, (_, f) => arrays.tri_cam_err[f * V + v]) }));
    addChart({ id: 'reproj', title: 'Mean reprojection error per camera (inlier views)', unit: 'px', series: s });
  }
  if (arrays.n_points) addChart({ id: 'points', title: 'Points triangulated per frame', unit: `of ${K}`,
                                  series: [{ name: 'points', color: '#12b886', values: arrays.n_points }] });
  if (arrays.smooth_change) addChart({ id: 'smoothing', title: "Smoothing's change per frame (mean keypoint shift)", unit: 'mm',
                                       series: [{ name: 'smoothed − fitted', color: '#ae3ec9', values: arrays.smooth_change }] });
  if (arrays.mpjpe_fit || arrays.mpjpe_smooth) {
    const s = [];
    if (arrays.mpjpe_fit) s.push({ name: 'fitted', color: '#1c7ed6', values: arrays.mpjpe_fit });
    if (arrays.mpjpe_smooth) s.push({ name: 'smoothed', color: '#e8590c', values: arrays.mpjpe_smooth });
    addChart({ id: 'mpjpe', title: 'Keypoint MPJPE against the ground truth', unit: 'mm', series: s });
  }
  state.charts = charts;
  if (!charts.length) $('mf-charts').append(el('p', {}, 'No per-frame numbers in this run folder.'));

  /* tables */
  const tables = $('mf-tables');
  const statusRows = Object.entries(counts).map(([k, v]) => [k, v]);
  if (statusRows.length) tables.append(table('Frame statuses', statusRows, ['status', 'frames']));
  if (meta.timing) tables.append(table('Stage timings', Object.entries(meta.timing).map(([k, v]) => [k, v]), ['stage', 'value']));
  if (meta.config) {
    const rows = Object.entries(meta.config).map(([k, v]) => [k, v === null ? '–' : (typeof v === 'object' ? JSON.stringify(v) : v)]);
    tables.append(table('Settings (pipeline_config.json)', rows, ['setting', 'value']));
  }
  if (meta.files) tables.append(table('What the report read', meta.files.map((r) => [r[0], r[1]]), ['file', 'state']));
  $('mf-footer').textContent = `Written by ${meta.tool}. 3-D view: three.js r${THREE.REVISION} (MIT licence, ` +
    `© three.js authors), embedded.`;

  /* frame changes */
  const label = $('mf-frame-label'), statusLabel = $('mf-frame-status'), slider = $('mf-slider');
  slider.max = String(Math.max(0, F - 1));
  let current = -1;
  function setFrame(f, fromPlay) {
    f = Math.max(0, Math.min(F - 1, f | 0));
    if (f === current) return;
    if (current >= 0) cells[current].classList.remove('mf-current');
    current = f;
    state.frame = f;
    cells[f].classList.add('mf-current');
    slider.value = String(f);
    label.textContent = `frame ${meta.frames[f]} (${f + 1} / ${F})`;
    label.dataset.frame = String(f);
    statusLabel.textContent = meta.status[f];
    statusLabel.style.background = statusColor(meta.status[f]);
    $('mf-frame-message').textContent = meta.messages[f] || '';
    const st = view.setFrame(f);
    $('mf-hud').textContent = arrays.tri_points
      ? `triangulated ${st.nFinite}/${K}` + (st.nOutlier ? `, ${st.nOutlier} with an outlier view` : '') +
        (st.nNaN ? `, ${st.nNaN} NaN (not drawn)` : '')
      : 'no triangulation for this run';
    panels.setFrame(f);
    for (const c of charts) c.draw(f);
    if (!fromPlay) view.render(true);
  }
  state.setFrame = (f) => { pause(); setFrame(f); };
  const isProblem = (f) => meta.status[f] !== 'ok';
  function jumpProblem(dir) {
    for (let i = 1; i <= F; i++) {
      const f = current + dir * i;
      if (f < 0 || f >= F) break;
      if (isProblem(f)) { pause(); setFrame(f); return true; }
    }
    return false;
  }
  state.nextProblem = () => jumpProblem(1);

  /* transport */
  let last = null, acc = 0;
  const playBtn = $('mf-play');
  function play() {
    if (state.playing || F < 2) return;
    state.playing = true;
    playBtn.innerHTML = '&#10074;&#10074;';
    last = null;
  }
  function pause() {
    state.playing = false;
    playBtn.innerHTML = '&#9654;';
  }
  state.play = play;
  state.pause = pause;
  playBtn.addEventListener('click', () => (state.playing ? pause() : play()));
  $('mf-prev').addEventListener('click', () => { pause(); setFrame(current - 1); });
  $('mf-next').addEventListener('click', () => { pause(); setFrame(current + 1); });
  $('mf-next-problem').addEventListener('click', () => jumpProblem(1));
  $('mf-prev-problem').addEventListener('click', () => jumpProblem(-1));
  slider.addEventListener('input', () => { pause(); setFrame(+slider.value); });
  $('mf-speed').addEventListener('change', (e) => { state.speed = +e.target.value; });
  document.addEventListener('keydown', (e) => {
    if (e.target && (e.target.tagName === 'INPUT' && e.target.type !== 'range' || e.target.tagName === 'SELECT')) return;
    if (e.key === ' ') { e.preventDefault(); state.playing ? pause() : play(); }
    else if (e.key === 'ArrowRight' && e.shiftKey || e.key === 'n') { e.preventDefault(); jumpProblem(1); }
    else if (e.key === 'ArrowLeft' && e.shiftKey || e.key === 'p') { e.preventDefault(); jumpProblem(-1); }
    else if (e.key === 'ArrowRight') { e.preventDefault(); pause(); setFrame(current + 1); }
    else if (e.key === 'ArrowLeft') { e.preventDefault(); pause(); setFrame(current - 1); }
    else if (e.key === 'Home') { pause(); setFrame(0); }
    else if (e.key === 'End') { pause(); setFrame(F - 1); }
  });
  function tick(t) {
    if (state.playing) {
      state.rafTimes.push(t);
      if (state.rafTimes.length > 600) state.rafTimes.shift();
      if (last !== null) {
        acc += (t - last) / 1000 * state.fps * state.speed;
        const step = Math.floor(acc);
        if (step > 0) {
          acc -= step;
          setFrame((current + step) % F, true);
          state.drawnFrames++;
        }
      }
      last = t;
    }
    view.render();
    requestAnimationFrame(tick);
  }
  window.addEventListener('resize', () => { view.dirty = true; panels.setFrame(current); for (const c of charts) c.draw(); });
  setFrame(0);
  await bodyPromise;
  view.setFrame(current);
  view.render(true);
  requestAnimationFrame(tick);
  state.ready = true;
  document.body.dataset.ready = '1';
}
