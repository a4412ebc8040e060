import { useSyncExternalStore } from 'react'
import { setZoneChoice, subscribeZone, ZONE_CHOICES, zoneChoice, type ZoneChoice } from '../lib/timezone'

export function useZoneChoice(): ZoneChoice {
  return useSyncExternalStore(subscribeZone, zoneChoice, zoneChoice)
}

/** Local / UTC / Job zone for every absolute time on the dashboard (remembered). */
export function ZoneSwitch() {
  const choice = useZoneChoice()
  return (
    <label className="zone-switch" title="Show times in your browser's zone, in UTC, or in each job's own zone (where one job is in view)">
      <span className="zone-switch-label">Times</span>
      <select className="select select-sm" aria-label="Times shown in" value={choice} onChange={(e) => setZoneChoice(e.target.value as ZoneChoice)} data-testid="zone-switch">
        {ZONE_CHOICES.map((z) => (
          <option key={z.value} value={z.value}>
            {z.label}
          </option>
        ))}
      </select>
    </label>
  )
}
