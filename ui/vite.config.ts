import { defineConfig } from 'vite';

// The UI is built into the Go package that embeds it (internal/ui/dist).
// No framework plugin: Preact's JSX is compiled by Vite's own transform.
export default defineConfig({
  base: '/',
  build: {
    outDir: '../internal/ui/dist',
    emptyOutDir: true,
    target: 'es2022',
    // Vite's modulepreload polyfill is not needed by the browsers we
    // support, and leaving it out keeps index.html free of inline code.
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 600,
  },
  server: {
    proxy: { '/api': 'http://localhost:9090', '/-': 'http://localhost:9090' },
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
