// Tests are compiled by tsc into dist/ first (npm test does it); ava runs the JavaScript.
export default {
  files: ['dist/test/**/*.test.js'],
  // Child processes, not worker threads: keytar is native and several tests change process-wide state.
  workerThreads: false,
  concurrency: 2,
  timeout: '2m',
  environmentVariables: { MCP_SECRETS_TEST: '1' },
};
