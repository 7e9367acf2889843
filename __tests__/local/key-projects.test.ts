import { startFakeGemini } from '../../dev/fake-gemini';
import { banner, synthEnv } from '../../scripts/local/cli';
import {
  demoKeyProjects,
  demoQuota,
  fakeProjects,
  keyProjectsFor,
  projectSummary,
} from '../../scripts/local/key-projects';

describe('npm start: the projects of its keys', () => {
  it('lays 20 demo keys out as one project of 10 keys and 10 projects of one', () => {
    const labels = demoKeyProjects(20);
    expect(labels.slice(0, 10)).toEqual(Array(10).fill('shared'));
    expect(labels.slice(10)).toEqual(Array.from({ length: 10 }, (_, i) => `solo${i + 1}`));
    expect(projectSummary(20, labels)).toBe('20 keys in 11 projects');
    expect(demoKeyProjects(1)).toEqual(['shared']);
    expect(demoKeyProjects(3)).toEqual(['shared', 'shared', 'solo1']);
  });

  it('uses KEY_PROJECTS as given, the demo layout for demo keys (sized by KEY_COUNT), and none for real keys', () => {
    expect(keyProjectsFor({ KEY_PROJECTS: ' a, a ,b' }, 3)).toEqual(['a', 'a', 'b']);
    expect(keyProjectsFor({}, undefined)).toEqual(demoKeyProjects(20));
    expect(keyProjectsFor({ KEY_COUNT: '4' }, undefined)).toEqual(['shared', 'shared', 'solo1', 'solo2']);
    expect(keyProjectsFor({ KEY_COUNT: 'many' }, undefined)).toHaveLength(20);
    expect(keyProjectsFor({}, 5)).toBeUndefined();
  });

  it('hands synth the demo layout as KEY_PROJECTS, unless the user set one', () => {
    expect(synthEnv({}, 'prod', undefined, ['shared', 'solo1']).KEY_PROJECTS).toBe('shared,solo1');
    expect(synthEnv({ KEY_PROJECTS: 'x,y' }, 'prod', undefined, ['x', 'y']).KEY_PROJECTS).toBe('x,y');
    expect(synthEnv({}, 'prod', 2)).not.toHaveProperty('KEY_PROJECTS');
  });

  it('tells the fake the same layout, key by key, so it counts as synth laid the keys out', async () => {
    const keys = ['demo-key-01', 'demo-key-02', 'demo-key-03'];
    const projects = fakeProjects(keys, ['shared', 'shared', 'solo1']);
    expect(projects).toEqual({ 'demo-key-01': 'shared', 'demo-key-02': 'shared', 'demo-key-03': 'solo1' });
    expect(fakeProjects(keys, ['a'])).toEqual({ 'demo-key-01': 'a' });
    expect(fakeProjects(keys, undefined)).toEqual({});
    const fake = await startFakeGemini({ projects, admission: demoQuota('1/60s') });
    try {
      const chat = (key: string) =>
        fetch(`${fake.url}/v1beta/openai/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'gemini-3.8-flash', messages: [{ role: 'user', content: 'hi' }] }),
        });
      // one call per project and model per minute: the second key of `shared` finds its project's window spent
      expect((await chat('demo-key-01')).status).toBe(200);
      expect((await chat('demo-key-02')).status).toBe(429);
      expect((await chat('demo-key-03')).status).toBe(200);
    } finally {
      await fake.close();
    }
  });

  it('reads DEMO_QUOTA as calls per window, and refuses anything else', () => {
    expect(demoQuota(undefined)).toBeUndefined();
    expect(demoQuota('')).toBeUndefined();
    expect(() => demoQuota('4 per second')).toThrow(
      'DEMO_QUOTA must look like 4/1s (calls per project and model per window), got "4 per second"',
    );
  });

  it('says in the banner how the demo keys fall into projects', () => {
    const text = banner({
      stack: 'prod',
      url: 'http://127.0.0.1:8787',
      upstream: 'http://127.0.0.1:5555',
      workers: ['orch'],
      secrets: { apiKeys: ['d1', 'd2'], pass: 'demo-abc', clientTokens: {}, demo: true },
      projects: '2 keys in 1 project',
    });
    expect(text).toContain('upstream  http://127.0.0.1:5555   (fake Gemini, 2 keys in 1 project)');
    expect(text).toContain('"model":"gemini-3.8-flash"');
  });
});
