// The device table's logic, kept pure so it is tested without a DOM: filtering,
// search, sorting, and the window of rows a virtualised list draws.
import type { DeviceRow } from './ipc'

export type StatusFilter = 'all' | 'failing' | 'errors' | 'unaudited' | 'inactive' | 'unconfirmed'

export interface Query {
  text: string
  vendor: string
  status: StatusFilter
}

export type SortKey = 'address' | 'vendor' | 'model' | 'firmware' | 'score' | 'last_change'

const haystack = (d: DeviceRow) =>
  [d.address, d.vendor, d.model, d.firmware, d.mac, d.serial, d.site, d.label].filter(Boolean).join(' ').toLowerCase()

export function matches(d: DeviceRow, q: Query): boolean {
  if (q.vendor && (d.vendor ?? '') !== q.vendor) return false
  switch (q.status) {
    case 'failing':
      if (!(d.failing > 0)) return false
      break
    case 'errors':
      if (!d.audit_error) return false
      break
    case 'unaudited':
      if (d.audited) return false
      break
    case 'inactive':
      if (d.activated !== false) return false
      break
    case 'unconfirmed':
      if (d.confirmed && d.conflicts.length === 0) return false
      break
  }
  const words = q.text.toLowerCase().split(/\s+/).filter(Boolean)
  if (words.length === 0) return true
  const h = haystack(d)
  return words.every((w) => h.includes(w))
}

/** 127.1.0.2 sorts before 127.1.0.10. */
export function addressKey(a: string | null): number {
  if (!a) return Number.MAX_SAFE_INTEGER
  const parts = a.split('.').map(Number)
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p))) return Number.MAX_SAFE_INTEGER - 1
  return ((parts[0] * 256 + parts[1]) * 256 + parts[2]) * 256 + parts[3]
}

export function sortRows(rows: DeviceRow[], key: SortKey, ascending: boolean): DeviceRow[] {
  const dir = ascending ? 1 : -1
  const val = (d: DeviceRow): number | string => {
    switch (key) {
      case 'address':
        return addressKey(d.address)
      case 'score':
        return d.score ?? -1
      default:
        return (d[key] ?? '').toString().toLowerCase()
    }
  }
  return [...rows].sort((a, b) => {
    const x = val(a)
    const y = val(b)
    if (x < y) return -dir
    if (x > y) return dir
    return addressKey(a.address) - addressKey(b.address)
  })
}

export function filterRows(rows: DeviceRow[], q: Query): DeviceRow[] {
  return rows.filter((d) => matches(d, q))
}

/** Which rows a list of fixed-height rows must draw for this scroll position. */
export function visibleWindow(
  count: number,
  rowHeight: number,
  scrollTop: number,
  viewport: number,
  overscan = 8,
): { start: number; end: number; offset: number } {
  const first = Math.floor(Math.max(0, scrollTop) / rowHeight)
  const start = Math.max(0, first - overscan)
  const end = Math.min(count, first + Math.ceil(viewport / rowHeight) + overscan)
  return { start, end, offset: start * rowHeight }
}
