// Shared by the dataplane tests: build the BPF object (incremental, like bootstrap does).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BPF_DIR = fileURLToPath(new URL('../../bpf/', import.meta.url));
export const BPF_OBJECT = `${BPF_DIR}tollgate.bpf.o`;

export function buildBpfObject(): string {
  execFileSync('make', ['-s', '-C', BPF_DIR], { stdio: ['ignore', 'inherit', 'inherit'] });
  return BPF_OBJECT;
}
