// The page routes (src/webui/ui/pages.ts) on a fastify app: the admin UI at /, the portal at
// /portal, assets under /ui/, and a clear 503 when nobody built the UI.
import test from 'ava';
import Fastify from 'fastify';
import { buildUi } from '../../src/webui/ui/build.ts';
import { pageRoutes } from '../../src/webui/ui/pages.ts';
import { tempDir } from '../helpers/tmp.ts';

test('/ and /portal are the two shells; /ui/ serves their files, revalidated on each use', async (t) => {
  const dir = tempDir(t);
  await buildUi(dir);
  const app = Fastify();
  await pageRoutes(app, dir);
  t.teardown(() => app.close());
  const admin = await app.inject('/');
  t.is(admin.statusCode, 200);
  t.regex(String(admin.headers['content-type']), /^text\/html/);
  t.regex(admin.body, /src="\/ui\/admin\.js"/);
  t.is(admin.headers['cache-control'], 'no-cache');
  const portal = await app.inject('/portal');
  t.regex(portal.body, /src="\/ui\/portal\.js"/);
  const script = await app.inject('/ui/admin.js');
  t.is(script.statusCode, 200);
  t.regex(String(script.headers['content-type']), /javascript/);
  t.is(script.headers['cache-control'], 'no-cache');
  t.truthy(script.headers.etag);
  const listing = await app.inject('/ui/');
  t.true(listing.statusCode >= 400, 'no directory listing');
  t.notRegex(listing.body, /admin\.js/);
  const outside = await app.inject('/ui/../package.json');
  t.true(outside.statusCode >= 400, 'nothing outside the UI');
  t.notRegex(outside.body, /tollgate/);
});

test('an unbuilt UI answers 503 saying how to build it', async (t) => {
  const app = Fastify();
  await pageRoutes(app, tempDir(t));
  t.teardown(() => app.close());
  const r = await app.inject('/');
  t.is(r.statusCode, 503);
  t.regex(r.body, /npm run build/);
});
