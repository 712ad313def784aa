// Checks on every request besides each route's JSON schema (which always applies):
//
//   validateinput   (reference "validate input": 0 no, 1 basic without injection check,
//                   2 basic with injection check, 3 normal, 4 more, 5 extreme) — every string
//                   in the body, query and path parameters, passwords excepted:
//                     ≥1 no control characters
//                     ≥2 no markup (< >) and no SQL-injection shapes (-- /* ; DROP … UNION SELECT ' or 1=1)
//                     ≥4 no quotes or backslashes, at most 1024 characters
//                     5  only letters, digits, space and . _ : @ / + , = * - #
//                   A refusal is 400 naming the field, like a schema error.
//   enablejsonp     0: a `callback` parameter is refused; 1: JSONP for the UI's own pages only
//                   (Sec-Fetch-Site same-origin); 2: for any page. The callback name is checked.
//   allowhttpfileupload  0: a file upload (text/plain, text/csv, application/octet-stream or
//                   multipart body) is refused with 415 before it is read; 1: the routes that
//                   take a file (config import, tariff import) accept it.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebContext } from './context.ts';
import { WebErrors } from './errors.ts';

const INPUT_KEYS = ['validateinput', 'enablejsonp', 'allowhttpfileupload'] as const;
/** Fields whose text is a secret chosen by a person: only control characters are refused. */
const FREE_TEXT = new Set(['password', 'current', 'totp']);
const CALLBACK = /^[A-Za-z_$][A-Za-z0-9_$]{0,63}(\.[A-Za-z_$][A-Za-z0-9_$]{0,63}){0,3}$/;
const INJECTION =
  /(--|\/\*|\*\/|;\s*(drop|delete|insert|update|select|alter|exec)\b|\bunion\s+(all\s+)?select\b|\b(drop|alter)\s+(table|database)\b|'\s*or\s+'?\d+'?\s*=\s*'?\d)/i;
const UPLOAD_TYPES = ['text/plain', 'text/csv', 'application/octet-stream', 'multipart/form-data'];
/** The largest file an upload route takes (a config file). */
export const UPLOAD_LIMIT = 64 * 1024;

declare module 'fastify' {
  interface FastifyRequest {
    jsonpCallback?: string;
  }
}

export function inputGuards(app: FastifyInstance, context: WebContext): void {
  const c = context.settings.view(INPUT_KEYS);
  app.decorateRequest('jsonpCallback', undefined);

  app.addHook('onRequest', (req, _reply, done) => {
    const type = String(req.headers['content-type'] ?? '').toLowerCase();
    if (!c.allowhttpfileupload && UPLOAD_TYPES.some((t) => type.startsWith(t)))
      return done(new WebErrors.TG_WEB_UPLOAD_DISABLED());
    const query = req.query as Record<string, unknown> | undefined;
    if (query && typeof query === 'object' && 'callback' in query) {
      const callback = query.callback;
      delete query.callback;
      if (c.enablejsonp === 0) return done(new WebErrors.TG_WEB_JSONP_DISABLED(0));
      if (c.enablejsonp === 1 && req.headers['sec-fetch-site'] !== 'same-origin')
        return done(new WebErrors.TG_WEB_JSONP_DISABLED('1: own pages only'));
      if (req.method !== 'GET' || typeof callback !== 'string' || !CALLBACK.test(callback))
        return done(badField('query.callback', 'must be a JavaScript identifier on a GET request'));
      req.jsonpCallback = callback;
    }
    done();
  });

  app.addHook('onSend', (req, reply, payload, done) => {
    const callback = req.jsonpCallback;
    if (callback === undefined || typeof payload !== 'string') return done(null, payload);
    reply.type('application/javascript; charset=utf-8');
    // The /**/ prefix defeats the Rosetta Flash family of attacks on JSONP.
    done(null, `/**/ typeof ${callback} === 'function' && ${callback}(${payload});`);
  });

  app.addHook('preValidation', (req, _reply, done) => {
    const level = c.validateinput;
    if (level === 0) return done();
    try {
      walk(req.params, 'params', level);
      walk(req.query, 'querystring', level);
      // An uploaded file (a text body) is parsed and checked by the route, value by value.
      if (typeof req.body !== 'string') walk(req.body, 'body', level);
      done();
    } catch (err) {
      done(err as Error);
    }
  });
}

/** Throws TG_WEB_BAD_INPUT naming the first string that level refuses. */
export function walk(value: unknown, path: string, level: number, depth = 0): void {
  if (depth > 16) throw badField(path, 'is nested too deeply');
  if (typeof value === 'string') {
    const why = refusal(value, level, FREE_TEXT.has(path.slice(path.lastIndexOf('.') + 1)));
    if (why !== undefined) throw badField(path, why);
    return;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) walk(value[i], `${path}.${i}`, level, depth + 1);
    return;
  }
  if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) walk(v, `${path}.${k}`, level, depth + 1);
  }
}

function refusal(text: string, level: number, freeText: boolean): string | undefined {
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch < 0x20 || ch === 0x7f) return 'contains control characters (validateinput)';
  }
  if (freeText || level < 2) return undefined;
  if (/[<>]/.test(text)) return 'contains markup characters < > (validateinput)';
  if (INJECTION.test(text)) return 'looks like an injection attempt (validateinput)';
  if (level < 4) return undefined;
  if (/['"`\\]/.test(text)) return 'contains quotes or backslashes (validateinput 4)';
  if (text.length > 1024) return 'is longer than 1024 characters (validateinput 4)';
  if (level >= 5 && !/^[A-Za-z0-9 ._:@/+,=*#-]*$/.test(text))
    return 'has characters outside letters, digits and . _ : @ / + , = * - # (validateinput 5)';
  return undefined;
}

/** A 400 naming the field, as the schema errors do. */
export function badField(field: string, why: string): Error {
  const err = new WebErrors.TG_WEB_BAD_INPUT(field, why);
  (err.details as Record<string, unknown>).field = field;
  return err;
}

/** Coded errors that say the input was wrong (400, naming the field). */
export const INPUT_ERROR = /_(BAD|UNKNOWN|INVALID|WEAK|USAGE|SYNTAX|CONFLICT|DUPLICATE)(_|$)/;

/** Runs `fn`, and names `field` on a coded error it throws about bad input. */
export async function naming<T>(field: string, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err && typeof err === 'object' && 'details' in err && 'code' in err) {
      const code = String((err as { code: string }).code);
      if (INPUT_ERROR.test(code))
        (err as { details: Record<string, unknown> }).details.field ??= field;
    }
    throw err;
  }
}

export type { FastifyRequest };
