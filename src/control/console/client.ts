// tollgatectl's side of the console socket (see server.ts for the protocol).
import { connect, type Socket } from 'node:net';
import { ControlErrors } from '../errors.ts';
import type { Reply } from './commands.ts';

export class ConsoleClient {
  readonly #socket: Socket;
  readonly #pending: Array<{ resolve: (r: Reply) => void; reject: (e: Error) => void }> = [];
  #buffered = '';

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.#buffered += chunk;
      let newline = this.#buffered.indexOf('\n');
      while (newline >= 0) {
        const line = this.#buffered.slice(0, newline);
        this.#buffered = this.#buffered.slice(newline + 1);
        this.#pending.shift()?.resolve(JSON.parse(line) as Reply);
        newline = this.#buffered.indexOf('\n');
      }
    });
    const fail = () => {
      for (const p of this.#pending.splice(0)) p.reject(new Error('the daemon closed the console'));
    };
    socket.on('close', fail);
    socket.on('error', fail);
  }

  static connect(path: string): Promise<ConsoleClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(path);
      socket.once('connect', () => resolve(new ConsoleClient(socket)));
      socket.once('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
          reject(new ControlErrors.TG_CONSOLE_NOT_RUNNING(path));
        } else reject(err);
      });
    });
  }

  /** Sends one command; `payload` carries a file the command needs (tariffs import). */
  send(argv: readonly string[], payload?: string): Promise<Reply> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ resolve, reject });
      const ssh = sshClientAddress();
      this.#socket.write(
        `${JSON.stringify({ argv, ...(ssh ? { sshClient: ssh } : {}), ...(payload !== undefined ? { payload } : {}) })}\n`,
      );
    });
  }

  close(): void {
    this.#socket.end();
  }
}

/**
 * The address of the SSH session this console runs in: sshd sets SSH_CLIENT ("IP PORT
 * PORT") and SSH_CONNECTION ("IP PORT SERVER-IP PORT"); sudo keeps them by default.
 */
export function sshClientAddress(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const first = (env.SSH_CLIENT || env.SSH_CONNECTION || '').trim().split(/\s+/)[0];
  return first ? first.slice(0, 64) : undefined;
}
