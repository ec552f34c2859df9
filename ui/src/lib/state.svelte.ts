// The app's shared state: which screen, the device table, the selection, the device
// in focus, and the last message. Screens read and change it; only ipc talks to Rust.
import { SvelteSet } from 'svelte/reactivity'
import { ipc, toFailure, type AppInfo, type DeviceRow } from './ipc'

export type Screen = 'site' | 'device' | 'baseline' | 'plan' | 'history' | 'reports' | 'settings'

export const SCREENS: { id: Screen; label: string; key: string }[] = [
  { id: 'site', label: 'Site', key: '1' },
  { id: 'device', label: 'Device', key: '2' },
  { id: 'baseline', label: 'Baseline', key: '3' },
  { id: 'plan', label: 'Plan & apply', key: '4' },
  { id: 'history', label: 'History', key: '5' },
  { id: 'reports', label: 'Reports', key: '6' },
  { id: 'settings', label: 'Credentials & settings', key: '7' },
]

export interface Notice {
  tone: 'ok' | 'bad' | 'note'
  text: string
  code?: string
}

class AppState {
  screen = $state<Screen>('site')
  info = $state<AppInfo | null>(null)
  devices = $state.raw<DeviceRow[]>([])
  siteScore = $state<number | null>(null)
  selected = new SvelteSet<string>()
  focusedDevice = $state<string | null>(null)
  notice = $state<Notice | null>(null)
  busy = $state<string | null>(null)

  async refresh() {
    try {
      const [info, devices, score] = await Promise.all([ipc.appInfo(), ipc.listDevices(), ipc.siteScore()])
      this.info = info
      this.devices = devices
      this.siteScore = score
      for (const id of [...this.selected]) if (!devices.some((d) => d.id === id)) this.selected.delete(id)
    } catch (e) {
      this.fail(e)
    }
  }

  fail(e: unknown) {
    const f = toFailure(e)
    this.notice = { tone: 'bad', text: f.message, code: f.code }
  }

  say(text: string, tone: Notice['tone'] = 'ok') {
    this.notice = { tone, text }
  }

  openDevice(id: string) {
    this.notice = null
    this.focusedDevice = id
    this.screen = 'device'
  }
}

export const app = new AppState()
