import { execFile, execFileSync } from 'node:child_process';
import { composeVersionOf, dockerClis } from '../../test/docker-compose';

/**
 * A Docker CLI that reaches an engine and has Docker Compose v2, which builds troupe's images
 * from docker-compose.yml (`docker compose build`: compose brings its own BuildKit client, so the
 * CLI needs no buildx plugin). DOCKER_CLI names one to use.
 */
export type Engine = { cli: string; version: string; compose: string } | { cli: undefined; reason: string };

export function findEngine(): Engine {
  const reasons: string[] = [];
  for (const cli of dockerClis()) {
    let version: string;
    try {
      version = execFileSync(cli, ['version', '--format', '{{.Server.Version}}'], { encoding: 'utf8', stdio: 'pipe', timeout: 15_000 }).trim();
    } catch (error) {
      // The last line says why.
      const detail = (error as { stderr?: Buffer }).stderr?.toString().trim().split('\n').at(-1) ?? (error as Error).message;
      reasons.push(`${cli}: ${detail || 'no engine answers'}`);
      continue;
    }
    try {
      return { cli, version, compose: composeVersionOf(cli) };
    } catch (error) {
      reasons.push(`engine ${version} answers, but ${(error as Error).message}`);
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
        const what = args.join(' ').slice(0, 300);
        if (error) reject(new Error(`docker ${what} failed (${error.code ?? error.signal}): ${stderr.trim().split('\n').slice(-30).join('\n')}`));
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
