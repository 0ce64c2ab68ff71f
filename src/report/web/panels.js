/* Per-camera panels (2-D): for the current frame, SAM 3D Body's 2-D keypoints, the triangulated
 * points reprojected through the camera (inlier / outlier marks), and the fitted skeleton
 * reprojected; over the camera image when the report embeds one, else over the image rectangle.
 * Every canvas records what it drew in data attributes (data-marks: 2-D keypoint marks). */
const OBS_COLOR = '#1971c2';
const INLIER_COLOR = '#2f9e44';
const OUTLIER_COLOR = '#e03131';
const SKEL_COLOR = '#e8590c';

export class CameraPanels {
  constructor(container, meta, arrays, images) {
    this.meta = meta;
    this.arrays = arrays;
    this.images = images; /* images[v][f] → ImageBitmap promise factory, or null */
    this.K = meta.n_keypoints;
    this.V = meta.cams.length;
    this.canvases = [];
    this.layers = { keypoints2d: true, reprojected: true, skeleton2d: true };
    meta.cams.forEach((cam, v) => {
      const box = document.createElement('figure');
      box.className = 'mf-panel';
      const cv = document.createElement('canvas');
      cv.className = 'mf-panel-canvas';
      cv.dataset.cam = cam.name;
      const cap = document.createElement('figcaption');
      cap.innerHTML = '<b></b> <span class="mf-panel-info"></span>';
      cap.firstChild.textContent = cam.name;
      box.append(cv, cap);
      container.append(box);
      const p = { cv, info: cap.querySelector('.mf-panel-info'), cam, v, zoom: true };
      cv.title = 'click: the whole image / zoomed on the person';
      cv.addEventListener('click', () => { p.zoom = !p.zoom; this.draw(p, this.frame); });
      this.canvases.push(p);
    });
    const legend = document.createElement('div');
    legend.className = 'mf-panel-legend';
    legend.innerHTML =
      `<span><i style="background:${OBS_COLOR}"></i>SAM 3D Body 2-D keypoints</span>` +
      `<span><i class="mf-ring" style="border-color:${INLIER_COLOR}"></i>triangulated point, this view an inlier</span>` +
      `<span><i class="mf-ring" style="border-color:${OUTLIER_COLOR}"></i>this view an outlier</span>` +
      `<span><i class="mf-line" style="background:${SKEL_COLOR}"></i>fitted skeleton</span>`;
    container.append(legend);
    this.frame = 0;
    /* canvas widths from a ResizeObserver: reading clientWidth while drawing would force a layout
     * per panel and frame */
    this.widths = new Map();
    this.observer = new ResizeObserver((entries) => {
      for (const e of entries) this.widths.set(e.target, e.contentRect.width);
      this.setFrame(this.frame);
    });
    for (const p of this.canvases) this.observer.observe(p.cv);
  }

  /** Image rectangle of camera v (pixels): the calibration's size, else the data's extent. */
  imageSize(v) {
    const cam = this.meta.cams[v];
    if (cam.width > 0 && cam.height > 0) return [cam.width, cam.height];
    if (this._ext) return this._ext;
    let w = 1, h = 1;
    for (const name of ['obs2d', 'proj_tri', 'proj_kp']) {
      const a = this.arrays[name];
      if (!a) continue;
      for (let i = 0; i + 1 < a.length; i += 2) {
        if (Number.isFinite(a[i])) { w = Math.max(w, a[i]); h = Math.max(h, a[i + 1]); }
      }
    }
    this._ext = [Math.ceil(w * 1.05), Math.ceil(h * 1.05)];
    return this._ext;
  }

  /** The part of camera v's image the panel shows zoomed: the box of every mark over the
   *  sequence (inside the image), padded, with the image's aspect ratio. */
  zoomBox(v) {
    this._zoom = this._zoom || [];
    if (this._zoom[v]) return this._zoom[v];
    const [W, H] = this.imageSize(v);
    const K = this.K, V = this.V, F = this.meta.frames.length;
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const name of ['obs2d', 'proj_kp']) {
      const a = this.arrays[name];
      if (!a) continue;
      for (let f = 0; f < F; f++) {
        const base = (f * V + v) * K * 2;
        for (let k = 0; k < K; k++) {
          const x = a[base + 2 * k], y = a[base + 2 * k + 1];
          if (!(x >= 0 && x <= W && y >= 0 && y <= H)) continue;
          x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
        }
      }
    }
    let box = [0, 0, W, H];
    if (x1 > x0 && y1 > y0) {
      let w = (x1 - x0) * 1.25, h = (y1 - y0) * 1.25;
      if (w / h > W / H) h = w * H / W; else w = h * W / H;
      if (w < W && h < H) {
        const cx = Math.min(Math.max((x0 + x1) / 2, w / 2), W - w / 2);
        const cy = Math.min(Math.max((y0 + y1) / 2, h / 2), H - h / 2);
        box = [cx - w / 2, cy - h / 2, w, h];
      }
    }
    this._zoom[v] = box;
    return box;
  }

  setFrame(f) {
    this.frame = f;
    for (const p of this.canvases) this.draw(p, f);
  }

  draw(p, f) {
    const { cv, v } = p;
    const K = this.K, V = this.V;
    const [W, H] = this.imageSize(v);
    const cssW = this.widths.get(cv) || 320;
    const cssH = Math.round(cssW * H / W);
    const dpr = Math.min(window.devicePixelRatio || 1, 2);
    if (cv.width !== Math.round(cssW * dpr) || cv.height !== Math.round(cssH * dpr)) {
      cv.width = Math.round(cssW * dpr);
      cv.height = Math.round(cssH * dpr);
      cv.style.height = cssH + 'px';
    }
    const g = p.ctx || (p.ctx = cv.getContext('2d'));
    const [bx, by, bw] = p.zoom ? this.zoomBox(v) : [0, 0, W, H];
    const s = cv.width / bw;
    g.setTransform(1, 0, 0, 1, 0, 0);
    g.fillStyle = '#212529';
    g.fillRect(0, 0, cv.width, cv.height);
    g.setTransform(s, 0, 0, s, -bx * s, -by * s);
    const img = this.images ? this.images(v, f) : null;
    if (img) g.drawImage(img, 0, 0, W, H);
    else {
      g.fillStyle = '#343a40';
      g.fillRect(0, 0, W, H);
    }
    const px = 1 / s; /* one screen pixel in image pixels */
    const base = (f * V + v) * K * 2;
    let marks = 0, inl = 0, outl = 0, skel = 0;
    const pk = this.arrays.proj_kp;
    if (pk && this.layers.skeleton2d) {
      g.strokeStyle = SKEL_COLOR;
      g.lineWidth = 2 * px;
      g.beginPath();
      for (const [a, b] of this.meta.links) {
        const ia = base + 2 * a, ib = base + 2 * b;
        if (!Number.isFinite(pk[ia]) || !Number.isFinite(pk[ib])) continue;
        g.moveTo(pk[ia], pk[ia + 1]);
        g.lineTo(pk[ib], pk[ib + 1]);
        skel++;
      }
      g.stroke();
    }
    const pt = this.arrays.proj_tri, ti = this.arrays.tri_inlier;
    if (pt && this.layers.reprojected) {
      /* one path per mark colour: two strokes instead of one per point */
      g.lineWidth = 1.5 * px;
      const r = 5 * px;
      for (const want of [1, 2]) {
        g.strokeStyle = want === 2 ? OUTLIER_COLOR : INLIER_COLOR;
        g.beginPath();
        for (let k = 0; k < K; k++) {
          const i = base + 2 * k;
          if (!Number.isFinite(pt[i])) continue;
          const state = ti ? ti[(f * K + k) * V + v] : 1;
          if ((state === 2 ? 2 : 1) !== want) continue;
          g.moveTo(pt[i] + r, pt[i + 1]);
          g.arc(pt[i], pt[i + 1], r, 0, 2 * Math.PI);
          if (want === 2) outl++; else inl++;
        }
        g.stroke();
      }
    }
    const ob = this.arrays.obs2d;
    if (ob && this.layers.keypoints2d) {
      g.fillStyle = OBS_COLOR;
      const r = 2.2 * px;
      for (let k = 0; k < K; k++) {
        const i = base + 2 * k;
        if (!Number.isFinite(ob[i]) || !Number.isFinite(ob[i + 1])) continue;
        g.fillRect(ob[i] - r, ob[i + 1] - r, 2 * r, 2 * r);
        marks++;
      }
    }
    cv.dataset.marks = String(marks);
    cv.dataset.image = img ? '1' : '0';
    cv.dataset.inliers = String(inl);
    cv.dataset.outliers = String(outl);
    cv.dataset.links = String(skel);
    const err = this.arrays.tri_cam_err ? this.arrays.tri_cam_err[f * V + v] : NaN;
    const present = this.arrays.obs_present ? this.arrays.obs_present[f * V + v] : 1;
    p.info.textContent = present ? `${marks} keypoints` + (Number.isFinite(err) ? `, mean reprojection ${err.toFixed(1)} px` : '')
                                 : 'no stage-1 file for this frame';
  }
}
