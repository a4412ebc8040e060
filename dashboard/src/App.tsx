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

const Overview = lazy(() => import('./pages/Overview'))
const Jobs = lazy(() => import('./pages/Jobs'))
const JobDetail = lazy(() => import('./pages/JobDetail'))
const JobEditor = lazy(() => import('./pages/JobEditor'))
const Runs = lazy(() => import('./pages/Runs'))
const RunDetail = lazy(() => import('./pages/RunDetail'))
const Workers = lazy(() => import('./pages/Workers'))
const Audit = lazy(() => import('./pages/Audit'))
const Calendars = lazy(() => import('./pages/Calendars'))
const DeadLetters = lazy(() => import('./pages/DeadLetters'))
const DagPage = lazy(() => import('./pages/DagPage'))
const Pipelines = lazy(() => import('./pages/Pipelines'))
const PipelineDetail = lazy(() => import('./pages/PipelineDetail'))
const PipelineRunDetail = lazy(() => import('./pages/PipelineRunDetail'))
const Alerts = lazy(() => import('./pages/Alerts'))
const NotFound = lazy(() => import('./pages/NotFound'))

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

/** A page's main query starts while the page's chunk loads, not after. */
function RoutePrefetch() {
  const qc = useQueryClient()
  const { pathname, search } = useLocation()
  useEffect(() => {
    if (namespaceChoice() !== null) prefetchRoute(qc, pathname, search)
  }, [qc, pathname, search])
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
    // the first page's data, before React even renders
    if (!isUnauthorized() && namespaceChoice() !== null) prefetchRoute(qc, window.location.pathname, window.location.search)
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
