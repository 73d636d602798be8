import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REPO = join(import.meta.dirname, '..', '..');
const MESH = join(REPO, 'bin', 'mesh.js');

export interface DevProcess {
  child: ChildProcessWithoutNullStreams;
  url: string;
  home: string;
  /** Everything printed on stdout so far. */
  output(): string;
  /** Resolves when stdout matches. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Stop if running, and delete the store it used (when the test created it). */
  dispose(): Promise<void>;
}

/** Start `mesh dev` as a user would (bin/mesh.js), on a free port, with its own store. */
export async function startDev(args: string[] = [], env: Record<string, string> = {}): Promise<DevProcess> {
  const ownHome = env.MESH_HOME === undefined;
  const home = env.MESH_HOME ?? (await mkdtemp(join(tmpdir(), 'nearmesh-e2e-')));
  const child = spawn(process.execPath, [MESH, 'dev', '--port', '0', ...args], {
    cwd: REPO,
    env: { ...process.env, MESH_HOME: home, ...env },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const waitFor = (pattern: RegExp, timeoutMs = 30_000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const started = Date.now();
      const tick = () => {
        const m = out.match(pattern);
        if (m) return resolve(m);
        if (child.exitCode !== null) return reject(new Error(`mesh dev exited (${child.exitCode}) before printing ${pattern}\nstdout:\n${out}\nstderr:\n${err}`));
        if (Date.now() - started > timeoutMs) return reject(new Error(`timed out waiting for ${pattern}\nstdout:\n${out}\nstderr:\n${err}`));
        setTimeout(tick, 50);
      };
      tick();
    });

  const ready = await waitFor(/PutEvents endpoint: (http:\/\/127\.0\.0\.1:\d+)/);
  return {
    child,
    url: ready[1]!,
    home,
    output: () => out,
    waitFor,
    stop: async (signal = 'SIGINT') => {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
    dispose: async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
      if (ownHome) await rm(home, { recursive: true, force: true });
    },
  };
}

/** Run a `mesh` command to completion, or until stderr matches `killWhen`: then SIGKILL it, as a crash would. */
export function runMesh(
  args: string[],
  env: Record<string, string>,
  { killWhen }: { killWhen?: RegExp } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MESH, ...args], { cwd: REPO, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (killWhen?.test(stderr)) child.kill('SIGKILL');
    });
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
