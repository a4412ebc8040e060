import { Bar, CartesianGrid, Cell, ComposedChart, Legend, Line, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts'
import type { Run, SuccessBucket } from '../api/types'
import { axisWidth, formatDuration, formatNumber, formatShortDateTime } from '../lib/format'
import { statusColor, statusLabel, TONE_COLORS } from '../lib/status'

const hourFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' })
const tooltipStyle = {
  borderRadius: 10,
  border: '1px solid var(--border)',
  boxShadow: 'var(--shadow-md)',
  fontSize: 13,
}

export function SuccessRateChart({ series }: { series: SuccessBucket[] }) {
  const data = series.map((b) => {
    const total = b.completed + b.failed
    return {
      label: hourFmt.format(Date.parse(b.bucket)),
      full: formatShortDateTime(b.bucket),
      completed: b.completed,
      failed: b.failed,
      rate: total > 0 ? Math.round((b.completed / total) * 1000) / 10 : null,
    }
  })
  const sparse = data.filter((d) => d.rate !== null).length < 4
  const empty = data.every((d) => d.completed === 0 && d.failed === 0)
  return (
    <div className="chart chart-overlay-host" data-testid="success-rate-chart" role="img" aria-label="Completed and failed runs per hour over the last 24 hours, with the success rate">
      <ResponsiveContainer width="100%" height={260}>
        <ComposedChart data={data} margin={{ top: 8, right: 4, bottom: 0, left: -12 }}>
          <CartesianGrid stroke="var(--border-subtle)" vertical={false} />
          <XAxis dataKey="label" tickLine={false} axisLine={false} tick={{ fontSize: 12, fill: 'var(--text-muted)' }} interval="preserveStartEnd" minTickGap={24} />
          <YAxis yAxisId="runs" allowDecimals={false} tickFormatter={(v: number) => formatNumber(v)} tickLine={false} axisLine={false} tick={{ fontSize: 12, fill: 'var(--text-muted)' }} width={axisWidth(data.map((d) => d.completed + d.failed))} />
          <YAxis yAxisId="rate" orientation="right" domain={[0, 100]} tickFormatter={(v: number) => `${v}%`} tickLine={false} axisLine={false} tick={{ fontSize: 12, fill: 'var(--text-muted)' }} width={44} />
          <Tooltip
            contentStyle={tooltipStyle}
            labelFormatter={(_, payload) => (payload?.[0]?.payload as { full?: string } | undefined)?.full ?? ''}
            formatter={(value, name) => (name === 'Success rate' ? [value === null ? '—' : `${value}%`, name] : [value, name])}
          />
          <Legend iconType="circle" iconSize={8} wrapperStyle={{ fontSize: 12 }} />
          <Bar yAxisId="runs" dataKey="completed" name="Completed" stackId="runs" fill={TONE_COLORS.success} radius={[0, 0, 0, 0]} maxBarSize={28} />
          <Bar yAxisId="runs" dataKey="failed" name="Failed" stackId="runs" fill={TONE_COLORS.danger} radius={[3, 3, 0, 0]} maxBarSize={28} />
          <Line yAxisId="rate" dataKey="rate" name="Success rate" type="monotone" stroke="var(--brand)" strokeWidth={2} dot={sparse ? { r: 3, fill: 'var(--brand)' } : false} connectNulls />
        </ComposedChart>
      </ResponsiveContainer>
      {empty && <div className="chart-overlay">No runs finished in the last 24 hours</div>}
    </div>
  )
}

export function RunDurationChart({ runs }: { runs: Run[] }) {
  const data = [...runs]
    .filter((r) => r.status !== 'queued')
    .sort((a, b) => Date.parse(a.started_at ?? a.queued_at) - Date.parse(b.started_at ?? b.queued_at))
    .map((r) => ({
      id: r.id,
      label: formatShortDateTime(r.started_at ?? r.queued_at),
      duration: r.duration ?? (r.status === 'running' && r.started_at ? (Date.now() - Date.parse(r.started_at)) / 1000 : 0),
      status: r.status,
    }))
  if (data.length === 0) return null
  return (
    <div className="chart" data-testid="duration-chart" role="img" aria-label="Duration and outcome of recent runs">
      <ResponsiveContainer width="100%" height={220}>
        <ComposedChart data={data} margin={{ top: 8, right: 8, bottom: 0, left: -4 }}>
          <CartesianGrid stroke="var(--border-subtle)" vertical={false} />
          <XAxis dataKey="label" tickLine={false} axisLine={false} tick={{ fontSize: 11, fill: 'var(--text-muted)' }} minTickGap={28} />
          <YAxis tickFormatter={(v: number) => formatDuration(v)} tickLine={false} axisLine={false} tick={{ fontSize: 11, fill: 'var(--text-muted)' }} width={56} />
          <Tooltip
            contentStyle={tooltipStyle}
            cursor={{ fill: 'var(--surface-hover)' }}
            formatter={(value, _name, item) => [
              `${formatDuration(Number(value))} · ${statusLabel((item?.payload as { status?: string } | undefined)?.status)}`,
              'Duration',
            ]}
          />
          <Bar dataKey="duration" name="Duration" radius={[3, 3, 0, 0]} maxBarSize={22}>
            {data.map((d) => (
              <Cell key={d.id} fill={statusColor(d.status)} />
            ))}
          </Bar>
        </ComposedChart>
      </ResponsiveContainer>
    </div>
  )
}
