// The off-peak schedule maxlinesoffpeak applies in (`offpeakhours`): entries in UTC, each a
// time range "HH:MM-HH:MM" (may wrap midnight: "20:00-08:00") or a day name ("sat", "sun")
// that is off-peak all day. Empty = never off-peak.
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

export interface Schedule {
  /** Minutes of the day [start, end), end may be below start (wraps midnight). */
  readonly ranges: ReadonlyArray<readonly [number, number]>;
  readonly days: ReadonlySet<number>;
}

/** Parses the entries; a malformed one is returned in `bad` (the key's check refuses it). */
export function parseSchedule(entries: readonly string[]): { schedule: Schedule; bad: string[] } {
  const ranges: Array<[number, number]> = [];
  const days = new Set<number>();
  const bad: string[] = [];
  for (const raw of entries) {
    const e = raw.trim().toLowerCase();
    const day = DAYS.indexOf(e.slice(0, 3));
    if (day >= 0 && /^[a-z]+$/.test(e)) {
      days.add(day);
      continue;
    }
    const m = /^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$/.exec(e);
    const start = m ? Number(m[1]) * 60 + Number(m[2]) : -1;
    const end = m ? Number(m[3]) * 60 + Number(m[4]) : -1;
    if (
      !m ||
      Number(m[1]) > 24 ||
      Number(m[3]) > 24 ||
      Number(m[2]) > 59 ||
      Number(m[4]) > 59 ||
      start > 1440 ||
      end > 1440
    ) {
      bad.push(raw);
      continue;
    }
    ranges.push([start, end]);
  }
  return { schedule: { ranges, days }, bad };
}

export function isOffPeak(schedule: Schedule, ms: number): boolean {
  const d = new Date(ms);
  if (schedule.days.has(d.getUTCDay())) return true;
  const minute = d.getUTCHours() * 60 + d.getUTCMinutes();
  for (const [start, end] of schedule.ranges) {
    if (start <= end ? minute >= start && minute < end : minute >= start || minute < end)
      return true;
  }
  return false;
}
