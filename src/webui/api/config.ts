// /api/v1/config: every key with its value, default, source, live/restart and enforced
// status (the UI's config editor), one key, set and unset — through the console's own
// config commands (control/console/config-commands.ts), so the validation, the refusal of
// keys this version does not enforce, and the answers are the console's.
import type { FastifyInstance } from 'fastify';
import { parseConfigFile } from '../../config/file.ts';
import { CONFIG_KEYS } from '../../config/schema.ts';
import { findKey } from '../../config/validate.ts';
import { parseValue } from '../../config/values.ts';
import { runConfigCommand } from '../../control/console/config-commands.ts';
import type { WebContext } from '../context.ts';
import { naming, UPLOAD_LIMIT } from '../input.ts';
import { ANY } from './schemas.ts';
import { asText } from './users.ts';

const STATUS = {
  type: 'object',
  required: ['state'],
  properties: {
    state: { type: 'string', enum: ['enforced', 'not-enforced', 'fixed'] },
    module: { type: 'string' },
    test: { type: 'string' },
    issue: { type: 'integer' },
    /** fixed: the feature tollgate does not have (only the safe value is accepted). */
    reason: { type: 'string' },
  },
} as const;
const SOURCE = {
  type: 'object',
  required: ['kind'],
  properties: {
    kind: { type: 'string', enum: ['default', 'file', 'console'] },
    path: { type: 'string' },
    line: { type: 'integer' },
    setAt: { type: 'integer' },
  },
} as const;
const DESCRIPTION = {
  type: 'object',
  required: ['key', 'value', 'source', 'applies', 'status'],
  properties: {
    key: { type: 'string' },
    value: ANY,
    default: ANY,
    source: SOURCE,
    applies: { type: 'string', enum: ['live', 'restart'] },
    pending: ANY,
    hiddenFileValue: ANY,
    status: STATUS,
    help: { type: 'string' },
    section: { type: 'string' },
    type: { type: 'string' },
    values: { type: 'object', additionalProperties: { type: 'string' } },
    min: { type: 'number' },
    max: { type: 'number' },
    unit: { type: 'string' },
    secret: { type: 'boolean' },
  },
} as const;
const KEY_PARAM = {
  type: 'object',
  required: ['key'],
  properties: {
    key: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$' },
  },
} as const;
const CHANGE = {
  type: 'object',
  required: ['key', 'value', 'previous', 'applies'],
  properties: {
    key: { type: 'string' },
    value: ANY,
    previous: ANY,
    applies: { type: 'string', enum: ['live', 'restart'] },
  },
} as const;

export async function configRoutes(api: FastifyInstance, ctx: WebContext): Promise<void> {
  const describe = (key: string) => {
    const d = ctx.settings.describe(key);
    const spec = ctx.settings.spec(key);
    return {
      ...d,
      help: spec.help,
      section: spec.section,
      type: spec.type,
      ...(spec.values ? { values: spec.values } : {}),
      ...(spec.min !== undefined ? { min: spec.min } : {}),
      ...(spec.max !== undefined ? { max: spec.max } : {}),
      ...(spec.unit ? { unit: spec.unit } : {}),
      ...(spec.secret ? { secret: true } : {}),
    };
  };

  api.get(
    '/config',
    {
      schema: {
        tags: ['config'],
        summary: 'every global key: value, default, source, live or restart, enforced status, help',
        response: { 200: { type: 'array', items: DESCRIPTION } },
      },
    },
    async () => CONFIG_KEYS.map((spec) => describe(spec.name)),
  );

  api.get<{ Params: { key: string } }>(
    '/config/:key',
    {
      schema: {
        tags: ['config'],
        summary: 'one key',
        params: KEY_PARAM,
        response: { 200: DESCRIPTION },
      },
    },
    async (req) => naming('params.key', () => describe(req.params.key)),
  );

  api.put<{ Params: { key: string }; Body: { value: unknown; acceptUnenforced?: boolean } }>(
    '/config/:key',
    {
      schema: {
        tags: ['config'],
        summary:
          'set a key (validated as the console does; a key not enforced needs acceptUnenforced)',
        params: KEY_PARAM,
        body: {
          type: 'object',
          required: ['value'],
          additionalProperties: false,
          properties: {
            value: {
              anyOf: [
                { type: 'string', maxLength: 4096 },
                { type: 'number' },
                { type: 'boolean' },
                { type: 'array', maxItems: 1024, items: { type: 'string', maxLength: 256 } },
              ],
            },
            acceptUnenforced: { type: 'boolean', default: false },
          },
        },
        response: { 200: CHANGE },
      },
    },
    async (req) => {
      await naming('params.key', () => findKey(req.params.key));
      const reply = await naming('body.value', () =>
        runConfigCommand(
          {
            name: 'config-set',
            key: req.params.key,
            value: asText(req.body.value),
            acceptUnenforced: req.body.acceptUnenforced ?? false,
          },
          ctx.settings,
        ),
      );
      return reply.data as Record<string, unknown>;
    },
  );

  api.delete<{ Params: { key: string } }>(
    '/config/:key',
    {
      schema: {
        tags: ['config'],
        summary: "drop the value set from the console/API: the file's value or the default again",
        params: KEY_PARAM,
        response: { 200: { ...CHANGE, properties: { ...CHANGE.properties, source: SOURCE } } },
      },
    },
    async (req) => {
      const reply = runConfigCommand({ name: 'config-unset', key: req.params.key }, ctx.settings);
      const data = reply.data as { live: boolean };
      return { ...data, applies: data.live ? 'live' : 'restart' };
    },
  );

  // A config file uploaded whole (allowhttpfileupload 1 only: input.ts refuses the upload
  // before it is read otherwise). Every line is checked before any is applied.
  api.post<{ Body: string; Querystring: { acceptUnenforced: boolean } }>(
    '/config/import',
    {
      bodyLimit: UPLOAD_LIMIT,
      schema: {
        tags: ['config'],
        summary:
          'upload a config file (text/plain, key = value lines) and apply every key in it; needs allowhttpfileupload 1',
        consumes: ['text/plain'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { acceptUnenforced: { type: 'boolean', default: false } },
        },
        body: { type: 'string', maxLength: UPLOAD_LIMIT },
        response: {
          200: {
            type: 'object',
            required: ['applied'],
            properties: { applied: { type: 'array', items: CHANGE } },
          },
        },
      },
    },
    async (req) => {
      const values = await naming('body', () => parseConfigFile(req.body, 'uploaded file'));
      for (const [key, text] of Object.entries(values))
        await naming(`body.${key}`, () => parseValue(findKey(key), text));
      const applied = Object.entries(values).map(([key, value]) => {
        const r = ctx.settings.set(key, value, { acceptUnenforced: req.query.acceptUnenforced });
        return { ...r, applies: r.live ? 'live' : 'restart' };
      });
      return { applied };
    },
  );
}
