// `npm run serve-bundle` as a child process for the measurement specs (full-size.spec.ts, encoder-depth.spec.ts): the
// server a person starts for their own bundle, in its own process group (at nice 10, so serving does not take the
// browser's CPU on this 2-core machine), readable by the app under test only (--origin).
import { spawn, type ChildProcess } from 'node:child_process';
import { appOrigin, ROOT } from '../helpers';

/** `npm run serve-bundle -- DIR --port 0 --origin APP` as its own process group; resolves with its URL. */
export async function serveChild(dir: string): Promise<{ url: string; stop: () => void }> {
  const child: ChildProcess = spawn('nice', ['-n', '10', 'npm', 'run', '--silent', 'serve-bundle', '--', dir, '--port', '0', '--origin', appOrigin()], {
    cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'inherit'],
  });
  const stop = () => { try { process.kill(-child.pid!, 'SIGTERM'); } catch { /* already gone */ } };
  const url = await new Promise<string>((done, fail) => {
    let out = '';
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /serving .* at (http:\/\/\S+\/)/.exec(out);
      if (m) done(m[1]);
    });
    child.on('exit', (code) => fail(new Error(`serve-bundle exited (${code}): ${out}`)));
  });
  return { url, stop };
}
