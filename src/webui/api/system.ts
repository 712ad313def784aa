// /api/v1 status, dataplane counters, audit, detections and registrations: read-only views
// of what the console's status, stats, audit and detections commands show.
import type { FastifyInstance } from 'fastify';
import { DROP_REASONS } from '../../dataplane/types.ts';
import type { WebContext } from '../context.ts';
import { ANY, PAGE_QUERY, pageOf } from './schemas.ts';

const OPEN_OBJECT = { type: 'object', additionalProperties: true } as const;
const DROPS = {
  type: 'object',
  required: [...DROP_REASONS],
  properties: Object.fromEntries(DROP_REASONS.map((r) => [r, { type: 'integer' }])),
} as const;

export async function systemRoutes(api: FastifyInstance, ctx: WebContext): Promise<void> {
  api.get(
    '/status',
    {
      schema: {
        tags: ['system'],
        summary: 'version, uptime, dataplane state, counts of bans, users and registrations',
        response: {
          200: {
            type: 'object',
            additionalProperties: true,
            required: ['version', 'uptimeSeconds', 'dataplane', 'bans', 'users', 'registrations'],
            properties: {
              version: { type: 'string' },
              pid: { type: 'integer' },
              uptimeSeconds: { type: 'integer' },
              dataplane: OPEN_OBJECT,
              bans: { type: 'integer' },
              users: { type: 'integer' },
              registrations: { type: 'integer' },
              sip: { type: 'array', items: ANY },
              restartPending: { type: 'array', items: { type: 'string' } },
            },
          },
        },
      },
    },
    async () => ctx.status(),
  );

  api.get(
    '/dataplane/counters',
    {
      schema: {
        tags: ['dataplane'],
        summary: 'kernel drops per reason and passed packets (totals since the dataplane started)',
        response: {
          200: {
            type: 'object',
            required: ['dataplane', 'drops', 'passed'],
            properties: {
              dataplane: {
                type: 'object',
                properties: {
                  mode: { type: 'string' },
                  interfaces: { type: 'array', items: { type: 'string' } },
                  counters: { type: 'array', items: { type: 'string' } },
                  counted: { type: 'array', items: { type: 'string' } },
                },
              },
              drops: DROPS,
              passed: { type: 'integer' },
              connections: OPEN_OBJECT,
            },
          },
        },
      },
    },
    async () => ctx.stats(),
  );

  api.get(
    '/audit',
    {
      schema: {
        tags: ['audit'],
        summary: 'the security audit of the running configuration, with the fix of each finding',
        response: {
          200: {
            type: 'object',
            required: ['findings', 'unavailable', 'summary'],
            properties: {
              findings: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['id', 'severity', 'title', 'why', 'fix'],
                  properties: {
                    id: { type: 'string' },
                    severity: { type: 'string', enum: ['high', 'medium', 'low'] },
                    title: { type: 'string' },
                    why: { type: 'string' },
                    fix: { type: 'string' },
                  },
                },
              },
              unavailable: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    key: { type: 'string' },
                    item: { type: 'string' },
                    issue: { type: 'integer' },
                  },
                },
              },
              summary: {
                type: 'object',
                properties: {
                  high: { type: 'integer' },
                  medium: { type: 'integer' },
                  low: { type: 'integer' },
                },
              },
            },
          },
        },
      },
    },
    async () => ctx.audit(),
  );

  api.get(
    '/detections',
    {
      schema: {
        tags: ['bans'],
        summary: 'what the guard detected and did not ban (trusted, autoban off, …)',
        response: {
          200: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                ip: { type: 'string' },
                rule: { type: 'string' },
                outcome: { type: 'string' },
                count: { type: 'integer' },
                firstAt: { type: 'integer' },
                lastAt: { type: 'integer' },
                evidence: ANY,
              },
            },
          },
        },
      },
    },
    async () => ctx.detections?.() ?? [],
  );

  api.get<{ Querystring: { offset: number; limit: number; q?: string } }>(
    '/registrations',
    {
      schema: {
        tags: ['registrations'],
        summary: 'registration bindings in force, one page, optionally searched by user or address',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { ...PAGE_QUERY, q: { type: 'string', maxLength: 100 } },
        },
        response: {
          200: pageOf({
            type: 'object',
            required: ['aor', 'contact', 'expiresAt', 'transport', 'ip', 'port'],
            properties: {
              aor: { type: 'string' },
              contact: { type: 'string' },
              expiresAt: { type: 'integer' },
              transport: { type: 'string', enum: ['udp', 'tcp', 'tls'] },
              ip: { type: 'string' },
              port: { type: 'integer' },
              userAgent: { type: 'string' },
            },
          }),
        },
      },
    },
    async (req) => {
      const { offset, limit } = req.query;
      const q = req.query.q?.trim().toLowerCase() ?? '';
      const now = Date.now();
      const all = [];
      // The store holds every binding (the registrar writes through to it).
      for (const { value } of ctx.store.tables.registrations.getRange()) {
        if (value.expiresAt <= now) continue;
        if (q !== '' && !value.aor.toLowerCase().includes(q) && !value.ip.includes(q)) continue;
        all.push(value);
      }
      all.sort((a, b) => a.aor.localeCompare(b.aor));
      return { total: all.length, offset, limit, items: all.slice(offset, offset + limit) };
    },
  );
}
