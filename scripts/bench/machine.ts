// The machine a bench ran on, as bench-results.json records it (the browser's version and WebGPU adapter are added
// by the browser half when it ran).
import os from 'node:os';
import type { Machine } from './schema';

export function thisMachine(): Machine {
  const cpus = os.cpus();
  return {
    cpu_model: cpus[0]?.model?.trim() || 'unknown CPU',
    cores: cpus.length,
    memory_bytes: os.totalmem(),
    platform: `${os.platform()}/${os.arch()} ${os.release()}`,
    node: process.version,
    chromium_version: null,
    adapter: null,
  };
}
