// The one door to the Rust side: the only module that imports @tauri-apps/*. Every
// call is typed with the types generated from src-tauri (./bindings, by ts-rs), and
// every failure becomes an IpcFailure with the backend's stable code.
import { invoke } from '@tauri-apps/api/core'
import { listen, type UnlistenFn } from '@tauri-apps/api/event'

import type { AppInfo } from './bindings/AppInfo'
import type { Command } from './commands'
import type { ApplySummary } from './bindings/ApplySummary'
import type { AuditSummary } from './bindings/AuditSummary'
import type { BaselineFile } from './bindings/BaselineFile'
import type { BaselineView } from './bindings/BaselineView'
import type { CertificatesView } from './bindings/CertificatesView'
import type { ChainCheck } from './bindings/ChainCheck'
import type { DeviceCredentials } from './bindings/DeviceCredentials'
import type { DeviceDetail } from './bindings/DeviceDetail'
import type { DeviceRow } from './bindings/DeviceRow'
import type { DiscoverRequest } from './bindings/DiscoverRequest'
import type { DiscoverSummary } from './bindings/DiscoverSummary'
import type { Drift } from './bindings/Drift'
import type { FirmwareImageRequest } from './bindings/FirmwareImageRequest'
import type { FirmwareImage } from './bindings/FirmwareImage'
import type { GoldenView } from './bindings/GoldenView'
import type { DeviceDecision } from './bindings/DeviceDecision'
import type { AcceptCertificateRequest } from './bindings/AcceptCertificateRequest'
import type { HandoverFile } from './bindings/HandoverFile'
import type { HandoverRequest } from './bindings/HandoverRequest'
import type { Entry } from './bindings/Entry'
import type { ImportCaRequest } from './bindings/ImportCaRequest'
import type { ImportResult } from './bindings/ImportResult'
import type { InterfaceView } from './bindings/InterfaceView'
import type { IpcError } from './bindings/IpcError'
import type { PlanView } from './bindings/PlanView'
import type { ReportFile } from './bindings/ReportFile'
import type { ReportPreview } from './bindings/ReportPreview'
import type { Progress } from './bindings/Progress'
import type { Settings } from './bindings/Settings'
import type { SightingEvent } from './bindings/SightingEvent'
import type { SiteCredentials } from './bindings/SiteCredentials'
import type { VaultEntry } from './bindings/VaultEntry'
import type { ForgetRequest } from './bindings/ForgetRequest'
import type { ReportCheck } from './bindings/ReportCheck'
import type { ReportExport } from './bindings/ReportExport'

/** The person's choices on the Plan screen. */
export interface PlanChoices {
  rotatePasswords?: boolean
  deleteAccounts?: boolean
}

export type {
  AcceptCertificateRequest, AppInfo, DeviceDecision, ApplySummary, AuditSummary, BaselineFile, BaselineView, CertificatesView, ChainCheck, DeviceCredentials, DeviceDetail, DeviceRow, DiscoverRequest, DiscoverSummary, Drift,
  HandoverFile, HandoverRequest, Entry, ImportCaRequest, ImportResult, InterfaceView, IpcError, PlanView, ReportFile, ReportPreview, Progress,
  Settings, SightingEvent, SiteCredentials, VaultEntry, ForgetRequest, ReportCheck, FirmwareImageRequest, FirmwareImage, GoldenView,
}
export type { FirmwareState } from './bindings/FirmwareState'
export type { PreviewDevice } from './bindings/PreviewDevice'
export type { ControlView } from './bindings/ControlView'
export type { Finding } from './bindings/Finding'
export type { Step } from './bindings/Step'
export type { Source } from './bindings/Source'
export type { LoginSource } from './bindings/LoginSource'
export type { Value } from './bindings/Value'
export type { CredentialState } from './bindings/CredentialState'
export type { DeviceReport } from './bindings/DeviceReport'
export type { Problem } from './bindings/Problem'

/** Event names, as src-tauri/src/commands.rs emits them. */
export const EVENTS = { sighting: 'discover-sighting', progress: 'job-progress' } as const

/** A failed call: `code` is stable (core's Error::code, or the shell's own). */
export class IpcFailure extends Error {
  readonly code: string
  constructor(code: string, message: string) {
    super(message)
    this.code = code
    this.name = 'IpcFailure'
  }
}

/** Whatever the backend (or the bridge) threw, as an IpcFailure. */
export function toFailure(e: unknown): IpcFailure {
  if (e instanceof IpcFailure) return e
  if (e && typeof e === 'object' && 'code' in e && 'message' in e) {
    const { code, message } = e as IpcError
    return new IpcFailure(String(code), String(message))
  }
  if (e instanceof Error) return new IpcFailure('ipc', e.message)
  return new IpcFailure('ipc', String(e))
}

async function call<T>(command: Command, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args)
  } catch (e) {
    throw toFailure(e)
  }
}

export const ipc = {
  appInfo: () => call<AppInfo>('app_info'),
  setDemo: (on: boolean) => call<AppInfo>('set_demo', { on }),
  listDevices: () => call<DeviceRow[]>('list_devices'),
  deviceDetail: (id: string) => call<DeviceDetail>('device_detail', { id }),
  /** The shell asks for the file in a native dialog and reads it (passwords in it go to the vault,
   *  never through the window). Fails with code 'cancelled' when the dialog is closed. */
  importInventory: (site: string | null) => call<ImportResult>('import_inventory', { site }),
  discover: (request: DiscoverRequest) => call<DiscoverSummary>('discover', { request }),
  audit: (ids: string[]) => call<AuditSummary>('audit', { ids }),
  siteScore: () => call<number | null>('site_score'),
  baselines: () => call<BaselineView[]>('baselines'),
  /** Choices, off unless given: `rotatePasswords` (every admin password rotates, even those the
   *  audit passed: handover), `deleteAccounts` (the accounts the plan lists by name go). */
  plan: (ids: string[], choices: PlanChoices = {}) => call<PlanView[]>('plan', { ids, ...choices }),
  /** Changes the devices: the UI confirms with the user first. */
  apply: (ids: string[], choices: PlanChoices = {}) => call<ApplySummary>('apply', { ids, ...choices }),
  /** Changes the devices: renews the certificates that end within `days` days. */
  renewCertificates: (days: number) => call<ApplySummary>('renew_certificates', { days }),
  /** Stops the running apply after the steps in hand. */
  cancelApply: () => call<null>('cancel_apply'),
  history: (device: string | null) => call<Entry[]>('history', { device }),
  verifyHistory: () => call<ChainCheck>('verify_history'),
  drift: () => call<Drift[]>('drift'),
  interfaces: () => call<InterfaceView[]>('interfaces'),
  /** Checks the file (errors name the line) and makes it the site's baseline. */
  useBaselineFile: (file: BaselineFile) => call<BaselineView[]>('use_baseline_file', { file }),
  clearBaselineFile: () => call<BaselineView[]>('clear_baseline_file'),
  /** Reads the camera and writes a site baseline from its settings (nothing is used until
   *  `useBaselineFile`); `keepWeaker` also copies values weaker than the built-in's. */
  baselineFromDevice: (id: string, keepWeaker: boolean) =>
    call<GoldenView>('baseline_from_device', { id, keepWeaker }),
  vaultEntries: () => call<VaultEntry[]>('vault_entries'),
  /** Write-only: the password goes to the vault; nothing ever returns it. */
  setSiteCredentials: (credentials: SiteCredentials) => call<null>('set_site_credentials', { credentials }),
  /** Write-only, like the site's: the device's own credentials go to the vault. */
  setDeviceCredentials: (credentials: DeviceCredentials) => call<null>('set_device_credentials', { credentials }),
  /** Writes the report into the data directory's reports/ folder, or where the person chooses in a
   *  save dialog (then opens it, if asked), and says where. */
  exportReport: (format: 'pdf' | 'html' | 'csv' | 'json', chooseLocation = false, openAfter = false) =>
    call<ReportFile>('export_report', {
      request: { format, choose_location: chooseLocation, open_after: openAfter } satisfies ReportExport,
    }),
  /** A JSON report chosen in a native dialog, checked against this site's history. */
  verifyReport: () => call<ReportCheck>('verify_report'),
  /** A credentials CSV chosen in a native dialog goes to the vault; how many were stored. */
  importCredentials: () => call<number>('import_credentials'),
  /** The firmware library's images. */
  firmwareLibrary: () => call<FirmwareImage[]>('firmware_library'),
  /** An image chosen in a native dialog joins the library; what the image does not say
   *  itself (vendor, models, version) comes from the request. */
  addFirmwareImage: (request: FirmwareImageRequest) => call<FirmwareImage>('add_firmware_image', { request }),
  /** The site CA's certificate (public), saved where the person chooses; the path. */
  exportSiteCa: () => call<string>('export_site_ca'),
  /** Forgets a device's own credentials or a site's defaults; returns what the vault holds. */
  forgetCredentials: (request: ForgetRequest) => call<VaultEntry[]>('forget_credentials', { request }),
  getSettings: () => call<Settings>('get_settings'),
  /** The accounts the site keeps (its baseline's and the settings'): never deleted. */
  keptAccounts: () => call<string[]>('kept_accounts'),
  certificates: () => call<CertificatesView>('certificates'),
  /** The shell asks for the certificate and key files in native dialogs; no path crosses IPC.
   *  Fails with code 'cancelled' when a dialog is closed without a choice. */
  importSiteCa: (replace: boolean) => call<CertificatesView>('import_site_ca', { request: { replace } satisfies ImportCaRequest }),
  /** Accepts devices discovery found (by id, or every unconfirmed one); returns every row. */
  acceptDevices: (decision: DeviceDecision) => call<DeviceRow[]>('accept_devices', { decision }),
  /** Forgets unconfirmed devices (by id, or all of them); accepted ones are never removed. */
  rejectDevices: (decision: DeviceDecision) => call<DeviceRow[]>('reject_devices', { decision }),
  /** Accepts the certificate a device presents in place of its pin; `fingerprint` is the one shown. */
  acceptCertificate: (request: AcceptCertificateRequest) => call<CertificatesView>('accept_certificate', { request }),
  setSettings: (settings: Settings) => call<null>('set_settings', { settings }),
  reportPreview: () => call<ReportPreview>('report_preview'),
  /** Write-only: the passphrase goes into the encryption; the file is all that comes back. */
  exportHandover: (request: HandoverRequest) => call<HandoverFile>('export_handover', { request }),
  /** The first screen is drawn: the shell notes the startup time (ms since launch). */
  uiReady: () => call<number>('ui_ready'),
  onSighting: (f: (s: SightingEvent) => void): Promise<UnlistenFn> =>
    listen<SightingEvent>(EVENTS.sighting, (e) => f(e.payload)),
  onProgress: (f: (p: Progress) => void): Promise<UnlistenFn> =>
    listen<Progress>(EVENTS.progress, (e) => f(e.payload)),
}
