// Runs the Khronos glTF validator on each file given (.glb or .gltf with its resources) and
// prints its errors and warnings (and how many infos and hints); exits 1 when a file has an error or a warning, 2 on a usage error.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import validator from 'gltf-validator';

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node validate.mjs FILE.glb|FILE.gltf ...');
  process.exit(2);
}
let bad = 0;
for (const file of files) {
  const data = new Uint8Array(await readFile(file));
  const report = await validator.validateBytes(data, {
    uri: path.basename(file),
    maxIssues: 50,
    externalResourceFunction: (uri) =>
      readFile(path.join(path.dirname(file), decodeURIComponent(uri))).then((b) => new Uint8Array(b)),
  });
  const i = report.issues;
  console.log(`${file}: ${i.numErrors} errors, ${i.numWarnings} warnings, ${i.numInfos} infos, ${i.numHints} hints` +
              ` (validator ${report.validatorVersion})`);
  for (const m of i.messages.filter((x) => x.severity <= 1)) console.log(`  [${['error', 'warning', 'info', 'hint'][m.severity]}] ${m.code} ${m.pointer || ''}: ${m.message}`);
  if (i.numErrors > 0 || i.numWarnings > 0) bad++;
}
process.exit(bad ? 1 : 0);
