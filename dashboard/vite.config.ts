import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'
import react from '@vitejs/plugin-react'

// The coordinator serves the built files at `/` (with a SPA fallback for
// client-side routes), so the build goes straight into the Python package.
const outDir = fileURLToPath(new URL('../src/tickwork/static', import.meta.url))
const apiTarget = process.env.TICKWORK_API ?? 'http://127.0.0.1:8000'
// The coordinator refuses writes and WebSockets whose Origin is not its own (cross-site request
// protection). Through this proxy the page's origin is :3000, so the proxy presents the target's.
const proxy = {
  '/api': { target: apiTarget, changeOrigin: true, ws: true, headers: { origin: new URL(apiTarget).origin } },
}

export default defineConfig({
  base: '/',
  plugins: [react()],
  server: {
    port: 3000,
    strictPort: true,
    proxy,
  },
  preview: {
    port: 3000,
    strictPort: true,
    proxy,
  },
  build: {
    outDir,
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 700,
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
})
