import { fireEvent, render } from '@testing-library/svelte'
import { tick } from 'svelte'
import { beforeEach, describe, expect, it } from 'vitest'
import type { DeviceRow } from '../lib/ipc'
import { app } from '../lib/state.svelte'
import DeviceTable from './DeviceTable.svelte'

// jsdom has no layout: bind:clientHeight needs a ResizeObserver to exist, nothing more.
globalThis.ResizeObserver ??= class {
  observe() {}
  unobserve() {}
  disconnect() {}
} as unknown as typeof ResizeObserver

function rows(n: number): DeviceRow[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `mac:${i}`,
    label: `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}:80`,
    address: `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}`,
    vendor: 'hikvision',
    model: 'DS-2CD2143G2-I',
    firmware: 'V5.7.3 build 220112',
    mac: null,
    serial: null,
    activated: true,
    site: null,
    seen_by: [],
    score: 70,
    failing: 3,
    audited: true,
    audit_error: null,
    last_change: null,
    confirmed: true,
    conflicts: [],
  }))
}

describe('DeviceTable', () => {
  beforeEach(() => {
    app.selected.clear()
    app.screen = 'site'
    app.focusedDevice = null
  })

  it('keeps 5,000 devices out of the DOM except the rows in view', async () => {
    const { container } = render(DeviceTable, { rows: rows(5000) })
    expect(container.querySelectorAll('.row[data-id]').length).toBeLessThan(60)
    const body = container.querySelector('.body') as HTMLElement
    body.scrollTop = 34 * 2500
    await fireEvent.scroll(body)
    await tick()
    const ids = [...container.querySelectorAll('.row[data-id]')].map((r) => r.getAttribute('data-id'))
    expect(ids).toContain('mac:2500')
    expect(ids.length).toBeLessThan(60)
  })

  it('is usable from the keyboard: move, select, select all, open', async () => {
    const { container } = render(DeviceTable, { rows: rows(20) })
    const grid = container.querySelector('[role="grid"]') as HTMLElement
    await fireEvent.keyDown(grid, { key: 'ArrowDown' })
    await fireEvent.keyDown(grid, { key: ' ' })
    expect([...app.selected]).toEqual(['mac:1'])
    await fireEvent.keyDown(grid, { key: 'a', ctrlKey: true })
    expect(app.selected.size).toBe(20)
    await fireEvent.keyDown(grid, { key: 'Enter' })
    expect(app.focusedDevice).toBe('mac:1')
    expect(app.screen).toBe('device')
  })
})
