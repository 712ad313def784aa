// `tollgatectl audit`: holds the running configuration and system against the reference's
// security checklist (checks.ts) and says, for each finding, how bad it is, why it matters
// and the command that fixes it. Exit 0 clean, 1 with findings. The daemon logs the summary
// at every start.
import { readdirSync, statSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { CONFIG_KEYS, USER_FIELDS } from '../../config/schema.ts';
import type { Settings } from '../../config/settings.ts';
import { sameValue } from '../../config/validate.ts';
import {
  type AuditFacts,
  CHECKS,
  type Finding,
  type Severity,
  UNAVAILABLE_ITEMS,
} from './checks.ts';

export interface AuditReport {
  findings: Finding[];
  /** Checklist items no setting can satisfy yet: the key is not enforced by this version. */
  unavailable: Array<{ key: string; item: string; issue: number }>;
  summary: Record<Severity, number>;
}

const ORDER: Record<Severity, number> = { high: 0, medium: 1, low: 2 };

export function runAudit(facts: AuditFacts): AuditReport {
  const findings = CHECKS.flatMap((check) => {
    const result = check.run(facts);
    return result === undefined ? [] : Array.isArray(result) ? result : [result];
  }).sort((a, b) => ORDER[a.severity] - ORDER[b.severity]);
  const statusOf = new Map([...CONFIG_KEYS, ...USER_FIELDS].map((s) => [s.name, s.status]));
  const unavailable = UNAVAILABLE_ITEMS.flatMap(({ key, item }) => {
    const status = statusOf.get(key);
    return status?.state === 'not-enforced' ? [{ key, item, issue: status.issue }] : [];
  });
  const summary: Record<Severity, number> = { high: 0, medium: 0, low: 0 };
  for (const f of findings) summary[f.severity]++;
  return { findings, unavailable, summary };
}

export function renderAudit(report: AuditReport): string {
  const lines: string[] = [];
  if (report.findings.length === 0) lines.push('audit: no findings');
  for (const f of report.findings) {
    lines.push(
      `[${f.severity.toUpperCase()}] ${f.title}`,
      `    why: ${f.why}`,
      `    fix: ${f.fix}`,
    );
  }
  if (report.unavailable.length > 0) {
    lines.push(
      '',
      `not available in this version (${report.unavailable.length} checklist items; no setting satisfies them yet):`,
      ...report.unavailable.map((u) => `    ${u.item} (issue #${u.issue})`),
    );
  }
  const { high, medium, low } = report.summary;
  lines.push(
    '',
    `${report.findings.length} finding(s): ${high} high, ${medium} medium, ${low} low`,
  );
  return lines.join('\n');
}

/** Mode bits of the data directory and the files in it that other users may read. */
export function dataDirFacts(path: string): AuditFacts['dataDir'] {
  const mode = statSync(path).mode;
  const looseFiles = readdirSync(path, { withFileTypes: true })
    .filter((entry) => entry.isFile())
    .filter((entry) => (statSync(join(path, entry.name)).mode & 0o077) !== 0)
    .map((entry) => entry.name);
  return { path, mode, looseFiles };
}

export function hostAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((a) => a.address));
}

export interface AuditSources {
  settings: Settings;
  dataDir: string;
  dataplaneMode(): string;
  md5Accounts?(): readonly string[];
  postpaidWithoutMonthlyLimit?(): readonly string[];
}

/** Gathers the facts from the running daemon and the system. */
export function gatherFacts(sources: AuditSources): AuditFacts {
  const { settings } = sources;
  const acceptedUnenforced = CONFIG_KEYS.flatMap((spec) =>
    spec.status.state === 'not-enforced' && !sameValue(settings.valueOf(spec.name), spec.default)
      ? [{ key: spec.name, issue: spec.status.issue }]
      : [],
  );
  return {
    value: (key) => settings.valueOf(key),
    acceptedUnenforced,
    dataplaneMode: sources.dataplaneMode(),
    dataDir: dataDirFacts(sources.dataDir),
    hostAddresses: hostAddresses(),
    md5Accounts: sources.md5Accounts?.(),
    postpaidWithoutMonthlyLimit: sources.postpaidWithoutMonthlyLimit?.(),
  };
}
