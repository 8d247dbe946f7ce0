import * as os from 'node:os';

/** The machine a benchmark ran on, as each record in test/bench-results names it. */
export function benchMachine(options: { loadAverage?: boolean } = {}) {
  return {
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    memoryGB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    ...(options.loadAverage === false ? {} : { loadAverage: os.loadavg().map((l) => Number(l.toFixed(2))) }),
  };
}
