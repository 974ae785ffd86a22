// Copy the browser builds of the npm dependencies into web/static/vendor/ (generated, not
// committed), and bundle the browser editor (scripts/editor-entry.mjs) with esbuild: run
// after `npm ci`, e.g. `npm run vendor`.
import { build } from 'esbuild';
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const modules = join(root, 'node_modules');
const vendor = join(root, 'web', 'static', 'vendor');

// [package, path inside the package, path inside web/static/vendor]
const FILES = [
  ['bpmn-js', 'dist/bpmn-navigated-viewer.production.min.js', 'bpmn-js/bpmn-navigated-viewer.production.min.js'],
  ['bpmn-js', 'dist/assets', 'bpmn-js/assets'],
  ['bpmn-js', 'LICENSE', 'bpmn-js/LICENSE'],
  ['dmn-js', 'dist/dmn-viewer.production.min.js', 'dmn-js/dmn-viewer.production.min.js'],
  ['@bpmn-io/properties-panel', 'dist/assets/properties-panel.css', 'editor/properties-panel.css'],
  ['@bpmn-io/properties-panel', 'LICENSE', 'editor/LICENSE-properties-panel'],
  ['bpmn-js-properties-panel', 'LICENSE', 'editor/LICENSE-bpmn-js-properties-panel'],
  ['bpmn-js-bpmnlint', 'dist/assets/css/bpmn-js-bpmnlint.css', 'editor/bpmn-js-bpmnlint.css'],
  ['bpmnlint', 'LICENSE', 'editor/LICENSE-bpmnlint'],
  ['dmn-js', 'dist/assets', 'dmn-js/assets'],
  ['dmn-js', 'LICENSE', 'dmn-js/LICENSE'],
  ['htmx.org', 'dist/htmx.min.js', 'htmx/htmx.min.js'],
  ['htmx.org', 'LICENSE', 'htmx/LICENSE'],
];

const missing = FILES.filter(([pkg, from]) => !existsSync(join(modules, pkg, from)));
if (missing.length) {
  const names = [...new Set(missing.map(([pkg, from]) => `${pkg}/${from}`))].join(', ');
  console.error(`copy-vendor: not found in node_modules: ${names}. Run "npm ci" first.`);
  process.exit(1);
}

rmSync(vendor, { recursive: true, force: true });
for (const [pkg, from, to] of FILES) {
  const target = join(vendor, to);
  mkdirSync(dirname(target), { recursive: true });
  cpSync(join(modules, pkg, from), target, { recursive: true });
}
await build({
  entryPoints: [join(root, 'scripts', 'editor-entry.mjs')],
  outfile: join(vendor, 'editor', 'editor.js'),
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2019'],
  legalComments: 'linked',
  logLevel: 'warning',
});
console.log(`copy-vendor: ${FILES.length} items copied and the editor bundled into ${vendor}`);
