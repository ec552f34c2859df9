import { beforeEach, describe, expect, it, vi } from 'vitest'

// A hand-made invoke (not vi.fn): vitest's mock tracking would see a rejected promise as
// unhandled even though the ipc module handles it.
const calls: unknown[][] = []
let reply: () => Promise<unknown> = async () => null
vi.mock('@tauri-apps/api/core', () => ({
  invoke: (...a: unknown[]) => {
    calls.push(a)
    return reply()
  },
}))
vi.mock('@tauri-apps/api/event', () => ({ listen: async () => () => {} }))

import { IpcFailure, ipc, toFailure } from './index'

describe('ipc', () => {
  beforeEach(() => {
    calls.length = 0
    reply = async () => null
  })

  it('passes camelCase arguments the commands expect', async () => {
    reply = async () => []
    await ipc.audit(['mac:aa'])
    expect(calls[0]).toEqual(['audit', { ids: ['mac:aa'] }])
    await ipc.importInventory(null)
    expect(calls[1]).toEqual(['import_inventory', { site: null }])
    await ipc.exportReport('pdf', true, true)
    expect(calls[2]).toEqual(['export_report', { request: { format: 'pdf', choose_location: true, open_after: true } }])
  })

  it('turns backend errors into IpcFailure with their code', async () => {
    reply = async () => {
      throw { code: 'not_available', message: 'later' }
    }
    let err: unknown
    try {
      await ipc.apply(['x'])
    } catch (e) {
      err = e
    }
    expect(err instanceof IpcFailure).toBe(true)
    const f = err as IpcFailure
    expect([f.code, f.message]).toEqual(['not_available', 'later'])
  })

  it('wraps strings and errors from the bridge', () => {
    expect(toFailure('boom').code).toBe('ipc')
    expect(toFailure(new Error('x')).message).toBe('x')
  })

  it('never offers a way to read a password back', () => {
    const names = Object.keys(ipc)
    // Credentials only ever go in (typed, or a file the shell reads) or are forgotten.
    expect(names.filter((n) => /password|secret|credential|passphrase/i.test(n)).sort()).toEqual([
      'forgetCredentials',
      'importCredentials',
      'setDeviceCredentials',
      'setSiteCredentials',
    ])
  })
})
