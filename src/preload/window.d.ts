/**
 * Types `window.kliq` for the renderer without the renderer importing the preload: this is an ambient
 * declaration picked up through tsconfig "include": ["src"]. Optional because the renderer also runs in
 * a plain browser (vite dev server) where no preload exists.
 */
import type { KliqApi } from './api';

declare global {
  interface Window {
    readonly kliq?: KliqApi;
  }
}

export {};
