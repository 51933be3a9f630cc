// The engine's module Web Worker: receives EngineRequest messages, drives the Engine, posts EngineEvents.
// Every request ends in exactly one terminal event; errors leave as `{code, message}`. Anything the
// Content-Security-Policy refuses here is written to the console (where the page's watchers see it).

import { toErrorInfo } from '../shared/errors';
import { watchViolations } from '../shared/csp';
import type { EngineEvent, EngineRequest } from '../shared/protocol';
import { httpReader } from './bundle-reader';
import { opfsReader } from './bundles/opfs-reader';
import { OPFS_SCHEME } from './bundles/protocol';
import { detectCapabilities } from './capabilities';
import { Engine } from './engine';
import { encoderSessionsCreated, liveEncoderSessions } from './embedding/compute';
import { ensureOrtEnv, simulateGpuFailure, installReadbackCounter, loadOrt, serial, type OrtBuild, type OrtWeb } from './ort-web';

const post = (e: EngineEvent) => (self as unknown as Worker).postMessage(e);
let noticeFor = '';
const gpuReads = installReadbackCounter();

// Started at once; every request waits for it (handle), so `runtime` below always finds it.
const ortReady = loadOrt();
let ortLoaded: { ort: OrtWeb; build: OrtBuild } | undefined;

const engine = new Engine({
  detect: detectCapabilities,
  runtime: (backend) => {
    const { ort, build } = ortLoaded!;
    ensureOrtEnv(ort, build);
    return { ort, backend, serial, gpuReads: backend === 'webgpu' ? gpuReads : undefined, ortBuild: build };
  },
  // `opfs:bundles/<id>@<version>/` = a bundle downloaded or imported into this browser's storage (engine/bundles).
  reader: (url) => (url.startsWith(OPFS_SCHEME) ? opfsReader(url) : httpReader(new URL(url, self.location.href).toString())),
  notice: (code, message) => post({ type: 'notice', id: noticeFor, code, message }),
});

async function handle(req: EngineRequest): Promise<EngineEvent> {
  ortLoaded ??= await ortReady;
  switch (req.type) {
    case 'detect':
      return { type: 'detected', id: req.id, caps: await engine.detect() };
    case 'load': {
      const info = await engine.load(req.options, (file, loaded, total) => post({ type: 'load-progress', id: req.id, file, loaded, total }));
      return { type: 'loaded', id: req.id, info };
    }
    case 'generate': {
      noticeFor = req.id;
      const result = await engine.generate(req.id, req.params, (info) => post({ type: 'step', id: req.id, info }));
      return { type: 'generated', id: req.id, result };
    }
    case 'embed': {
      const result = await engine.embed(req.id, req.text, (phase, loaded, total) => post({ type: 'embed-progress', id: req.id, phase, loaded, total }), { encoderUrl: req.encoderUrl });
      return { type: 'embedded', id: req.id, result };
    }
    case 'debug-info':
      return { type: 'debug-info', id: req.id, liveEncoderSessions: liveEncoderSessions(), encoderSessionsCreated: encoderSessionsCreated() };
    case 'cancel':
      engine.cancel(req.target);
      return { type: 'done', id: req.id };
    case 'unload':
      await engine.unload();
      return { type: 'done', id: req.id };
    case 'debug':
      await simulateGpuFailure(ortLoaded.ort, req.action);
      return { type: 'done', id: req.id };
  }
}

watchViolations(self, 'engine worker');

self.onmessage = async (e: MessageEvent<EngineRequest>) => {
  const req = e.data;
  let event: EngineEvent;
  try {
    event = await handle(req);
  } catch (err) {
    const error = toErrorInfo(err);
    event = error.code === 'CANCELLED' ? { type: 'cancelled', id: req.id } : { type: 'error', id: req.id, error };
  }
  if (event.type === 'generated') {
    (self as unknown as Worker).postMessage(event, [event.result.rgba.buffer as ArrayBuffer]);
  } else post(event);
};
