// Runs nft with a JSON document (`nft -j -f FILE`). One call = one netlink batch, which
// the kernel applies atomically: either every command in it takes effect or none does
// (nft(8), "the ruleset is updated atomically"). Nothing is ever put on nft's command line
// except fixed words, so no caller-supplied text can be read as nft syntax.
//
// The binary is addressed by absolute path on purpose: node_modules/.bin holds an unrelated
// `nft` (@vercel/nft) that would shadow nftables through PATH.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NftErrors } from './nft-errors.ts';

export const NFT_BINARY = '/usr/sbin/nft';

/** nft's JSON schema: a document is a list of commands or listed objects. */
export type NftCommand = Record<string, unknown>;

export interface NftRunnerOptions {
  /** Run nft inside this network namespace (`ip netns exec NAME nft …`); tests use it. */
  netns?: string;
  /** Per-invocation limit; a hung nft must not hang the daemon. */
  timeoutMs?: number;
  /** Replace the binary (absolute path), e.g. for a distribution that installs elsewhere. */
  binary?: string;
}

/** Output larger than this is refused rather than buffered (a million bans list ≈ 80 MB). */
const MAX_OUTPUT_BYTES = 256 * 1024 * 1024;
const MAX_ERROR_TEXT = 2000;

export class NftRunner {
  readonly #argvPrefix: string[];
  readonly #timeoutMs: number;

  constructor(options: NftRunnerOptions = {}) {
    const binary = options.binary ?? NFT_BINARY;
    if (!binary.startsWith('/')) throw new NftErrors.TG_NFT_NOT_FOUND(binary);
    if (options.netns !== undefined) {
      if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(options.netns)) {
        throw new NftErrors.TG_NFT_BAD_NETNS(options.netns);
      }
      this.#argvPrefix = ['/usr/sbin/ip', 'netns', 'exec', options.netns, binary];
    } else {
      this.#argvPrefix = [binary];
    }
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  /**
   * Applies a batch of commands atomically, within the runner's limit or `timeoutMs` (the
   * ruleset's first build, much larger than an update, has its own).
   */
  async apply(commands: NftCommand[], timeoutMs = this.#timeoutMs): Promise<void> {
    if (commands.length === 0) return;
    // Not `-f -`: nft opens /dev/stdin by name, which fails (ENXIO) on the socketpair Node
    // gives a child as stdin. A private file (0700 directory, 0600 file) has no such issue.
    const dir = await mkdtemp(join(tmpdir(), 'tollgate-nft-'));
    try {
      const file = join(dir, 'batch.json');
      await writeFile(file, JSON.stringify({ nftables: commands }), { mode: 0o600 });
      await this.#run('batch', ['-j', '-f', file], timeoutMs);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Runs one `nft -j list …` and returns the listed objects (metainfo removed). */
  async list(what: string[], timeoutMs = this.#timeoutMs): Promise<NftCommand[]> {
    const out = await this.#run(`list ${what.join(' ')}`, ['-j', 'list', ...what], timeoutMs);
    let parsed: unknown;
    try {
      parsed = JSON.parse(out);
    } catch {
      throw new NftErrors.TG_NFT_BAD_OUTPUT(out.slice(0, 200));
    }
    const items = (parsed as { nftables?: unknown }).nftables;
    if (!Array.isArray(items)) throw new NftErrors.TG_NFT_BAD_OUTPUT(out.slice(0, 200));
    return items.filter(
      (item): item is NftCommand =>
        typeof item === 'object' && item !== null && !('metainfo' in item),
    );
  }

  #run(what: string, args: string[], timeoutMs: number): Promise<string> {
    const [command, ...prefixArgs] = this.#argvPrefix as [string, ...string[]];
    return new Promise((resolve, reject) => {
      const child = spawn(command, [...prefixArgs, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C' },
      });
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let outBytes = 0;
      let failure: Error | undefined;
      const timer = setTimeout(() => {
        failure = new NftErrors.TG_NFT_TIMEOUT(what, timeoutMs);
        child.kill('SIGKILL');
      }, timeoutMs);
      child.stdout.on('data', (chunk: Buffer) => {
        outBytes += chunk.length;
        if (outBytes > MAX_OUTPUT_BYTES) {
          failure = new NftErrors.TG_NFT_BAD_OUTPUT(`more than ${MAX_OUTPUT_BYTES} bytes`);
          child.kill('SIGKILL');
          return;
        }
        stdout.push(chunk);
      });
      child.stderr.on('data', (chunk: Buffer) => {
        if (Buffer.concat(stderr).length < MAX_ERROR_TEXT) stderr.push(chunk);
      });
      child.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(
          err.code === 'ENOENT' || err.code === 'EACCES'
            ? new NftErrors.TG_NFT_NOT_FOUND(command)
            : err,
        );
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        if (failure !== undefined) return reject(failure);
        if (code !== 0) {
          const message = Buffer.concat(stderr).toString('utf8').trim().slice(0, MAX_ERROR_TEXT);
          return reject(new NftErrors.TG_NFT_FAILED(what, code, message || '(no message)'));
        }
        resolve(Buffer.concat(stdout).toString('utf8'));
      });
    });
  }
}
