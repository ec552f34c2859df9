import { describe, expect, it } from 'vitest'
import type { DeviceRow } from './ipc'
import { addressKey, filterRows, sortRows, visibleWindow } from './table'

function row(i: number, extra: Partial<DeviceRow> = {}): DeviceRow {
  return {
    id: `mac:${i}`,
    label: `127.1.0.${i}:80`,
    address: `127.1.0.${i}`,
    vendor: i % 2 ? 'hikvision' : 'onvif',
    model: i % 2 ? 'DS-2CD2143G2-I' : 'Generic ONVIF',
    firmware: 'V5.7.3',
    mac: `44:47:cc:00:00:${i}`,
    serial: `SN${i}`,
    activated: i !== 3,
    site: 'demo',
    seen_by: ['import'],
    score: i * 10,
    failing: i % 3,
    audited: i !== 4,
    audit_error: null,
    last_change: null,
    confirmed: i !== 5,
    conflicts: [],
    ...extra,
  }
}

describe('device table', () => {
  const rows = Array.from({ length: 12 }, (_, i) => row(i + 1))

  it('searches every identifying column, all words', () => {
    expect(filterRows(rows, { text: 'DS-2CD', vendor: '', status: 'all' })).toHaveLength(6)
    expect(filterRows(rows, { text: 'hikvision sn11', vendor: '', status: 'all' }).map((r) => r.id)).toEqual(['mac:11'])
  })

  it('filters by vendor and status', () => {
    expect(filterRows(rows, { text: '', vendor: 'onvif', status: 'all' })).toHaveLength(6)
    expect(filterRows(rows, { text: '', vendor: '', status: 'inactive' }).map((r) => r.id)).toEqual(['mac:3'])
    expect(filterRows(rows, { text: '', vendor: '', status: 'unaudited' }).map((r) => r.id)).toEqual(['mac:4'])
    expect(filterRows(rows, { text: '', vendor: '', status: 'failing' }).every((r) => r.failing > 0)).toBe(true)
  })

  it('finds what discovery found and the person has not accepted, and every conflict', () => {
    const withConflict = [...rows, row(20, { conflicts: ['seen at 127.1.0.99, known at 127.1.0.20'] })]
    expect(filterRows(withConflict, { text: '', vendor: '', status: 'unconfirmed' }).map((r) => r.id)).toEqual(['mac:5', 'mac:20'])
  })

  it('sorts addresses numerically and scores descending', () => {
    expect(addressKey('127.1.0.2')).toBeLessThan(addressKey('127.1.0.10'))
    const byAddr = sortRows(rows, 'address', true).map((r) => r.address)
    expect(byAddr.slice(0, 3)).toEqual(['127.1.0.1', '127.1.0.2', '127.1.0.3'])
    expect(sortRows(rows, 'score', false)[0].score).toBe(120)
  })

  it('draws only a window of 5,000 rows', () => {
    const w = visibleWindow(5000, 34, 34 * 2500, 680)
    expect(w.end - w.start).toBeLessThanOrEqual(20 + 16)
    expect(w.start).toBe(2492)
    expect(w.offset).toBe(2492 * 34)
    expect(visibleWindow(3, 34, 0, 680)).toEqual({ start: 0, end: 3, offset: 0 })
  })

  it('filters 5,000 rows quickly', () => {
    const many = Array.from({ length: 5000 }, (_, i) => row(i))
    const t0 = performance.now()
    filterRows(many, { text: 'hikvision 44:47', vendor: '', status: 'failing' })
    sortRows(many, 'model', true)
    expect(performance.now() - t0).toBeLessThan(250)
  })
})
