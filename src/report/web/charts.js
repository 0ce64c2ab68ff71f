/* Line charts over frames (canvas 2-D): one or more series of one value per frame (NaN: no
 * value, drawn as a gap), optional horizontal threshold lines, a log scale, the current frame as
 * a vertical line; clicking a chart jumps to the frame under the pointer. Each chart records its
 * series lengths in data-values (comma-separated). */
const PAD = { l: 52, r: 10, t: 8, b: 20 };

function niceTicks(lo, hi, n) {
  const span = hi - lo || 1;
  const step0 = span / n;
  const mag = Math.pow(10, Math.floor(Math.log10(step0)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= step0) || 10 * mag;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-12; v += step) out.push(v);
  return out;
}

function tickText(v) {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-2) return v.toExponential(0);
  return String(+v.toPrecision(3));
}

export class Chart {
  /**
   * spec: {title, unit, log, series: [{name, color, values}], thresholds: [{value, label, color}]}
   * onPick(frame) is called when the chart is clicked.
   */
  constructor(container, spec, nFrames, onPick) {
    this.spec = spec;
    this.n = nFrames;
    const box = document.createElement('figure');
    box.className = 'mf-chart';
    const cap = document.createElement('figcaption');
    cap.textContent = spec.title + (spec.unit ? ` (${spec.unit})` : '');
    const legend = document.createElement('span');
    legend.className = 'mf-chart-legend';
    for (const s of spec.series) {
      const item = document.createElement('span');
      item.innerHTML = `<i style="background:${s.color}"></i>`;
      item.append(s.name);
      legend.append(item);
    }
    for (const t of spec.thresholds || []) {
      const item = document.createElement('span');
      item.innerHTML = `<i class="mf-dash" style="border-color:${t.color}"></i>`;
      item.append(t.label);
      legend.append(item);
    }
    cap.append(legend);
    this.cv = document.createElement('canvas');
    this.cv.className = 'mf-chart-canvas';
    this.cv.dataset.chart = spec.id;
    this.cv.dataset.values = spec.series.map((s) => s.values.length).join(',');
    box.append(cap, this.cv);
    container.append(box);
    this.cv.addEventListener('click', (e) => {
      const r = this.cv.getBoundingClientRect();
      const x = e.clientX - r.left;
      const f = Math.round((x - PAD.l) / (r.width - PAD.l - PAD.r) * (this.n - 1));
      onPick(Math.max(0, Math.min(this.n - 1, f)));
    });
    this.range();
    this.frame = 0;
    this.size = [400, 150];
    new ResizeObserver((entries) => {
      const r = entries[entries.length - 1].contentRect;
      this.size = [r.width || 400, r.height || 150];
      this.cache = null;
      this.draw();
    }).observe(this.cv);
  }

  range() {
    const log = this.spec.log;
    let lo = Infinity, hi = -Infinity;
    const take = (v) => {
      if (!Number.isFinite(v) || (log && v <= 0)) return;
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    };
    for (const s of this.spec.series) for (const v of s.values) take(v);
    for (const t of this.spec.thresholds || []) take(t.value);
    if (!Number.isFinite(lo)) { lo = log ? 1e-6 : 0; hi = log ? 1 : 1; }
    if (!log) { lo = Math.min(0, lo); if (hi === lo) hi = lo + 1; hi *= 1.05; }
    else { lo = Math.log10(lo); hi = Math.log10(hi); if (hi - lo < 1) { lo -= 0.5; hi += 0.5; } }
    this.lo = lo;
    this.hi = hi;
  }

  draw(frame) {
    if (frame !== undefined) this.frame = frame;
    const cv = this.cv;
    const dpr = Math.min(window.devicePixelRatio || 1, 2);
    const [cssW, cssH] = this.size;
    if (cv.width !== Math.round(cssW * dpr) || cv.height !== Math.round(cssH * dpr)) {
      cv.width = Math.round(cssW * dpr);
      cv.height = Math.round(cssH * dpr);
      this.cache = null;
    }
    const g = cv.getContext('2d');
    const W = cssW - PAD.l - PAD.r, H = cssH - PAD.t - PAD.b;
    const X = (f) => PAD.l + (this.n > 1 ? f / (this.n - 1) : 0.5) * W;
    /* the axes and series are drawn once into a bitmap; a frame change only adds the cursor */
    if (this.cache) {
      g.setTransform(1, 0, 0, 1, 0, 0);
      g.clearRect(0, 0, cv.width, cv.height);
      g.drawImage(this.cache, 0, 0);
    } else {
      this.drawStatic(g, dpr, cssW, cssH, W, H, X);
      this.cache = new OffscreenCanvas(cv.width, cv.height);
      this.cache.getContext('2d').drawImage(cv, 0, 0);
    }
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.strokeStyle = '#212529';
    g.lineWidth = 1;
    g.beginPath(); g.moveTo(X(this.frame), PAD.t); g.lineTo(X(this.frame), PAD.t + H); g.stroke();
  }

  drawStatic(g, dpr, cssW, cssH, W, H, X) {
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, cssW, cssH);
    const log = this.spec.log;
    const Y = (v) => {
      const t = log ? Math.log10(v) : v;
      return PAD.t + H - (t - this.lo) / (this.hi - this.lo) * H;
    };
    g.font = '10px sans-serif';
    g.fillStyle = '#495057';
    g.strokeStyle = '#e9ecef';
    g.lineWidth = 1;
    g.textAlign = 'right';
    g.textBaseline = 'middle';
    const ticks = log ? niceTicks(Math.ceil(this.lo), Math.floor(this.hi), 4).map((e) => Math.pow(10, e))
                      : niceTicks(this.lo, this.hi, 4);
    for (const v of ticks) {
      const y = Y(v);
      if (y < PAD.t - 1 || y > PAD.t + H + 1) continue;
      g.beginPath(); g.moveTo(PAD.l, y); g.lineTo(PAD.l + W, y); g.stroke();
      g.fillText(tickText(v), PAD.l - 4, y);
    }
    g.textAlign = 'center';
    g.textBaseline = 'top';
    for (const f of niceTicks(0, this.n - 1, 6)) if (Number.isInteger(f)) g.fillText(String(f), X(f), PAD.t + H + 4);
    for (const t of this.spec.thresholds || []) {
      g.save();
      g.setLineDash([5, 4]);
      g.strokeStyle = t.color;
      g.beginPath(); g.moveTo(PAD.l, Y(t.value)); g.lineTo(PAD.l + W, Y(t.value)); g.stroke();
      g.restore();
    }
    for (const s of this.spec.series) {
      g.strokeStyle = s.color;
      g.lineWidth = 1.5;
      g.beginPath();
      let pen = false;
      const vals = s.values;
      for (let f = 0; f < vals.length; f++) {
        const v = vals[f];
        if (!Number.isFinite(v) || (log && v <= 0)) { pen = false; continue; }
        const x = X(f), y = Y(v);
        if (pen) g.lineTo(x, y); else g.moveTo(x, y);
        pen = true;
      }
      g.stroke();
      /* isolated values (a neighbour missing on both sides) as dots */
      g.fillStyle = s.color;
      for (let f = 0; f < vals.length; f++) {
        const ok = (i) => i >= 0 && i < vals.length && Number.isFinite(vals[i]) && (!log || vals[i] > 0);
        if (ok(f) && !ok(f - 1) && !ok(f + 1)) g.fillRect(X(f) - 1.5, Y(vals[f]) - 1.5, 3, 3);
      }
    }
  }
}
