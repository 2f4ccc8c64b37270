/**
 * The live dashboard (`--dashboard <host:port>` on `sim`, `node` and `join`): a read-only web page
 * with the current round and phase, peers, charts, ε and agreement, pushed over Server-Sent Events.
 */

export * from './constants.ts'
export { DashboardError, type DashboardErrorCode } from './errors.ts'
export { parseDashboardAddress, type DashboardAddress } from './address.ts'
export {
  DashboardStore, type DashboardPatch, type DashboardRound, type DashboardRunState, type DashboardState, type DashboardStoreInit,
  type DashboardTask
} from './state.ts'
export { dashboardCharts, dashboardView, type DashboardView } from './view.ts'
export { renderDashboardPage, type DashboardPageInit } from './page.ts'
export { createDashboardServer, type DashboardServer, type DashboardServerInit } from './server.ts'
export { dashboardTask } from './task.ts'
export { PeerDashboardFeed, type PeerFeedInit } from './peer-feed.ts'
