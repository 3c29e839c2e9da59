/** Types for scripts/native-abi.mjs (plain JS so electron-builder loads it without a TypeScript loader). */
export declare const REQUIRED_ADDONS: string[];

export type AddonKind = { kind: 'napi' } | { kind: 'abi'; moduleVersion: number } | { kind: 'unknown' };
export declare function classifyAddon(buf: Buffer): AddonKind;

export interface BinaryTarget {
  platform: 'linux' | 'win32' | 'darwin' | null;
  arch: string | null;
}
export declare function binaryTarget(buf: Buffer): BinaryTarget;

export declare function electronModuleVersion(electronVersion: string): number;

export interface CheckOptions {
  appOutDir: string;
  electronVersion: string;
  /** 'linux' | 'win32' | 'darwin' | 'mas' */
  platform: string;
  /** 'x64' | 'arm64' | … */
  arch: string;
}
export interface CheckResult {
  moduleVersion: number;
  addons: ({ file: string; moduleVersion?: number } & AddonKind & BinaryTarget)[];
  problems: string[];
}
export declare function checkPackagedApp(opts: CheckOptions): CheckResult;
export declare function formatProblems(result: CheckResult, opts: CheckOptions): string;
