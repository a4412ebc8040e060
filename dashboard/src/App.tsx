import { lazy, Suspense, useEffect, useState, useSyncExternalStore } from 'react'
import { BrowserRouter, Route, Routes, useLocation } from 'react-router'
import { MutationCache, QueryCache, QueryClient, QueryClientProvider, useQueryClient } from '@tanstack/react-query'
import { isUnauthorized, subscribeAuth } from './api/auth'
import { isApiError } from './api/errors'
import { ErrorBoundary } from './components/ErrorBoundary'
import { Layout } from './components/Layout'
import { NamespaceSync, useNamespaceChoice } from './components/NamespaceSwitch'
import { useZoneChoice } from './components/ZoneSwitch'
import { ToastProvider } from './components/Toasts'
import { LoadingBlock } from './components/ui'
import { LiveProvider } from './live/LiveProvider'
import { SignIn } from './pages/SignIn'
import { namespaceChoice } from './lib/namespace'
import { prefetchRoute } from './lib/routeData'
import { identityQuery, namespacesQuery } from './api/access'

/** Each page's chunk, loaded once (lazy() and an early preload share the module's promise). */
const page = {
  Overview: () => import('./pages/Overview'),
  Jobs: () => import('./pages/Jobs'),
  JobDetail: () => import('./pages/JobDetail'),
  JobEditor: () => import('./pages/JobEditor'),
  Runs: () => import('./pages/Runs'),
  RunDetail: () => import('./pages/RunDetail'),
  Workers: () => import('./pages/Workers'),
  Audit: () => import('./pages/Audit'),
  Calendars: () => import('./pages/Calendars'),
  DeadLetters: () => import('./pages/DeadLetters'),
  DagPage: () => import('./pages/DagPage'),
  Pipelines: () => import('./pages/Pipelines'),
  PipelineDetail: () => import('./pages/PipelineDetail'),
  PipelineRunDetail: () => import('./pages/PipelineRunDetail'),
  Alerts: () => import('./pages/Alerts'),
  NotFound: () => import('./pages/NotFound'),
}
const Overview = lazy(page.Overview)
const Jobs = lazy(page.Jobs)
const JobDetail = lazy(page.JobDetail)
const JobEditor = lazy(page.JobEditor)
const Runs = lazy(page.Runs)
const RunDetail = lazy(page.RunDetail)
const Workers = lazy(page.Workers)
const Audit = lazy(page.Audit)
const Calendars = lazy(page.Calendars)
const DeadLetters = lazy(page.DeadLetters)
const DagPage = lazy(page.DagPage)
const Pipelines = lazy(page.Pipelines)
const PipelineDetail = lazy(page.PipelineDetail)
const PipelineRunDetail = lazy(page.PipelineRunDetail)
const Alerts = lazy(page.Alerts)
const NotFound = lazy(page.NotFound)

/** The chunk of the page at `pathname` (as the routes below match it). */
export function chunkOf(pathname: string): (() => Promise<unknown>) | null {
  const p = pathname.replace(/\/+$/, '') || '/'
  if (p === '/') return page.Overview
  if (p === '/jobs') return page.Jobs
  if (p === '/jobs/new' || /^\/jobs\/[^/]+\/edit$/.test(p)) return page.JobEditor
  if (/^\/jobs\/[^/]+$/.test(p)) return page.JobDetail
  if (p === '/runs') return page.Runs
  if (/^\/runs\/[^/]+$/.test(p)) return page.RunDetail
  if (p === '/pipelines') return page.Pipelines
  if (/^\/pipelines\/[^/]+$/.test(p)) return page.PipelineDetail
  if (/^\/pipeline-runs\/[^/]+$/.test(p)) return page.PipelineRunDetail
  const simple: Record<string, () => Promise<unknown>> = {
    '/dag': page.DagPage,
    '/workers': page.Workers,
    '/calendars': page.Calendars,
    '/audit': page.Audit,
    '/dead-letters': page.DeadLetters,
    '/alerts': page.Alerts,
  }
  return simple[p] ?? null
}

function makeClient() {
  return new QueryClient({
    queryCache: new QueryCache(),
    mutationCache: new MutationCache(),
    defaultOptions: {
      queries: {
        staleTime: 2_000,
        refetchOnWindowFocus: true,
        retry: (count, error) => {
          // 4xx answers will not change by asking again
          if (isApiError(error) && error.status >= 400 && error.status < 500) return false
          return count < 2
        },
      },
      mutations: { retry: false },
    },
  })
}

function useUnauthorized() {
  return useSyncExternalStore(subscribeAuth, isUnauthorized, isUnauthorized)
}

/** A page's main query starts while the page's chunk loads, not after; on a first visit, as
 * soon as the namespace is chosen. */
function RoutePrefetch() {
  const qc = useQueryClient()
  const { pathname, search } = useLocation()
  const ns = useNamespaceChoice()
  useEffect(() => {
    if (ns !== null) prefetchRoute(qc, pathname, search)
  }, [qc, pathname, search, ns])
  return null
}

function Pages() {
  // every absolute time is drawn again in the zone just chosen
  const zone = useZoneChoice()
  // and every query again for the namespace just chosen (its keys end with it)
  const ns = useNamespaceChoice()
  // the first visit waits for one (the namespaces the token may read): no list of another
  if (ns === null) return <LoadingBlock rows={6} />
  return (
    <ErrorBoundary key={`${zone}|${ns ?? ''}`}>
      <Suspense fallback={<LoadingBlock rows={6} />}>
        <Routes>
          <Route path="/" element={<Overview />} />
          <Route path="/jobs" element={<Jobs />} />
          <Route path="/jobs/new" element={<JobEditor />} />
          <Route path="/jobs/:id" element={<JobDetail />} />
          <Route path="/jobs/:id/edit" element={<JobEditor />} />
          <Route path="/pipelines" element={<Pipelines />} />
          <Route path="/pipelines/:ref" element={<PipelineDetail />} />
          <Route path="/pipeline-runs/:id" element={<PipelineRunDetail />} />
          <Route path="/runs" element={<Runs />} />
          <Route path="/runs/:id" element={<RunDetail />} />
          <Route path="/dag" element={<DagPage />} />
          <Route path="/workers" element={<Workers />} />
          <Route path="/calendars" element={<Calendars />} />
          <Route path="/audit" element={<Audit />} />
          <Route path="/dead-letters" element={<DeadLetters />} />
          <Route path="/alerts" element={<Alerts />} />
          <Route path="*" element={<NotFound />} />
        </Routes>
      </Suspense>
    </ErrorBoundary>
  )
}

export function App() {
  const [client] = useState(() => {
    const qc = makeClient()
    if (!isUnauthorized()) {
      // the first page's chunk, who is signed in and the namespaces, before React even
      // renders (a first visit waits for the last two to choose a namespace, then for the
      // chunk: three round trips in a row, 0.4-0.8 s on a busy coordinator)
      void chunkOf(window.location.pathname)?.()
      void qc.prefetchQuery(identityQuery)
      void qc.prefetchQuery(namespacesQuery)
      // and its data, when the namespace is already known
      if (namespaceChoice() !== null) prefetchRoute(qc, window.location.pathname, window.location.search)
    }
    return qc
  })
  const unauthorized = useUnauthorized()
  return (
    <QueryClientProvider client={client}>
      <BrowserRouter>
        <ToastProvider>
          {unauthorized ? (
            <SignIn />
          ) : (
            <LiveProvider>
              <Layout>
                <NamespaceSync />
                <RoutePrefetch />
                <Pages />
              </Layout>
            </LiveProvider>
          )}
        </ToastProvider>
      </BrowserRouter>
    </QueryClientProvider>
  )
}
