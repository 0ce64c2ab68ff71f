/* The report's data: the meta document (JSON) and the binary arrays the library wrote into the
 * page (one deflated, base64-encoded buffer; layout in meta.arrays). */

/** Status names → colours of the status strip, the charts' frame marks and the legend. */
export const STATUS_COLORS = {
  ok: '#2f9e44',
  bad_loss: '#f08c00',
  recovered_interp: '#1c7ed6',
  recovered_copy: '#7048e8',
  missing: '#868e96',
};
/** Colour of any failure status (optimization_failed, triangulation_failed, missing_views...). */
export const FAILED_COLOR = '#e03131';

/** The strip colour of a frame status. */
export function statusColor(status) {
  if (status in STATUS_COLORS) return STATUS_COLORS[status];
  if (status.startsWith('recovered')) return STATUS_COLORS.recovered_interp;
  return FAILED_COLOR;
}

/** Decodes one array of the buffer: f32 and u8 as they are, q16 (int16 · scale, −32768 = NaN)
 *  to a Float32Array. */
function decodeArray(buf, desc) {
  const count = desc.shape.reduce((a, b) => a * b, 1);
  if (desc.type === 'f32') return new Float32Array(buf, desc.offset, count);
  if (desc.type === 'u8') return new Uint8Array(buf, desc.offset, count);
  if (desc.type === 'bytes') return new Uint8Array(buf, desc.offset, desc.shape[0]);
  if (desc.type === 'q16') {
    const q = new Int16Array(buf, desc.offset, count);
    const out = new Float32Array(count);
    const s = desc.scale;
    for (let i = 0; i < count; i++) out[i] = q[i] === -32768 ? NaN : q[i] * s;
    return out;
  }
  throw new Error('unknown array type ' + desc.type);
}

/** Reads the meta document and the arrays; resolves to {meta, arrays}. */
export async function loadReportData() {
  const meta = JSON.parse(document.getElementById('mf-meta').textContent);
  const text = document.getElementById('mf-data').textContent;
  const arrays = {};
  if (text.trim().length) {
    const buf = await window.mfInflate(window.mfBase64Bytes(text));
    for (const [name, desc] of Object.entries(meta.arrays)) arrays[name] = decodeArray(buf, desc);
  }
  return { meta, arrays };
}

/** Formats a number for tables and tooltips (NaN/null as a dash). */
export function fmt(x, digits = 3) {
  if (x === null || x === undefined || Number.isNaN(x)) return '–';
  if (typeof x !== 'number') return String(x);
  if (x !== 0 && (Math.abs(x) < 1e-3 || Math.abs(x) >= 1e5)) return x.toExponential(2);
  return Number.isInteger(x) ? String(x) : x.toFixed(digits);
}
