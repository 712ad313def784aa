// The whole dataplane benchmark in one run (about a minute, needs root):
//   1. prog-cost.ts  XDP program cost per verdict path, BPF_PROG_TEST_RUN, 1,000,000 bans and
//                    100,000 CIDR rules in the maps
//   2. flood-cpu.ts  receive-side CPU per packet of a flood from a banned source over veth:
//                    XDP vs nftables (netdev ingress, inet prerouting) vs no filter
//
//   node bench/dataplane/index.ts
//
// Each part runs as its own process, exactly as when run alone (their flags keep their
// defaults here), so a crash in one cannot leave the other's maps or namespaces behind.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const parts = ['prog-cost.ts', 'flood-cpu.ts'];
let failed = 0;
for (const part of parts) {
  const path = fileURLToPath(new URL(part, import.meta.url));
  console.log(`\n== ${part} ==`);
  const result = spawnSync(process.execPath, [path], { stdio: 'inherit', timeout: 120_000 });
  if (result.status !== 0) {
    failed++;
    console.error(`${part} failed (${result.error?.message ?? `exit ${result.status}`})`);
  }
}
process.exit(failed === 0 ? 0 : 1);
