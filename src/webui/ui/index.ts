// Plugin point of the admin UI and the enduser portal: the server registers `uiPlugin` in its
// own scope after the API, with the services and the access control (server.ts
// WebPluginContext). Pages and static files (pages.ts) and the dashboard's live stream
// (live.ts, GET /api/v1/events, admin only) go here; the API they call is /api/v1.
import type { FastifyInstance } from 'fastify';
import type { WebPluginContext } from '../server.ts';
import { LiveFeed, liveRoute } from './live.ts';
import { pageRoutes } from './pages.ts';

export async function uiPlugin(app: FastifyInstance, ctx: WebPluginContext): Promise<void> {
  const { context, access } = ctx;
  await pageRoutes(app);
  const feed = new LiveFeed({
    stats: () => context.stats() as ReturnType<ConstructorParameters<typeof LiveFeed>[0]['stats']>,
    registrations: () => context.store.tables.registrations.getCount(),
    bans: () => context.store.tables.bans.getCount(),
  });
  liveRoute(app, feed, (req) => access.authenticate(req));
}
