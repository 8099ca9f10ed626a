import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * A Docker CLI that can build the Dockerfile (BuildKit: its RUN steps run in parallel stages) and
 * reaches an engine. Docker 20.10's CLI has BuildKit built in; later CLIs need the buildx plugin,
 * and without it `DOCKER_BUILDKIT=1 docker build` refuses to start. DOCKER_CLI names one to use.
 */
export type Engine = { cli: string; version: string } | { cli: undefined; reason: string };

export function findEngine(): Engine {
  const candidates = [process.env.DOCKER_CLI, '/usr/bin/docker', 'docker'].filter((cli): cli is string => !!cli);
  const reasons: string[] = [];
  for (const cli of [...new Set(candidates)]) {
    if (cli.startsWith('/') && !existsSync(cli)) continue;
    try {
      const version = execFileSync(cli, ['version', '--format', '{{.Server.Version}}'], { encoding: 'utf8', stdio: 'pipe', timeout: 15_000 }).trim();
      try {
        execFileSync(cli, ['build', '--help'], { stdio: 'pipe', env: { ...process.env, DOCKER_BUILDKIT: '1' }, timeout: 15_000 });
      } catch {
        reasons.push(`${cli}: engine ${version} answers, but this CLI cannot build with BuildKit (no buildx)`);
        continue;
      }
      return { cli, version };
    } catch (error) {
      // The last line says why.
      const detail = (error as { stderr?: Buffer }).stderr?.toString().trim().split('\n').at(-1) ?? (error as Error).message;
      reasons.push(`${cli}: ${detail || 'no engine answers'}`);
    }
  }
  return { cli: undefined, reason: reasons.length > 0 ? reasons.join('; ') : 'no docker CLI found' };
}

/** Runs the CLI; resolves with stdout, rejects with stderr in the message. */
export function docker(cli: string, args: string[], { timeoutMs = 60_000 }: { timeoutMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      cli,
      args,
      { env: { ...process.env, DOCKER_BUILDKIT: '1' }, maxBuffer: 64 * 1024 * 1024, timeout: timeoutMs },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`docker ${args.slice(0, 2).join(' ')} failed (${error.code ?? error.signal}): ${stderr.trim().split('\n').slice(-30).join('\n')}`));
        else resolve(stdout);
      },
    );
  });
}

/** Resident memory of a container's main process (node, under the init), in MB, as the host's ps sees it. */
export async function residentMb(cli: string, container: string): Promise<number> {
  const table = await docker(cli, ['top', container, '-o', 'pid,rss,args']);
  const rows = table
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => /^\s*\d+\s+(\d+)\s+(.*)$/.exec(line))
    .filter((match): match is RegExpExecArray => match !== null && /^node\s/.test(match[2] as string));
  if (rows.length === 0) throw new Error(`no node process in ${container}:\n${table}`);
  return Math.max(...rows.map((row) => Number(row[1]))) / 1024;
}
