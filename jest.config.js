/** @type {import('jest').Config} */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__'],
  testMatch: ['**/*.test.ts'],
  reporters: ['default', '<rootDir>/scripts/jest-summary-reporter.cjs'],
  setupFilesAfterEnv: ['<rootDir>/__tests__/setup.ts'],
  // miniflare boots a workerd process per suite; two cores cannot run more than two at once usefully.
  maxWorkers: 2,
  testTimeout: 60_000,
};
