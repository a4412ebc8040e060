import { lazy, Suspense, type ComponentProps } from 'react'

// recharts and the graph layout are the heaviest code the dashboard has: they load after the
// page's cards and tables are on screen, never in their way.
const SuccessRate = lazy(() => import('./Charts').then((m) => ({ default: m.SuccessRateChart })))
const RunDuration = lazy(() => import('./Charts').then((m) => ({ default: m.RunDurationChart })))
const Dag = lazy(() => import('./DagView').then((m) => ({ default: m.DagView })))

function ChartFallback({ height = 220 }: { height?: number }) {
  return <div className="chart-loading skeleton" style={{ height }} aria-busy="true" aria-label="Loading chart" role="img" />
}

type SuccessProps = ComponentProps<typeof import('./Charts').SuccessRateChart>
type DurationProps = ComponentProps<typeof import('./Charts').RunDurationChart>
type DagProps = ComponentProps<typeof import('./DagView').DagView>

export function SuccessRateChart(props: SuccessProps) {
  return (
    <Suspense fallback={<ChartFallback />}>
      <SuccessRate {...props} />
    </Suspense>
  )
}

export function RunDurationChart(props: DurationProps) {
  return (
    <Suspense fallback={<ChartFallback />}>
      <RunDuration {...props} />
    </Suspense>
  )
}

export function DagView(props: DagProps) {
  return (
    <Suspense fallback={<ChartFallback height={200} />}>
      <Dag {...props} />
    </Suspense>
  )
}
