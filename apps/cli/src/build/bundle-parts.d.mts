import type { Plugin } from 'esbuild';

export declare const externalPackages: string[];
export declare const ownLocations: Plugin;
