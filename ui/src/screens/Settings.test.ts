import { cleanup, fireEvent, render, waitFor } from '@testing-library/svelte'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { CertificatesView } from '../lib/ipc'
import { app } from '../lib/state.svelte'

// A hand-made invoke (see ipc/index.test.ts): each command answers from `replies`.
const calls: [string, unknown][] = []
let replies: Record<string, () => Promise<unknown>> = {}
vi.mock('@tauri-apps/api/core', () => ({
  invoke: (cmd: string, args: unknown) => {
    calls.push([cmd, args])
    return (replies[cmd] ?? (async () => null))()
  },
}))
vi.mock('@tauri-apps/api/event', () => ({ listen: async () => () => {} }))

import Settings from './Settings.svelte'

const settings = {
  concurrency: 32, audit_concurrency: 256, read_write_timeout_s: 0, ntp_servers: [], management_hosts: [], site_name: '', device_name_pattern: '', time_zone: '', keep_accounts: [], address_plan: '',
}
const ca = { subject: 'CN=Portcullis site CA default', not_after: '2036-01-01T00:00:00Z', fingerprint: 'AB:CD:EF:01', path: '/data/site-ca.pem' }
const current: CertificatesView = { ca, pins: [] }
const imported: CertificatesView = { ca: { ...ca, subject: 'CN=Customer Issuing CA', fingerprint: '12:34' }, pins: [] }
const imports = () => calls.filter(([cmd]) => cmd === 'import_site_ca')

function answer(certs: CertificatesView) {
  replies = {
    vault_entries: async () => [],
    get_settings: async () => settings,
    certificates: async () => certs,
    import_site_ca: async () => imported,
    firmware_library: async () => [],
  }
}

describe('Settings: importing a site CA', () => {
  beforeEach(() => {
    calls.length = 0
    app.notice = null
  })
  // Without vitest's globals, testing-library cannot unmount on its own.
  afterEach(cleanup)

  it('asks no path: the files are chosen in the shell', async () => {
    answer({ ca: null, pins: [] })
    const { container, getByText } = render(Settings)
    await waitFor(() => getByText('Choose files and import…'))
    expect(container.querySelector('#import-ca input')).toBeNull()
    await fireEvent.click(getByText('Choose files and import…'))
    await waitFor(() => expect(imports()).toEqual([['import_site_ca', { request: { replace: false } }]]))
    expect(container.querySelector('[role="alertdialog"]')).toBeNull()
  })

  it('names the CA it would replace and calls only once confirmed', async () => {
    answer(current)
    const { container, getByText, getByRole } = render(Settings)
    await waitFor(() => getByText('CN=Portcullis site CA default'))
    await fireEvent.click(getByText('Choose files and import…'))
    const confirm = getByRole('alertdialog')
    expect(confirm.textContent).toContain('CN=Portcullis site CA default')
    expect(confirm.textContent).toContain('AB:CD:EF:01')
    expect(imports()).toEqual([])
    // Cancel asks nothing of the shell.
    await fireEvent.click(getByText('Cancel'))
    expect(container.querySelector('[role="alertdialog"]')).toBeNull()
    expect(imports()).toEqual([])
    await fireEvent.click(getByText('Choose files and import…'))
    await fireEvent.click(container.querySelector('#import-ca-replace') as HTMLElement)
    await waitFor(() => expect(imports()).toEqual([['import_site_ca', { request: { replace: true } }]]))
    await waitFor(() => getByText('CN=Customer Issuing CA'))
  })

  it('says a closed dialog changed nothing, as a note, not a failure', async () => {
    answer({ ca: null, pins: [] })
    replies.import_site_ca = async () => {
      throw { code: 'cancelled', message: 'cancelled: no file was chosen, nothing changed' }
    }
    const { getByText } = render(Settings)
    await waitFor(() => getByText('Choose files and import…'))
    await fireEvent.click(getByText('Choose files and import…'))
    await waitFor(() => expect(app.notice?.tone).toBe('note'))
    expect(app.notice?.text).toContain('nothing changed')
  })
})

describe('Settings: a device certificate that changed', () => {
  const pin = { device: '192.0.2.9', fingerprint: 'aa'.repeat(32), not_after: '2030-01-01T00:00:00Z', expiring: false, origin: 'first_seen' as const }
  const changed = { fingerprint: 'bb'.repeat(32), not_after: '2031-01-01T00:00:00Z', seen: '2026-12-03T10:00:00Z' }
  const accepts = () => calls.filter(([cmd]) => cmd === 'accept_certificate')
  beforeEach(() => {
    calls.length = 0
    app.notice = null
  })
  afterEach(cleanup)

  it('shows the new fingerprint before accepting, and sends exactly that one', async () => {
    answer({ ca: null, pins: [{ ...pin, changed_to: changed }] })
    replies.accept_certificate = async () => ({ ca: null, pins: [{ ...pin, fingerprint: changed.fingerprint, changed_to: null }] })
    const { container, getByText, getByRole } = render(Settings)
    await waitFor(() => getByText('Certificate changed'))
    expect(container.textContent).not.toContain(changed.fingerprint)
    await fireEvent.click(getByText('Review…'))
    expect(getByRole('alertdialog').textContent).toContain(`sha256:${changed.fingerprint}`)
    expect(accepts()).toEqual([])
    await fireEvent.click(container.querySelector('#accept-certificate') as HTMLElement)
    await waitFor(() =>
      expect(accepts()).toEqual([['accept_certificate', { request: { device: '192.0.2.9', fingerprint: changed.fingerprint } }]]),
    )
    await waitFor(() => expect(container.textContent).not.toContain('Certificate changed'))
  })

  it('says nothing of a change when there is none', async () => {
    answer({ ca: null, pins: [{ ...pin, changed_to: null }] })
    const { container, getByText } = render(Settings)
    await waitFor(() => getByText('first seen'))
    expect(container.textContent).not.toContain('Certificate changed')
  })
})

describe('Settings: forgetting credentials', () => {
  beforeEach(() => {
    calls.length = 0
    app.notice = null
  })
  afterEach(cleanup)

  it('offers it for a device or a site only, and calls once confirmed', async () => {
    answer({ ca: null, pins: [] })
    const device = { scope: 'device', name: '192.0.2.7:80', username: 'admin', updated: '2026-12-01T00:00:00Z' }
    const pending = { scope: 'pending', name: '192.0.2.8', username: 'admin', updated: '2026-12-01T00:00:00Z' }
    replies.vault_entries = async () => [device, pending]
    replies.forget_credentials = async () => [pending]
    const { container, getByText } = render(Settings)
    await waitFor(() => getByText('192.0.2.7:80'))
    const forgets = container.querySelectorAll('button.forget')
    expect(forgets.length).toBe(1)
    await fireEvent.click(forgets[0] as HTMLElement)
    expect(calls.filter(([c]) => c === 'forget_credentials')).toEqual([])
    await fireEvent.click(container.querySelector('button.forget-confirm') as HTMLElement)
    await waitFor(() =>
      expect(calls.filter(([c]) => c === 'forget_credentials')).toEqual([
        ['forget_credentials', { request: { scope: 'device', name: '192.0.2.7:80' } }],
      ]),
    )
    await waitFor(() => expect(container.textContent).not.toContain('192.0.2.7:80'))
  })
})

describe('Settings: the firmware library', () => {
  beforeEach(() => {
    calls.length = 0
    app.notice = null
  })
  afterEach(cleanup)

  const image = {
    sha256: 'ab'.repeat(32), vendor: 'hikvision', models: ['DS-2CD2xx2F-I'], version: 'V5.5.0 build 170725',
    size: 48 * 1048576, file_name: 'digicap.dav', from_header: false, added: '2026-12-04T00:00:00Z',
  }

  it('lists the images, and adds one with what the operator says, naming no path', async () => {
    answer({ ca: null, pins: [] })
    let held: unknown[] = []
    replies.firmware_library = async () => held
    replies.add_firmware_image = async () => {
      held = [image]
      return image
    }
    const { container, getByText } = render(Settings)
    await waitFor(() => getByText('The library holds no image.'))
    await fireEvent.input(container.querySelector('#fw-vendor') as HTMLElement, { target: { value: 'hikvision' } })
    await fireEvent.input(container.querySelector('#fw-models') as HTMLElement, { target: { value: 'DS-2CD2xx2F-I, DS-2CD2xx2WD ' } })
    await fireEvent.input(container.querySelector('#fw-version') as HTMLElement, { target: { value: 'V5.5.0 build 170725' } })
    await fireEvent.click(getByText('Choose an image…'))
    await waitFor(() =>
      expect(calls.filter(([c]) => c === 'add_firmware_image')).toEqual([
        ['add_firmware_image', { request: { vendor: 'hikvision', models: ['DS-2CD2xx2F-I', 'DS-2CD2xx2WD'], version: 'V5.5.0 build 170725', sha256: null } }],
      ]),
    )
    await waitFor(() => expect(container.querySelector('#firmware-library')?.textContent).toContain('V5.5.0 build 170725'))
    expect(container.querySelector('#firmware-library')?.textContent).toContain('the operator')
  })
})
