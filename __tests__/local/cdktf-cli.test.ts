import { nativeModuleProblem } from '../../scripts/local/cdktf-cli';

// the loader's output on Node.js 24, as npm leaves the module without and with a build for the wrong headers
const NOT_BUILT = `innerError Error: Cannot find module '../build/Debug/pty.node'
Require stack:
- /app/node_modules/@cdktf/node-pty-prebuilt-multiarch/lib/prebuild-loader.js
Error: Cannot find module '../build/Release/pty.node'
Require stack:
- /app/node_modules/@cdktf/node-pty-prebuilt-multiarch/lib/prebuild-loader.js`;
const WRONG_HEADERS = `Error: The module '/app/node_modules/@cdktf/node-pty-prebuilt-multiarch/build/Release/pty.node'
was compiled against a different Node.js version using
NODE_MODULE_VERSION 115. This version of Node.js requires
NODE_MODULE_VERSION 137. Please try re-compiling or re-installing
the module (for instance, using \`npm rebuild\` or \`npm install\`).
  code: 'ERR_DLOPEN_FAILED'`;

describe('nativeModuleProblem', () => {
  it('tells a missing build from one compiled for another Node.js', () => {
    expect(nativeModuleProblem(NOT_BUILT, 'v24.21.0', '137')).toBe(
      '@cdktf/node-pty-prebuilt-multiarch has no build for Node.js v24.21.0 (ABI 137) and npm did not compile one: "Cannot find module \'../build/Release/pty.node\'"',
    );
    expect(nativeModuleProblem(WRONG_HEADERS, 'v24.21.0', '137')).toBe(
      '@cdktf/node-pty-prebuilt-multiarch was compiled for another Node.js (ABI 115; Node.js v24.21.0 needs ABI 137): ERR_DLOPEN_FAILED',
    );
  });

  it('quotes the last error line of anything else', () => {
    expect(nativeModuleProblem('x\nError: libc.so.6: version GLIBC_2.38 not found\n', 'v24.1.0', '137')).toBe(
      '@cdktf/node-pty-prebuilt-multiarch does not load on Node.js v24.1.0: Error: libc.so.6: version GLIBC_2.38 not found',
    );
  });
});
