import { execFile } from 'node:child_process';
import { toolPath, type Tool } from './binaries.ts';

export interface ToolResult {
  stdout: string;
  stderr: string;
}

/** A kubectl or helm invocation that failed: the command, its exit code and what it printed. */
export class ToolError extends Error {
  override readonly name = 'ToolError';
  constructor(readonly tool: Tool, readonly args: readonly string[], readonly code: number | string | null, readonly stderr: string) {
    super(`${tool} ${args.join(' ')} failed (exit ${code}): ${stderr.trim() || '(no output)'}`);
  }
}

/** Runs kubectl or helm with arguments (never a shell), and optional stdin. */
export async function runTool(
  tool: Tool,
  args: readonly string[],
  options: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<ToolResult> {
  const bin = await toolPath(tool);
  return new Promise((resolve, reject) => {
    const child = execFile(
      bin,
      args as string[],
      { env: options.env ?? process.env, cwd: options.cwd, timeout: options.timeoutMs ?? 120_000, maxBuffer: 256 << 20 },
      (err, stdout, stderr) => {
        if (err) reject(new ToolError(tool, args, (err as NodeJS.ErrnoException).code ?? null, String(stderr)));
        else resolve({ stdout: String(stdout), stderr: String(stderr) });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}
