/* The report's loader (a classic script, run as the page is parsed). The page's ES modules
 * (three.js and the report's own code) are stored in <script type="text/plain" data-module>
 * elements, deflated and base64-encoded. Each is inflated with the browser's
 * DecompressionStream, given a blob: URL, and an import map maps the module ids to these URLs;
 * then the entry module runs. Nothing is fetched from a network. */
(function () {
  'use strict';
  function showError(msg) {
    var box = document.getElementById('mf-error');
    if (box) {
      box.hidden = false;
      box.textContent = 'The report could not start: ' + msg;
    }
  }
  function base64Bytes(text) {
    var bin = atob(text.replace(/\s+/g, ''));
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  function inflate(bytes) {
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('deflate'));
    return new Response(stream).arrayBuffer();
  }
  window.mfBase64Bytes = base64Bytes;
  window.mfInflate = inflate;
  if (typeof DecompressionStream === 'undefined') {
    showError('this browser has no DecompressionStream (use a browser from 2023 or later)');
    return;
  }
  var elements = document.querySelectorAll('script[data-module]');
  var jobs = [];
  elements.forEach(function (el) {
    var id = el.getAttribute('data-module');
    jobs.push(inflate(base64Bytes(el.textContent)).then(function (buf) {
      return [id, URL.createObjectURL(new Blob([buf], { type: 'text/javascript' }))];
    }));
  });
  Promise.all(jobs).then(function (pairs) {
    var map = { imports: {} };
    pairs.forEach(function (p) { map.imports[p[0]] = p[1]; });
    var s = document.createElement('script');
    s.type = 'importmap';
    s.textContent = JSON.stringify(map);
    document.head.appendChild(s);
    return import(map.imports['mhrfit/app.js']);
  }).then(function (app) {
    return app.start();
  }).catch(function (e) {
    console.error(e);
    showError(String(e && e.message ? e.message : e));
  });
})();
