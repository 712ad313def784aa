// /api/v1/tariffs: list, import a tariff file (CSV body), export as CSV, delete one, over the
// BillingService's TariffBook (what `tollgatectl tariffs …` uses). The import is the book's:
// every line is checked first, a bad file is refused whole with one message per bad line
// ("line 7: price …") and nothing is stored. A file is an upload: it needs
// allowhttpfileupload 1 (input.ts refuses it before it is read otherwise).
import type { FastifyInstance } from 'fastify';
import { MAX_TARIFF_FILE_BYTES } from '../../control/billing/tariff-csv.ts';
import type { WebContext } from '../context.ts';
import { WebErrors } from '../errors.ts';
import { badField } from '../input.ts';
import { PAGE_QUERY, pageOf } from './schemas.ts';

const TARIFF = {
  type: 'object',
  required: ['name', 'parent', 'rates', 'updatedAt'],
  properties: {
    name: { type: 'string' },
    parent: { type: ['string', 'null'], description: 'looked in when this has no rate' },
    rates: { type: 'integer', description: 'how many prefixes it rates' },
    updatedAt: { type: 'integer', description: 'ms since epoch' },
  },
} as const;

const NAME = { type: 'string', minLength: 1, maxLength: 64 } as const;

/** The book's refusals of a file: bad input, answered 400 naming the body. */
const FILE_REFUSED = new Set(['TG_BILLING_TARIFF_CSV', 'TG_BILLING_TARIFF_TOO_BIG']);

export async function tariffRoutes(api: FastifyInstance, ctx: WebContext): Promise<void> {
  const tariffs = () => {
    if (!ctx.billing) throw new WebErrors.TG_WEB_NOT_AVAILABLE('billing');
    return ctx.billing.tariffs;
  };

  // RFC 7111 text/csv, read as text like text/plain (fastify parses only JSON and text/plain).
  api.addContentTypeParser(
    'text/csv',
    { parseAs: 'string', bodyLimit: MAX_TARIFF_FILE_BYTES },
    (_req, body, done) => done(null, body),
  );

  api.get<{ Querystring: { offset: number; limit: number } }>(
    '/tariffs',
    {
      schema: {
        tags: ['tariffs'],
        summary: 'tariffs with their parent and how many rates each has',
        querystring: { type: 'object', additionalProperties: false, properties: PAGE_QUERY },
        response: {
          200: pageOf(TARIFF),
        },
      },
    },
    async (req) => {
      const { offset, limit } = req.query;
      const all = tariffs()
        .list()
        .sort((a, b) => a.name.localeCompare(b.name));
      return { total: all.length, offset, limit, items: all.slice(offset, offset + limit) };
    },
  );

  api.post<{ Body: string }>(
    '/tariffs/import',
    {
      bodyLimit: MAX_TARIFF_FILE_BYTES,
      schema: {
        tags: ['tariffs'],
        summary:
          'import a tariff file (text/csv: tariff,prefix,price,connect_fee,increments,parent,description); the tariffs in it are replaced whole, a bad line refuses the file; needs allowhttpfileupload 1',
        consumes: ['text/csv', 'text/plain'],
        body: { type: 'string' },
        response: {
          200: {
            type: 'object',
            required: ['tariffs', 'rates'],
            properties: { tariffs: { type: 'integer' }, rates: { type: 'integer' } },
          },
        },
      },
    },
    async (req) => {
      const book = tariffs();
      try {
        return book.importCsv(req.body);
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code !== undefined && FILE_REFUSED.has(code))
          throw badField('body', (err as Error).message);
        throw err;
      }
    },
  );

  api.get<{ Querystring: { tariff?: string } }>(
    '/tariffs.csv',
    {
      schema: {
        tags: ['tariffs'],
        summary: 'every tariff (or ?tariff=NAME) as the CSV file import reads back',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { tariff: NAME },
        },
      },
    },
    async (req, reply) => {
      const csv = tariffs().exportCsv(req.query.tariff);
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="tariffs.csv"')
        .send(csv);
    },
  );

  api.delete<{ Params: { name: string } }>(
    '/tariffs/:name',
    {
      schema: {
        tags: ['tariffs'],
        summary: 'delete a tariff',
        params: { type: 'object', required: ['name'], properties: { name: NAME } },
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
      tariffs().del(req.params.name);
      return { deleted: req.params.name };
    },
  );
}
