/**
 * Clean shutdown, bounded: quitting waits for the steps (the engine's in-flight writes and the sync in
 * progress: EngineHost.close) at most `timeoutMs` in all, then quits anyway and says which step did not
 * end. Plain function: tested in test/electron-shell.test.ts.
 */
export interface ShutdownStep {
  name: string;
  run(): Promise<void>;
}

export interface ShutdownReport {
  /** Steps that ended (in order of ending), those that failed with their error, those still running at the deadline. */
  done: string[];
  failed: { name: string; error: string }[];
  timedOut: string[];
}

export async function boundedShutdown(steps: readonly ShutdownStep[], timeoutMs: number): Promise<ShutdownReport> {
  const report: ShutdownReport = { done: [], failed: [], timedOut: [] };
  const pending = new Set(steps.map((s) => s.name));
  const all = Promise.all(
    steps.map(async (s) => {
      try {
        await s.run();
        report.done.push(s.name);
      } catch (err) {
        report.failed.push({ name: s.name, error: err instanceof Error ? err.message : String(err) });
      } finally {
        pending.delete(s.name);
      }
    }),
  );
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
  const outcome = await Promise.race([all.then(() => 'done' as const), deadline]);
  clearTimeout(timer);
  if (outcome === 'timeout') report.timedOut = [...pending];
  return report;
}
