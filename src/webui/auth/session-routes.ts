// Logging in and out of the web UI and the enduser portal: POST /api/v1/session checks the
// password (and the TOTP code of an admin who has one) and sets the session cookie;
// GET says who is logged in and hands out the CSRF token state-changing requests must send
// (header X-CSRF-Token); DELETE logs out. The cookie is encrypted and signed
// (@fastify/secure-session), Secure, HttpOnly, SameSite=Strict, and carries its own expiry.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { WebErrors } from '../errors.ts';
import { type AccessControl, SESSION_IDENTITY, type SessionIdentity } from './access.ts';

/** How long a login lasts without a new one. */
export const SESSION_MS = 8 * 3_600_000;
/** Login attempts per address per minute (the guard bans repeated failures on top). */
export const LOGIN_PER_MINUTE = 20;

const identity = {
  type: 'object',
  required: ['kind', 'name', 'csrfToken', 'expiresAt'],
  additionalProperties: false,
  properties: {
    kind: { type: 'string', enum: ['admin', 'user'] },
    name: { type: 'string' },
    csrfToken: {
      type: 'string',
      description: 'send as X-CSRF-Token on every state-changing request',
    },
    expiresAt: { type: 'integer', description: 'ms since epoch' },
  },
} as const;

/**
 * The admin UI logs in at /session (kind admin unless the body says user); the enduser
 * portal at /portal/session (always a SIP account).
 */
export async function sessionRoutes(app: FastifyInstance, access: AccessControl): Promise<void> {
  await sessionAt(app, access, '/session');
  await sessionAt(app, access, '/portal/session', 'user');
}

async function sessionAt(
  app: FastifyInstance,
  access: AccessControl,
  path: string,
  only?: 'user',
): Promise<void> {
  const answer = (reply: FastifyReply, who: SessionIdentity) => ({
    kind: who.kind,
    name: who.name,
    csrfToken: reply.generateCsrf(),
    expiresAt: who.exp,
  });

  app.post<{
    Body: { username: string; password: string; totp?: string; kind?: 'admin' | 'user' };
  }>(
    path,
    {
      config: {
        access: 'public',
        rateLimit: { max: LOGIN_PER_MINUTE, timeWindow: 60_000 },
      },
      schema: {
        tags: ['session'],
        summary: 'log in (admin: password and TOTP code if enabled; user: SIP credentials)',
        body: {
          type: 'object',
          required: ['username', 'password'],
          additionalProperties: false,
          properties: {
            username: { type: 'string', minLength: 1, maxLength: 64 },
            password: { type: 'string', minLength: 1, maxLength: 128 },
            totp: { type: 'string', pattern: '^[0-9]{6}$' },
            kind: { type: 'string', enum: ['admin', 'user'], default: 'admin' },
          },
        },
        response: { 200: identity },
      },
    },
    async (req, reply) => {
      access.checkSource(req.source);
      const { username, password, totp } = req.body;
      const kind = only ?? req.body.kind ?? 'admin';
      if (kind === 'admin') {
        access.checkAdminSource(req.source);
        const outcome = access.admins.login({ name: username, password, totp });
        if (!outcome.ok) {
          if (outcome.why === 'totp-required')
            throw new WebErrors.TG_WEB_UNAUTHENTICATED('the TOTP code (field totp)');
          access.reportFailure(req, 'wrong admin password');
          throw new WebErrors.TG_WEB_BAD_CREDENTIALS();
        }
      } else if (!access.users.verifyPassword(username, password)) {
        access.reportFailure(req, 'wrong portal password');
        throw new WebErrors.TG_WEB_BAD_CREDENTIALS();
      }
      const who: SessionIdentity = { kind, name: username, exp: Date.now() + SESSION_MS };
      // A fresh session (and CSRF secret) at every login: nothing set before it carries over.
      req.session.regenerate();
      req.session.set(SESSION_IDENTITY, who);
      return answer(reply, who);
    },
  );

  app.get(
    path,
    {
      config: { access: 'public' },
      schema: {
        tags: ['session'],
        summary: 'who is logged in, and the CSRF token',
        response: { 200: identity },
      },
    },
    async (req: FastifyRequest, reply) => {
      const who = access.sessionIdentity(req);
      if (who === undefined || (only !== undefined && who.kind !== only))
        throw new WebErrors.TG_WEB_UNAUTHENTICATED('no session');
      return answer(reply, who);
    },
  );

  app.delete(
    path,
    {
      config: { access: 'public' },
      onRequest: app.csrfProtection,
      schema: {
        tags: ['session'],
        summary: 'log out',
        response: {
          200: {
            type: 'object',
            required: ['ok'],
            additionalProperties: false,
            properties: { ok: { type: 'boolean' } },
          },
        },
      },
    },
    async (req) => {
      req.session.delete();
      return { ok: true };
    },
  );
}
