// Plugin point of the admin UI and the enduser portal (owned by the web UI work, #13): the
// server registers `uiPlugin` in its own scope after the API, with the services and the
// access control (server.ts WebPluginContext). Pages and static files go here; the API they
// call is /api/v1 (login: POST /api/v1/session, then X-CSRF-Token on state changes).
import type { FastifyInstance } from 'fastify';
import type { WebPluginContext } from '../server.ts';

export async function uiPlugin(_app: FastifyInstance, _ctx: WebPluginContext): Promise<void> {
  // No pages yet.
}
