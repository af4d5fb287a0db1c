/** What a process has used, read from Linux's /proc: memory and CPU time, for the benchmarks. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ: 100 on Linux unless getconf says otherwise). */
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;

/** VmRSS, VmHWM (the peak), RssAnon and RssFile (+ RssShmem), in MiB. */
export function processMemory(pid: number | undefined): { rss: number; peak: number; anon: number; file: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0) / 1024;
  return { rss: kib('VmRSS'), peak: kib('VmHWM'), anon: kib('RssAnon'), file: kib('RssFile') + kib('RssShmem') };
}

/** The process's CPU time so far (user + system), in ms; NaN where /proc cannot be read. */
export function processCpuMs(pid: number | undefined): number {
  try {
    // the command name in parentheses may contain spaces: utime and stime are the 12th and 13th fields after it
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}
