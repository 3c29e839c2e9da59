/**
 * Types `window.kliq` for the renderer without the renderer importing the preload: this is an ambient
 * declaration picked up through tsconfig "include": ["src"]. Optional because the renderer also runs in
 * a plain browser (`kliq-audit serve`, vite dev server) where no preload exists: it then uses its
 * WebSocket transport.
 */
import type { KliqApi, KliqFiles } from './api';

declare global {
  interface Window {
    readonly kliq?: KliqApi;
    /** Desktop only: local paths of dropped files. */
    readonly kliqFiles?: KliqFiles;
  }
}

export {};
