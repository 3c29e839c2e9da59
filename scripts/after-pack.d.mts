/** Types for scripts/after-pack.mjs: the part of electron-builder's AfterPackContext it reads. */
export interface AfterPackContextLike {
  appOutDir: string;
  electronPlatformName: string;
  /** electron-builder's Arch enum: 0 ia32, 1 x64, 2 armv7l, 3 arm64, 4 universal */
  arch: number;
  packager: { config: { electronVersion?: string | null } };
}
export default function afterPack(context: AfterPackContextLike): Promise<void>;
