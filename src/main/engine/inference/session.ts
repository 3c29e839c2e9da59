import * as ort from 'onnxruntime-node';
import type { ProviderChoice, ProviderName } from '../../../shared/domain';

/**
 * Creates the ONNX session on the requested execution provider. onnxruntime-node does not fall back by
 * itself (`['cuda', 'cpu']` throws when CUDA cannot load), so each GPU provider is tried alone, and CPU
 * is used with the reason recorded.
 */
export function providerCandidates(choice: ProviderChoice, platform: NodeJS.Platform = process.platform): ProviderName[] {
  switch (choice) {
    case 'cpu':
      return ['cpu'];
    case 'cuda':
      return ['cuda', 'cpu'];
    case 'dml':
      return ['dml', 'cpu'];
    case 'auto':
      return platform === 'win32' ? ['dml', 'cpu'] : platform === 'linux' ? ['cuda', 'cpu'] : ['cpu'];
  }
}

const HINT: Record<ProviderName, string> = {
  cuda: 'install the CUDA libraries for onnxruntime-node (README, "GPU")',
  dml: 'DirectML needs Windows 10+ with a DirectX 12 GPU',
  cpu: '',
};

export interface OpenedSession {
  session: ort.InferenceSession;
  provider: ProviderName;
  /** Why the first candidate was not used; null when it was. */
  fallback: string | null;
}

export async function openSession(modelPath: string, choice: ProviderChoice, intraOpThreads: number): Promise<OpenedSession> {
  // ORT's own logger prints a native stack for a provider that fails to load; the reason is reported by us instead.
  ort.env.logLevel = 'fatal';
  const reasons: string[] = [];
  const candidates = providerCandidates(choice);
  for (const provider of candidates) {
    try {
      const session = await ort.InferenceSession.create(modelPath, {
        executionProviders: [provider],
        intraOpNumThreads: intraOpThreads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
        // Idle intra-op threads must not spin: the decode of the next photos needs those cores.
        extra: { session: { intra_op: { allow_spinning: '0' } } },
      });
      return { session, provider, fallback: reasons.length ? reasons.join('; ') : null };
    } catch (err) {
      const msg = (err as Error).message.split('\n')[0].slice(0, 300);
      if (provider === 'cpu') throw new Error(`cannot load the model ${modelPath}: ${msg}`);
      reasons.push(`${provider} unavailable (${msg}); ${HINT[provider]}`);
    }
  }
  throw new Error(`no execution provider could load ${modelPath}`);
}
