import { openAIErrorType } from '../../../workers/shared/http';

describe('openAIErrorType', () => {
  it.each([
    [400, 'invalid_request_error'],
    [401, 'authentication_error'],
    [403, 'permission_error'],
    [404, 'invalid_request_error'],
    [405, 'invalid_request_error'],
    [413, 'invalid_request_error'],
    [414, 'invalid_request_error'],
    [429, 'rate_limit_error'],
    [499, 'invalid_request_error'],
    [500, 'server_error'],
    [502, 'server_error'],
    [503, 'server_error'],
    [504, 'server_error'],
  ])("maps HTTP %i to %s, for the workers' own refusals and Google's errors alike", (status, type) => {
    expect(openAIErrorType(status)).toBe(type);
  });
});
