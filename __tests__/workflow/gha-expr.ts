/**
 * A small evaluator for the subset of GitHub Actions expressions the deploy workflow uses, so tests can check what
 * `if:` conditions DO for a given event instead of matching their text.
 *
 * Supported: string/number/boolean/null literals, context paths (`github.event.pull_request.user.type`,
 * `needs.destroy-preview.result`), `!`, `==`, `!=`, `&&`, `||`, parentheses, and the status functions `always()`,
 * `success()`, `failure()`, `cancelled()`. Like GitHub: `==` on strings ignores case, `&&`/`||` return an operand.
 */
export type Value = string | number | boolean | null | { readonly [k: string]: unknown } | readonly unknown[];

export interface EvalContext {
  readonly contexts: Record<string, unknown>;
  /** result of `success()` / `failure()` for this job or step */
  readonly status?: { success: boolean; failure: boolean; cancelled?: boolean };
}

type Token = { t: 'str' | 'num' | 'id' | 'op'; v: string };

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src.charAt(i);
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'") {
      let s = '';
      i++;
      for (;;) {
        if (i >= src.length) throw new Error(`unterminated string in ${src}`);
        if (src[i] === "'" && src[i + 1] === "'") {
          s += "'";
          i += 2;
        } else if (src[i] === "'") {
          i++;
          break;
        } else s += src[i++];
      }
      out.push({ t: 'str', v: s });
    } else if (/[0-9]/.test(c)) {
      const m = /^[0-9.]+/.exec(src.slice(i)) as RegExpExecArray;
      out.push({ t: 'num', v: m[0] });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_.-]*/.exec(src.slice(i)) as RegExpExecArray;
      out.push({ t: 'id', v: m[0] });
      i += m[0].length;
    } else {
      const two = src.slice(i, i + 2);
      if (['==', '!=', '&&', '||'].includes(two)) {
        out.push({ t: 'op', v: two });
        i += 2;
      } else if ('!()'.includes(c)) {
        out.push({ t: 'op', v: c });
        i++;
      } else throw new Error(`unsupported character "${c}" in expression: ${src}`);
    }
  }
  return out;
}

export function truthy(v: unknown): boolean {
  return !(v === null || v === undefined || v === false || v === '' || v === 0);
}

function lookup(path: string, ctx: EvalContext): unknown {
  let cur: unknown = ctx.contexts;
  for (const part of path.split('.')) {
    if (cur === null || cur === undefined || typeof cur !== 'object') return null;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur === undefined ? null : cur;
}

function equals(a: unknown, b: unknown): boolean {
  if (typeof a === 'string' && typeof b === 'string') return a.toLowerCase() === b.toLowerCase();
  if (a === null && b === null) return true;
  return a === b;
}

export function evaluate(expr: string, ctx: EvalContext): unknown {
  const src = expr.trim().replace(/^\$\{\{([\s\S]*)\}\}$/, '$1');
  const tokens = tokenize(src);
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];
  const expectOp = (v: string): void => {
    const tok = tokens[pos++];
    if (tok?.t !== 'op' || tok.v !== v) throw new Error(`expected "${v}" in ${src}`);
  };

  const primary = (): unknown => {
    const tok = tokens[pos++];
    if (!tok) throw new Error(`unexpected end of ${src}`);
    if (tok.t === 'str') return tok.v;
    if (tok.t === 'num') return Number(tok.v);
    if (tok.t === 'op' && tok.v === '(') {
      const v = or();
      expectOp(')');
      return v;
    }
    if (tok.t === 'op' && tok.v === '!') return !truthy(primary());
    if (tok.t === 'id') {
      if (tok.v === 'true') return true;
      if (tok.v === 'false') return false;
      if (tok.v === 'null') return null;
      const next = peek();
      if (next?.t === 'op' && next.v === '(') {
        if (!['always', 'success', 'failure', 'cancelled'].includes(tok.v)) {
          throw new Error(`unsupported function ${tok.v}() in ${src}`);
        }
        expectOp('(');
        expectOp(')');
        const status = ctx.status ?? { success: true, failure: false };
        switch (tok.v) {
          case 'always':
            return true;
          case 'success':
            return status.success;
          case 'failure':
            return status.failure;
          default:
            return status.cancelled ?? false;
        }
      }
      return lookup(tok.v, ctx);
    }
    throw new Error(`unexpected token ${tok.v} in ${src}`);
  };
  const comparison = (): unknown => {
    let left = primary();
    for (let tok = peek(); tok?.t === 'op' && (tok.v === '==' || tok.v === '!='); tok = peek()) {
      pos++;
      const right = primary();
      left = tok.v === '==' ? equals(left, right) : !equals(left, right);
    }
    return left;
  };
  const and = (): unknown => {
    let left = comparison();
    while (peek()?.v === '&&') {
      pos++;
      const right = comparison();
      left = truthy(left) ? right : left;
    }
    return left;
  };
  const or = (): unknown => {
    let left = and();
    while (peek()?.v === '||') {
      pos++;
      const right = and();
      left = truthy(left) ? left : right;
    }
    return left;
  };
  const result = or();
  if (pos !== tokens.length) throw new Error(`trailing tokens in ${src}`);
  return result;
}

/** Whether a job/step `if:` passes; like GitHub, a condition without a status function means `success() && (...)`. */
export function conditionPasses(condition: string | undefined, ctx: EvalContext): boolean {
  const status = ctx.status ?? { success: true, failure: false };
  if (condition === undefined) return status.success;
  const usesStatus = /\b(always|success|failure|cancelled)\(\)/.test(condition);
  const value = truthy(evaluate(condition, ctx));
  return usesStatus ? value : status.success && value;
}
