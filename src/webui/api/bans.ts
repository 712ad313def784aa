// /api/v1/bans: the bans in force (server-side paging and search, so 100,000 bans cost one
// page), add one, lift one (an address or a range) or all. The same BanService the console
// uses; the list comes from a copy kept in memory, rebuilt when the stored bans change.
import type { FastifyInstance } from 'fastify';
import { BanService } from '../../control/bans.ts';
import type { BanRecord } from '../../store/records.ts';
import type { WebContext } from '../context.ts';
import { naming } from '../input.ts';
import { ANY, PAGE_QUERY, pageOf } from './schemas.ts';

const BAN = {
  type: 'object',
  required: ['ip', 'reason', 'origin', 'createdAt', 'expiresAt', 'scope', 'enforced'],
  properties: {
    ip: { type: 'string', description: 'address or CIDR range' },
    port: { type: 'integer', description: "IP:port bans (the guard's, userspace) only" },
    reason: { type: 'string' },
    origin: { type: 'string', enum: ['manual', 'auto'] },
    evidence: { ...ANY, description: 'what tripped it: rule, count, threshold, window, a sample' },
    createdAt: { type: 'integer', description: 'ms since epoch' },
    expiresAt: { type: 'integer', description: 'ms since epoch; 0 = until lifted' },
    scope: { type: 'string', enum: ['ip', 'range', 'ip:port'] },
    enforced: { type: 'boolean', description: 'whether the kernel drops it now' },
    why: { type: 'string', description: 'why it is not enforced' },
  },
} as const;

/** Ten years, as the console. */
const MAX_TTL = 10 * 365 * 86_400;

type Listed = BanRecord & { scope: 'ip' | 'range' | 'ip:port'; port?: number };

/** The stored bans, newest first, copied once per change (BanService.changes). */
class BanList {
  readonly #bans: BanService;
  #changes = -1;
  #list: BanRecord[] = [];
  /** The earliest expiry in #list: past it, the copy is filtered again. */
  #nextExpiry = Number.POSITIVE_INFINITY;

  constructor(bans: BanService) {
    this.#bans = bans;
  }

  current(now: number): BanRecord[] {
    if (this.#changes !== this.#bans.changes) {
      this.#changes = this.#bans.changes;
      this.#list = this.#bans.list();
      this.#nextExpiry = nextExpiry(this.#list);
    } else if (now >= this.#nextExpiry) {
      this.#list = this.#list.filter((b) => b.expiresAt === 0 || b.expiresAt > now);
      this.#nextExpiry = nextExpiry(this.#list);
    }
    return this.#list;
  }
}

function nextExpiry(list: readonly BanRecord[]): number {
  let min = Number.POSITIVE_INFINITY;
  for (const b of list) if (b.expiresAt !== 0 && b.expiresAt < min) min = b.expiresAt;
  return min;
}

function matches(b: { ip: string; reason: string; evidence?: Record<string, unknown> }, q: string) {
  if (b.ip.includes(q) || b.reason.toLowerCase().includes(q)) return true;
  const rule = b.evidence?.rule;
  return typeof rule === 'string' && rule.toLowerCase().includes(q);
}

export async function banRoutes(api: FastifyInstance, ctx: WebContext): Promise<void> {
  const list = new BanList(ctx.bans);
  const shown = (b: BanRecord): Listed & ReturnType<BanService['enforcement']> => ({
    ...b,
    scope: b.ip.includes('/') ? 'range' : 'ip',
    ...ctx.bans.enforcement(b),
  });

  api.get<{
    Querystring: { offset: number; limit: number; q?: string; origin?: 'manual' | 'auto' };
  }>(
    '/bans',
    {
      schema: {
        tags: ['bans'],
        summary: 'bans in force, newest first; one page, optionally searched',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            ...PAGE_QUERY,
            q: {
              type: 'string',
              maxLength: 100,
              description: 'part of the address, reason or rule',
            },
            origin: { type: 'string', enum: ['manual', 'auto'] },
          },
        },
        response: {
          200: pageOf(BAN),
        },
      },
    },
    async (req) => {
      const { offset, limit, origin } = req.query;
      const q = req.query.q?.trim().toLowerCase() ?? '';
      const now = Date.now();
      const ports = (ctx.portBans?.list(now) ?? []).map(
        (p): Listed => ({ ...p, origin: 'auto', scope: 'ip:port' }) as Listed,
      );
      const stored = list.current(now);
      let total: number;
      let page: Listed[];
      if (q === '' && origin === undefined) {
        total = ports.length + stored.length;
        const head = ports.slice(offset, offset + limit);
        const from = Math.max(0, offset - ports.length);
        page = [...head, ...(stored.slice(from, from + limit - head.length) as Listed[])];
      } else {
        const keep = (b: Listed | BanRecord) =>
          (origin === undefined || b.origin === origin) && (q === '' || matches(b, q));
        const all = [...ports.filter(keep), ...stored.filter(keep)];
        total = all.length;
        page = all.slice(offset, offset + limit) as Listed[];
      }
      return {
        total,
        offset,
        limit,
        items: page.map((b) => (b.scope === 'ip:port' ? { ...b, enforced: true } : shown(b))),
      };
    },
  );

  api.post<{ Body: { ip: string; ttl?: number; reason?: string; force?: boolean } }>(
    '/bans',
    {
      schema: {
        tags: ['bans'],
        summary: 'ban an address or range in the kernel',
        body: {
          type: 'object',
          required: ['ip'],
          additionalProperties: false,
          properties: {
            ip: { type: 'string', minLength: 2, maxLength: 64, description: 'address or CIDR' },
            ttl: {
              type: 'integer',
              minimum: 0,
              maximum: MAX_TTL,
              default: 0,
              description: 'seconds; 0 = until lifted',
            },
            reason: {
              type: 'string',
              minLength: 1,
              maxLength: 200,
              default: 'manual ban from the API',
            },
            force: {
              type: 'boolean',
              default: false,
              description: 'ban even what covers this machine',
            },
          },
        },
        response: { 201: BAN },
      },
    },
    async (req, reply) => {
      const body = req.body;
      const record = await naming('body.ip', () =>
        ctx.bans.ban(body.ip, {
          ttlSeconds: body.ttl ?? 0,
          reason: body.reason ?? 'manual ban from the API',
          origin: 'manual',
          force: body.force ?? false,
        }),
      );
      reply.code(201);
      return shown(record);
    },
  );

  api.delete<{ Params: { target: string } }>(
    '/bans/:target',
    {
      schema: {
        tags: ['bans'],
        summary: 'lift the ban on an address, or on a range (10.0.0.0%2F24); "all" lifts every ban',
        params: {
          type: 'object',
          required: ['target'],
          properties: { target: { type: 'string', minLength: 1, maxLength: 64 } },
        },
        response: {
          200: {
            type: 'object',
            required: ['lifted'],
            properties: { lifted: { type: 'integer' } },
          },
        },
      },
    },
    async (req) => {
      const text = req.params.target;
      if (text.toLowerCase() === 'all') {
        const lifted = (ctx.portBans?.lift('all') ?? 0) + (await ctx.bans.unban('all'));
        return { lifted };
      }
      const target = await naming('params.target', () => BanService.target(text));
      // As the console: IP:port bans of the address go too.
      let lifted = target.range ? 0 : (ctx.portBans?.lift(target.text) ?? 0);
      try {
        lifted += await ctx.bans.unban(target.text);
      } catch (err) {
        if (lifted === 0 || (err as { code?: string }).code !== 'TG_BAN_NOT_FOUND') throw err;
      }
      return { lifted };
    },
  );
}
