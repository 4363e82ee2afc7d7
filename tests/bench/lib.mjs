// Shared by the benchmarks: process memory and CPU from /proc, and the figure/anchor/ratio table.
import fs from 'node:fs';

/**
 * Memory of a process (status + smaps_rollup), in bytes:
 * - rss: VmRSS;
 * - private: Private_Clean + Private_Dirty (the unique set: pages no other process maps, with
 *   the clean file pages of a binary only this process runs);
 * - dirty: Private_Dirty, the anonymous and private-dirty bytes FIELD-NOTES.md compares (memory
 *   only this process holds and the kernel cannot drop without swap);
 * - anon: Anonymous.
 */
export function mem(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = Number(status.match(/VmRSS:\s+(\d+)/)[1]) * 1024;
  const rollup = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const field = (n) => Number((rollup.match(new RegExp(`^${n}:\\s+(\\d+)`, 'm')) ?? [0, 0])[1]) * 1024;
  const dirty = field('Private_Dirty');
  return { rss, private: field('Private_Clean') + dirty, dirty, anon: field('Anonymous') };
}

/** utime + stime of a process, in clock ticks (100 per second here). */
export function cpuTicks(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(f[11]) + Number(f[12]); // fields 14, 15
}

export const MB = (b) => (b / 1048576).toFixed(1) + ' MB';
export const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
/** The sample at quantile p (0..1) of a, e.g. percentile(latencies, 0.99). */
export const percentile = (a, p) => [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(a.length * p))];

/** Collects figures beside their anchors; print() ends with the Markdown table for the docs. */
export class Report {
  rows = [];
  add(what, figure, anchorName, anchor, ratio) {
    this.rows.push({ what, figure, anchor: `${anchorName}: ${anchor}`, ratio });
    console.log(`${what}: ${figure}   | anchor ${anchorName}: ${anchor}   | ratio ${ratio}`);
  }
  print() {
    console.log('\n| figure | value | anchor | ratio |\n|---|---|---|---|');
    for (const r of this.rows) console.log(`| ${r.what} | ${r.figure} | ${r.anchor} | ${r.ratio} |`);
  }
}
