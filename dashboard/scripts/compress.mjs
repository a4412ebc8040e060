// After `vite build`: a brotli (quality 11) and a gzip (level 9) twin beside each text file of
// the build, so the coordinator serves them as they are instead of compressing the dashboard
// in every new process (src/tickwork/api/static.py prefers a twin newer than its original).
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { brotliCompressSync, constants, gzipSync } from 'node:zlib'

const root = fileURLToPath(new URL('../../src/tickwork/static', import.meta.url))
const TEXT = /\.(js|mjs|css|html|svg|json|txt|webmanifest)$/
const MIN_SIZE = 1024 // as the coordinator's compression.MIN_SIZE

function* files(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) yield* files(path)
    else if (TEXT.test(name)) yield path
  }
}

let raw = 0
let packed = 0
for (const path of files(root)) {
  const body = readFileSync(path)
  if (body.length < MIN_SIZE) continue
  const br = brotliCompressSync(body, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 11,
      [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
      [constants.BROTLI_PARAM_SIZE_HINT]: body.length,
    },
  })
  writeFileSync(`${path}.br`, br)
  writeFileSync(`${path}.gz`, gzipSync(body, { level: 9 }))
  raw += body.length
  packed += br.length
}
console.log(`compressed the build: ${(raw / 1024).toFixed(0)} KB → ${(packed / 1024).toFixed(0)} KB brotli`)
