// The pages: the admin UI at / and the enduser portal at /portal, their scripts and style
// under /ui/, all from dist/ui (built by build.ts; scripts/bootstrap.sh runs it). Nothing is
// fetched from elsewhere, and every script is a file (helmet's CSP, script-src 'self', holds:
// no inline script anywhere). The files change only with a new build, so the browser keeps
// them but asks again each time (ETag): an upgrade is seen at the next load.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
// The OpenAPI schema fields (hide, tags) that @fastify/swagger adds to route schemas.
import type {} from '@fastify/swagger';
import type { FastifyInstance, FastifyReply } from 'fastify';

/** Built assets: dist/ui next to dist/webui (PACKAGE_ROOT/dist/ui in a checkout). */
export const UI_DIST = join(import.meta.dirname, '..', '..', '..', 'dist', 'ui');

const SHELLS = { admin: 'admin.html', portal: 'portal.html' } as const;

export async function pageRoutes(app: FastifyInstance, dir = UI_DIST): Promise<void> {
  const built = Object.values(SHELLS).every((f) => existsSync(join(dir, f)));
  if (!built) {
    // A checkout where nobody ran the build: say so instead of a bare 404.
    const notBuilt = async (_req: unknown, reply: FastifyReply) =>
      reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send(`the web UI is not built (no ${dir}): run "npm run build" or scripts/bootstrap.sh`);
    app.get('/', notBuilt);
    app.get('/portal', notBuilt);
    return;
  }
  // Read once: the shells are small and never change while the daemon runs.
  const shell = Object.fromEntries(
    Object.entries(SHELLS).map(([k, f]) => [k, readFileSync(join(dir, f))]),
  ) as Record<keyof typeof SHELLS, Buffer>;
  const page = (which: keyof typeof SHELLS) => async (_req: unknown, reply: FastifyReply) =>
    reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(shell[which]);
  app.get('/', { schema: { hide: true } }, page('admin'));
  app.get('/portal', { schema: { hide: true } }, page('portal'));
  app.get('/portal/', { schema: { hide: true } }, page('portal'));
  await app.register(fastifyStatic, {
    root: dir,
    prefix: '/ui/',
    index: false,
    list: false,
    dotfiles: 'deny',
    // Validate with the ETag on every use instead of trusting a max-age.
    cacheControl: false,
    setHeaders: (reply) => reply.header('cache-control', 'no-cache'),
    schemaHide: true,
  });
}
