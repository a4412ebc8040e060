import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import openapiTS from 'openapi-typescript'
import { describe, expect, it } from 'vitest'

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url))

describe('the generated API types', () => {
  it('match docs/openapi.json (run `npm run types` or `make openapi` after an API change)', async () => {
    const document = JSON.parse(readFileSync(here('../../../docs/openapi.json'), 'utf8'))
    const expected = await openapiTS(document)
    expect(readFileSync(here('./schema.d.ts'), 'utf8')).toBe(expected)
  })
})
