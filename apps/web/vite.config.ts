import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Two pages, each its own entry: the storefront at / and the ops console at /ops, so the shop's
// JavaScript carries none of the console's charts.
export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    manifest: true,
    rollupOptions: {
      input: {
        storefront: `${import.meta.dirname}/index.html`,
        ops: `${import.meta.dirname}/ops/index.html`,
      },
    },
  },
  server: {
    // `vite` for development against a running platform: the API is the gateway's.
    proxy: { '/api': 'http://127.0.0.1:8080', '/ops/api': 'http://127.0.0.1:8080' },
  },
});
