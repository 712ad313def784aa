// /api/v1/calls: the proxy's live calls and hanging one (or all) up, as the console's `calls`
// and `hangup` do (the proxy sends BYE both ways for an answered call, CANCEL/487 in setup).
import type { FastifyInstance } from 'fastify';
import type { WebContext } from '../context.ts';
import { WebErrors } from '../errors.ts';

const CALL = {
  type: 'object',
  required: ['id', 'state', 'caller', 'callee', 'ageSeconds'],
  additionalProperties: true,
  properties: {
    id: { type: 'string', description: 'the Call-ID' },
    state: { type: 'string', enum: ['early', 'confirmed', 'terminated'] },
    caller: { type: 'string' },
    callee: { type: 'string' },
    account: { type: 'string' },
    route: { type: 'string' },
    callerAddress: { type: 'string' },
    calleeAddress: { type: 'string' },
    ageSeconds: { type: 'integer' },
    answeredSeconds: { type: 'integer' },
    sessionExpires: { type: 'integer' },
    mediaPorts: { type: 'array', items: { type: 'integer' } },
    packetsDropped: { type: 'integer' },
  },
} as const;

export async function callRoutes(api: FastifyInstance, ctx: WebContext): Promise<void> {
  const calls = () => {
    if (!ctx.calls) throw new WebErrors.TG_WEB_NOT_AVAILABLE('the call table');
    return ctx.calls;
  };

  api.get(
    '/calls',
    {
      schema: {
        tags: ['calls'],
        summary: 'live calls, oldest first',
        response: {
          200: {
            type: 'object',
            required: ['total', 'items'],
            properties: { total: { type: 'integer' }, items: { type: 'array', items: CALL } },
          },
        },
      },
    },
    async () => {
      const items = calls().list();
      return { total: items.length, items };
    },
  );

  api.delete<{ Params: { id: string } }>(
    '/calls/:id',
    {
      schema: {
        tags: ['calls'],
        summary: 'hang up one call (its Call-ID) or every call ("all")',
        params: {
          type: 'object',
          required: ['id'],
          properties: { id: { type: 'string', minLength: 1, maxLength: 256 } },
        },
        response: {
          200: {
            type: 'object',
            required: ['hungUp'],
            properties: { hungUp: { type: 'integer', description: 'how many calls were ended' } },
          },
        },
      },
    },
    async (req) => {
      const id = req.params.id;
      const hungUp = calls().hangup(id === 'all' ? { all: true } : id);
      if (hungUp === 0 && id !== 'all')
        throw new WebErrors.TG_WEB_NOT_FOUND(`call ${id.slice(0, 80)}`);
      return { hungUp };
    },
  );
}
