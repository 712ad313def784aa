// `tollgate serve [--data DIR] [--socket PATH] [--config FILE]`: runs the appliance daemon.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon } from '../daemon.ts';
import { PACKAGE_ROOT, resolveConfigFile, resolveDataDir, resolveSocketPath } from '../paths.ts';
import { splitGlobalOptions } from './args.ts';

const USAGE = `usage: tollgate serve [--data DIR] [--socket PATH] [--config FILE]
  --data DIR      state directory (default: $TOLLGATE_DATA, ./var in a checkout, /var/lib/tollgate)
  --socket PATH   console socket (default: DIR/tollgate.sock)
  --config FILE   bootstrap config, "key = value" lines (default: $TOLLGATE_CONFIG or DIR/tollgate.conf)`;

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof splitGlobalOptions>;
  try {
    parsed = splitGlobalOptions(argv);
  } catch (err) {
    process.stderr.write(`tollgate: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { options, rest } = parsed;
  if (options.help || rest.length === 0) {
    process.stdout.write(`${USAGE}\n`);
    return options.help ? 0 : 2;
  }
  if (rest[0] !== 'serve' || rest.length > 1) {
    process.stderr.write(
      `tollgate: unknown argument "${rest[0] === 'serve' ? rest[1] : rest[0]}"\n${USAGE}\n`,
    );
    return 2;
  }
  const dataDir = resolveDataDir(options.data);
  const socketPath = resolveSocketPath(dataDir, options.socket);
  const configFile = resolveConfigFile(dataDir, options.config);

  let daemon: Awaited<ReturnType<typeof startDaemon>>;
  try {
    const configRequired = Boolean(options.config || process.env.TOLLGATE_CONFIG);
    daemon = await startDaemon({ dataDir, socketPath, configFile, configRequired });
  } catch (err) {
    process.stderr.write(`tollgate: cannot start: ${(err as Error).message}\n`);
    return 1;
  }
  // The handlers go in before the banner: whoever waits for the banner may signal at once,
  // and a SIGTERM that came before them would kill the process without a clean stop.
  const stopped = new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      process.stderr.write(`tollgate: ${signal}, shutting down\n`);
      daemon.close().then(
        () => resolve(0),
        (err: Error) => {
          process.stderr.write(`tollgate: shutdown failed: ${err.message}\n`);
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
  process.stderr.write(banner(dataDir, configFile, socketPath, options.socket !== undefined));
  return stopped;
}

process.exitCode = await main(process.argv.slice(2));

/**
 * What an operator needs after the first start: the files that exist (and only those), how
 * to create the config file when there is none, and how to reach the console.
 */
function banner(
  dataDir: string,
  configFile: string,
  socketPath: string,
  customSocket: boolean,
): string {
  const ctl = `${join(PACKAGE_ROOT, 'bin', 'tollgatectl')} ${customSocket ? `--socket ${socketPath}` : `--data ${dataDir}`}`;
  const files = [
    ['store', join(dataDir, 'store.mdb')],
    ['key', join(dataDir, 'store.key')],
    ['TLS', join(dataDir, 'tls', 'cert.pem')],
  ].filter(([, path]) => existsSync(path!));
  const config = existsSync(configFile)
    ? [`  config:  ${configFile}`]
    : [
        '  config:  none yet, the built-in defaults are in force; to keep settings in a file, create',
        `           ${configFile} with "key = value" lines (keys: ${ctl} config list),`,
        `           or change them live with: ${ctl} config set KEY VALUE`,
      ];
  return [
    'tollgate is running',
    `  data:    ${dataDir}`,
    ...files.map(([what, path]) => `  ${`${what}:`.padEnd(8)} ${path}`),
    ...config,
    `  console: ${ctl} status`,
    `  shell:   ${ctl} shell`,
    '',
  ].join('\n');
}
