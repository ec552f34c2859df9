import type { Value } from './ipc'

// How statuses, severities and scores look: one place, so every screen agrees.
export type Tone = 'pass' | 'fail' | 'warn' | 'info' | 'neutral'

export function statusTone(status: string): Tone {
  switch (status) {
    case 'pass':
    case 'verified':
      return 'pass'
    case 'fail':
    case 'failed':
      return 'fail'
    case 'unknown':
    case 'rolled_back':
      return 'warn'
    case 'intent':
      return 'info'
    default:
      return 'neutral'
  }
}

export function severityTone(severity: string): Tone {
  switch (severity) {
    case 'critical':
    case 'high':
      return 'fail'
    case 'medium':
      return 'warn'
    default:
      return 'info'
  }
}

export function scoreClass(score: number | null | undefined): string {
  if (score === null || score === undefined) return ''
  if (score >= 80) return 'good'
  if (score >= 50) return 'mid'
  return 'bad'
}

export function label(s: string): string {
  return s.replace(/_/g, ' ')
}

/** 2026-11-28T10:00:00Z → 2026-11-28 10:00:00 */
export function shortTime(t: string | null | undefined): string {
  if (!t) return '—'
  return t.replace('T', ' ').replace(/(\.\d+)?(Z|[+-]\d\d:\d\d)$/, '')
}

/** 2026-11-28T10:00:00Z → 11-28 10:00 (for narrow columns; the full time is the tooltip). */
export function compactTime(t: string | null | undefined): string {
  if (!t) return '—'
  const m = /^\d{4}-(\d\d-\d\d)T(\d\d:\d\d)/.exec(t)
  return m ? `${m[1]} ${m[2]}` : t
}

/** A setting's value as the CLI and the reports print it (core's `Value` Display): lists
 * joined with commas, an empty list as "(none)", nothing as "—". */
export function valueText(v: Value | null | undefined): string {
  if (v === null || v === undefined) return '—'
  if (Array.isArray(v)) return v.length === 0 ? '(none)' : v.join(', ')
  return String(v)
}
