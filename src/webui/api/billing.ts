// /api/v1 accounts with their money (balance, spend, limits in force, the last refusal), top-up,
// and call records (query, CSV export; a SIP account's own from the portal): the console's
// billing views over the same BillingService. Money leaves as integer micro-units (and the
// service's exact decimal text); a top-up arrives as decimal text, never a float.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { cdrCsvLines } from '../../control/billing/cdr-csv.ts';
import type { CdrRecord } from '../../store/records.ts';
import type { WebContext } from '../context.ts';
import { WebErrors } from '../errors.ts';
import { naming } from '../input.ts';
import { ANY, PAGE_QUERY, pageOf } from './schemas.ts';

/** Rows one CSV export may hold (the service's own query bound). */
export const CSV_MAX_ROWS = 100_000;

const ACCOUNT = {
  type: 'object',
  required: ['name'],
  additionalProperties: true,
  properties: {
    name: { type: 'string' },
    id: { type: 'integer' },
    fields: { type: 'object', additionalProperties: ANY, description: 'per-user fields as set' },
    type: { type: 'string' },
    postpaid: { type: 'boolean' },
    tariff: { type: 'string' },
    credit: { type: 'string', description: 'balance, exact decimal' },
    creditMicros: { type: 'integer' },
    spentTodayMicros: { type: 'integer' },
    spentMonthMicros: { type: 'integer' },
    linesInUse: { type: 'integer' },
    limits: { type: 'object', additionalProperties: ANY, description: 'the limits in force' },
    lastRefusal: {
      anyOf: [
        { type: 'null' },
        {
          type: 'object',
          properties: {
            rule: { type: 'string' },
            reason: { type: 'string' },
            at: { type: 'string' },
            dialled: { type: 'string' },
          },
        },
      ],
    },
  },
} as const;

const CDR = {
  type: 'object',
  required: ['callId', 'account', 'dialled', 'startedAt', 'durationSeconds', 'costMicros'],
  additionalProperties: true,
  properties: {
    callId: { type: 'string' },
    account: { type: 'string' },
    callerId: { type: 'string' },
    dialled: { type: 'string' },
    destination: { type: 'string' },
    trunk: { type: 'string' },
    sourceIp: { type: 'string' },
    startedAt: { type: 'integer' },
    answeredAt: { type: 'integer' },
    endedAt: { type: 'integer' },
    durationSeconds: { type: 'integer' },
    billedSeconds: { type: 'integer' },
    status: { type: 'integer' },
    disconnectSide: { type: 'string' },
    reason: { type: 'string' },
    refused: { type: 'boolean' },
    costMicros: { type: 'integer' },
  },
} as const;

const CDR_QUERY = {
  account: { type: 'string', maxLength: 64, description: 'one account' },
  dialled: { type: 'string', maxLength: 64, description: 'part of the dialled number' },
  since: { type: 'integer', minimum: 0, description: 'ended at or after (ms since epoch)' },
  until: { type: 'integer', minimum: 0, description: 'ended at or before (ms since epoch)' },
} as const;

interface CdrQuery {
  account?: string;
  dialled?: string;
  since?: number;
  until?: number;
}

const NAME_PARAM = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', minLength: 1, maxLength: 64 } },
} as const;

export async function billingRoutes(api: FastifyInstance, ctx: WebContext): Promise<void> {
  const billing = () => {
    if (!ctx.billing) throw new WebErrors.TG_WEB_NOT_AVAILABLE('billing');
    return ctx.billing;
  };
  /** The account's user record, with its billing summary when billing runs. */
  const accountOf = (name: string) => {
    const user = ctx.users.get(name);
    if (!ctx.billing) return user;
    return { ...user, ...ctx.billing.account(name) };
  };
  /** Matching CDRs, newest first. */
  const cdrs = (q: CdrQuery, user?: string): CdrRecord[] => {
    const account = user ?? (q.account?.trim() || undefined);
    const dialled = q.dialled?.trim() ?? '';
    const found = billing().cdrs({
      ...(account !== undefined ? { user: account } : {}),
      ...(q.since !== undefined ? { since: q.since } : {}),
      ...(q.until !== undefined ? { until: q.until } : {}),
    });
    return (dialled === '' ? found : found.filter((c) => c.dialled.includes(dialled))).reverse();
  };

  api.get<{ Querystring: { offset: number; limit: number; q?: string } }>(
    '/accounts',
    {
      schema: {
        tags: ['accounts'],
        summary: 'accounts with balance, spend today and this month, limits in force, last refusal',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { ...PAGE_QUERY, q: { type: 'string', maxLength: 64 } },
        },
        response: { 200: pageOf(ACCOUNT) },
      },
    },
    async (req) => {
      const { offset, limit } = req.query;
      const q = req.query.q?.toLowerCase() ?? '';
      const all = ctx.users.list().filter((u) => q === '' || u.name.toLowerCase().includes(q));
      const items = all.slice(offset, offset + limit).map((u) => accountOf(u.name));
      return { total: all.length, offset, limit, items };
    },
  );

  api.post<{ Params: { name: string }; Body: { amount: string } }>(
    '/accounts/:name/topup',
    {
      schema: {
        tags: ['accounts'],
        summary: "add credit to an account's balance (decimal text; negative takes it away)",
        params: NAME_PARAM,
        body: {
          type: 'object',
          required: ['amount'],
          additionalProperties: false,
          properties: {
            amount: {
              type: 'string',
              pattern: '^-?[0-9]{1,9}(\\.[0-9]{1,6})?$',
              description: 'currency units, at most 6 decimals, e.g. "12.50"',
            },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['user', 'credit', 'creditMicros'],
            properties: {
              user: { type: 'string' },
              credit: { type: 'string' },
              creditMicros: { type: 'integer' },
            },
          },
        },
      },
    },
    async (req) => {
      const b = billing();
      const name = req.params.name;
      if (!ctx.users.exists(name))
        throw new WebErrors.TG_WEB_NOT_FOUND(`account ${name.slice(0, 64)}`);
      return naming('body.amount', () => b.topUp(name, req.body.amount));
    },
  );

  api.get<{ Querystring: CdrQuery & { offset: number; limit: number } }>(
    '/cdrs',
    {
      schema: {
        tags: ['cdrs'],
        summary: 'call records, newest first, one page, by account, dialled number and period',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { ...PAGE_QUERY, ...CDR_QUERY },
        },
        response: { 200: pageOf(CDR) },
      },
    },
    async (req) => {
      const { offset, limit } = req.query;
      const all = cdrs(req.query);
      return { total: all.length, offset, limit, items: all.slice(offset, offset + limit) };
    },
  );

  api.get<{ Querystring: CdrQuery }>(
    '/cdrs.csv',
    {
      schema: {
        tags: ['cdrs'],
        summary: `the same call records as CSV (RFC 4180), at most ${CSV_MAX_ROWS} rows`,
        querystring: { type: 'object', additionalProperties: false, properties: CDR_QUERY },
      },
    },
    async (req, reply) => sendCsv(reply, cdrs(req.query).slice(0, CSV_MAX_ROWS)),
  );

  // ── the account's own (enduser portal) ──────────────────────────────────────────────
  api.get(
    '/portal/account',
    {
      config: { access: 'user' },
      schema: {
        tags: ['me'],
        summary: "the logged-in account's balance, spend and limits in force",
        response: { 200: ACCOUNT },
      },
    },
    async (req) => accountOf(own(req.principal)),
  );

  api.get<{ Querystring: { offset: number; limit: number } }>(
    '/portal/cdrs',
    {
      config: { access: 'user' },
      schema: {
        tags: ['me'],
        summary: "the logged-in account's call records, newest first",
        querystring: { type: 'object', additionalProperties: false, properties: PAGE_QUERY },
        response: { 200: pageOf(CDR) },
      },
    },
    async (req) => {
      const { offset, limit } = req.query;
      const all = cdrs({}, own(req.principal));
      return { total: all.length, offset, limit, items: all.slice(offset, offset + limit) };
    },
  );
}

function own(principal: { kind: string; name: string } | undefined): string {
  if (principal?.kind !== 'user')
    throw new WebErrors.TG_WEB_FORBIDDEN('a SIP account login is needed');
  return principal.name;
}

function sendCsv(reply: FastifyReply, rows: readonly CdrRecord[]) {
  const lines = cdrCsvLines(rows);
  return reply
    .type('text/csv; charset=utf-8')
    .header('content-disposition', 'attachment; filename="cdrs.csv"')
    .send(`${lines.join('\r\n')}\r\n`);
}
