/**
 * The few GitHub REST calls the deploy workflow makes (sticky PR comment, drift issue), on plain `fetch`.
 *
 * Kept in the repository instead of using actions/github-script so the logic is unit-tested here (against a local
 * fake API) and the workflow pins one third-party action fewer.
 */

export interface GitHubClientOptions {
  /** e.g. https://api.github.com (GITHUB_API_URL on the runner, http://127.0.0.1:<port> in tests) */
  readonly apiUrl: string;
  readonly token: string;
  /** owner/name */
  readonly repo: string;
}

export interface IssueLike {
  readonly id: number;
  readonly number?: number;
  readonly body?: string | null;
  readonly user?: { readonly type?: string } | null;
  readonly pull_request?: unknown;
}

export class GitHubClient {
  constructor(private readonly options: GitHubClientOptions) {
    if (!/^[^/\s]+\/[^/\s]+$/.test(options.repo)) {
      throw new Error(`GitHubClient repo must be "owner/name", got "${options.repo}"`);
    }
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<{ data: T; next: string | undefined }> {
    const url = path.startsWith('http') ? path : `${this.options.apiUrl.replace(/\/$/, '')}${path}`;
    const res = await fetch(url, {
      method,
      headers: {
        accept: 'application/vnd.github+json',
        authorization: `Bearer ${this.options.token}`,
        'x-github-api-version': '2022-11-28',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!res.ok) {
      // The path names what failed; the response text is GitHub's error message, which carries no token.
      throw new Error(`GitHub API ${method} ${path} failed with ${res.status}: ${(await res.text()).slice(0, 300)}`);
    }
    const next = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get('link') ?? '')?.[1];
    return { data: (res.status === 204 ? undefined : await res.json()) as T, next };
  }

  /** Every page of a list endpoint (GitHub paginates at 100 at most). */
  async list<T>(path: string): Promise<T[]> {
    const all: T[] = [];
    let url: string | undefined = `${path}${path.includes('?') ? '&' : '?'}per_page=100`;
    while (url) {
      const page: { data: T[]; next: string | undefined } = await this.request<T[]>('GET', url);
      all.push(...page.data);
      url = page.next;
    }
    return all;
  }

  private get repoPath(): string {
    return `/repos/${this.options.repo}`;
  }

  /** The bot's comment carrying `marker` on issue/PR `issue`, if any. */
  async findComment(issue: number, marker: string): Promise<IssueLike | undefined> {
    const comments = await this.list<IssueLike>(`${this.repoPath}/issues/${issue}/comments`);
    // Only bot comments: a human quoting the marker must not have their comment overwritten.
    return comments.find((c) => c.user?.type === 'Bot' && (c.body ?? '').includes(marker));
  }

  /**
   * Edits the marked comment, or creates it. With `onlyIfExists` a missing comment is left missing (closing a PR
   * that never had a preview should not add noise). Returns what it did.
   */
  async upsertComment(
    issue: number,
    marker: string,
    body: string,
    { onlyIfExists = false }: { onlyIfExists?: boolean } = {},
  ): Promise<'updated' | 'created' | 'skipped'> {
    const existing = await this.findComment(issue, marker);
    if (existing) {
      await this.request('PATCH', `${this.repoPath}/issues/comments/${existing.id}`, { body });
      return 'updated';
    }
    if (onlyIfExists) return 'skipped';
    await this.request('POST', `${this.repoPath}/issues/${issue}/comments`, { body });
    return 'created';
  }

  /** The open issue (not PR) opened by a bot whose body carries `marker`. */
  async findOpenIssue(marker: string): Promise<IssueLike | undefined> {
    const issues = await this.list<IssueLike>(`${this.repoPath}/issues?state=open`);
    return issues.find(
      (i) => i.pull_request === undefined && i.user?.type === 'Bot' && (i.body ?? '').includes(marker),
    );
  }

  async isPullRequestOpen(pr: number): Promise<boolean> {
    const { data } = await this.request<{ state?: string }>('GET', `${this.repoPath}/pulls/${pr}`);
    return data.state === 'open';
  }

  async createIssue(title: string, body: string): Promise<number> {
    const { data } = await this.request<{ number: number }>('POST', `${this.repoPath}/issues`, { title, body });
    return data.number;
  }

  async updateIssue(issue: number, patch: { body?: string; state?: 'open' | 'closed' }): Promise<void> {
    await this.request('PATCH', `${this.repoPath}/issues/${issue}`, patch);
  }

  async comment(issue: number, body: string): Promise<void> {
    await this.request('POST', `${this.repoPath}/issues/${issue}/comments`, { body });
  }
}

/** Reads a required environment variable, failing with a message that names it. */
export function requireEnv(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (value === undefined || value === '') throw new Error(`environment variable ${name} is required`);
  return value;
}

export function clientFromEnv(env: NodeJS.ProcessEnv): GitHubClient {
  return new GitHubClient({
    apiUrl: env.GITHUB_API_URL || 'https://api.github.com',
    token: requireEnv(env, 'GITHUB_TOKEN'),
    repo: requireEnv(env, 'GITHUB_REPOSITORY'),
  });
}
