// The console socket: a Unix socket in the data directory, mode 0600 (only root, the owner,
// may talk to it; the SSH console user reaches it through `tollgatectl shell` run as root).
// Protocol: one JSON object per line each way. Request {"argv": [...], "sshClient"?}; reply
// {"exit", "text", "data"?, "code"?}. A connection may carry many requests (the shell).
// sshClient is the address of the SSH session running tollgatectl: the daemon only uses it
// to refuse banning it, so a client that lies can only protect itself.
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { canonicalIp } from '../../ip.ts';
import { ControlErrors } from '../errors.ts';
import { type ConsoleContext, type ConsoleSession, runConsoleLine } from './commands.ts';
import { mayCarrySecret } from './grammar.ts';

/** A request line: argv, or argv with a tariff file as payload (tariffs import, ≤ 32 MiB). */
export const MAX_REQUEST_BYTES = 33 * 1024 * 1024;
export const MAX_CONNECTIONS = 32;

export interface ConsoleServer {
  readonly path: string;
  close(): Promise<void>;
}

export async function startConsoleServer(
  path: string,
  ctx: ConsoleContext,
): Promise<ConsoleServer> {
  await removeStaleSocket(path);
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    serve(socket, ctx);
  });
  server.maxConnections = MAX_CONNECTIONS;
  await listen(server, path);
  return {
    path,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.end();
      });
      if (existsSync(path)) unlinkSync(path);
    },
  };
}

function serve(socket: Socket, ctx: ConsoleContext): void {
  let buffered = '';
  let queue = Promise.resolve();
  socket.setEncoding('utf8');
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    if (buffered.length > MAX_REQUEST_BYTES) {
      socket.end(
        `${JSON.stringify({ exit: 2, text: 'request too large', code: 'TG_CONSOLE_USAGE' })}\n`,
      );
      socket.destroy();
      return;
    }
    let newline = buffered.indexOf('\n');
    while (newline >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      // Replies go out in request order even when a command is slow.
      queue = queue.then(async () => {
        const reply = await handle(line, ctx);
        if (!socket.destroyed) socket.write(`${JSON.stringify(reply)}\n`);
      });
      newline = buffered.indexOf('\n');
    }
  });
}

async function handle(line: string, ctx: ConsoleContext) {
  let request: { argv?: unknown; sshClient?: unknown; payload?: unknown } | undefined;
  try {
    request = JSON.parse(line) as typeof request;
  } catch {
    request = undefined;
  }
  const argv = request?.argv;
  if (!Array.isArray(argv) || !argv.every((a) => typeof a === 'string')) {
    return {
      exit: 2,
      text: 'malformed request: expected {"argv": [strings]}',
      code: 'TG_CONSOLE_USAGE',
    };
  }
  const session: ConsoleSession = {};
  const ssh = typeof request?.sshClient === 'string' ? canonicalIp(request.sshClient) : null;
  if (ssh !== null) session.sshClient = ssh;
  if (typeof request?.payload === 'string') session.payload = request.payload;
  const reply = await runConsoleLine(argv, ctx, session);
  audit(argv, session, reply.exit, ctx);
  return reply;
}

/**
 * Every console command goes to the journal (the daemon's log) with who ran it: the SSH
 * client's address when it came through the SSH console. A line that may carry a secret is
 * logged as its command word only. sshd's failed logins (ssh-auth-fail, one per attempt
 * during a guessing attack) are logged by the guard's own rate-limited lines instead.
 */
function audit(
  argv: readonly string[],
  session: ConsoleSession,
  exit: number,
  ctx: ConsoleContext,
) {
  const word = (argv[0] ?? '').slice(0, 40);
  if (word === 'ssh-auth-fail') return;
  const line = argv.join(' ');
  ctx.log.info(
    {
      command: mayCarrySecret(line)
        ? `${word} [arguments withheld: may carry a secret]`
        : line.slice(0, 200),
      exit,
      via: session.sshClient ? 'ssh' : 'local',
      ...(session.sshClient ? { sshClient: session.sshClient } : {}),
    },
    'console command',
  );
}

/**
 * Refuses to go on when another daemon answers on this console socket. Called first thing at
 * start, before anything touches the kernel: a second daemon must not replace the running
 * one's XDP program and nftables tables before finding out it is the second.
 */
export async function assertNotRunning(path: string): Promise<void> {
  if (!existsSync(path)) return;
  if (await answers(path)) throw new ControlErrors.TG_CONSOLE_ALREADY_RUNNING(path);
}

function answers(path: string): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

/** A socket file nobody answers on is left over from a crash; a live one means a second daemon. */
async function removeStaleSocket(path: string): Promise<void> {
  await assertNotRunning(path);
  if (existsSync(path)) unlinkSync(path);
}

async function listen(server: Server, path: string): Promise<void> {
  // Create the socket already private: no window where another user could connect.
  const previous = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } finally {
    process.umask(previous);
  }
  chmodSync(path, 0o600);
}
