import { describe, expect, it } from 'vitest'
import { compactTime, scoreClass, severityTone, shortTime, statusTone, valueText } from './format'

describe('format', () => {
  it('prints values as the CLI does', () => {
    expect(valueText(false)).toBe('false')
    expect(valueText(443)).toBe('443')
    expect(valueText('CET-1CEST')).toBe('CET-1CEST')
    expect(valueText(['ntp1', 'ntp2'])).toBe('ntp1, ntp2')
    expect(valueText([])).toBe('(none)')
    expect(valueText(null)).toBe('—')
  })
  it('colours statuses and severities', () => {
    expect(statusTone('pass')).toBe('pass')
    expect(statusTone('fail')).toBe('fail')
    expect(statusTone('not_applicable')).toBe('neutral')
    expect(severityTone('critical')).toBe('fail')
    expect(severityTone('low')).toBe('info')
  })
  it('grades scores', () => {
    expect(scoreClass(95)).toBe('good')
    expect(scoreClass(60)).toBe('mid')
    expect(scoreClass(10)).toBe('bad')
    expect(scoreClass(null)).toBe('')
  })
  it('shortens times', () => {
    expect(shortTime('2026-11-28T10:00:00Z')).toBe('2026-11-28 10:00:00')
    expect(shortTime('2026-11-28T10:00:00.123+00:00')).toBe('2026-11-28 10:00:00')
    expect(shortTime(null)).toBe('—')
    expect(compactTime('2026-11-28T18:27:36.123Z')).toBe('11-28 18:27')
    expect(compactTime(null)).toBe('—')
  })
})
