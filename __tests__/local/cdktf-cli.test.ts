import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { cdktfCliEnv, nativeModuleProblem } from '../../scripts/local/cdktf-cli';

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

describe('cdktfCliEnv', () => {
  it("is the caller's environment with the checkpoint call turned off, whatever the caller had", () => {
    expect(cdktfCliEnv({ PATH: '/bin', HOME: undefined })).toEqual({ PATH: '/bin', CHECKPOINT_DISABLE: '1' });
    expect(cdktfCliEnv({ CHECKPOINT_DISABLE: '' }).CHECKPOINT_DISABLE).toBe('1');
  });
});

describe('npm run cdktf', () => {
  const run = (args: readonly string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'scripts/cdktf.ts', ...args], {
      cwd: resolve(__dirname, '../..'),
      env: Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'CHECKPOINT_DISABLE')),
      encoding: 'utf8',
    });

  it("runs the project's CLI with the arguments given and passes its exit code back", () => {
    const version = run(['--version']);
    // its first line: a machine whose TF_CLI_CONFIG_FILE names a missing file gets Terraform's warning after it
    expect([version.status, version.stdout.split('\n')[0]]).toEqual([0, '0.21.0']);
    expect(run(['no-such-command']).status).not.toBe(0);
  }, 60_000);
});
