/** @type {import('jest').Config} */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__'],
  testMatch: ['**/*.test.ts'],
  reporters: ['default', '<rootDir>/scripts/jest-summary-reporter.cjs'],
  setupFilesAfterEnv: ['<rootDir>/__tests__/setup.ts'],
  // the status page the workers import, assembled as the bundler assembles it (bundler/status-page.ts)
  moduleNameMapper: { '^zen-status-page$': '<rootDir>/bundler/status-page-in-node.ts' },
  // miniflare boots a workerd process per suite; two cores cannot run more than two at once usefully.
  maxWorkers: 2,
  // No suite leaks a handle (each worker's event loop is empty the moment Jest asks it to stop), but Node takes a
  // while to tear down a worker holding ~600 MB of ts-jest, cdktf and miniflare; on a busy 2-core runner that
  // outlasts Jest's default 500 ms and is reported as "failed to exit gracefully". A real leak still shows, later.
  workerGracefulExitTimeout: 5_000,
  testTimeout: 60_000,
};
