// Coded errors, fastify-style: each area (control, sip, dataplane, webui) declares one
// catalogue with `defineErrors`, and every error the product raises comes from one of them.
// A code is registered once for the whole process, so two areas cannot reuse a code by
// accident (tests/errors.test.ts loads every catalogue and checks the codes).
//
//   const E = defineErrors('config', {
//     TG_CONFIG_UNKNOWN_KEY: 'unknown config key "%s"; did you mean %s?',
//   });
//   throw new E.TG_CONFIG_UNKNOWN_KEY('maxcalperip', 'maxcallperip');

const registry = new Map<string, string>();

export class TollgateError extends Error {
  readonly code: string;
  readonly area: string;
  readonly details: Record<string, unknown>;
  constructor(code: string, area: string, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'TollgateError';
    this.code = code;
    this.area = area;
    this.details = details;
  }
}

export type ErrorFactory = {
  new (...args: unknown[]): TollgateError;
  readonly code: string;
};

function format(template: string, args: unknown[]): string {
  let i = 0;
  return template.replace(/%s/g, () => String(args[i++]));
}

/** Declares an area's catalogue. Throws at load time if a code is already taken. */
export function defineErrors<K extends string>(
  area: string,
  templates: Record<K, string>,
): Record<K, ErrorFactory> {
  const out = {} as Record<K, ErrorFactory>;
  for (const code of Object.keys(templates) as K[]) {
    if (!/^TG_[A-Z0-9]+(_[A-Z0-9]+)+$/.test(code)) throw new Error(`bad error code ${code}`);
    const owner = registry.get(code);
    if (owner !== undefined) throw new Error(`error code ${code} defined by ${owner} and ${area}`);
    registry.set(code, area);
    const template = templates[code];
    const factory = class extends TollgateError {
      static readonly code = code;
      constructor(...args: unknown[]) {
        super(code, area, format(template, args));
      }
    };
    out[code] = factory as unknown as ErrorFactory;
  }
  return out;
}

/** Every code registered so far, with its area (for tests and `tollgatectl errors`). */
export function registeredErrorCodes(): ReadonlyMap<string, string> {
  return registry;
}
