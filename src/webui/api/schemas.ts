// JSON schemas shared by the API routes (the OpenAPI document is generated from them).
export const ERROR = {
  $id: 'Error',
  type: 'object',
  required: ['code', 'message'],
  properties: {
    code: { type: 'string', description: 'the coded error (TG_…)' },
    message: { type: 'string' },
    field: { type: 'string', description: 'the bad input, as body.name / querystring.name' },
  },
} as const;

/** The error answers every route may give (added to each route's schema in api/index.ts). */
export const ERROR_RESPONSES = {
  400: { $ref: 'Error#' },
  401: { $ref: 'Error#' },
  403: { $ref: 'Error#' },
  404: { $ref: 'Error#' },
  409: { $ref: 'Error#' },
  415: { $ref: 'Error#' },
  429: { $ref: 'Error#' },
} as const;

/** Any JSON value (evidence, config values): documented loosely, passed through whole. */
export const ANY = {} as const;

export const OK = {
  type: 'object',
  required: ['ok'],
  properties: { ok: { type: 'boolean' } },
} as const;

export const PAGE_QUERY = {
  offset: { type: 'integer', minimum: 0, maximum: 10_000_000, default: 0 },
  limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
} as const;

/** One page of a list: what every paged route answers, `items` one schema each. */
export const pageOf = (items: object) =>
  ({
    type: 'object',
    required: ['total', 'offset', 'limit', 'items'],
    properties: {
      total: { type: 'integer' },
      offset: { type: 'integer' },
      limit: { type: 'integer' },
      items: { type: 'array', items },
    },
  }) as const;
