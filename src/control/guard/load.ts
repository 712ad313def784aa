// The default server load for maxsubsipauthrequest = -1: event loop utilisation, sampled at
// most once a second of the guard's clock (given the event's time, so no clock read of its own).
import { performance } from 'node:perf_hooks';

export function eventLoopLoad(): (now: number) => number {
  let previous = performance.eventLoopUtilization();
  let value = 0;
  let at = 0;
  return (now) => {
    if (now - at >= 1000) {
      const current = performance.eventLoopUtilization();
      value = performance.eventLoopUtilization(current, previous).utilization;
      previous = current;
      at = now;
    }
    return value;
  };
}
