// /api/v1/trunks and /api/v1/routes: list, add, delete, over the RoutingService the console's
// `tollgatectl trunks` / `routes` use. The JSON schemas check types and bounds; the service's
// own parsers (trunkInput, routeInput, routePrefix) decide the rest, so the API accepts exactly
// what the console accepts. A refused add stores nothing (the service checks, then writes in
// one transaction).
import type { FastifyInstance } from 'fastify';
import {
  type RoutingService,
  routeInput,
  routePrefix,
  trunkInput,
} from '../../control/routing/routing.ts';
import type { WebContext } from '../context.ts';
import { WebErrors } from '../errors.ts';
import { badField, naming } from '../input.ts';
import { PAGE_QUERY, pageOf } from './schemas.ts';

const TRUNK = {
  type: 'object',
  required: ['name', 'host', 'port', 'transport', 'inboundIps', 'techprefix', 'timeoutSeconds'],
  properties: {
    name: { type: 'string' },
    host: { type: 'string', description: 'an IP address (no DNS for routing)' },
    port: { type: 'integer' },
    transport: { type: 'string', enum: ['udp', 'tcp', 'tls'] },
    inboundIps: { type: 'array', items: { type: 'string' } },
    techprefix: { type: 'string' },
    timeoutSeconds: { type: 'integer' },
    createdAt: { type: 'integer', description: 'ms since epoch' },
  },
} as const;

const ROUTE = {
  type: 'object',
  required: ['prefix', 'trunk', 'priority', 'weight', 'strip', 'prepend'],
  properties: {
    prefix: { type: 'string', description: "dialled-number prefix; '' = every number" },
    trunk: { type: 'string' },
    priority: { type: 'integer', description: 'lower is tried first' },
    weight: { type: 'integer' },
    strip: { type: 'integer' },
    prepend: { type: 'string' },
    createdAt: { type: 'integer', description: 'ms since epoch' },
  },
} as const;

interface TrunkBody {
  name: string;
  host: string;
  port?: number;
  transport?: string;
  inboundIps?: string[];
  techprefix?: string;
  timeoutSeconds?: number;
}

interface RouteBody {
  prefix: string;
  trunk: string;
  priority?: number;
  weight?: number;
  strip?: number;
  prepend?: string;
}

/** The console option each body field is (the service's messages start with the option). */
const TRUNK_FIELDS: Record<string, string> = {
  NAME: 'name',
  '--host': 'host',
  '--port': 'port',
  '--transport': 'transport',
  '--inbound-ip': 'inboundIps',
  '--techprefix': 'techprefix',
  '--timeout': 'timeoutSeconds',
};
const ROUTE_FIELDS: Record<string, string> = {
  PREFIX: 'prefix',
  '--trunk': 'trunk',
  '--priority': 'priority',
  '--weight': 'weight',
  '--strip': 'strip',
  '--prepend': 'prepend',
};

/** The body field a service's bad-argument message is about ("trunks: --host must …"). */
function fieldOf(message: string, fields: Record<string, string>): string {
  const option = /^(?:trunks|routes): (NAME|PREFIX|--[a-z-]+)/.exec(message)?.[1];
  const field = option === undefined ? undefined : fields[option];
  return field === undefined ? 'body' : `body.${field}`;
}

/** Runs a service parser; a bad argument names the body field it is about. */
async function parsed<T>(fields: Record<string, string>, fn: () => T): Promise<T> {
  try {
    return fn();
  } catch (err) {
    const message = err instanceof Error ? err.message : '';
    return naming(fieldOf(message, fields), () => {
      throw err;
    });
  }
}

/** Options as the console passes them to the service's parsers. */
function options(entries: Array<[string, string | number | undefined]>): Map<string, string> {
  const map = new Map<string, string>();
  for (const [k, v] of entries) if (v !== undefined) map.set(k, String(v));
  return map;
}

export async function routingRoutes(api: FastifyInstance, ctx: WebContext): Promise<void> {
  const routing = (): RoutingService => {
    if (!ctx.routing) throw new WebErrors.TG_WEB_NOT_AVAILABLE('routing');
    return ctx.routing;
  };

  // ── trunks ──────────────────────────────────────────────────────────────────────────
  api.get<{ Querystring: { offset: number; limit: number } }>(
    '/trunks',
    {
      schema: {
        tags: ['routing'],
        summary: 'the SIP trunks calls are sent to and accepted from, by name',
        querystring: { type: 'object', additionalProperties: false, properties: PAGE_QUERY },
        response: { 200: pageOf(TRUNK) },
      },
    },
    async (req) => {
      const { offset, limit } = req.query;
      const all = routing().listTrunks();
      return { total: all.length, offset, limit, items: all.slice(offset, offset + limit) };
    },
  );

  api.post<{ Body: TrunkBody }>(
    '/trunks',
    {
      schema: {
        tags: ['routing'],
        summary: 'add a trunk (as `tollgatectl trunks add`)',
        body: {
          type: 'object',
          required: ['name', 'host'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 64 },
            host: { type: 'string', minLength: 2, maxLength: 64, description: 'an IP address' },
            port: {
              type: 'integer',
              minimum: 1,
              maximum: 65535,
              description: 'default 5060 (5061 for tls)',
            },
            transport: { type: 'string', enum: ['udp', 'tcp', 'tls'], default: 'udp' },
            inboundIps: {
              type: 'array',
              maxItems: 32,
              items: { type: 'string', minLength: 1, maxLength: 64 },
              description: 'addresses or CIDR ranges its inbound calls come from',
            },
            techprefix: { type: 'string', maxLength: 16 },
            timeoutSeconds: { type: 'integer', minimum: 1, maximum: 60, default: 5 },
          },
        },
        response: { 201: TRUNK },
      },
    },
    async (req, reply) => {
      const service = routing();
      const b = req.body;
      // Commas would split one entry into several in the console's option syntax.
      const commaAt = (b.inboundIps ?? []).findIndex((c) => c.includes(','));
      if (commaAt >= 0)
        throw badField(`body.inboundIps.${commaAt}`, 'is one address or range (no commas)');
      const input = await parsed(TRUNK_FIELDS, () =>
        trunkInput(
          b.name,
          options([
            ['--host', b.host],
            ['--port', b.port],
            ['--transport', b.transport],
            ['--inbound-ip', b.inboundIps?.join(',')],
            ['--techprefix', b.techprefix === '' ? undefined : b.techprefix],
            ['--timeout', b.timeoutSeconds],
          ]),
        ),
      );
      const record = await naming('body', () => service.addTrunk(input));
      reply.code(201);
      return record;
    },
  );

  api.delete<{ Params: { name: string } }>(
    '/trunks/:name',
    {
      schema: {
        tags: ['routing'],
        summary: 'delete a trunk no route uses (409 names the routes that do)',
        params: {
          type: 'object',
          required: ['name'],
          properties: { name: { type: 'string', minLength: 1, maxLength: 64 } },
        },
        response: {
          200: {
            type: 'object',
            required: ['deleted'],
            properties: { deleted: { type: 'string' } },
          },
        },
      },
    },
    async (req) => {
      routing().delTrunk(req.params.name);
      return { deleted: req.params.name };
    },
  );

  // ── routes ──────────────────────────────────────────────────────────────────────────
  api.get<{ Querystring: { offset: number; limit: number; prefix?: string } }>(
    '/routes',
    {
      schema: {
        tags: ['routing'],
        summary: 'outbound routes (a dial prefix → a trunk), by prefix then priority',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            ...PAGE_QUERY,
            prefix: { type: 'string', maxLength: 33, description: 'routes starting with this' },
          },
        },
        response: { 200: pageOf(ROUTE) },
      },
    },
    async (req) => {
      const { offset, limit } = req.query;
      const start = req.query.prefix ?? '';
      const all = routing()
        .listRoutes()
        .filter((r) => r.prefix.startsWith(start));
      return { total: all.length, offset, limit, items: all.slice(offset, offset + limit) };
    },
  );

  api.post<{ Body: RouteBody }>(
    '/routes',
    {
      schema: {
        tags: ['routing'],
        summary: 'add a route (as `tollgatectl routes add`); the trunk must exist',
        body: {
          type: 'object',
          required: ['prefix', 'trunk'],
          additionalProperties: false,
          properties: {
            prefix: {
              type: 'string',
              maxLength: 33,
              description: 'digits (leading + and * # allowed); "" or "any" = every number',
            },
            trunk: { type: 'string', minLength: 1, maxLength: 64 },
            priority: { type: 'integer', minimum: 0, maximum: 1000, default: 1 },
            weight: { type: 'integer', minimum: 0, maximum: 1000, default: 1 },
            strip: { type: 'integer', minimum: 0, maximum: 32, default: 0 },
            prepend: { type: 'string', maxLength: 17, default: '' },
          },
        },
        response: { 201: ROUTE },
      },
    },
    async (req, reply) => {
      const service = routing();
      const b = req.body;
      const input = await parsed(ROUTE_FIELDS, () =>
        routeInput(
          b.prefix,
          options([
            ['--trunk', b.trunk],
            ['--priority', b.priority],
            ['--weight', b.weight],
            ['--strip', b.strip],
            ['--prepend', b.prepend],
          ]),
        ),
      );
      const record = await naming('body', () => service.addRoute(input));
      reply.code(201);
      return record;
    },
  );

  api.delete<{ Params: { prefix: string }; Querystring: { trunk?: string } }>(
    '/routes/:prefix',
    {
      schema: {
        tags: ['routing'],
        summary:
          'delete the routes of a prefix ("any" for every number; %2B for a leading +), only the one to ?trunk= when given',
        params: {
          type: 'object',
          required: ['prefix'],
          properties: { prefix: { type: 'string', minLength: 1, maxLength: 33 } },
        },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { trunk: { type: 'string', minLength: 1, maxLength: 64 } },
        },
        response: {
          200: {
            type: 'object',
            required: ['removed'],
            properties: { removed: { type: 'integer' } },
          },
        },
      },
    },
    async (req) => {
      const service = routing();
      const prefix = await naming('params.prefix', () => routePrefix(req.params.prefix));
      return { removed: service.delRoute(prefix, req.query.trunk) };
    },
  );
}
