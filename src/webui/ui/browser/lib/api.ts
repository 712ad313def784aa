// The browser's side of /api/v1: JSON over fetch with the session cookie, the CSRF token on
// every state-changing request, and errors turned into ApiError (status, code and the field
// the server named). Every path the UI calls is in ENDPOINTS-style helpers here, so the
// pages never spell a URL.

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  /** The input field the server named (400: "body/amount must be >= 0" → "amount"). */
  readonly field: string | undefined;
  constructor(status: number, code: string, message: string, field?: string) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

let csrfToken = '';
const unauthorizedListeners = new Set<() => void>();

export function setCsrfToken(token: string): void {
  csrfToken = token;
}

/** Called when the server says the session is gone (401): the app shows the login again. */
export function onUnauthorized(listener: () => void): void {
  unauthorizedListeners.add(listener);
}

/** Longest the UI waits for an answer before saying the appliance does not respond. */
const TIMEOUT_MS = 20_000;

export type Query = Record<string, string | number | boolean | undefined>;

export function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query))
    if (v !== undefined && v !== '') params.set(k, String(v));
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

export async function request<T>(
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: controller.signal,
    });
  } catch (err) {
    throw new ApiError(
      0,
      'NETWORK',
      controller.signal.aborted
        ? `no answer from the appliance within ${TIMEOUT_MS / 1000} s`
        : `the appliance cannot be reached (${(err as Error).message})`,
    );
  } finally {
    clearTimeout(timer);
  }
  const type = response.headers.get('content-type') ?? '';
  const data: unknown = type.includes('json') ? await response.json().catch(() => null) : null;
  if (!response.ok) {
    const e = (data ?? {}) as { code?: string; message?: string; error?: string; field?: string };
    const message = e.message ?? e.error ?? `${response.status} ${response.statusText}`;
    // Only a session that was in force can end: a refused login is the form's to report.
    if (response.status === 401 && csrfToken !== '') {
      csrfToken = '';
      for (const l of unauthorizedListeners) l();
    }
    throw new ApiError(
      response.status,
      e.code ?? String(response.status),
      message,
      e.field ?? fieldOf(message),
    );
  }
  return data as T;
}

/** fastify's validation messages start with the path of the bad field: "body/amount …". */
function fieldOf(message: string): string | undefined {
  const m = /^(?:body|querystring|params)\/([A-Za-z0-9_]+)/.exec(message);
  return m?.[1];
}

export const get = <T>(path: string, query?: Query) => request<T>('GET', withQuery(path, query));
export const post = <T>(path: string, body: unknown = {}) => request<T>('POST', path, body);
export const put = <T>(path: string, body: unknown) => request<T>('PUT', path, body);
export const del = <T>(path: string) => request<T>('DELETE', path);

/** A path segment from user data (an address, an account name), escaped. */
export function seg(value: string | number): string {
  return encodeURIComponent(String(value));
}

export interface Listing<T> {
  total: number;
  items: T[];
}

/** A list answer as {total, items}, whether the route pages ({total, items}) or not ([]). */
export function listing<T>(data: unknown, key = 'items'): Listing<T> {
  if (Array.isArray(data)) return { total: data.length, items: data as T[] };
  const d = (data ?? {}) as Record<string, unknown>;
  const items = (Array.isArray(d[key]) ? d[key] : Array.isArray(d.items) ? d.items : []) as T[];
  return { total: typeof d.total === 'number' ? d.total : items.length, items };
}
